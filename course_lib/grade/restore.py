"""From a learner's file to what the sandbox runs: the released cells put back, the parts listed.

Grading trusts the learner's file for nothing but the answers: every locked cell of the released
exercise (check cells, setup, task text) is put back by cell id, a deleted one is re-inserted
where it belongs, stored outputs are dropped, and the parts, their points and the function each
part calls come from the release.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..exercises import nbgrader_meta

CHECK_CALL = re.compile(r"^\s*checks\.check_(\w+)\((\w+)\)\s*$")
PROGRESS_CALL = re.compile(r"^checks\.progress\(\"\w+\"\)$")


class GradingError(RuntimeError):
    """Grading itself could not run (not: the learner's answers are wrong)."""


@dataclass(frozen=True)
class ReleasedPart:
    """A graded part as the release defines it: `checks.check_<name>(<function>)`, worth points."""

    grade_id: str
    points: float
    name: str
    function: str


def released_parts(release: nbformat.NotebookNode) -> list[ReleasedPart]:
    """The graded check cells of a released exercise, in order."""
    parts = []
    for cell in release.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade"):
            continue
        match = CHECK_CALL.match(cell.source.strip())
        if match is None:
            raise GradingError(
                f"released check cell {meta.get('grade_id')!r} is not `checks.check_<part>(<fn>)`"
            )
        parts.append(ReleasedPart(meta["grade_id"], meta.get("points", 0), *match.groups()))
    return parts


def code_cells(restored: nbformat.NotebookNode) -> list[dict]:
    """The code cells the sandbox runs, in order: setup and answers, never the check cells.

    The progress cell (`checks.progress(...)`) is left out too: it only prints a preview for the
    learner, and it would import nbformat in every part's process (seconds per notebook).
    """
    return [
        {"id": cell.id, "source": cell.source}
        for cell in restored.cells
        if cell.cell_type == "code"
        and not nbgrader_meta(cell).get("grade")
        and not PROGRESS_CALL.match(cell.source.strip())
    ]


def find_release(path: Path, nb: nbformat.NotebookNode, release_dir: Path) -> Path:
    """The released exercise a learner's notebook comes from: same file name, metadata, or number."""
    for by_name in (release_dir / path.name, release_dir / f"{path.parent.name}.ipynb"):
        if by_name.is_file() and re.fullmatch(r"[\w-]+", by_name.stem):
            return by_name
    stem = nb.metadata.get("course", {}).get("exercise")
    # a plain name only: a path here would let a notebook pick itself as its own release
    if (
        isinstance(stem, str)
        and re.fullmatch(r"[\w-]+", stem)
        and (release_dir / f"{stem}.ipynb").is_file()
    ):
        return release_dir / f"{stem}.ipynb"
    # nbgrader's submitted/<student>/<assignment>/<notebook>.ipynb: the assignment folder may
    # carry the exercise's name or number when the notebook's own name does not
    for name in (path.name, path.parent.name):
        number = name.split("_", 1)[0]
        matches = sorted(release_dir.glob(f"{number}_*.ipynb")) if number.isdigit() else []
        if len(matches) == 1:
            return matches[0]
    raise GradingError(
        f"{path}: cannot tell which released exercise in {release_dir} this notebook comes from; "
        "keep its file name (e.g. 03_softmax_weights.ipynb) or pass --release DIR."
    )


def _fresh(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
    cell = copy.deepcopy(cell)
    if cell.cell_type == "code":
        cell.outputs = []
        cell.execution_count = None
    return cell


def restore_checks(
    learner: nbformat.NotebookNode, release: nbformat.NotebookNode
) -> nbformat.NotebookNode:
    """The learner's notebook with every locked released cell restored; learner cells ungraded."""
    locked = {c.id: c for c in release.cells if nbgrader_meta(c).get("locked")}
    release_ids = [c.id for c in release.cells]
    by_grade_id = {nbgrader_meta(c).get("grade_id"): c.id for c in release.cells}
    by_grade_id.pop(None, None)
    placed: list[tuple[str | None, nbformat.NotebookNode]] = []
    for cell in learner.cells:
        cell_id = cell.get("id")
        key = (
            cell_id
            if cell_id in release_ids
            else by_grade_id.get(nbgrader_meta(cell).get("grade_id"))
        )
        if key in locked:
            if key not in {k for k, _ in placed}:  # a second copy of a check cell is dropped
                placed.append((key, _fresh(locked[key])))
            continue
        mine = _fresh(cell)
        mine.metadata.pop("nbgrader", None)  # only released cells may carry points
        placed.append((key, mine))
    for index, key in enumerate(release_ids):
        if key not in locked or key in {k for k, _ in placed}:
            continue
        later = set(release_ids[index + 1 :])
        spot = next((i for i, (k, _) in enumerate(placed) if k in later), len(placed))
        placed.insert(spot, (key, _fresh(locked[key])))
    nb = copy.deepcopy(release)
    nb.cells = [cell for _, cell in placed]
    _unique_ids(nb)
    return nb


def _unique_ids(nb: nbformat.NotebookNode) -> None:
    """Give every cell a distinct id (learner files may lack ids or repeat them)."""
    nb.nbformat, nb.nbformat_minor = 4, max(5, nb.get("nbformat_minor", 0))
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        if not cell.get("id") or cell.id in seen:
            cell.id = f"learner-{index}"
        seen.add(cell.id)
