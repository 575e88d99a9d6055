"""The grader gives the true grade whatever a learner does to check cells, outputs or metadata.

The slow part (nbval running notebooks) happens once: a single grading call over all solutions,
all exercises (several of them tampered with) and two mixed notebooks, through the command line.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

import nbformat
import pytest

from course_lib import grading
from course_lib.checks import MISTAKES
from course_lib.grade.__main__ import main as grade_main

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def _cell(nb, cell_id):
    return next(c for c in nb.cells if c.id == cell_id)


def _graded_ids(nb) -> list[str]:
    return [c.id for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]


def _fake_pass_output(cell, count=1):
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="✓ passed\n")]
    cell.execution_count = count


def _tampered(tmp: Path) -> dict[str, Path]:
    """Learner files, each hiding a different trick; keys name the trick."""
    out = {}

    def save(name, nb, filename=None):
        path = tmp / name / (filename or f"{nb.metadata['course']['exercise']}.ipynb")
        path.parent.mkdir()
        nbformat.write(nb, path)
        out[name] = path

    ex = {p.stem[:2]: _read(p) for p in EXERCISES}
    sol = {p.stem[:2]: _read(p) for p in SOLUTIONS}

    nb = ex["01"]  # every check cell replaced by `pass`, with faked "passed" outputs
    for cell_id in _graded_ids(nb):
        _cell(nb, cell_id).source = "pass"
        _fake_pass_output(_cell(nb, cell_id))
    save("checks_replaced", nb)

    nb = ex["02"]  # one check cell deleted, another turned into markdown
    ids = _graded_ids(nb)
    nb.cells = [c for c in nb.cells if c.id != ids[0]]
    index = next(i for i, c in enumerate(nb.cells) if c.id == ids[1])
    nb.cells[index] = nbformat.v4.new_markdown_cell("all good", id=ids[1])
    save("checks_deleted", nb)

    nb = ex["03"]  # a learner cell claiming to be worth 100 points; renamed file
    fake = nbformat.v4.new_code_cell("print('free points')", id="mine")
    fake.metadata["nbgrader"] = {"grade": True, "points": 100, "grade_id": "bonus", "locked": True}
    nb.cells.append(fake)
    save("fake_points", nb, filename="03_softmax_weights-Copy1.ipynb")

    for number in ("04", "05", "06"):
        save(f"untouched_{number}", ex[number])

    nb = copy.deepcopy(sol["02"])  # bilinear mistaken, its check `pass`; mlp check deleted
    answer = _cell(nb, "02_bilinear_score_answer")
    answer.source = answer.source.replace("query @ weight", "query @ weight.T")
    _cell(nb, "02_bilinear_score").source = "pass"
    nb.cells = [c for c in nb.cells if c.id != "02_mlp_score"]
    save("mixed_scores", nb)

    nb = copy.deepcopy(sol["05"])  # an endless loop in one answer; the other parts are right
    answer = _cell(nb, "05_bahdanau_step_answer")
    answer.source = answer.source.replace("### BEGIN SOLUTION", "while True:\n        pass")
    save("endless_loop", nb)
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One grading call (through the CLI) over every notebook; returns (report, paths, table)."""
    tmp = tmp_path_factory.mktemp("grading")
    learners = _tampered(tmp)
    paths = [*SOLUTIONS, *learners.values()]
    before = set(Path(tempfile.gettempdir()).glob("course-grade-*"))
    saved = os.environ.get("COURSE_CHECK_TIME_LIMIT")
    os.environ["COURSE_CHECK_TIME_LIMIT"] = "2"
    try:
        report_path = tmp / "report.json"
        args = [*map(str, paths), "--json", str(report_path), "--jobs", "2", "--cell-timeout", "60"]
        code = grade_main(args)
    finally:
        if saved is None:
            os.environ.pop("COURSE_CHECK_TIME_LIMIT")
        else:
            os.environ["COURSE_CHECK_TIME_LIMIT"] = saved
    after = set(Path(tempfile.gettempdir()).glob("course-grade-*"))
    assert code == 0
    assert after <= before, "the grader left its temporary folder behind"
    report = json.loads(report_path.read_text())
    by_path = {nb["path"]: nb for nb in report["notebooks"]}
    return by_path, learners


def _parts(notebook) -> dict[str, dict]:
    return {part["id"]: part for part in notebook["parts"]}


def test_report_shape_and_totals(graded):
    by_path, _ = graded
    for nb in by_path.values():
        assert set(nb) >= {"path", "score", "max", "parts"}
        assert nb["score"] == sum(p["score"] for p in nb["parts"])
        for part in nb["parts"]:
            assert set(part) == {"id", "score", "max", "status", "message"}


def test_every_solution_scores_full_marks(graded):
    by_path, _ = graded
    total_parts = 0
    for path in SOLUTIONS:
        nb = by_path[str(path)]
        assert nb["max"] > 0 and nb["score"] == nb["max"], nb
        assert all(p["status"] == "passed" for p in nb["parts"])
        total_parts += len(nb["parts"])
    assert total_parts >= 15


@pytest.mark.parametrize(
    "trick",
    [
        "checks_replaced",
        "checks_deleted",
        "fake_points",
        "untouched_04",
        "untouched_05",
        "untouched_06",
    ],
)
def test_unanswered_exercise_scores_zero_whatever_the_tampering(graded, trick):
    by_path, learners = graded
    nb = by_path[str(learners[trick])]
    release = _read(
        grading.find_release(learners[trick], _read(learners[trick]), ROOT / "exercises")
    )
    assert [p["id"] for p in nb["parts"]] == _graded_ids(release)
    assert nb["score"] == 0 and nb["max"] > 0
    for part in nb["parts"]:
        assert part["status"] == "not_implemented", part
        assert "not implemented yet" in part["message"]


def test_mistake_hint_reaches_the_report_and_restored_checks_count(graded):
    by_path, learners = graded
    parts = _parts(by_path[str(learners["mixed_scores"])])
    assert parts["02_bilinear_score"]["status"] == "failed"
    assert MISTAKES["bilinear_transposed"] in parts["02_bilinear_score"]["message"]
    assert parts["02_mlp_score"]["status"] == "passed"  # deleted check re-inserted
    assert by_path[str(learners["mixed_scores"])]["score"] == 4


def test_endless_loop_fails_only_its_own_part(graded):
    by_path, learners = graded
    parts = _parts(by_path[str(learners["endless_loop"])])
    assert parts["05_bahdanau_step"]["status"] == "failed"
    assert "never ends" in parts["05_bahdanau_step"]["message"]
    assert parts["05_luong_step"]["status"] == "passed"
    assert parts["05_decode"]["status"] == "passed"


# ---- restoring check cells (no kernel needed) ----------------------------------------------


def test_deleted_check_cell_returns_to_its_place_after_learner_scratch_cells():
    release = _read(ROOT / "exercises" / "02_score_functions.ipynb")
    learner = copy.deepcopy(release)
    learner.cells = [c for c in learner.cells if c.id != "02_dot_score"]
    answer_at = next(i for i, c in enumerate(learner.cells) if c.id == "02_dot_score_answer")
    learner.cells.insert(answer_at + 1, nbformat.v4.new_code_cell("x = 1", id="scratch"))
    restored = grading.restore_checks(learner, release)
    ids = [c.id for c in restored.cells]
    assert ids.index("02_dot_score_answer") < ids.index("scratch") < ids.index("02_dot_score")
    assert ids.index("02_dot_score") < ids.index("02_scaled_dot_score_task")


def test_restored_copy_keeps_answers_and_drops_outputs_and_fake_metadata():
    release = _read(ROOT / "exercises" / "04_context_vector.ipynb")
    learner = copy.deepcopy(release)
    answer = _cell(learner, "04_attend_answer")
    answer.source = "def attend(*args):\n    return 42"
    answer.metadata["nbgrader"]["grade"] = True
    answer.metadata["nbgrader"]["points"] = 50
    check = _cell(learner, "04_attend")
    check.source = "print('✓ attend passed')"
    _fake_pass_output(check)
    learner.cells.append(copy.deepcopy(_cell(release, "04_attend")))  # a duplicated check
    restored = grading.restore_checks(learner, release)
    assert _cell(restored, "04_attend_answer").source.endswith("return 42")
    assert "nbgrader" not in _cell(restored, "04_attend_answer").metadata
    assert _cell(restored, "04_attend").source == _cell(release, "04_attend").source
    assert [c.id for c in restored.cells].count("04_attend") == 1
    assert all(not c.get("outputs") for c in restored.cells if c.cell_type == "code")
    assert _graded_ids(restored) == _graded_ids(release)


def test_cells_without_ids_are_matched_by_grade_id():
    release = _read(ROOT / "exercises" / "01_bottleneck.ipynb")
    learner = copy.deepcopy(release)
    for cell in learner.cells:
        cell.id = "x"  # broken ids, as some editors leave them
        if cell.metadata.get("nbgrader", {}).get("grade"):
            cell.source = "pass"
    restored = grading.restore_checks(learner, release)
    assert len({c.id for c in restored.cells}) == len(restored.cells)
    assert _graded_ids(restored) == _graded_ids(release)
    for cell_id in _graded_ids(release):
        assert _cell(restored, cell_id).source.startswith("checks.check_")


def test_release_is_found_by_name_metadata_or_number(tmp_path):
    release_dir = ROOT / "exercises"
    nb = _read(release_dir / "05_full_model.ipynb")
    assert (
        grading.find_release(Path("05_full_model.ipynb"), nb, release_dir).name
        == "05_full_model.ipynb"
    )
    assert grading.find_release(Path("mine.ipynb"), nb, release_dir).name == "05_full_model.ipynb"
    nb.metadata.pop("course")
    assert (
        grading.find_release(Path("05_copy.ipynb"), nb, release_dir).name == "05_full_model.ipynb"
    )
    with pytest.raises(grading.GradingError, match="--release"):
        grading.find_release(Path("homework.ipynb"), nb, release_dir)
    nb.metadata["course"] = {"exercise": str(tmp_path / "my_own_release")}
    (tmp_path / "my_own_release.ipynb").write_text("{}")
    with pytest.raises(grading.GradingError):  # a notebook cannot name itself its own release
        grading.find_release(Path("homework.ipynb"), nb, release_dir)


def test_grading_failures_exit_nonzero(tmp_path, capsys):
    bad = tmp_path / "02_score_functions.ipynb"
    bad.write_text("{not json")
    assert grade_main([str(bad)]) == 2
    assert "cannot read the notebook" in capsys.readouterr().err
    assert grade_main([str(SOLUTIONS[0]), "--release", str(tmp_path / "missing")]) == 2
    assert grade_main([str(tmp_path / "empty_dir_glob")]) == 2


def test_overall_time_limit_stops_grading_and_reports_not_run(tmp_path):
    report = grading.grade([SOLUTIONS[0]], timeout=1.5)
    nb = report["notebooks"][0]
    assert nb["score"] == 0 and nb["max"] > 0
    assert {p["status"] for p in nb["parts"]} == {"not_run"}
    assert "time limit" in nb["parts"][0]["message"]


def test_table_lists_parts_points_and_total():
    report = {
        "notebooks": [
            {
                "path": "x.ipynb",
                "score": 1,
                "max": 3,
                "parts": [
                    {"id": "a", "score": 1, "max": 1, "status": "passed", "message": "passed"},
                    {"id": "b", "score": 0, "max": 2, "status": "failed", "message": "wrong"},
                ],
            }
        ],
        "score": 1,
        "max": 3,
    }
    table = grading.format_report(report)
    assert "x.ipynb: 1 / 3" in table and "total: 1 / 3" in table
    assert "0/2" in table and "wrong" in table
