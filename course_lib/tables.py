"""Plain-text tables for notebook output: one printer, first column left, numbers right."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _cell(value: Any, percent: bool, float_format: str) -> str:
    """One table cell: fractions as percentages where asked, thousands separated, text as is."""
    is_number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if is_number and percent:
        return f"{float(value):.1%}"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return format(float(value), float_format)
    return str(value)


def text_table(
    header: Sequence[str],
    rows: Sequence[Sequence],
    percent: Sequence[str] = (),
    float_format: str = ".3g",
    rule: bool = True,
) -> str:
    """A plain-text table; numbers in the columns named in ``percent`` print as percentages.

    Other floats print with ``float_format``; ``rule`` draws a line of dashes under the header.
    """
    cells = [[str(h) for h in header]]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells, the header {len(header)}")
        cells.append(
            [_cell(v, h in percent, float_format) for h, v in zip(header, row, strict=True)]
        )
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    padded = [
        [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        for r in cells
    ]  # first column left-aligned, numbers right-aligned
    lines = ["  ".join(r) for r in padded]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def format_table(rows: Mapping[str, Mapping[str, Any]], label: str = "") -> str:
    """``{row name: {column: value}}`` as a ``text_table`` without a rule, fractions to 3
    decimals: the layout of lesson 02's comparison."""
    if not rows:
        raise ValueError("rows is empty: expected {row name: {column: value}}")
    columns = list(next(iter(rows.values())))
    body = [[str(name)] + [row[c] for c in columns] for name, row in rows.items()]
    return text_table([label, *columns], body, float_format=".3f", rule=False)
