"""Gradebook CSVs for a course site: the course's own, Canvas's and Moodle's import formats.

- course: one row per learner, one column per part (points), then `total` and `max`.
- canvas: Canvas's gradebook import columns, `Student`, `ID`, `SIS User ID`, `SIS Login ID`,
  `Section`, then one column per exercise, and a `Points Possible` row under the header (as in
  a gradebook Canvas exports). The learner id goes into `Student` and `SIS Login ID`.
- moodle: Moodle's CSV grade import: a header row, an identifier column (`Username`) and one
  column per exercise (a grade item); the mapping is chosen in Moodle's import preview.

Every cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`,
so that no spreadsheet runs a learner id made from a folder or file name as a formula.
"""

from __future__ import annotations

import csv
from pathlib import Path

FORMATS = ("course", "canvas", "moodle")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CANVAS_IDS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def safe_cell(text: str) -> str:
    """The text as a spreadsheet shows it, never as a formula it runs."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _points(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def best_parts(report: dict) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """{learner: {part id: best score}} over all their notebooks, and {part id: max}."""
    rows: dict[str, dict[str, float]] = {}
    maxima: dict[str, float] = {}
    for nb in report["notebooks"]:
        row = rows.setdefault(nb.get("learner") or Path(nb["path"]).stem, {})
        for part in nb["parts"]:
            maxima[part["id"]] = part["max"]
            # two copies of one exercise from one learner: the better one counts
            row[part["id"]] = max(row.get(part["id"], 0), part["score"])
    return rows, maxima


def _exercises(report: dict) -> dict[str, list[str]]:
    """{exercise name: its part ids}, in the order first seen."""
    found: dict[str, list[str]] = {}
    for nb in report["notebooks"]:
        name = nb.get("exercise") or Path(nb["path"]).stem
        ids = found.setdefault(name, [])
        ids += [p["id"] for p in nb["parts"] if p["id"] not in ids]
    return {name: ids for name, ids in found.items() if ids}


def _course_rows(report: dict) -> list[list[str]]:
    rows, maxima = best_parts(report)
    columns = list(maxima)
    possible = sum(maxima.values())
    table = [["learner", *columns, "total", "max"]]
    for learner in sorted(rows):
        row = rows[learner]
        cells = [_points(row.get(c)) for c in columns]
        table.append([learner, *cells, _points(sum(row.values())), _points(possible)])
    return table


def _per_exercise(report: dict) -> tuple[list[str], dict[str, list[str]], list[float]]:
    """Exercise names, each learner's points per exercise ('' if not handed in), each maximum."""
    rows, maxima = best_parts(report)
    exercises = _exercises(report)
    names = list(exercises)
    scores = {
        learner: [
            _points(sum(row[i] for i in ids if i in row) if any(i in row for i in ids) else None)
            for ids in exercises.values()
        ]
        for learner, row in rows.items()
    }
    return names, scores, [sum(maxima[i] for i in ids) for ids in exercises.values()]


def _canvas_rows(report: dict) -> list[list[str]]:
    names, scores, possible = _per_exercise(report)
    table = [[*CANVAS_IDS, *names]]
    table.append(["Points Possible", "", "", "", "", *map(_points, possible)])
    for learner in sorted(scores):
        table.append([learner, "", "", learner, "", *scores[learner]])
    return table


def _moodle_rows(report: dict) -> list[list[str]]:
    names, scores, _ = _per_exercise(report)
    return [["Username", *names], *([learner, *scores[learner]] for learner in sorted(scores))]


def gradebook_rows(report: dict, kind: str = "course") -> list[list[str]]:
    """The CSV's rows, every cell made formula-safe."""
    build = {"course": _course_rows, "canvas": _canvas_rows, "moodle": _moodle_rows}
    if kind not in build:
        raise ValueError(f"unknown gradebook format {kind!r}; expected one of {FORMATS}")
    return [[safe_cell(cell) for cell in row] for row in build[kind](report)]


def write_gradebook(report: dict, path: Path, kind: str = "course") -> None:
    """Write the gradebook CSV in the given format (see this module's docstring)."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(gradebook_rows(report, kind))
