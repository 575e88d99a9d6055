"""From what came back for a part to its status and the message the learner reads."""

from __future__ import annotations

from ..checks import CheckFailed, Part
from . import verdict
from .wire import WireError


def _not_implemented(name: str) -> str:
    return (
        f"{name}: not implemented yet. Replace `raise NotImplementedError()` in the answer cell "
        "with your code."
    )


def _error_message(part: Part, planned, error: dict, skipped: dict, limits) -> tuple[str, str]:
    kind, text = str(error.get("type", "")), str(error.get("message", ""))[:300]
    name = part.name
    if kind == "NotImplementedError":
        return "not_implemented", _not_implemented(name)
    if kind == "NotRun":
        return "not_run", f"not graded: the notebook's time limit ({limits.notebook:g} s) ran out."
    if kind == "TimeUp":
        return "failed", (
            f"{name}: your code ran for more than {limits.cell:g} s on small tensors; look for a "
            "loop that never ends."
        )
    if kind == "Timeout":
        return "failed", (
            f"{name}: your code ran past the part's time limit ({limits.part:g} s) and was "
            "stopped; look for a loop that never ends."
        )
    if kind == "MemoryLimit":
        allowed = "" if limits.memory_mb is None else f" ({limits.memory_mb:g} MB)"
        return "failed", (
            f"{name}: memory limit: your code asked for more memory than a part may use{allowed} "
            "and was stopped; the task needs only small tensors, so look for a size computed "
            "wrongly or a list that keeps growing."
        )
    if kind == "ProcessEnded":
        return "failed", (
            f"{name}: your code ended the process that ran it ({text}), e.g. with os._exit() or a "
            "signal. The other parts are graded on their own."
        )
    if kind == "Missing":
        return "failed", _missing(name, planned, skipped)
    if kind == "SandboxFailed":
        return "failed", f"{name}: the grading sandbox failed ({text}); ask your instructor."
    hint_text = part.hint_for_error(kind)
    extra = f" {hint_text}" if hint_text else ""
    return "failed", f"{name}: your code raised {kind}: {text}.{extra}".replace("..", ".")


def _missing(name: str, planned, skipped: dict) -> str:
    message = f"{name}: `{planned.function}` is not defined after running your notebook's cells."
    errors = planned.outcome.get("cell_errors") or {}
    answer_cell = f"{planned.grade_id}_answer"
    if answer_cell in skipped:
        return f"{message} Its answer cell was skipped: it {skipped[answer_cell]}."
    if isinstance(errors, dict) and errors:
        cell, error = next(iter(errors.items()))
        if isinstance(error, dict):
            return f"{message} Cell {cell} raised {error.get('type')}: {error.get('message')}."
    return f"{message} Run the answer cell and keep the name it defines."


def describe(part: Part, planned, skipped: dict, limits) -> tuple[str, str]:
    """(status, message) of one part: passed, failed, not_implemented or not_run."""
    status, message, _ = judge_part(part, planned, skipped, limits)
    return status, message


def judge_part(part: Part, planned, skipped: dict, limits) -> tuple[str, str, str | None]:
    """(status, message, mistake): the mistake is the catalogue id the failure matched, or None.

    The mistake is named here, by the grader's own judge on the grader's own inputs; nothing the
    learner's code sends can set it.
    """
    outcome = planned.outcome or {"error": {"type": "NotRun"}}
    if "error" in outcome:
        return (*_error_message(part, planned, outcome["error"] or {}, skipped, limits), None)
    sent = outcome.get("cases")
    if not isinstance(sent, list) or len(sent) != len(planned.cases):
        return "failed", f"{part.name}: the results of your code did not come back complete.", None
    for case, data in zip(planned.cases, sent, strict=True):
        if not isinstance(data, dict):
            return (
                "failed",
                f"{part.name}: the results of your code did not come back complete.",
                None,
            )
        if "error" in data:
            return (*_error_message(part, planned, data["error"] or {}, skipped, limits), None)
        try:
            verdict.judge_case(part, case, data)
        except CheckFailed as err:
            return "failed", str(err), getattr(err, "mistake", None)
        except WireError as err:
            return (
                "failed",
                f"{part.name}: your function returned something the grader cannot read ({err}).",
                None,
            )
        except Exception as err:  # a result of a shape no judge expects: wrong, said plainly
            return (
                "failed",
                f"{part.name}: the grader could not use your result ({type(err).__name__}: {err})."[
                    :400
                ],
                None,
            )
    return "passed", "passed", None
