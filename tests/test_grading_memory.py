"""A part that asks for 20 GB gets a "memory limit" verdict; nothing else loses a point.

The allocations here reserve address space without touching it (torch.empty, bytearray), so if
the limit were missing they would succeed, the test would fail, and the machine would be fine.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from course_lib.grade.grader import Limits, grade

ROOT = Path(__file__).resolve().parents[1]
TWENTY_GB = 20 * 10**9


def _solution(number: str) -> Path:
    return next((ROOT / "solutions").glob(f"{number}_*.ipynb"))


def _greedy_learner(tmp: Path) -> Path:
    """Exercise 02 with two answers that each ask for 20 GB; the other two answers are right."""
    nb = copy.deepcopy(nbformat.read(_solution("02"), as_version=4))
    sources = {
        "02_dot_score_answer": (
            "def dot_score(query, keys):\n"
            f"    waste = torch.empty({TWENTY_GB // 4})  # 20 GB of float32\n"
            "    return torch.einsum('bd,bsd->bs', query, keys)\n"
        ),
        "02_scaled_dot_score_answer": (
            f"def scaled_dot_score(query, keys):\n    buffer = bytearray({TWENTY_GB})\n"
            "    return torch.einsum('bd,bsd->bs', query, keys) / query.shape[-1] ** 0.5\n"
        ),
    }
    for cell in nb.cells:
        if cell.id in sources:
            cell.source = sources[cell.id]
    path = tmp / "greedy" / _solution("02").name
    path.parent.mkdir()
    nbformat.write(nb, path)
    return path


def test_twenty_gigabytes_hit_the_memory_limit_and_nothing_else_suffers(tmp_path):
    classmate = _solution("02")
    private = tmp_path / "grader-tmp"
    private.mkdir()
    limits = Limits(cell=5.0, part=20.0, notebook=90.0, memory_mb=1024)
    report = grade([_greedy_learner(tmp_path), classmate], limits=limits, tmp_dir=private)
    greedy, other = report["notebooks"]
    parts = {p["id"]: p for p in greedy["parts"]}
    for part in ("02_dot_score", "02_scaled_dot_score"):
        assert parts[part]["status"] == "failed"
        assert "memory limit" in parts[part]["message"] and "1024 MB" in parts[part]["message"]
    assert parts["02_bilinear_score"]["status"] == parts["02_mlp_score"]["status"] == "passed"
    assert greedy["score"] == 4
    assert other["score"] == other["max"] > 0
    assert not list(private.iterdir())
