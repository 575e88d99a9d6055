"""The grader gives the true grade whatever a learner does to check cells, outputs or metadata.

The slow part (a sandbox per notebook) happens once: a single grading call over all solutions,
all exercises (several of them tampered with), two mixed notebooks and answers written
differently from the solutions, through the command line. Attacks on the grader itself are in
test_grading_attacks.py; every test gives the grader its own temporary folder.
"""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import nbformat
import pytest

from course_lib.checks import MISTAKES
from course_lib.grade import restore
from course_lib.grade.__main__ import main as grade_main
from course_lib.grade.grader import Limits, grade
from course_lib.grade.report import format_report, learner_id

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

    for number, answers in ALTERNATIVES.items():  # right answers written another way
        nb = copy.deepcopy(sol[number])
        for cell_id, source in answers.items():
            _cell(nb, cell_id).source = source
        save(f"alternative_{number}", nb)
    return out


# Correct answers written differently from the solutions: loops, einsum, numpy scalars, float64
# inside, -1e9 instead of -inf. The grader must agree with the learner's checks on every one.
ALTERNATIVES = {
    "01": {
        "01_last_valid_state_answer": (
            "def last_valid_state(states, lengths):\n"
            "    return torch.stack([states[b, int(n) - 1] for b, n in enumerate(lengths)])"
        ),
        "01_time_lags_answer": (
            "def time_lags(src_len, reverse):\n"
            "    return [2 * j + 1 if reverse else src_len for j in range(src_len)]"
        ),
    },
    "02": {
        "02_dot_score_answer": (
            "def dot_score(query, keys):\n"
            "    return torch.bmm(keys.double(), query.double().unsqueeze(-1)).squeeze(-1)"
        ),
        "02_scaled_dot_score_answer": (
            "def scaled_dot_score(query, keys):\n"
            "    return (keys * query[:, None, :]).sum(-1) * query.shape[-1] ** -0.5"
        ),
        "02_mlp_score_answer": (
            "def mlp_score(query, keys, w1, w2):\n"
            "    d_q = query.shape[-1]\n"
            "    hidden = (query @ w1[:, :d_q].T)[:, None] + keys @ w1[:, d_q:].T\n"
            "    return torch.einsum('bsa,a->bs', torch.tanh(hidden), w2)"
        ),
    },
    "03": {
        "03_attention_weights_answer": (
            "def attention_weights(scores):\n"
            "    shifted = scores - scores.max(dim=-1, keepdim=True).values\n"
            "    return shifted.exp() / shifted.exp().sum(-1, keepdim=True)"
        ),
        "03_masked_softmax_answer": (
            "def masked_softmax(scores, mask):\n"
            "    return torch.where(mask[:, None, :], scores, torch.tensor(-1e9)).softmax(-1)"
        ),
    },
    "04": {
        "04_context_vector_answer": (
            "def context_vector(weights, values):\n"
            "    return torch.einsum('b...s,bsd->b...d', weights, values)"
        ),
    },
    "05": {
        "05_decode_answer": (
            "def decode(step, h0, tgt_in, greedy):\n"
            "    batch, tgt_len = tgt_in.shape\n"
            "    tokens = torch.zeros(batch, tgt_len, dtype=torch.long)\n"
            "    weights, h, inputs = [], h0, tgt_in[:, 0]\n"
            "    for t in range(tgt_len):\n"
            "        logits, h, w = step(inputs, h)\n"
            "        tokens[:, t] = logits.argmax(-1)\n"
            "        weights.append(w)\n"
            "        inputs = tokens[:, t] if greedy else tgt_in[:, min(t + 1, tgt_len - 1)]\n"
            "    return tokens, torch.stack(weights, 1)"
        ),
    },
    "06": {
        "06_alignment_accuracy_answer": (
            "import numpy as np\n\n"
            "def alignment_accuracy(weights, spans):\n"
            "    k, s = weights.numpy().argmax(-1), spans.numpy()\n"
            "    aligned = s[..., 0] >= 0\n"
            "    hits = aligned & (s[..., 0] <= k) & (k < s[..., 1])\n"
            "    return np.float64(hits.sum() / aligned.sum())"
        ),
        "06_map_reading_answer": (
            "import numpy as np\n\n"
            "def map_answers():\n"
            "    return np.int64(4), np.array([0, 4]).max()"
        ),
    },
    "07": {
        "07_scaled_attention_answer": (
            "def scaled_attention(q, k, v, mask):\n"
            "    scores = torch.einsum('bqd,bkd->bqk', q, k) * q.shape[-1] ** -0.5\n"
            "    scores = torch.where(mask[:, None, :], scores, torch.tensor(float('-inf')))\n"
            "    weights = torch.nn.functional.softmax(scores, dim=2)\n"
            "    return torch.einsum('bqk,bkd->bqd', weights, v), weights"
        ),
        "07_split_heads_answer": (
            "def split_heads(x, heads):\n    return torch.stack(x.chunk(heads, dim=-1), dim=1)"
        ),
        "07_merge_heads_answer": "def merge_heads(x):\n    return torch.cat(x.unbind(1), dim=-1)",
        "07_causal_mask_answer": (
            "def causal_mask(length):\n"
            "    pos = torch.arange(length)\n"
            "    return pos[None, :] <= pos[:, None]"
        ),
        "07_positional_encoding_answer": (
            "def positional_encoding(length, d_model):\n"
            "    rows = []\n"
            "    for p in range(length):\n"
            "        row = []\n"
            "        for i in range(d_model // 2):\n"
            "            angle = p / 10000 ** (2 * i / d_model)\n"
            "            row += [math.sin(angle), math.cos(angle)]\n"
            "        rows.append(row)\n"
            "    return torch.tensor(rows)"
        ),
    },
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One grading call (through the CLI) over every notebook; returns (report, paths, table)."""
    tmp = tmp_path_factory.mktemp("grading")
    learners = _tampered(tmp)
    paths = [*SOLUTIONS, *learners.values()]
    private = tmp / "grader-tmp"
    private.mkdir()
    report_path = tmp / "report.json"
    args = [*map(str, paths), "--json", str(report_path), "--jobs", "2", "--tmp-dir", str(private)]
    # Limits far below the defaults keep the endless loop short, yet hold for right answers on a
    # busy machine: with 2 s per call, a right bilinear answer (its gradient check included) ran
    # out of time once in `make test`'s lanes at load average 6.
    code = grade_main([*args, "--cell-timeout", "6", "--part-timeout", "20"])
    assert code == 0
    assert not list(private.iterdir()), "the grader left its temporary folder behind"
    report = json.loads(report_path.read_text())
    by_path = {nb["path"]: nb for nb in report["notebooks"]}
    return by_path, learners, report_path


def _parts(notebook) -> dict[str, dict]:
    return {part["id"]: part for part in notebook["parts"]}


def test_report_shape_and_totals(graded):
    by_path, _, _ = graded
    for nb in by_path.values():
        assert set(nb) >= {"path", "score", "max", "parts"}
        assert nb["score"] == sum(p["score"] for p in nb["parts"])
        for part in nb["parts"]:
            assert set(part) == {"id", "score", "max", "status", "message", "mistake"}


def test_every_solution_scores_full_marks(graded):
    by_path, _, _ = graded
    total_parts = 0
    for path in SOLUTIONS:
        nb = by_path[str(path)]
        assert nb["max"] > 0 and nb["score"] == nb["max"], [p["message"] for p in nb["parts"]]
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
    by_path, learners, _ = graded
    nb = by_path[str(learners[trick])]
    release = _read(
        restore.find_release(learners[trick], _read(learners[trick]), ROOT / "exercises")
    )
    assert [p["id"] for p in nb["parts"]] == _graded_ids(release)
    assert nb["score"] == 0 and nb["max"] > 0
    for part in nb["parts"]:
        assert part["status"] == "not_implemented", part
        assert "not implemented yet" in part["message"]


def test_mistake_hint_reaches_the_report_and_restored_checks_count(graded):
    by_path, learners, _ = graded
    parts = _parts(by_path[str(learners["mixed_scores"])])
    assert parts["02_bilinear_score"]["status"] == "failed"
    assert MISTAKES["bilinear_transposed"] in parts["02_bilinear_score"]["message"]
    assert parts["02_bilinear_score"]["mistake"] == "bilinear_transposed"
    assert parts["02_mlp_score"]["mistake"] is None
    assert parts["02_mlp_score"]["status"] == "passed"  # deleted check re-inserted
    assert by_path[str(learners["mixed_scores"])]["score"] == 4


def test_endless_loop_fails_only_its_own_part(graded):
    by_path, learners, _ = graded
    parts = _parts(by_path[str(learners["endless_loop"])])
    assert parts["05_bahdanau_step"]["status"] == "failed"
    assert "never ends" in parts["05_bahdanau_step"]["message"]
    assert parts["05_luong_step"]["status"] == "passed"
    assert parts["05_decode"]["status"] == "passed"


@pytest.mark.parametrize("number", sorted(ALTERNATIVES))
def test_answers_written_differently_score_full_marks(graded, number):
    by_path, learners, _ = graded
    nb = by_path[str(learners[f"alternative_{number}"])]
    assert nb["score"] == nb["max"] > 0, [p["message"] for p in nb["parts"]]


def test_gradebook_has_one_row_per_learner_and_a_column_per_part(graded):
    by_path, learners, report_path = graded
    with open(report_path.with_suffix(".csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    by_learner = {row["learner"]: row for row in rows}
    assert len(rows) == len(by_learner)
    # each tampered notebook sits in a folder named after its trick: the folder is the learner
    mixed = by_learner["mixed_scores"]
    assert mixed["02_bilinear_score"] == "0" and mixed["02_mlp_score"] == "2"
    assert mixed["01_last_valid_state"] == ""  # a notebook not handed in: an empty cell
    released = sum(
        part.points
        for path in EXERCISES
        for part in restore.released_parts(nbformat.read(path, as_version=4))
    )
    assert mixed["total"] == "4" and float(mixed["max"]) == released
    columns = list(rows[0])
    part_ids = [p["id"] for path in SOLUTIONS for p in by_path[str(path)]["parts"]]
    assert columns == ["learner", *part_ids, "total", "max"]


def test_learner_ids_follow_the_documented_rule():
    roots = (Path("submissions"),)
    assert learner_id(Path("submissions/alice/03_softmax_weights.ipynb"), roots) == "alice"
    assert learner_id(Path("submissions/bob_03_softmax_weights.ipynb"), roots) == "bob"
    assert learner_id(Path("submissions/carol-05_full_model.ipynb"), roots) == "carol"
    assert learner_id(Path("submissions/dave/my_work.ipynb"), roots) == "my_work"
    assert learner_id(Path("submissions/03_softmax_weights.ipynb"), roots) == "03_softmax_weights"


# ---- restoring check cells (no kernel needed) ----------------------------------------------


def test_deleted_check_cell_returns_to_its_place_after_learner_scratch_cells():
    release = _read(ROOT / "exercises" / "02_score_functions.ipynb")
    learner = copy.deepcopy(release)
    learner.cells = [c for c in learner.cells if c.id != "02_dot_score"]
    answer_at = next(i for i, c in enumerate(learner.cells) if c.id == "02_dot_score_answer")
    learner.cells.insert(answer_at + 1, nbformat.v4.new_code_cell("x = 1", id="scratch"))
    restored = restore.restore_checks(learner, release)
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
    restored = restore.restore_checks(learner, release)
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
    restored = restore.restore_checks(learner, release)
    assert len({c.id for c in restored.cells}) == len(restored.cells)
    assert _graded_ids(restored) == _graded_ids(release)
    for cell_id in _graded_ids(release):
        assert _cell(restored, cell_id).source.startswith("checks.check_")


def test_release_is_found_by_name_metadata_or_number(tmp_path):
    release_dir = ROOT / "exercises"
    nb = _read(release_dir / "05_full_model.ipynb")
    assert (
        restore.find_release(Path("05_full_model.ipynb"), nb, release_dir).name
        == "05_full_model.ipynb"
    )
    assert restore.find_release(Path("mine.ipynb"), nb, release_dir).name == "05_full_model.ipynb"
    nb.metadata.pop("course")
    assert (
        restore.find_release(Path("05_copy.ipynb"), nb, release_dir).name == "05_full_model.ipynb"
    )
    with pytest.raises(restore.GradingError, match="--release"):
        restore.find_release(Path("homework.ipynb"), nb, release_dir)
    # nbgrader's submitted/<student>/<assignment>/: the assignment folder names the exercise
    by_folder = Path("submitted/ana/05_full_model/homework.ipynb")
    assert restore.find_release(by_folder, nb, release_dir).name == "05_full_model.ipynb"
    by_number = Path("submitted/ana/05_decoders/homework.ipynb")
    assert restore.find_release(by_number, nb, release_dir).name == "05_full_model.ipynb"
    nb.metadata["course"] = {"exercise": str(tmp_path / "my_own_release")}
    (tmp_path / "my_own_release.ipynb").write_text("{}")
    with pytest.raises(restore.GradingError):  # a notebook cannot name itself its own release
        restore.find_release(Path("homework.ipynb"), nb, release_dir)


def test_grading_failures_exit_nonzero(tmp_path, capsys):
    bad = tmp_path / "02_score_functions.ipynb"
    bad.write_text("{not json")
    assert grade_main([str(bad), "--tmp-dir", str(tmp_path)]) == 2
    assert "cannot read the notebook" in capsys.readouterr().err
    missing = ["--release", str(tmp_path / "missing"), "--tmp-dir", str(tmp_path)]
    assert grade_main([str(SOLUTIONS[0]), *missing]) == 2
    assert grade_main([str(tmp_path / "empty_dir_glob")]) == 2


def test_notebook_time_limit_reports_not_run(tmp_path):
    report = grade([SOLUTIONS[0]], limits=Limits(notebook=0.5), tmp_dir=tmp_path)
    nb = report["notebooks"][0]
    assert nb["score"] == 0 and nb["max"] > 0
    assert {p["status"] for p in nb["parts"]} == {"not_run"}
    assert "time limit" in nb["parts"][0]["message"]


def test_table_lists_parts_points_and_total_and_wraps_messages_whole():
    message = "wrong " * 40 + "end."
    report = {
        "isolation": "bubblewrap",
        "notebooks": [
            {
                "path": "x.ipynb",
                "score": 1,
                "max": 3,
                "parts": [
                    {"id": "a", "score": 1, "max": 1, "status": "passed", "message": "passed"},
                    {"id": "b", "score": 0, "max": 2, "status": "failed", "message": message},
                ],
            }
        ],
        "score": 1,
        "max": 3,
    }
    table = format_report(report, width=60)
    assert "x.ipynb: 1 / 3" in table and "total: 1 / 3" in table
    assert "0/2" in table
    assert all(len(line) <= 60 for line in table.splitlines())
    assert " ".join(table.split()).count("wrong") == 40 and "end." in table


def test_sandbox_runs_setup_and_answers_but_not_the_progress_preview():
    nb = _read(ROOT / "exercises" / "03_softmax_weights.ipynb")
    ids = [cell["id"] for cell in restore.code_cells(nb)]
    assert ids[0] == "setup" and all(i == "setup" or i.endswith("_answer") for i in ids)
    assert "progress" in {cell.id for cell in nb.cells} and "progress" not in ids
