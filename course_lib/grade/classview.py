"""What a class got wrong: the grading report summed up per part, per mistake and per learner.

    summary = class_summary(report)   # plain data; classpage.py draws it as one HTML page

Shape:
    {"learners": [...], "columns": [part ids in exercise order], "max": 55,
     "parts": [{"id", "exercise", "max", "passed", "failed", "not_tried",
                "mistakes": {mistake id: {"count", "learners", "hint"}},
                "unnamed": {"count", "learners"}}],       # sorted: most failures first
     "totals": {learner: points}, "histogram": {"edges": [...], "counts": [...]},
     "rows": [{"learner", "total", "parts": {part id: {"status", "score", "mistake"}}}]}

`not_tried` counts learners whose part is still the stub, was not run in time, or whose
notebook for that exercise was not handed in. `mistakes` counts the failures the grader matched
to a catalogued mistake (checks.MISTAKES); `unnamed` the other failures (a wrong shape, an
error, a time or memory limit). A learner with two copies of an exercise counts once, with the
better copy of each part.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..checks.mistakes import MISTAKES

RANK = {"passed": 3, "failed": 2, "not_implemented": 1, "not_run": 1}
HISTOGRAM_BINS = 10


def _learner(nb: dict) -> str:
    return nb.get("learner") or Path(nb["path"]).stem


def best_parts(report: dict) -> tuple[dict[str, dict[str, dict]], dict[str, dict]]:
    """{learner: {part id: the better of their copies}}, and {part id: {"max", "exercise"}}."""
    by_learner: dict[str, dict[str, dict]] = {}
    known: dict[str, dict] = {}
    for nb in report["notebooks"]:
        mine = by_learner.setdefault(_learner(nb), {})
        for part in nb["parts"]:
            known.setdefault(part["id"], {"max": part["max"], "exercise": nb.get("exercise", "")})
            held = mine.get(part["id"])
            key = (part["score"], RANK.get(part["status"], 0))
            if held is None or key > (held["score"], RANK.get(held["status"], 0)):
                mine[part["id"]] = part
    return by_learner, known


def _part_summary(part_id: str, info: dict, by_learner: dict[str, dict[str, dict]]) -> dict:
    entry = {"id": part_id, **info, "passed": 0, "failed": 0, "not_tried": 0}
    mistakes: dict[str, dict] = {}
    unnamed = {"count": 0, "learners": []}
    for learner in sorted(by_learner):
        part = by_learner[learner].get(part_id)
        status = part["status"] if part else "absent"
        if status == "passed":
            entry["passed"] += 1
        elif status == "failed":
            entry["failed"] += 1
            mistake = part.get("mistake")
            if mistake in MISTAKES:
                slot = mistakes.setdefault(
                    mistake, {"count": 0, "learners": [], "hint": MISTAKES[mistake]}
                )
            else:
                slot = unnamed
            slot["count"] += 1
            slot["learners"].append(learner)
        else:
            entry["not_tried"] += 1
    entry["mistakes"] = dict(sorted(mistakes.items(), key=lambda kv: (-kv[1]["count"], kv[0])))
    entry["unnamed"] = unnamed
    return entry


def histogram(values: list[float], top: float, bins: int = HISTOGRAM_BINS) -> dict:
    """Counts of `values` in `bins` equal bins over [0, top]; the last bin includes `top`."""
    top = max(top, 1e-9)
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, math.floor(value / top * bins)))] += 1
    return {"edges": [top * i / bins for i in range(bins + 1)], "counts": counts}


def class_summary(report: dict) -> dict:
    """The class at a glance (shape in this module's docstring)."""
    by_learner, known = best_parts(report)
    parts = [_part_summary(pid, info, by_learner) for pid, info in known.items()]
    parts.sort(key=lambda p: (-p["failed"], -p["not_tried"], p["id"]))
    top = sum(info["max"] for info in known.values())
    totals = {
        learner: sum(p["score"] for p in mine.values())
        for learner, mine in sorted(by_learner.items())
    }
    rows = [
        {
            "learner": learner,
            "total": totals[learner],
            "parts": {
                pid: {"status": p["status"], "score": p["score"], "mistake": p.get("mistake")}
                for pid, p in by_learner[learner].items()
            },
        }
        for learner in totals
    ]
    return {
        "learners": list(totals),
        "columns": list(known),  # the parts in exercise order, for per-learner rows
        "max": top,
        "parts": parts,
        "totals": totals,
        "histogram": histogram(list(totals.values()), top),
        "rows": rows,
    }
