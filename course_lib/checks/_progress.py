"""The last cell of an exercise: each part's state and points, as far as this kernel knows.

The parts and their points come from the released exercise (`exercises/`), as the grader reads
them; the states come from the checks run in this kernel (`LAST_RESULTS`). The grader itself
re-runs the answers on new inputs, so this is a preview, and says so.
"""

from __future__ import annotations

from pathlib import Path

from ._part import LAST_RESULTS

MARKS = {"passed": "✓", "failed": "✗", "not_implemented": "◻", None: "·"}
STATES = {
    "passed": "passed",
    "failed": "check failed",
    "not_implemented": "not implemented yet",
    None: "check not run in this kernel",
}


def _release_dir() -> Path:
    from ..exercises import EXERCISES  # the course's own release, never the learner's copy

    return EXERCISES


def released_points(exercise: str, release: Path | None = None) -> list[tuple[str, float]]:
    """(part name, points) of every graded part of a released exercise, in order."""
    import nbformat

    from ..grade.restore import released_parts

    path = (release or _release_dir()) / f"{exercise}.ipynb"
    return [(part.name, part.points) for part in released_parts(nbformat.read(path, 4))]


def progress_lines(parts: list[tuple[str, float]], results: dict[str, str]) -> list[str]:
    """The table: one line per part (mark, name, points, state), then the total."""
    width = max([len(name) for name, _ in parts] + [4])
    lines = []
    score = total = 0.0
    for name, points in parts:
        state = results.get(name)
        got = points if state == "passed" else 0
        score, total = score + got, total + points
        lines.append(f"{MARKS[state]} {name:<{width}}  {got:g}/{points:g}  {STATES[state]}")
    lines.append(f"  {'total':<{width}}  {score:g}/{total:g}")
    return lines


def progress(exercise: str, release: Path | None = None) -> None:
    """Print each part's state and points from the checks run in this kernel (never raises)."""
    try:
        parts = released_points(exercise, release)
    except Exception as err:  # a missing release must not break the learner's notebook
        print(f"progress: cannot read the released exercise {exercise!r} ({type(err).__name__}).")
        return
    print(
        "Your progress, from the checks run in this kernel. `make grade` has the last word: it "
        "re-runs your answers on new inputs."
    )
    print("\n".join(progress_lines(parts, LAST_RESULTS)))
