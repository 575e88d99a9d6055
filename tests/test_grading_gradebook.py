"""Gradebooks in the documented columns, formula-safe cells, and the class summary, on a made-up
report (no grading runs here).

Canvas's gradebook import (https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807):
Student, ID, SIS User ID, SIS Login ID, Section, then one column per assignment, and a
"Points Possible" row. Moodle's CSV grade import (https://docs.moodle.org/en/Grade_import):
a header row, a column that identifies the user, one column per grade item.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from course_lib.grade.classpage import class_page
from course_lib.grade.classview import class_summary, histogram
from course_lib.grade.feedback import feedback_page, safe_name, write_feedback
from course_lib.grade.gradebook import gradebook_rows, safe_cell, write_gradebook
from course_lib.grade.report import learner_id


def _part(pid, score, top, status, mistake=None):
    message = "passed" if status == "passed" else f"{pid}: <b>wrong</b> & more"
    return {"id": pid, "score": score, "max": top, "status": status, "message": message,
            "mistake": mistake}  # fmt: skip


def _report():
    """Three learners; `=cmd` hands in exercise 02 twice (its better copy counts per part)."""
    nb = [
        ("ann", "02_score", [_part("02_a", 1, 1, "passed"), _part("02_b", 0, 2, "failed", "x")]),
        ("bob", "02_score", [_part("02_a", 0, 1, "not_implemented"), _part("02_b", 2, 2, "passed")]),
        ("=cmd", "02_score", [_part("02_a", 0, 1, "failed", "missing_scale"),
                              _part("02_b", 0, 2, "failed")]),
        ("=cmd", "02_score", [_part("02_a", 1, 1, "passed"), _part("02_b", 0, 2, "failed")]),
        ("bob", "03_soft", [_part("03_c", 3, 3, "passed")]),
    ]  # fmt: skip
    notebooks = [
        {"path": f"{who}/{ex}.ipynb", "learner": who, "exercise": ex, "parts": parts,
         "score": sum(p["score"] for p in parts), "max": sum(p["max"] for p in parts)}
        for who, ex, parts in nb
    ]  # fmt: skip
    return {"notebooks": notebooks, "isolation": "bubblewrap", "score": 0, "max": 0}


def _csv(rows):
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return list(csv.reader(io.StringIO(text.getvalue())))


def test_canvas_gradebook_has_the_documented_columns_and_points_row():
    rows = _csv(gradebook_rows(_report(), "canvas"))
    assert rows[0] == [
        "Student", "ID", "SIS User ID", "SIS Login ID", "Section", "02_score", "03_soft",
    ]  # fmt: skip
    assert rows[1] == ["Points Possible", "", "", "", "", "3", "3"]
    by_id = {row[0]: row for row in rows[2:]}
    assert by_id["ann"] == ["ann", "", "", "ann", "", "1", ""]
    assert by_id["bob"] == ["bob", "", "", "bob", "", "2", "3"]
    assert by_id["'=cmd"][3:] == ["'=cmd", "", "1", ""]


def test_moodle_gradebook_has_an_identifier_and_one_column_per_grade_item():
    rows = _csv(gradebook_rows(_report(), "moodle"))
    assert rows[0] == ["Username", "02_score", "03_soft"]
    assert sorted(rows[1:]) == [["'=cmd", "1", ""], ["ann", "1", ""], ["bob", "2", "3"]]


def test_course_gradebook_keeps_its_columns():
    rows = _csv(gradebook_rows(_report(), "course"))
    assert rows[0] == ["learner", "02_a", "02_b", "03_c", "total", "max"]
    assert ["bob", "0", "2", "3", "5", "6"] in rows


@pytest.mark.parametrize("kind", ["course", "canvas", "moodle"])
@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_no_cell_can_start_a_formula(tmp_path, kind, start):
    report = _report()
    for nb in report["notebooks"]:
        nb["learner"] = start + "1+1" if nb["learner"] == "ann" else nb["learner"]
    path = tmp_path / "grades.csv"
    write_gradebook(report, path, kind)
    with open(path, newline="", encoding="utf-8") as handle:
        cells = [cell for row in csv.reader(handle) for cell in row]
    assert "'" + start + "1+1" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or c.startswith("-")]


def test_safe_cell_leaves_plain_text_alone():
    assert safe_cell("alice") == "alice" and safe_cell("a=b") == "a=b" and safe_cell("") == ""
    assert safe_cell("-2") == "'-2" and safe_cell("@SUM(A1)") == "'@SUM(A1)"


def test_unknown_gradebook_format_is_refused():
    with pytest.raises(ValueError, match="canvas"):
        gradebook_rows(_report(), "excel")


def test_nbgrader_layout_names_the_student():
    path = Path("course/submitted/alice/ps1/03_softmax_weights.ipynb")
    assert learner_id(path, (Path("course/submitted"),)) == "alice"
    assert learner_id(Path("subs/bob/03_softmax_weights.ipynb")) == "bob"


def test_class_summary_counts_best_copies_mistakes_and_absent_notebooks():
    summary = class_summary(_report())
    parts = {p["id"]: p for p in summary["parts"]}
    assert summary["learners"] == ["=cmd", "ann", "bob"]
    assert (parts["02_a"]["passed"], parts["02_a"]["failed"], parts["02_a"]["not_tried"]) == (
        2,
        0,
        1,
    )
    assert (parts["02_b"]["passed"], parts["02_b"]["failed"]) == (1, 2)
    assert parts["02_b"]["unnamed"] == {"count": 2, "learners": ["=cmd", "ann"]}  # "x": unknown
    assert parts["03_c"]["not_tried"] == 2 and parts["03_c"]["passed"] == 1
    assert [p["id"] for p in summary["parts"]][0] == "02_b"  # most failures first
    assert summary["totals"] == {"=cmd": 1, "ann": 1, "bob": 5}
    assert summary["max"] == 6


def test_histogram_puts_each_total_in_one_bin_and_the_top_in_the_last():
    hist = histogram([0, 5.9, 6, 3], 6, bins=3)
    assert hist["counts"] == [1, 1, 2] and hist["edges"] == [0, 2, 4, 6]


def test_pages_escape_what_comes_from_file_names_and_messages(tmp_path):
    report = _report()
    report["notebooks"][0]["learner"] = "<script>alert(1)</script>"
    page = class_page(class_summary(report))
    assert "<script>" not in page and "&lt;script&gt;" in page
    one = feedback_page(report["notebooks"][0])
    assert "<b>wrong</b>" not in one and "&lt;b&gt;wrong&lt;/b&gt; &amp; more" in one
    written = write_feedback(report, tmp_path)
    assert all(p.resolve().is_relative_to(tmp_path.resolve()) for p in written)
    assert {p.parent.name for p in written} == {"_script_alert_1___script_", "bob", "_cmd"}
    assert (tmp_path / "_cmd" / "02_score-2.html").is_file()  # the second copy kept apart
    assert safe_name("../..") == "_.." and safe_name("") == "_"
