"""The grader's side of a part: draw its cases, then judge what the sandbox sent back.

Everything here runs in the grader's own process, on inputs it drew at grading time and kept:
the learner's code never sees the references, and cannot change the judge, torch or the
tolerances used here. Judges come from `course_lib.checks` (one reference per part); they run
on float64 copies of the inputs (float32 for argmax-based parts, see Part.exact).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from ..checks import PARTS, CheckFailed, Part
from ..checks.mistakes import hint
from . import wire


@dataclass
class Case:
    """One call the grader asks for: its arguments (kept pristine here) and gradient cotangents."""

    args: tuple
    cotangents: list[torch.Tensor] | None


def _reference_outputs(part: Part, args: tuple) -> list[torch.Tensor]:
    with torch.no_grad():
        result = part.reference(*args)
    return [result] if part.grad_outputs is None else [result[j] for j in part.grad_outputs]


def draw_cases(part: Part, gen: torch.Generator) -> list[Case]:
    """The part's stress inputs, with a random cotangent per output when gradients are checked."""
    cases = []
    for args in part.stress(gen):
        cotangents = None
        if part.reference is not None and part.grad_args:
            shapes = [out.shape for out in _reference_outputs(part, args)]
            cotangents = [torch.randn(shape, generator=gen) for shape in shapes]
        cases.append(Case(tuple(args), cotangents))
    return cases


def job_part(grade_id: str, part: Part, function: str, cases: list[Case]) -> dict:
    """What the sandbox needs to run a part: the function's name and every case as plain data."""
    return {
        "id": grade_id,
        "function": function,
        "grad_args": list(part.grad_args),
        "grad_outputs": None if part.grad_outputs is None else list(part.grad_outputs),
        "cases": [
            {
                "args": [wire.encode(a) for a in case.args],
                "cot": None
                if case.cotangents is None
                else [wire.encode(c) for c in case.cotangents],
            }
            for case in cases
        ],
    }


def _double(value: object) -> object:
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        return value.double()
    if isinstance(value, nn.Module):
        return copy.deepcopy(value).double()
    return value


def _reference_grads(part: Part, args: tuple, cotangents: list[torch.Tensor], double=True) -> list:
    args = [_double(a) if double else copy.deepcopy(a) for a in args]
    leaves = []
    for i in part.grad_args:
        args[i] = args[i].detach().requires_grad_(True)
        leaves.append(args[i])
    result = part.reference(*args)
    outputs = [result] if part.grad_outputs is None else [result[j] for j in part.grad_outputs]
    loss = sum(
        (out * cot.to(out.dtype)).sum() for out, cot in zip(outputs, cotangents, strict=True)
    )
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [
        torch.zeros_like(leaf) if g is None else g for g, leaf in zip(grads, leaves, strict=True)
    ]


def _grad_close(got: torch.Tensor, want: torch.Tensor, rounded: torch.Tensor) -> bool:
    """Gradients agree up to 1e-3 of their size, 100 times float32's own rounding error, 1e-5.

    A gradient cut anywhere (detach, no_grad, numpy) is off by its whole size; float32 rounding
    in a softmax gradient can be far above 1e-5 of the largest entry when the weights saturate,
    and a gradient that is exactly 0 (a softmax over one position) comes back as ~1e-7.
    """
    if got.shape != want.shape or not got.is_floating_point():
        return False
    got, rounded = got.double(), rounded.double()
    noise = (rounded - want).abs().max().item() if want.numel() else 0.0
    scale = want.abs().max().item() if want.numel() else 0.0
    return bool(((got - want).abs() <= 1e-3 * scale + 100 * noise + 1e-5).all())


KEEP_GRAD = (
    "Keep every step in torch operations on the inputs: no torch.no_grad(), .detach(), "
    ".item() or numpy in between."
)
NO_GRAD = "your result is right, but no gradient flows back through it. " + KEEP_GRAD


def _judge_grads(part: Part, case: Case, sent: dict) -> None:
    if "grad_error" in sent:
        error = str(sent["grad_error"])[:300]
        raise CheckFailed(f"{part.name}: " + (NO_GRAD if error == "no_grad" else error))
    grads = sent.get("grads")
    if not isinstance(grads, list) or len(grads) != len(part.grad_args):
        raise CheckFailed(f"{part.name}: the gradients did not come back")
    expected = _reference_grads(part, case.args, case.cotangents)
    rounded = _reference_grads(part, case.args, case.cotangents, double=False)
    for position, got, want, noise in zip(part.grad_args, grads, expected, rounded, strict=True):
        got = None if got is None else wire.decode(got)
        if not isinstance(got, torch.Tensor) or not _grad_close(got, want, noise):
            raise CheckFailed(
                f"{part.name}: your result is right, but its gradient with respect to argument "
                f"{position + 1} is not. {KEEP_GRAD}"
            )


def judge_case(part: Part, case: Case, sent: dict) -> None:
    """Raise CheckFailed unless the data sent for this case is the right answer to it."""
    after = sent.get("after") or []
    for before, now in zip(case.args, after, strict=False):
        if isinstance(before, torch.Tensor) and now is not None:
            now = wire.decode(now)
            if not isinstance(now, torch.Tensor) or now.shape != before.shape:
                raise CheckFailed(f"{part.name}: {hint('in_place_edit')}", mistake="in_place_edit")
            if not torch.equal(now.to(before.dtype), before):
                raise CheckFailed(f"{part.name}: {hint('in_place_edit')}", mistake="in_place_edit")
    result = wire.decode(sent["result"])
    args = case.args if part.exact else tuple(_double(a) for a in case.args)
    part.judge(copy.deepcopy(args), result)
    if case.cotangents is not None:
        _judge_grads(part, case, sent)


def part_named(name: str) -> Part | None:
    return PARTS.get(name)
