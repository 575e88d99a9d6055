"""Command line of the grader: print a table of parts and points, optionally write a JSON report.

    python -m course_lib.grade exercises/03_softmax_weights.ipynb
    python -m course_lib.grade my_work/ --json report.json --release path/to/exercises

Exit code 0 whenever grading ran, whatever the score; 2 when grading itself failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..grading import DEFAULT_CELL_TIMEOUT, GradingError, format_report, grade


def _expand(paths: list[Path]) -> list[Path]:
    found = []
    for path in paths:
        found.extend(sorted(path.glob("*.ipynb")) if path.is_dir() else [path])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grade", description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    parser.add_argument("--json", type=Path, help="write the report as JSON to this file")
    parser.add_argument(
        "--release",
        type=Path,
        help="folder of released exercises (default: the course's exercises/)",
    )
    parser.add_argument(
        "--cell-timeout", type=int, default=DEFAULT_CELL_TIMEOUT, help="seconds per cell"
    )
    parser.add_argument(
        "--timeout", type=float, help="seconds for the whole run (default: 300 per notebook)"
    )
    parser.add_argument(
        "--jobs", type=int, default=1, help="notebooks graded in parallel (pytest-xdist)"
    )
    args = parser.parse_args(argv)
    paths = _expand(args.paths)
    if not paths:
        print("error: no notebooks to grade", file=sys.stderr)
        return 2
    try:
        report = grade(paths, args.release, args.cell_timeout, args.timeout, args.jobs)
    except GradingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(format_report(report))
    if args.json:
        args.json.write_text(
            json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    failed = [nb for nb in report["notebooks"] if nb.get("error")]
    for nb in failed:
        print(f"error: {nb['error']}", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
