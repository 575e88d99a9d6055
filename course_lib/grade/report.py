"""The report: JSON for tools, a table for people, a gradebook CSV for an LMS.

JSON shape:
    {"isolation": "bubblewrap", "notebooks": [{"path", "learner", "seed", "isolation",
     "score", "max", "parts": [{"id", "score", "max", "status", "message"}], ["error"], ["notes"]}],
     "score", "max"}

Learner ids (the CSV's rows) come from paths by this rule:
1. a notebook inside a folder named after the learner: that folder
   (`submissions/alice/03_softmax_weights.ipynb` -> `alice`);
2. a file named `<learner>_<NN>_<exercise>.ipynb` or `<learner>-<NN>_...`, NN two digits:
   the part before NN (`submissions/bob_03_softmax_weights.ipynb` -> `bob`);
3. otherwise the file name without `.ipynb`.
Rule 1 applies when the notebook's file name starts with its exercise number (as released)
and the folder is not one of the folders given on the command line.
"""

from __future__ import annotations

import csv
import re
import textwrap
from pathlib import Path

LEARNER_PREFIX = re.compile(r"^(?P<learner>.+?)[_-]\d{2}_")
STARTS_WITH_NUMBER = re.compile(r"^\d{2}_")


def learner_id(path: Path, roots: tuple[Path, ...] = ()) -> str:
    """The learner a submission belongs to, by the rule in this module's docstring."""
    name = path.name
    folder = path.parent
    given = {root.resolve() for root in roots}
    if STARTS_WITH_NUMBER.match(name) and folder.name and folder.resolve() not in given:
        return folder.name
    match = LEARNER_PREFIX.match(name)
    if match:
        return match.group("learner")
    return path.stem


def build_report(entries: list[dict], sandbox) -> dict:
    """Totals per notebook and overall, around the entries grade_notebook() made."""
    for entry in entries:
        entry["score"] = sum(p["score"] for p in entry["parts"])
        entry["max"] = sum(p["max"] for p in entry["parts"])
    report = {
        "isolation": sandbox.kind,
        "notebooks": entries,
        "score": sum(e["score"] for e in entries),
        "max": sum(e["max"] for e in entries),
    }
    if sandbox.note:
        report["isolation_note"] = sandbox.note
    return report


def with_learners(report: dict, roots: tuple[Path, ...]) -> dict:
    for entry in report["notebooks"]:
        entry["learner"] = learner_id(Path(entry["path"]), roots)
    return report


def format_report(report: dict, width: int = 100) -> str:
    """A plain-text table: one block per notebook, one line per part, messages wrapped below."""
    labels = {"not_implemented": "not implemented", "not_run": "not run"}
    lines = []
    if report.get("isolation_note"):
        lines.append(f"isolation: {report['isolation']} ({report['isolation_note']})")
    for nb in report["notebooks"]:
        lines.append(f"{nb['path']}: {nb['score']:g} / {nb['max']:g}")
        if nb.get("error"):
            lines += textwrap.wrap(
                f"error: {nb['error']}", width, initial_indent="  ", subsequent_indent="    "
            )
        id_width = max([len(p["id"]) for p in nb["parts"]] + [4])
        for p in nb["parts"]:
            points = f"{p['score']:g}/{p['max']:g}"
            status = labels.get(p["status"], p["status"])
            lines.append(f"  {p['id']:<{id_width}}  {points:>5}  {status}")
            if p["status"] != "passed":
                lines += textwrap.wrap(
                    p["message"], width, initial_indent="      ", subsequent_indent="      "
                )
        lines.append("")
    lines.append(f"total: {report['score']:g} / {report['max']:g}")
    return "\n".join(lines)


def write_gradebook(report: dict, path: Path) -> None:
    """One row per learner, one column per part (points), then total and max: an LMS import.

    A part of a notebook the learner did not hand in is left empty and counts 0 in the total;
    max is what the whole set of graded exercises is worth.
    """
    columns: list[str] = []
    rows: dict[str, dict[str, float]] = {}
    for nb in report["notebooks"]:
        row = rows.setdefault(nb.get("learner") or Path(nb["path"]).stem, {})
        for part in nb["parts"]:
            if part["id"] not in columns:
                columns.append(part["id"])
            # two copies of one exercise from one learner: the better one counts
            row[part["id"]] = max(row.get(part["id"], 0), part["score"])
    maxima = {}
    for nb in report["notebooks"]:
        for part in nb["parts"]:
            maxima[part["id"]] = part["max"]
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", *columns, "total", "max"])
        for learner in sorted(rows):
            row = rows[learner]
            cells = [f"{row[c]:g}" if c in row else "" for c in columns]
            total = sum(row.values())
            possible = sum(maxima.values())
            writer.writerow([learner, *cells, f"{total:g}", f"{possible:g}"])
