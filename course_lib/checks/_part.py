"""One graded task as data: its inputs, its reference and its judge, shared by check and grader.

The learner's check (`check_*` in a notebook) runs the answer on the fixed `examples()` and gives
an immediate, friendly verdict. The grader (`course_lib.grade`) runs the same answer in a sandbox
on `stress(gen)` inputs it draws at grading time (size 1, equal sizes, tiny and huge values) and
calls the same `judge` in its own process, so there is one reference per part, not two.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch

from ._core import CheckFailed, NotImplementedYet, call, passed

# What each check run in this interpreter last found, by part name: "passed", "failed" or
# "not_implemented". checks.progress() reads it; the grader never does.
LAST_RESULTS: dict[str, str] = {}

Args = tuple[object, ...]


@dataclass(frozen=True)
class Part:
    """A graded task.

    name: the part's name (`check_<name>` is its learner check).
    examples(): the seeded inputs of the learner's check, every dimension a different size.
    stress(gen): inputs the grader draws from `gen` at grading time.
    judge(args, result): raise CheckFailed (with a hint) unless `result` is right for `args`.
    reference(*args): the differentiable formula, for gradient checks (None: no gradient check).
    grad_args: positions of the float arguments whose gradients are compared.
    grad_outputs: positions of the outputs the gradients flow from (None: the result itself).
    exact: judge on the float32 inputs themselves (argmax-based parts, where float64 could
        break a near tie differently), not on float64 copies.
    error_hints: a hint by exception name (e.g. "IndexError") when the answer raises; on_error
        for any other exception.
    """

    name: str
    examples: Callable[[], Iterable[Args]]
    stress: Callable[[torch.Generator], Iterable[Args]]
    judge: Callable[[Args, object], None]
    on_error: str = ""
    reference: Callable[..., object] | None = None
    grad_args: tuple[int, ...] = ()
    grad_outputs: tuple[int, ...] | None = None
    exact: bool = False
    error_hints: dict[str, str] = field(default_factory=dict)

    def hint_for_error(self, kind: str) -> str:
        """What to add to "your code raised <kind>: ..." for this part."""
        return self.error_hints.get(kind, self.on_error)


def run_check(part: Part, fn: Callable) -> None:
    """The learner's check: judge `fn` on every example, then print one ✓ line.

    A part not done yet prints one ◻ line instead of raising, so "Run All" goes on to the next
    part; a wrong answer raises CheckFailed.
    """
    __tracebackhide__ = True
    LAST_RESULTS[part.name] = "failed"  # until the examples all pass
    try:
        for args in part.examples():
            _judge_call(part, fn, args)
        _harder_cases(part, fn)
        _gradient_flows(part, fn)
    except NotImplementedYet as todo:
        LAST_RESULTS[part.name] = "not_implemented"
        print(f"◻ {todo}")
        return
    LAST_RESULTS[part.name] = "passed"
    passed(part.name)


# The grader's kinds of inputs (stress), drawn from a fixed seed: sizes of 1, all sizes equal,
# tiny and huge values. Trying them here means an answer that passes the notebook's check does
# not lose its points on the grader's new draws of the same kinds of inputs.
HARDER_SEED = 20240611
HARDER = (
    " This showed on one of the harder inputs the grader also uses: a batch of 1, all sizes "
    "equal, or values near 1e-3 or 1e3."
)
NO_GRADIENT = (
    "your result is right, but no gradient flows back through it. Keep every step in torch "
    "operations on the inputs: no torch.no_grad(), .detach(), .item() or numpy in between."
)


def _judge_call(part: Part, fn: Callable, args: Args) -> None:
    __tracebackhide__ = True
    pristine = copy.deepcopy(args)  # the judge never sees modules edited in place
    result = call(part.name, fn, *args, on_error=part.hint_for_error)
    part.judge(pristine, result)


def _harder_cases(part: Part, fn: Callable) -> None:
    """Judge the answer on the grader's kinds of inputs; say so when one of them fails it."""
    __tracebackhide__ = True
    for args in part.stress(torch.Generator().manual_seed(HARDER_SEED)):
        try:
            _judge_call(part, fn, args)
        except NotImplementedYet:
            raise
        except CheckFailed as err:
            raise CheckFailed(str(err).rstrip() + HARDER, err.cause, err.mistake) from None


def _gradient_flows(part: Part, fn: Callable) -> None:
    """For a differentiable part: the result must carry a gradient back to its float inputs."""
    __tracebackhide__ = True
    if part.reference is None or not part.grad_args:
        return
    args = list(copy.deepcopy(next(iter(part.examples()))))
    for i in part.grad_args:
        if isinstance(args[i], torch.Tensor) and args[i].is_floating_point():
            args[i] = args[i].detach().requires_grad_(True)
    result = call(part.name, fn, *args, on_error=part.hint_for_error)
    outputs = [result] if part.grad_outputs is None else [result[j] for j in part.grad_outputs]
    if not all(isinstance(out, torch.Tensor) and out.requires_grad for out in outputs):
        raise CheckFailed(f"{part.name}: {NO_GRADIENT}")


def pick(gen: torch.Generator, low: int, high: int) -> int:
    """A random int in [low, high], from the grader's generator."""
    return int(torch.randint(low, high + 1, (1,), generator=gen))


def stress_sizes(gen: torch.Generator, count: int, high: int = 6) -> list[tuple[int, ...]]:
    """Three size tuples for grader cases: all sizes equal, batch 1, and independent sizes.

    Equal sizes come first: a square weight lets a transposed one run, so its hint can be given.
    """
    same = pick(gen, 2, high)
    return [
        (same,) * count,
        (1, *(pick(gen, 1, high) for _ in range(count - 1))),
        tuple(pick(gen, 1, high) for _ in range(count)),
    ]


# magnitudes the grader multiplies its inputs by, one per stress case
SCALES = (1e-3, 1.0, 1e3)


def random_lengths(gen: torch.Generator, batch: int, src_len: int) -> list[int]:
    """Lengths in 1..src_len; when batch > 1, one row of full length and one of length 1."""
    lengths = [pick(gen, 1, src_len) for _ in range(batch)]
    if batch > 1:
        full = pick(gen, 0, batch - 1)
        lengths[full] = src_len
        lengths[(full + 1) % batch] = 1
    return lengths
