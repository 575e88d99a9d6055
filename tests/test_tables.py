"""course_lib.tables: one printer, columns aligned, numbers formatted."""

import pytest

from course_lib.tables import format_table, text_table


def test_text_table_aligns_and_formats():
    rows = [["a", 0.5, 1200], ["bbb", 1.0, 7], ["chance", "-", 0.25]]
    table = text_table(["model", "acc", "params"], rows, ["acc"])
    lines = table.splitlines()
    assert lines[0].split() == ["model", "acc", "params"]
    assert lines[2].split() == ["a", "50.0%", "1,200"]
    assert lines[4].split() == ["chance", "-", "0.25"]
    assert len({len(line) for line in lines[:2]}) == 1
    with pytest.raises(ValueError, match="3 cells"):
        text_table(["a", "b"], [[1, 2, 3]])


def test_format_table_aligns_columns_without_a_rule():
    rows = {"dot": {"params": 0, "acc": 0.5}, "general": {"params": 4096, "acc": 0.25}}
    assert format_table(rows, "score").splitlines() == [
        "score    params    acc",
        "dot           0  0.500",
        "general   4,096  0.250",
    ]
    with pytest.raises(ValueError, match="rows is empty"):
        format_table({})
