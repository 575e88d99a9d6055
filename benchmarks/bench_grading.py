"""Grading speed: seconds per notebook for a class of 60 submissions, and for one notebook alone.

    python benchmarks/bench_grading.py [--notebooks 60] [--jobs 2]

Learners each hand in every exercise (half of them solved, half not), as many learners as
needed for `notebooks` notebooks, graded in one call with `--jobs`. Prints figures and the load
average before and after (the figures mean little without it); asserts nothing.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from course_lib.grade.grader import grade

ROOT = Path(__file__).resolve().parents[1]


def _class(folder: Path, learners: int) -> list[Path]:
    paths = []
    for index in range(learners):
        source = ROOT / ("solutions" if index % 2 == 0 else "exercises")
        learner = folder / f"learner{index:02d}"
        learner.mkdir()
        for notebook in sorted(source.glob("*.ipynb")):
            paths.append(Path(shutil.copy(notebook, learner / notebook.name)))
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notebooks", type=int, default=60)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    per_learner = len(list((ROOT / "solutions").glob("*.ipynb")))
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        paths = _class(Path(tmp), math.ceil(args.notebooks / per_learner))[: args.notebooks]
        start = time.perf_counter()
        report = grade(paths[:1], tmp_dir=Path(tmp))  # also pays the grader's imports once
        single = time.perf_counter() - start
        start = time.perf_counter()
        report = grade(paths, jobs=args.jobs, tmp_dir=Path(tmp))
        batch = time.perf_counter() - start
    after = os.getloadavg()
    print(f"load average (1, 5, 15 min) before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    print(f"load average (1, 5, 15 min) after:  {after[0]:.1f} {after[1]:.1f} {after[2]:.1f}")
    print(f"isolation: {report['isolation']}")
    print(f"one notebook alone: {single:.1f} s (the grader's own imports included)")
    print(
        f"{len(paths)} notebooks, --jobs {args.jobs}: {batch:.1f} s, "
        f"{batch / len(paths):.2f} s per notebook"
    )
    print(f"score: {report['score']:g} / {report['max']:g}")


if __name__ == "__main__":
    main()
