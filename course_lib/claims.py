"""Checked claims about measured figures, for lesson cells whose output is stored and compared.

A model trained in a lesson ends a little differently on every kind of processor: kernels for
other instruction sets (AVX-512, AVX2, none; x86 or ARM) round in other places, and hundreds of
training steps turn those last bits into a visible change in the third digit of an accuracy.
So a lesson prints its measured tables in a cell whose output is not compared, and states what
it claims about them with `expect_between`: the claim (a range) is printed, the measurement is
checked against it, and the printed text is the same on every machine.
"""

from __future__ import annotations

import math


class ClaimFailed(AssertionError):
    """A measured figure fell outside the range the lesson's text relies on."""


def _format(value: float, percent: bool) -> str:
    return f"{value:.0%}" if percent else f"{value:g}"


def expect_between(
    label: str, value: float, low: float, high: float, *, percent: bool = True
) -> None:
    """Check that `low <= value <= high` and print the claim (the range, not the value).

    `percent=True` prints shares in [0, 1] as whole percentages. Returns nothing, so that a claim
    on a cell's last line adds no output of its own.
    """
    if not low <= high:
        raise ValueError(f"expect_between: low={low} must not exceed high={high}")
    value = float(value)
    low_text, high_text = _format(low, percent), _format(high, percent)
    if math.isnan(value) or not low <= value <= high:
        raise ClaimFailed(
            f"{label}: measured {f'{value:.1%}' if percent else f'{value:g}'}, "
            f"but the lesson expects between {low_text} and {high_text}. Figures from training "
            "vary a little between machines, not this much: look for a change in the code, the "
            "data or the training recipe."
        )
    print(f"✓ {label}: between {low_text} and {high_text}")
