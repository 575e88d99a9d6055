"""The machinery every learner check shares: failures with hints, guarded calls, tolerant compares."""

from __future__ import annotations

import numbers
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch

from ._feedback import render_failure
from .mistakes import hint

# float32 answers written differently (loop, einsum, bmm) agree to ~1e-7; these leave room for that
# while every catalogued mistake is off by far more. ATOL is relative to the largest expected entry,
# so tiny inputs (1e-3) cannot pass with a wrong formula and huge ones (1e3) allow float32 rounding.
ATOL = 1e-5
RTOL = 1e-4
DEFAULT_TIME_LIMIT_S = 10.0


FLOAT32_EPS = torch.finfo(torch.float32).eps


def sum_rounding(magnitude: torch.Tensor, terms: int) -> float:
    """Absolute error a right float32 answer can carry in sums of `terms` products whose absolute
    values add up to `magnitude` (entrywise): the classic bound terms * eps * sum |products|.

    The grader judges float32 answers against float64 references on the same inputs. When a sum
    cancels to near 0 (one score from a batch of 1, say), float32 keeps an error of about
    eps * sum |products|, far more than RTOL of the tiny result: right answers failed there.
    """
    if magnitude.numel() == 0:
        return 0.0
    return terms * FLOAT32_EPS * magnitude.detach().abs().max().item()


class CheckFailed(AssertionError):
    """The learner's answer is wrong; the message says what is wrong and where to look.

    `cause`: the exception the learner's own function raised, if that is what went wrong.
    `mistake`: the id of the catalogued mistake (mistakes.MISTAKES) the answer matched, if any;
    the grader reads it in its own process to name the mistake in its report.
    In IPython the failure shows as its message (and the learner's frames of `cause`), never as
    a traceback through the checks, whose code would give the answer away.
    """

    def __init__(
        self, message: str, cause: BaseException | None = None, mistake: str | None = None
    ):
        super().__init__(message)
        self.cause = cause
        self.mistake = mistake

    def _render_traceback_(self) -> list[str]:
        return render_failure(str(self), cause=self.cause)


class NotImplementedYet(CheckFailed):
    """The answer cell still raises NotImplementedError (run_check reports it, never raises it)."""

    def _render_traceback_(self) -> list[str]:
        return render_failure(str(self), mark="◻")


@dataclass(frozen=True)
class Candidate:
    """What a catalogued mistake would have produced, to recognise it in a learner's output."""

    mistake: str
    value: torch.Tensor


def passed(part: str) -> None:
    """Tell the learner, in one line, that the part is done."""
    print(f"✓ {part} passed")


def generator(seed: int) -> torch.Generator:
    """A private seeded generator, so checks never disturb the notebook's own random state."""
    return torch.Generator().manual_seed(seed)


def randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen)


def lengths_mask(lengths: Sequence[int], src_len: int) -> torch.Tensor:
    """True at real tokens, False at padding: (batch, src_len)."""
    return torch.arange(src_len)[None, :] < torch.as_tensor(lengths)[:, None]


def time_limit_s() -> float:
    value = os.environ.get("COURSE_CHECK_TIME_LIMIT", "")
    try:
        return float(value) if value else DEFAULT_TIME_LIMIT_S
    except ValueError:
        return DEFAULT_TIME_LIMIT_S


class _TimeUp(BaseException):
    """Raised by the alarm; a BaseException so a learner's `except Exception` cannot swallow it."""


@contextmanager
def _alarm(seconds: float) -> Iterator[None]:
    """Interrupt the learner's code after `seconds` (main thread on POSIX only; else no limit)."""

    def on_alarm(signum, frame):
        raise _TimeUp

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _limit(seconds: float):
    usable = hasattr(signal, "SIGALRM") and threading.current_thread() is threading.main_thread()
    return _alarm(seconds) if usable else nullcontext()


def _snapshot(values: Sequence[object]) -> list[torch.Tensor | None]:
    return [v.detach().clone() if isinstance(v, torch.Tensor) else None for v in values]


def call(
    part: str, fn: Callable, *args: object, on_error: str | Callable[[str], str] = ""
) -> object:
    """Run the learner's function; turn every way it can go wrong into a CheckFailed with a hint."""
    __tracebackhide__ = True
    if not callable(fn):
        raise CheckFailed(f"{part}: expected a function, got {type(fn).__name__}.")
    before = _snapshot(args)
    seconds = time_limit_s()
    try:
        with _limit(seconds):
            result = fn(*args)
    except NotImplementedError:
        raise NotImplementedYet(
            f"{part}: not implemented yet. Replace `raise NotImplementedError()` in the answer "
            "cell with your code, run that cell, then run this check again."
        ) from None
    except _TimeUp:
        raise CheckFailed(
            f"{part}: your code ran for more than {seconds:g} s on tiny tensors; look for a loop "
            "that never ends."
        ) from None
    except CheckFailed:
        raise
    except Exception as err:  # the learner's bug, reported in one line rather than a traceback
        hint_text = on_error(type(err).__name__) if callable(on_error) else on_error
        extra = f" {hint_text}" if hint_text else ""
        message = f"{part}: your code raised {type(err).__name__}: {err}.{extra}"
        raise CheckFailed(message.replace("..", "."), cause=err) from None
    for value, copy in zip(args, before, strict=True):
        if copy is not None and (value.shape != copy.shape or not torch.equal(value, copy)):
            raise CheckFailed(f"{part}: {hint('in_place_edit')}", mistake="in_place_edit")
    return result


def unpack(part: str, result: object, names: Sequence[str]) -> tuple:
    """Check that a function returned a tuple of the documented length."""
    __tracebackhide__ = True
    if not isinstance(result, tuple | list) or len(result) != len(names):
        got = f"a {type(result).__name__}"
        if isinstance(result, tuple | list):
            got += f" of length {len(result)}"
        raise CheckFailed(f"{part}: return a tuple ({', '.join(names)}); got {got}.")
    return tuple(result)


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 0.0) -> bool:
    """Equal within RTOL of each entry plus ATOL of b's largest finite entry (b: the reference),
    plus `atol` where the caller knows an absolute rounding error the result can carry."""
    if a.shape != b.shape:
        return False
    a, b = a.detach().to(torch.float64), b.detach().to(torch.float64)
    finite = b[torch.isfinite(b)]
    scale = finite.abs().max().item() if finite.numel() else 1.0
    atol = ATOL * max(scale, 1e-12) + atol
    return bool(torch.allclose(a, b, rtol=RTOL, atol=atol, equal_nan=True))


def as_number(part: str, what: str, value: object, kind: type = numbers.Real) -> int | float:
    """A plain int or float from a Python, numpy or one-element torch number (never a bool)."""
    __tracebackhide__ = True
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    elif type(value).__module__ == "numpy" and getattr(value, "shape", None) in ((), (1,)):
        value = value.item()  # numpy.int64 / numpy.float32 scalars and 1-element arrays
    if isinstance(value, bool) or not isinstance(value, kind):
        wanted = "an int position" if kind is numbers.Integral else "a number (a float)"
        raise CheckFailed(f"{part}: `{what}` should be {wanted}, got {value!r}.")
    return int(value) if kind is numbers.Integral else float(value)


def as_tensor(part: str, what: str, value: object) -> torch.Tensor:
    """Accept a tensor (or a plain number/list where the task allows it) as a tensor."""
    __tracebackhide__ = True
    if isinstance(value, torch.Tensor):
        return value
    raise CheckFailed(f"{part}: `{what}` should be a torch.Tensor, got {type(value).__name__}.")


def compare(
    part: str,
    what: str,
    actual: object,
    expected: torch.Tensor,
    candidates: Sequence[Candidate] = (),
    where: str = "",
    diagnose: Callable[[torch.Tensor], str | None] | None = None,
    atol: float = 0.0,
) -> None:
    """Pass if `actual` matches `expected` within tolerance; otherwise name the mistake it matches.

    `atol`: an absolute error the right answer can carry on top of the relative tolerance, e.g.
    a float32 loss near 0 computed from large logits (its rounding follows the logits' size).
    """
    __tracebackhide__ = True
    actual = as_tensor(part, what, actual)
    close = _close(actual, expected, atol)
    if actual.shape == expected.shape and close and _same_kind(actual, expected):
        return
    for candidate in candidates:
        if not _close(candidate.value, expected, atol) and _close(actual, candidate.value, atol):
            raise CheckFailed(f"{part}: {hint(candidate.mistake)}", mistake=candidate.mistake)
    if actual.shape != expected.shape:
        raise CheckFailed(
            f"{part}: `{what}` has shape {tuple(actual.shape)}, expected {tuple(expected.shape)}. "
            f"{where}".rstrip()
        )
    if not _same_kind(actual, expected):
        raise CheckFailed(
            f"{part}: `{what}` has dtype {actual.dtype}, expected {expected.dtype}. {where}".rstrip()
        )
    if actual.is_floating_point() and torch.isnan(actual).any() and not torch.isnan(expected).any():
        raise CheckFailed(
            f"{part}: `{what}` contains NaN. A softmax over a row that is all -inf gives NaN; "
            f"check which positions you mask. {where}".rstrip()
        )
    if diagnose is not None:
        mistake = diagnose(actual)
        if mistake:
            raise CheckFailed(f"{part}: {hint(mistake)}", mistake=mistake)
    error = (actual.detach().double() - expected.double()).abs().max().item()
    raise CheckFailed(
        f"{part}: `{what}` has the right shape but wrong values (largest difference "
        f"{error:.3g}). {where}".rstrip()
    )


def _same_kind(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Floats match floats; integer or bool answers must keep their exact dtype family."""
    if b.dtype == torch.bool:
        return a.dtype == torch.bool
    if b.is_floating_point():
        return a.is_floating_point()
    return not a.is_floating_point() and a.dtype != torch.bool
