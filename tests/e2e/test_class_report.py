"""The class report in Chromium: its tables and SVG figures render, offline, with no errors.

The page is built from a made-up report (no grading runs here) and opened from disk; every
request that is not for the page itself is recorded and aborted.
"""

from __future__ import annotations

from pathlib import Path

from course_lib.grade.classpage import write_class_page
from course_lib.grade.classview import class_summary

PARTS = [("02_dot_score", 1), ("02_scaled_dot_score", 1), ("03_masked_softmax", 3)]
STATES = ["passed", "failed", "not_implemented"]
MISTAKE = {"02_scaled_dot_score": "missing_scale", "03_masked_softmax": "mask_after_softmax"}


def _report(learners: int = 12) -> dict:
    notebooks = []
    for i in range(learners):
        parts = []
        for j, (pid, points) in enumerate(PARTS):
            status = STATES[(i + j) % 3]
            parts.append(
                {
                    "id": pid,
                    "max": points,
                    "score": points if status == "passed" else 0,
                    "status": status,
                    "message": status,
                    "mistake": MISTAKE.get(pid) if status == "failed" else None,
                }
            )
        notebooks.append(
            {"path": f"c/l{i}/x.ipynb", "learner": f"learner{i:02d}", "exercise": "x",
             "parts": parts}
        )  # fmt: skip
    return {"notebooks": notebooks}


def test_class_report_renders_offline_without_errors(browser, tmp_path, artifacts_dir):
    page_path = tmp_path / "class.html"
    write_class_page(class_summary(_report()), page_path)
    url = page_path.resolve().as_uri()
    context = browser.new_context()
    page = context.new_page()
    errors, outside = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def route(r):
        if r.request.url == url:
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        assert page.locator("#parts tr.part").count() == len(PARTS)
        assert page.locator("#learners tr.learner").count() == 12
        histogram = page.locator("#histogram")
        box = histogram.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 50
        heights = histogram.locator("rect").evaluate_all(
            "rs => rs.map(r => r.getBoundingClientRect().height)"
        )
        assert sum(h > 0 for h in heights) >= 2, heights
        bars = page.locator("#parts svg.bar")
        assert bars.count() == len(PARTS)
        widths = bars.evaluate_all(
            "svgs => svgs.map(s => [...s.querySelectorAll('rect')]"
            ".reduce((w, r) => w + r.getBoundingClientRect().width, 0))"
        )
        assert all(w > 200 for w in widths), widths  # each bar spans the whole class
        assert page.get_by_text("mask_after_softmax").count() >= 1
        page.screenshot(path=str(Path(artifacts_dir) / "class-report.png"), full_page=True)
    finally:
        context.close()
    assert errors == [] and outside == []
