"""The lessons' self-checks: their own tests of what the text claims, quiet for a learner.

A lesson's text says things about the runs in it ("with attention, accuracy stays high at every
length"). A cell that starts with ``with self_check(...)`` measures each such statement:

- in the course's tests (``COURSE_STRICT=1``, set by the test runs and by
  ``scripts/execute_notebooks.py``) a statement that does not hold fails the cell, as any test;
- for a learner, who may have changed the code on purpose, it prints a short note instead
  (what the lesson expected, what this run gave, and which changes explain it), and Run All
  goes on.

Figures from training end a little differently on every kind of processor (kernels for AVX-512,
AVX2, no vector unit or ARM round in other places), so a claim about such a figure is a range:
`expect_between` prints the range, never the value, and the printed text is the same on every
machine.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager

STRICT_VARIABLE = "COURSE_STRICT"


class ClaimFailed(AssertionError):
    """A measured figure fell outside the range the lesson's text relies on."""


def strict() -> bool:
    """True in the course's own test runs, where a failed self-check must fail the cell."""
    return os.environ.get(STRICT_VARIABLE, "") == "1"


def _format(value: float, percent: bool) -> str:
    return f"{value:.0%}" if percent else f"{value:g}"


def expect_between(
    label: str, value: float, low: float, high: float, *, percent: bool = True
) -> None:
    """Check that `low <= value <= high` and print the claim (the range, not the value).

    `percent=True` prints shares in [0, 1] as whole percentages. Returns nothing, so that a claim
    on a cell's last line adds no output of its own. Raises `ClaimFailed` naming the range and
    the measured value; inside `self_check` a learner sees that as a note, not a traceback.
    """
    if not low <= high:
        raise ValueError(f"expect_between: low={low} must not exceed high={high}")
    value = float(value)
    low_text, high_text = _format(low, percent), _format(high, percent)
    if math.isnan(value) or not low <= value <= high:
        measured = f"{value:.1%}" if percent else f"{value:g}"
        raise ClaimFailed(f"{label}: expected between {low_text} and {high_text}, got {measured}")
    print(f"✓ {label}: between {low_text} and {high_text}")


def expect(condition: bool, claim: str, *, got: str) -> None:
    """Check one statement that is not a range (an ordering, a count), and print it when it holds.

    `got` says what this run measured, for the message when the statement fails.
    """
    if not condition:
        raise ClaimFailed(f"{claim}: not so in this run ({got})")
    print(f"✓ {claim}")


@contextmanager
def self_check(topic: str, *, changes: str = "the code or the settings above") -> Iterator[None]:
    """Run a lesson's checks of its own claims; quiet for a learner, strict under the tests.

    `topic` names what is checked; `changes` names the experiments the lesson invites that can
    make a statement false (e.g. "max_len or the number of training steps").
    """
    try:
        yield
    except AssertionError as failure:
        if strict():
            raise
        print(
            f"◇ Self-check '{topic}': your run differs from the lesson's.\n"
            f"  {failure}\n"
            f"  That is expected if you changed {changes}. If you changed nothing, the text "
            "above may not describe your run: please tell the course's maintainers."
        )
