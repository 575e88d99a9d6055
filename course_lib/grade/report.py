"""The report: JSON for tools, a table for people (gradebooks: gradebook.py; class: classview.py).

JSON shape:
    {"isolation": "bubblewrap", "notebooks": [{"path", "learner", "seed", "isolation",
     "exercise", "score", "max",
     "parts": [{"id", "score", "max", "status", "message", "mistake"}], ["error"], ["notes"]}],
     "score", "max"}

Learner ids (the CSV's rows) come from paths by this rule:
0. nbgrader's layout, `submitted/<student>/<assignment>/<notebook>.ipynb`: the student;
1. a notebook inside a folder named after the learner: that folder
   (`submissions/alice/03_softmax_weights.ipynb` -> `alice`);
2. a file named `<learner>_<NN>_<exercise>.ipynb` or `<learner>-<NN>_...`, NN two digits:
   the part before NN (`submissions/bob_03_softmax_weights.ipynb` -> `bob`);
3. otherwise the file name without `.ipynb`.
Rule 1 applies when the notebook's file name starts with its exercise number (as released)
and the folder is not one of the folders given on the command line.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from .gradebook import write_gradebook  # noqa: F401  (the gradebook's home before gradebook.py)

LEARNER_PREFIX = re.compile(r"^(?P<learner>.+?)[_-]\d{2}_")
STARTS_WITH_NUMBER = re.compile(r"^\d{2}_")


def learner_id(path: Path, roots: tuple[Path, ...] = ()) -> str:
    """The learner a submission belongs to, by the rule in this module's docstring."""
    parts = path.parts
    if len(parts) >= 4 and parts[-4] == "submitted":  # nbgrader's exchange layout
        return parts[-3]
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
