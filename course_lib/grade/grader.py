"""The grading walk: restore each notebook, run it in its own sandbox, judge here, report.

    report = grade([Path("submissions/alice/03_softmax_weights.ipynb")])

Each notebook gets fresh cases (its own random seed, recorded in the report), its own sandbox
and its own time limit; notebooks are graded `jobs` at a time. A notebook that breaks anything
(its file, its sandbox, its result lines) gets an error in its own entry, never in another's.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import torch

from ..exercises import EXERCISES
from . import verdict
from .outcome import judge_part
from .report import build_report
from .restore import GradingError, code_cells, find_release, released_parts, restore_checks
from .sandbox import Sandbox, choose_sandbox, run_harness

CELL_TIMEOUT = 10.0  # one cell, or one call of the answer (as the learner's checks)
PART_TIMEOUT = 60.0  # one part: its cells and all its calls
NOTEBOOK_TIMEOUT = 180.0
MEMORY_LIMIT_MB = 2048.0  # address space a part may add to the harness's own (torch included)


@dataclass
class Limits:
    cell: float = CELL_TIMEOUT
    part: float = PART_TIMEOUT
    notebook: float = NOTEBOOK_TIMEOUT
    memory_mb: float | None = MEMORY_LIMIT_MB  # None: no memory limit


@dataclass
class Planned:
    """One part to grade in one notebook: its release entry, its cases, and its outcome."""

    grade_id: str
    points: float
    name: str
    function: str
    cases: list = field(default_factory=list)
    outcome: dict | None = None


def _plan(path: Path, release_dir: Path, seed: int) -> tuple[str, list[dict], list[Planned]]:
    """The exercise's name, the code cells to run, and each part with the cases drawn for it."""
    learner = nbformat.read(path, as_version=4)
    release_path = find_release(path, learner, release_dir)
    release = nbformat.read(release_path, as_version=4)
    cells = code_cells(restore_checks(learner, release))
    gen = torch.Generator().manual_seed(seed)
    planned = []
    for part in released_parts(release):
        spec = verdict.part_named(part.name)
        if spec is None:
            raise GradingError(f"no grader for part {part.name!r} (course_lib.checks.PARTS)")
        cases = verdict.draw_cases(spec, gen)
        planned.append(Planned(part.grade_id, part.points, part.name, part.function, cases))
    return release_path.stem, cells, planned


def _run(sandbox: Sandbox, cells: list[dict], planned: list[Planned], limits: Limits) -> dict:
    """Run the sandbox until every part has an outcome; one restart per part that kills it."""
    skip: dict[str, str] = {}
    notes = {"unreadable_lines": 0, "skipped_cells": skip, "stderr": ""}
    budget = limits.notebook
    pending = list(planned)
    while pending and budget > 0:
        job = {
            "cells": cells,
            "skip": skip,
            "cell_timeout": limits.cell,
            "part_timeout": limits.part,
            "memory_bytes": None if limits.memory_mb is None else int(limits.memory_mb * 2**20),
            "parts": [
                verdict.job_part(p.grade_id, verdict.part_named(p.name), p.function, p.cases)
                for p in pending
            ],
        }
        start = time.monotonic()
        run = run_harness(sandbox, job, budget)
        budget -= time.monotonic() - start
        notes["unreadable_lines"] += run.unreadable_lines
        notes["stderr"] = run.stderr_tail
        current = _collect(run.events, pending, skip)
        pending = [p for p in pending if p.outcome is None]
        if not pending or run.ending == "timeout" or budget <= 0:
            break
        stuck = next((p for p in pending if p.grade_id == current), None)
        if stuck is None:  # the harness itself failed: no part to blame, so stop here
            for p in pending:
                p.outcome = {"error": {"type": "SandboxFailed", "message": run.ending}}
            break
        stuck.outcome = {"error": {"type": "ProcessEnded", "message": run.ending}}
        pending.remove(stuck)
    for p in pending:
        p.outcome = {"error": {"type": "NotRun", "message": "the notebook's time limit"}}
    return notes


def _collect(events: list[dict], pending: list[Planned], skip: dict[str, str]) -> str | None:
    """File each result under its part (first one wins); return the part running at the end."""
    by_id = {p.grade_id: p for p in pending}
    current = None
    for event in events:
        kind, part = event.get("ev"), event.get("part")
        if kind == "part" and part in by_id:
            current = part
        elif kind == "skip" and isinstance(event.get("cell"), str):
            skip.setdefault(event["cell"], str(event.get("why", ""))[:100])
        elif kind == "result" and part in by_id and by_id[part].outcome is None:
            outcome = event.get("outcome")
            if isinstance(outcome, dict):
                outcome = dict(outcome, cell_errors=event.get("cell_errors") or {})
                by_id[part].outcome = outcome
    return current


def grade_notebook(
    path: Path, release_dir: Path, sandbox: Sandbox, limits: Limits, seed: int
) -> dict:
    """The report entry of one notebook (see report.py for its shape)."""
    entry = {"path": str(path), "seed": seed, "isolation": sandbox.kind, "parts": []}
    try:
        exercise, cells, planned = _plan(path, release_dir, seed)
    except GradingError as err:
        return {**entry, "error": str(err)}
    except Exception as err:  # an unreadable file: this notebook cannot be graded
        return {**entry, "error": f"{path}: cannot read the notebook ({type(err).__name__}: {err})"}
    entry["exercise"] = exercise
    notes = _run(sandbox, cells, planned, limits)
    for p in planned:
        spec = verdict.part_named(p.name)
        status, message, mistake = judge_part(spec, p, notes["skipped_cells"], limits)
        score = p.points if status == "passed" else 0
        entry["parts"].append(
            {
                "id": p.grade_id,
                "score": score,
                "max": p.points,
                "status": status,
                "message": message,
                "mistake": mistake,
            }
        )
    extra = []
    if notes["unreadable_lines"]:
        extra.append(f"ignored {notes['unreadable_lines']} unreadable lines from the sandbox")
    if any((p.outcome or {}).get("error", {}).get("type") == "SandboxFailed" for p in planned):
        extra.append(f"sandbox stderr: {notes['stderr'].strip()[-400:]}")
    if extra:
        entry["notes"] = extra
    return entry


def grade(
    paths: list[Path],
    release_dir: Path | None = None,
    limits: Limits | None = None,
    jobs: int = 1,
    isolation: str = "auto",
    tmp_dir: Path | None = None,
    seed: int | None = None,
) -> dict:
    """Grade notebooks against the released exercises; returns the report (see report.py)."""
    release_dir = Path(release_dir) if release_dir else EXERCISES
    if not release_dir.is_dir():
        raise GradingError(f"release directory {release_dir} does not exist; pass --release DIR")
    limits = limits or Limits()
    sandbox = choose_sandbox(isolation, str(tmp_dir) if tmp_dir else None)
    base = secrets.randbits(31) if seed is None else seed
    tasks = [(Path(p), base + index) for index, p in enumerate(paths)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        entries = list(
            pool.map(lambda t: grade_notebook(t[0], release_dir, sandbox, limits, t[1]), tasks)
        )
    return build_report(entries, sandbox)
