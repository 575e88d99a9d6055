"""exercises/ is exactly what solutions/ generates, and both follow the notebook conventions."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from course_lib import exercises
from course_lib.paths import COURSE_ROOT as ROOT

NAMES = [
    "01_bottleneck",
    "02_score_functions",
    "03_softmax_weights",
    "04_context_vector",
    "05_full_model",
    "06_alignment",
    "07_transformer_attention",
]
SCHEMA_KEYS = {"grade", "grade_id", "locked", "schema_version", "solution", "task"}


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def test_exercises_regenerate_without_drift(tmp_path):
    assert exercises.build(check=True) == []
    assert exercises.orphans() == []
    assert exercises.main(["--check"]) == 0
    exercises.build(exercises=tmp_path)  # a fresh build gives byte-identical files
    for path in sorted(tmp_path.glob("*.ipynb")):
        assert path.read_bytes() == (ROOT / "exercises" / path.name).read_bytes()


def test_drift_is_reported(tmp_path, capsys):
    exercises.build(exercises=tmp_path)
    (tmp_path / "02_score_functions.ipynb").write_text("{}")
    (tmp_path / "99_stray.ipynb").write_text("{}")
    assert exercises.build(exercises=tmp_path, check=True) == [
        tmp_path / "02_score_functions.ipynb"
    ]
    assert exercises.main(["--check", "--exercises", str(tmp_path)]) == 1
    assert "99_stray" in capsys.readouterr().err


def test_one_exercise_per_lesson():
    assert [p.stem for p in sorted((ROOT / "solutions").glob("*.ipynb"))] == NAMES
    assert [p.stem for p in sorted((ROOT / "exercises").glob("*.ipynb"))] == NAMES


def test_stub_keeps_indentation_and_drops_hidden_tests():
    source = "\n".join(
        [
            "def f(x):",
            '    """Doc."""',
            "    ### BEGIN SOLUTION",
            "    return x + 1",
            "    ### END SOLUTION",
            "### BEGIN HIDDEN TESTS",
            "assert f(1) == 2",
            "### END HIDDEN TESTS",
        ]
    )
    assert exercises.stub_solution(source) == "\n".join(
        ["def f(x):", '    """Doc."""', "    # YOUR CODE HERE", "    raise NotImplementedError()"]
    )


@pytest.mark.parametrize(
    "source", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION", "### BEGIN HIDDEN TESTS\n"]
)
def test_unbalanced_markers_are_refused(source):
    with pytest.raises(exercises.SolutionFormatError):
        exercises.stub_solution(source)


def test_validation_catches_broken_metadata():
    nb = _read(ROOT / "solutions" / "03_softmax_weights.ipynb")
    check = next(c for c in nb.cells if _meta(c).get("grade"))
    check.metadata["nbgrader"]["points"] = 0
    with pytest.raises(exercises.SolutionFormatError, match="points"):
        exercises.validate(nb, "nb")
    nb = _read(ROOT / "solutions" / "03_softmax_weights.ipynb")
    nb.cells[3].id = nb.cells[2].id
    with pytest.raises(exercises.SolutionFormatError, match="duplicate cell id"):
        exercises.validate(nb, "nb")


def test_check_cells_must_let_run_all_go_on():
    nb = _read(ROOT / "solutions" / "03_softmax_weights.ipynb")
    check = next(c for c in nb.cells if _meta(c).get("grade"))
    check.metadata["tags"] = []
    with pytest.raises(exercises.SolutionFormatError, match="raises-exception"):
        exercises.validate(nb, "nb")


@pytest.mark.parametrize("name", NAMES)
def test_notebook_layout_and_nbgrader_metadata(name):
    solution = _read(ROOT / "solutions" / f"{name}.ipynb")
    exercise = _read(ROOT / "exercises" / f"{name}.ipynb")
    title, setup = solution.cells[0], solution.cells[1]
    assert title.cell_type == "markdown" and title.source.startswith("# Exercises ")
    assert f"(../notebooks/{name}.ipynb)" in title.source
    assert "from course_lib import checks" in setup.source
    assert [c.id for c in solution.cells] == [c.id for c in exercise.cells]  # stable ids
    cells = solution.cells
    for index, cell in enumerate(cells):
        meta = _meta(cell)
        assert set(meta) - {"points"} == SCHEMA_KEYS and meta["schema_version"] == 3
        assert re.fullmatch(r"[A-Za-z0-9_-]+", meta["grade_id"])
        if meta["solution"]:  # task text before, check right after
            assert not meta["locked"] and not meta["grade"]
            assert cells[index - 1].cell_type == "markdown"
            check = _meta(cells[index + 1])
            assert check["grade"] and check["locked"] and not check["solution"]
            assert check["points"] > 0
            assert cells[index + 1].source.startswith("checks.check_")
            assert exercises.BEGIN in cell.source and exercises.END in cell.source
        if meta["grade"]:
            assert _meta(cells[index - 1])["solution"]


@pytest.mark.parametrize("name", NAMES)
def test_solutions_store_clean_outputs_and_exercises_none(name):
    solution = _read(ROOT / "solutions" / f"{name}.ipynb")
    exercise = _read(ROOT / "exercises" / f"{name}.ipynb")
    for cell in solution.cells:
        assert "execution" not in cell.metadata
        if _meta(cell).get("grade"):
            part = re.match(r"checks\.check_(\w+)\(", cell.source).group(1)
            assert [o.get("text") for o in cell.outputs] == [f"✓ {part} passed\n"]
    text = (ROOT / "solutions" / f"{name}.ipynb").read_text()
    assert not re.search(r"0x[0-9a-f]{6,}|/tmp/|/home/|/work/|ipykernel_\d+", text)
    for cell in exercise.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
        if _meta(cell).get("solution"):
            assert (
                "# YOUR CODE HERE" in cell.source and "raise NotImplementedError()" in cell.source
            )
            assert exercises.BEGIN not in cell.source


def test_at_least_fifteen_graded_parts():
    parts = [
        _meta(c)
        for path in sorted((ROOT / "exercises").glob("*.ipynb"))
        for c in _read(path).cells
        if _meta(c).get("grade")
    ]
    assert len(parts) >= 15
    assert len({p["grade_id"] for p in parts}) == len(parts)


@pytest.mark.parametrize("name", NAMES)
def test_every_part_has_two_folded_hints(name):
    cells = _read(ROOT / "exercises" / f"{name}.ipynb").cells
    for index, cell in enumerate(cells):
        if _meta(cell).get("solution"):
            task = cells[index - 1].source
            hints = re.findall(r"<details><summary>Hint (\d) \((.*?)\)</summary>", task)
            assert hints == [("1", "a nudge"), ("2", "stronger")], cells[index - 1].id


def test_teacher_forcing_hint_agrees_with_the_task():
    from course_lib.checks import MISTAKES

    task = next(
        c.source
        for c in _read(ROOT / "exercises" / "05_full_model.ipynb").cells
        if c.id == "05_decode_task"
    )
    assert "tgt_in[:, t + 1]" in task
    assert "tgt_in[:, t + 1]" in MISTAKES["teacher_forcing_feeds_prediction"]
