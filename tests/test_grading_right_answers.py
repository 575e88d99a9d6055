"""No right answer fails grading: every solution part, judged as the grader does, on many draws.

Grading draws fresh inputs each run, so a tolerance that is too tight shows up only now and then
(a right float32 loss once failed 1 case in 70). scripts/sweep_grader.py measures that rate over
hundreds of seeds (`make sweep-grader`); this runs it over a fixed few dozen.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# 40 seeds, and one that once failed a right answer (luong_step's logits, off by 9.3e-8 where all
# of them were below 1e-2: out's sum cancelled; the judge now allows for float32 rounding there)
SEEDS = (*range(40), 1450)


def _sweeper():
    spec = importlib.util.spec_from_file_location("sweep_grader", ROOT / "scripts/sweep_grader.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    "solution", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.stem
)
def test_every_solution_part_passes_the_grader_on_every_draw(solution):
    rows = _sweeper().sweep(solution, SEEDS)
    assert rows, "no graded parts found"
    for name, judged, failed, first in rows:
        assert judged >= len(SEEDS), name
        assert failed == 0, f"{name}: {failed} of {judged} cases failed, first {first}"
