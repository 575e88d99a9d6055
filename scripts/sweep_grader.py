"""How often the grader fails a right answer: every solution's parts, judged over many seeds.

Grading draws fresh stress inputs on every run, so a tolerance that is too tight fails a right
answer only now and then (once, 1 case in 70 for the float32 loss). This runs each solution
notebook's answer cells in this process, then for every graded part and every seed calls the
answer and judges it with the grader's own code (attempt.run_case, verdict.judge_case), as
test_checks_vs_grader.py does for wrong answers. It prints failures per part; all should be 0.

    python scripts/sweep_grader.py --seeds 500          # about 1 min
    ATEN_CPU_CAPABILITY=avx2 python scripts/sweep_grader.py --seeds 500
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time
from collections.abc import Iterable
from pathlib import Path

import matplotlib
import nbformat
import torch

from course_lib.checks import CheckFailed
from course_lib.grade import verdict
from course_lib.grade.attempt import run_case
from course_lib.grade.restore import released_parts

ROOT = Path(__file__).resolve().parents[1]


def answers(solution: Path) -> dict:
    """The namespace left by a solution notebook's code cells (output silenced; plots skipped)."""
    namespace: dict = {"__name__": "__sweep__"}
    nb = nbformat.read(solution, as_version=4)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for cell in nb.cells:
            magic = cell.source.lstrip().startswith(("%", "!"))
            if cell.cell_type == "code" and "plt." not in cell.source and not magic:
                exec(compile(cell.source, f"<{solution.stem}>", "exec"), namespace)
    return namespace


def sweep(solution: Path, seeds: Iterable[int]) -> list[tuple[str, int, int, str]]:
    """(part, cases judged, cases failed, first failure) for each graded part of one solution."""
    release = nbformat.read(ROOT / "exercises" / solution.name, as_version=4)
    namespace = answers(solution)
    rows = []
    for released in released_parts(release):
        part = verdict.part_named(released.name)
        fn = namespace[released.function]
        judged, failed, first = 0, 0, ""
        for seed in seeds:
            cases = verdict.draw_cases(part, torch.Generator().manual_seed(seed))
            job = verdict.job_part(released.grade_id, part, released.function, cases)
            for case, sent_case in zip(cases, job["cases"], strict=True):
                sent = run_case(fn, sent_case, job, 10.0)
                judged += 1
                try:
                    if "error" in sent:
                        raise CheckFailed(str(sent["error"]))
                    verdict.judge_case(part, case, sent)
                except CheckFailed as err:
                    failed += 1
                    first = first or f"seed {seed}: {str(err).splitlines()[0][:100]}"
        rows.append((released.name, judged, failed, first))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200, help="grading seeds per part")
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args(argv)
    matplotlib.use("Agg")
    torch.set_num_threads(1)  # tiny tensors; two sweeps side by side must not fight for cores
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    capability = os.environ.get("ATEN_CPU_CAPABILITY", "native")
    start, total_judged, total_failed = time.perf_counter(), 0, 0
    for solution in sorted((ROOT / "solutions").glob("*.ipynb")):
        for name, judged, failed, first in sweep(solution, seeds):
            total_judged, total_failed = total_judged + judged, total_failed + failed
            print(f"{name:22s} {failed:4d} of {judged:6d} cases failed  {first}", flush=True)
    elapsed = time.perf_counter() - start
    print(
        f"sweep-grader seeds={args.seeds} cpu={capability} cases={total_judged} "
        f"failed={total_failed} time_s={elapsed:.0f}"
    )
    return 1 if total_failed else 0


if __name__ == "__main__":
    sys.exit(main())
