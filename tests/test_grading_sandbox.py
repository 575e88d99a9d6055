"""The grader without bubblewrap, and its defences against broken data from the sandbox."""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest
import torch

from course_lib.checks import PARTS
from course_lib.grade import sandbox, verdict, wire
from course_lib.grade.grader import Limits, Planned, _collect, grade
from course_lib.grade.outcome import describe

ROOT = Path(__file__).resolve().parents[1]


def _with_answer(tmp: Path, name: str, number: str, cell_id: str, source: str) -> Path:
    path = next((ROOT / "solutions").glob(f"{number}_*.ipynb"))
    nb = copy.deepcopy(nbformat.read(path, as_version=4))
    next(c for c in nb.cells if c.id == cell_id).source = source
    target = tmp / name / path.name
    target.parent.mkdir()
    nbformat.write(nb, target)
    return target


def test_process_group_fallback_survives_a_killed_parent_and_says_so(tmp_path):
    kill = "import os, signal\ndef hard_alignment(w):\n    os.kill(os.getppid(), signal.SIGKILL)\n"
    hostile = _with_answer(tmp_path, "hostile", "06", "06_hard_alignment_answer", kill)
    classmate = next((ROOT / "solutions").glob("02_*.ipynb"))
    private = tmp_path / "grader-tmp"
    private.mkdir()
    limits = Limits(cell=5.0, part=20.0, notebook=120.0)  # room for a busy machine
    report = grade([hostile, classmate], limits=limits, isolation="process-group", tmp_dir=private)
    assert report["isolation"] == "process-group" and "asked for" in report["isolation_note"]
    first, second = report["notebooks"]
    assert second["score"] == second["max"] > 0
    statuses = {p["id"]: p["status"] for p in first["parts"]}
    assert statuses == {
        "06_hard_alignment": "failed",
        "06_alignment_accuracy": "passed",
        "06_map_reading": "passed",
    }
    assert not list(private.iterdir())


def _nested(depth: int) -> dict:
    return {"list": []} if depth == 0 else {"list": [_nested(depth - 1)]}


GARBAGE = [
    {"ev": "part", "part": "p"},
    {"ev": "result", "part": "p", "outcome": "not a dict"},
    {"ev": "result", "part": "unknown", "outcome": {}},
    {"ev": 5},
    {"ev": "skip", "cell": ["not", "a", "string"]},
    {"ev": "result", "part": "p", "outcome": {"cases": [{"result": {"tensor": "float32"}}]}},
]


def test_broken_result_data_fails_that_part_and_nothing_else():
    part = PARTS["dot_score"]
    cases = verdict.draw_cases(part, torch.Generator().manual_seed(0))
    planned = Planned("p", 1, "dot_score", "dot_score", cases)
    assert _collect(GARBAGE, [planned], {}) == "p"
    status, message = describe(part, planned, {}, Limits())
    assert status == "failed" and "did not come back complete" in message


@pytest.mark.parametrize(
    "data",
    [
        {"tensor": "float32", "shape": [2], "data": "AAAA"},  # 3 bytes for 2 floats
        {"tensor": "object", "shape": [1], "data": ""},
        {"tensor": "float32", "shape": [10**9], "data": ""},
        {"ndarray": "object", "shape": [], "data": ""},
        {"module": "Linear", "kwargs": {"in_features": 10**6, "out_features": 10**6}, "state": {}},
        {"int": "7"},
        _nested(wire.MAX_DEPTH + 2),
        "a string",
    ],
)
def test_wire_refuses_anything_but_plain_data(data):
    with pytest.raises(wire.WireError):
        wire.decode(data)


def test_wire_round_trip_gives_plain_tensors():
    class Sub(torch.Tensor):
        pass

    value = (torch.arange(6.0).reshape(2, 3).as_subclass(Sub), 3, 0.5, [True, None])
    back = wire.decode(wire.encode(value))
    assert type(back[0]) is torch.Tensor and torch.equal(back[0], torch.arange(6.0).reshape(2, 3))
    assert back[1:] == (3, 0.5, [True, None])


def test_read_only_binds_go_on_top_of_the_fresh_tmp():
    """A venv or checkout under /tmp (a CI clone) must stay visible inside the sandbox."""
    command = sandbox.bwrap_command("bwrap")
    tmpfs = command.index("--tmpfs")
    assert command[tmpfs + 1] == "/tmp"
    binds = [i for i, word in enumerate(command) if word == "--ro-bind"]
    assert binds and min(binds) > tmpfs
