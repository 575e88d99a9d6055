"""Command line of the grader: a table of parts and points, and optionally JSON and a gradebook.

    python -m course_lib.grade exercises/03_softmax_weights.ipynb
    python -m course_lib.grade submissions/ --json report.json --jobs 2
    python -m course_lib.grade submissions/ --report class.html --feedback feedback/

With --json, a gradebook CSV is written next to it (report.csv), or where --csv says, in the
format --csv-format names (course, canvas or moodle). --report writes the class report as one
HTML page and the same data as JSON beside it (class.json); --feedback writes one HTML page per
learner and exercise. Exit code 0 whenever grading ran, whatever the score; 2 when grading
itself failed (a notebook it cannot read, a missing release folder).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .classpage import write_class_page
from .classview import class_summary
from .feedback import write_feedback
from .gradebook import FORMATS, write_gradebook
from .grader import CELL_TIMEOUT, MEMORY_LIMIT_MB, NOTEBOOK_TIMEOUT, PART_TIMEOUT, Limits, grade
from .report import format_report, with_learners
from .restore import GradingError


def expand(paths: list[Path]) -> list[Path]:
    """Notebooks given, and every notebook under the folders given (checkpoints skipped)."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        else:
            found.append(path)
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m course_lib.grade", description=__doc__)
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks or folders of notebooks")
    parser.add_argument("--json", type=Path, help="write the report as JSON to this file")
    parser.add_argument("--csv", type=Path, help="write the gradebook CSV here")
    parser.add_argument(
        "--csv-format", choices=FORMATS, default="course", help="the gradebook's columns"
    )
    parser.add_argument(
        "--report", type=Path, help="write the class report here (HTML; JSON beside it)"
    )
    parser.add_argument("--feedback", type=Path, help="write feedback pages into this folder")
    parser.add_argument("--release", type=Path, help="released exercises (default: exercises/)")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded in parallel")
    parser.add_argument(
        "--cell-timeout", type=float, default=CELL_TIMEOUT, help="seconds per cell or call"
    )
    parser.add_argument("--part-timeout", type=float, default=PART_TIMEOUT, help="seconds per part")
    parser.add_argument(
        "--timeout", type=float, default=NOTEBOOK_TIMEOUT, help="seconds per notebook"
    )
    parser.add_argument(
        "--memory-limit",
        type=float,
        default=MEMORY_LIMIT_MB,
        help="MB of memory each part may allocate (0: no limit)",
    )
    parser.add_argument(
        "--isolation",
        choices=("auto", "bubblewrap", "process-group"),
        default="auto",
        help="auto: bubblewrap where it works, else a process group",
    )
    parser.add_argument("--tmp-dir", type=Path, help="parent folder for temporary files")
    parser.add_argument("--seed", type=int, help="draw the same cases as an earlier run")
    return parser


def _dump(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _write_outputs(report: dict, args: argparse.Namespace) -> None:
    """The JSON report, the gradebook, the class report and the feedback pages asked for."""
    if args.json:
        _dump(report, args.json)
    csv_path = args.csv or (args.json.with_suffix(".csv") if args.json else None)
    if csv_path:
        write_gradebook(report, csv_path, args.csv_format)
    if args.report:
        summary = class_summary(report)
        write_class_page(summary, args.report)
        _dump(summary, args.report.with_suffix(".json"))
    if args.feedback:
        write_feedback(report, args.feedback)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    paths = expand(args.paths)
    if not paths:
        print("error: no notebooks to grade", file=sys.stderr)
        return 2
    memory = args.memory_limit if args.memory_limit > 0 else None
    limits = Limits(args.cell_timeout, args.part_timeout, args.timeout, memory)
    try:
        report = grade(
            paths, args.release, limits, args.jobs, args.isolation, args.tmp_dir, args.seed
        )
    except GradingError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    with_learners(report, tuple(p for p in args.paths if p.is_dir()))
    print(format_report(report))
    _write_outputs(report, args)
    failed = [nb for nb in report["notebooks"] if nb.get("error")]
    for nb in failed:
        print(f"error: {nb['error']}", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
