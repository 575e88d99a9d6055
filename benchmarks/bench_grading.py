"""Grading speed: seconds per notebook for a class of 60 submissions, and for one notebook alone.

    python benchmarks/bench_grading.py [--learners 10] [--jobs 2]

A class of `learners` learners each hands in the six exercises (half of them solved, half not),
graded in one call with `--jobs`. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("--learners", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        paths = _class(Path(tmp), args.learners)
        start = time.perf_counter()
        report = grade(paths[:1], tmp_dir=Path(tmp))  # also pays the grader's imports once
        single = time.perf_counter() - start
        start = time.perf_counter()
        report = grade(paths, jobs=args.jobs, tmp_dir=Path(tmp))
        batch = time.perf_counter() - start
    print(f"isolation: {report['isolation']}")
    print(f"one notebook alone: {single:.1f} s (the grader's own imports included)")
    print(
        f"{len(paths)} notebooks, --jobs {args.jobs}: {batch:.1f} s, "
        f"{batch / len(paths):.2f} s per notebook"
    )
    print(f"score: {report['score']:g} / {report['max']:g}")


if __name__ == "__main__":
    main()
