"""The class report counts what was injected into a generated class, and its outputs are safe.

One grading call (through the command line) over a generated class of 30 learners with known
mistakes, plus two learners in nbgrader's `submitted/` layout, one of them with an id that a
spreadsheet would run as a formula. Every test reads the outputs of that one call.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib.checks import MISTAKES
from course_lib.grade.__main__ import main as grade_main
from course_lib.grade.feedback import safe_name
from course_lib.grade.sample_class import make_class

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = 30
NBGRADER = {  # student -> (assignment folder, notebook name, solution copied there)
    "nbstudent": ("ps2", "02_score_functions.ipynb", "02_score_functions"),
    "=HYPERLINK(1)": ("03_softmax_weights", "answers.ipynb", "03_softmax_weights"),
}


def _nbgrader_learners(root: Path, truth: dict) -> None:
    for student, (assignment, name, exercise) in NBGRADER.items():
        target = root / "submitted" / student / assignment / name
        target.parent.mkdir(parents=True)
        shutil.copy(ROOT / "solutions" / f"{exercise}.ipynb", target)
        nb = nbformat.read(target, as_version=4)
        parts = [c.id.removesuffix("_answer") for c in nb.cells if c.id.endswith("_answer")]
        truth[student] = {"exercise": exercise, "parts": dict.fromkeys(parts, "passed")}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("class")
    truth = make_class(tmp / "class", learners=LEARNERS, seed=7)
    _nbgrader_learners(tmp, truth)
    private = tmp / "grader-tmp"
    private.mkdir()
    out = tmp / "out"
    out.mkdir()
    args = [str(tmp / "class"), str(tmp / "submitted"), "--jobs", "2", "--tmp-dir", str(private)]
    args += ["--json", str(out / "report.json"), "--csv-format", "canvas"]
    args += ["--report", str(out / "class.html"), "--feedback", str(out / "feedback")]
    assert grade_main([*args, "--cell-timeout", "5", "--part-timeout", "20"]) == 0
    return truth, out


def _expected(truth: dict, part_id: str) -> dict:
    """What the class report must say about one part, from the injected truth."""
    want = {"passed": 0, "failed": 0, "not_tried": 0, "mistakes": {}}
    for learner, entry in sorted(truth.items()):
        state = entry["parts"].get(part_id, "not_tried")
        if state in ("passed", "not_tried"):
            want[state] += 1
        else:
            want["failed"] += 1
            want["mistakes"].setdefault(state, []).append(learner)
    return want


def test_class_report_counts_match_what_was_injected(graded_class):
    truth, out = graded_class
    summary = json.loads((out / "class.json").read_text())
    assert len(summary["learners"]) == LEARNERS + len(NBGRADER)
    injected = sum(1 for e in truth.values() for s in e["parts"].values() if s in MISTAKES)
    assert injected >= 30
    for part in summary["parts"]:
        want = _expected(truth, part["id"])
        got = {key: part[key] for key in ("passed", "failed", "not_tried")}
        assert got == {key: want[key] for key in got}, part["id"]
        named = {mistake: sorted(m["learners"]) for mistake, m in part["mistakes"].items()}
        assert named == want["mistakes"], part["id"]
        assert part["unnamed"]["count"] == 0, part
        assert all(m["count"] == len(m["learners"]) for m in part["mistakes"].values())
    failures = [p["failed"] for p in summary["parts"]]
    assert failures == sorted(failures, reverse=True)
    assert sum(summary["histogram"]["counts"]) == len(summary["learners"])


def test_grading_report_names_each_mistake(graded_class):
    truth, out = graded_class
    report = json.loads((out / "report.json").read_text())
    for nb in report["notebooks"]:
        injected = truth[nb["learner"]]["parts"]
        for part in nb["parts"]:
            state = injected[part["id"]]
            assert part["mistake"] == (state if state in MISTAKES else None), part


def test_class_page_is_self_contained_and_shows_every_part_and_learner(graded_class):
    truth, out = graded_class
    page = (out / "class.html").read_text()
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(", page)
    assert "http://" not in page and "https://" not in page
    assert page.count('<tr class="learner">') == len(truth)
    assert page.count('<tr class="part"') == 10
    assert '<svg id="histogram"' in page
    assert "=HYPERLINK(1)" in page and "<script" not in page


def _solution_lines() -> set[str]:
    """The non-trivial lines of every solution region: what feedback must never show."""
    lines = set()
    for path in (ROOT / "solutions").glob("0[23]_*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            region = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
            if region:
                lines |= {ln.strip() for ln in region.group(1).splitlines() if len(ln.strip()) > 12}
    return lines


def test_feedback_has_one_page_per_learner_and_exercise_and_no_reference_code(graded_class):
    truth, out = graded_class
    pages = sorted((out / "feedback").rglob("*.html"))
    assert len(pages) == len(truth)
    secrets = _solution_lines()
    assert secrets
    folders = {safe_name(learner): entry for learner, entry in truth.items()}
    for page in pages:
        text = page.read_text()
        exercise = page.stem
        assert page.parent.parent == out / "feedback"
        for line in secrets:
            assert line not in text, (page, line)
        ids = re.findall(r"<td>(0\d_\w+)</td>", text)
        assert ids and all(i.startswith(exercise[:3]) for i in ids)
        injected = folders[page.parent.name]["parts"].values()
        assert ("✗ failed" in text) == any(s not in ("passed", "not_tried") for s in injected)


def test_canvas_gradebook_and_nbgrader_learners(graded_class):
    truth, out = graded_class
    with open(out / "report.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, possible, *learners = rows
    assert header == [
        "Student",
        "ID",
        "SIS User ID",
        "SIS Login ID",
        "Section",
        "02_score_functions",
        "03_softmax_weights",
    ]
    assert possible[:5] == ["Points Possible", "", "", "", ""] and possible[5:] == ["6", "10"]
    by_id = {row[0]: row for row in learners}
    assert "nbstudent" in by_id and by_id["nbstudent"][5:] == ["6", ""]
    assert "'=HYPERLINK(1)" in by_id and by_id["'=HYPERLINK(1)"][6] == "10"
    assert len(learners) == len(truth)
