"""The auto-grader: restore the released check cells, run the notebooks under nbval, total points.

Grading never trusts the learner's file for anything but the answers: every locked cell of the
released exercise (check cells, setup, task text) is put back by cell id, a deleted one is
re-inserted where it belongs, stored outputs are dropped, and points come from the release.
"""

from __future__ import annotations

import copy
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .exercises import EXERCISES, nbgrader_meta
from .grade.runner import RunnerError, run_nbval

DEFAULT_CELL_TIMEOUT = 60
DEFAULT_TIMEOUT_PER_NOTEBOOK = 300


class GradingError(RuntimeError):
    """Grading itself could not run (not: the learner's answers are wrong)."""


@dataclass
class Job:
    """One notebook to grade: where it came from, its restored copy, and the parts it must have."""

    path: str
    copy: Path | None = None
    parts: list[tuple[str, float]] = field(default_factory=list)  # (grade_id, points)
    error: str = ""


def find_release(path: Path, nb: nbformat.NotebookNode, release_dir: Path) -> Path:
    """The released exercise a learner's notebook comes from: same file name, metadata, or number."""
    by_name = release_dir / path.name
    if by_name.is_file():
        return by_name
    stem = nb.metadata.get("course", {}).get("exercise")
    # a plain name only: a path here would let a notebook pick itself as its own release
    if (
        isinstance(stem, str)
        and re.fullmatch(r"[\w-]+", stem)
        and (release_dir / f"{stem}.ipynb").is_file()
    ):
        return release_dir / f"{stem}.ipynb"
    number = path.name.split("_", 1)[0]
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


def prepare(paths: list[Path], release_dir: Path, workdir: Path) -> list[Job]:
    """Write a restored copy of every notebook under `workdir`; record per-notebook problems."""
    jobs = []
    for index, path in enumerate(paths):
        job = Job(str(path))
        jobs.append(job)
        try:
            learner = nbformat.read(path, as_version=4)
            release_path = find_release(path, learner, release_dir)
            release = nbformat.read(release_path, as_version=4)
        except GradingError as err:
            job.error = str(err)
            continue
        except Exception as err:  # unreadable file: grading it cannot work
            job.error = f"{path}: cannot read the notebook ({type(err).__name__}: {err})"
            continue
        job.parts = [
            (meta["grade_id"], meta.get("points", 0))
            for meta in map(nbgrader_meta, release.cells)
            if meta.get("grade")
        ]
        job.copy = workdir / f"nb{index}" / release_path.name
        job.copy.parent.mkdir(parents=True)
        nbformat.write(restore_checks(learner, release), job.copy)
    return jobs


def describe(record: dict | None, cell_timeout: int, note: str) -> tuple[str, str]:
    """(status, message) of one graded cell from its plugin record."""
    if record is None:
        return "not_run", note
    error = record.get("error") or {}
    ename, evalue = error.get("ename", ""), error.get("evalue", "")
    if record["outcome"] == "passed":
        return "passed", "passed"
    if ename == "NotImplementedYet":
        return "not_implemented", evalue
    if ename in ("CheckFailed", "AssertionError"):
        return "failed", evalue
    if ename == "KeyboardInterrupt":
        return "failed", f"timed out after {cell_timeout} s: look for a loop that never ends"
    if ename == "NameError":
        return "failed", f"{evalue}: run the answer cell above (and keep the names it defines)"
    if ename:
        return "failed", f"{ename}: {evalue}"
    return "failed", record.get("detail") or "the check cell did not run"


def build_report(jobs: list[Job], records: list[dict], timed_out: bool, cell_timeout: int) -> dict:
    """The JSON report: per notebook and part, score, max, status and message."""
    found: dict[tuple[str, str], dict] = {}
    for record in records:
        key = (str(Path(record["path"]).resolve()), record["grade_id"])
        found.setdefault(key, record)  # the first report of a cell is the one that counts
    note = "not graded: " + (
        "grading stopped at the overall time limit" if timed_out else "the check cell did not run"
    )
    notebooks = []
    for job in jobs:
        parts = []
        for grade_id, points in job.parts:
            key = (str(job.copy.resolve()), grade_id) if job.copy else None
            status, message = describe(found.get(key), cell_timeout, note)
            score = points if status == "passed" else 0
            parts.append(
                {
                    "id": grade_id,
                    "score": score,
                    "max": points,
                    "status": status,
                    "message": message,
                }
            )
        entry = {
            "path": job.path,
            "score": sum(p["score"] for p in parts),
            "max": sum(p["max"] for p in parts),
            "parts": parts,
        }
        if job.error:
            entry["error"] = job.error
        notebooks.append(entry)
    return {
        "notebooks": notebooks,
        "score": sum(n["score"] for n in notebooks),
        "max": sum(n["max"] for n in notebooks),
    }


def grade(
    paths: list[Path],
    release_dir: Path | None = None,
    cell_timeout: int = DEFAULT_CELL_TIMEOUT,
    timeout: float | None = None,
    jobs: int = 1,
) -> dict:
    """Grade notebooks against the released exercises; returns the report (see build_report)."""
    release_dir = Path(release_dir) if release_dir else EXERCISES
    if not release_dir.is_dir():
        raise GradingError(f"release directory {release_dir} does not exist; pass --release DIR")
    timeout = timeout or DEFAULT_TIMEOUT_PER_NOTEBOOK * max(1, len(paths))
    workdir = Path(tempfile.mkdtemp(prefix="course-grade-"))
    try:
        work = prepare([Path(p) for p in paths], release_dir, workdir)
        copies = [job.copy for job in work if job.copy is not None]
        records, timed_out = [], False
        if copies:
            try:
                records, timed_out = run_nbval(copies, workdir, cell_timeout, timeout, jobs)
            except RunnerError as err:
                raise GradingError(str(err)) from err
        return build_report(work, records, timed_out, cell_timeout)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def format_report(report: dict, width: int = 100) -> str:
    """A plain-text table: one block per notebook, one line per part, then the total."""
    labels = {"not_implemented": "not implemented", "not_run": "not run"}
    lines = []
    for nb in report["notebooks"]:
        lines.append(f"{nb['path']}: {nb['score']:g} / {nb['max']:g}")
        if nb.get("error"):
            lines.append(f"  error: {nb['error']}")
        id_width = max([len(p["id"]) for p in nb["parts"]] + [4])
        for p in nb["parts"]:
            points = f"{p['score']:g}/{p['max']:g}"
            status = labels.get(p["status"], p["status"])
            message = "" if p["status"] == "passed" else p["message"]
            line = f"  {p['id']:<{id_width}}  {points:>5}  {status:<15}  {message}".rstrip()
            lines.append(line if len(line) <= width else line[: width - 1] + "…")
        lines.append("")
    lines.append(f"total: {report['score']:g} / {report['max']:g}")
    return "\n".join(lines)
