"""pytest plugin for the grader: records, for every graded check cell nbval runs, its outcome.

Loaded with `-p course_lib.grade.plugin` next to nbval. Points come from the cell's nbgrader
metadata (turned into a plain dict, which also crosses pytest-xdist workers). Each result is
appended as one JSON line to $COURSE_GRADE_RESULTS as soon as the cell has run, so a run killed
by the overall time limit still leaves the parts it finished.
"""

from __future__ import annotations

import json
import os

import pytest

from . import RESULTS_ENV


def _graded_meta(item) -> dict | None:
    cell = getattr(item, "cell", None)
    if cell is None:
        return None
    meta = json.loads(json.dumps(cell.get("metadata", {}).get("nbgrader", {})))
    return meta if meta.get("grade") else None


def pytest_collection_modifyitems(items):
    for item in items:
        meta = _graded_meta(item)
        if meta is not None:
            item.user_properties.append(("nbgrader", meta))


def _error_output(item) -> dict | None:
    for output in getattr(item, "test_outputs", None) or []:
        if output.get("output_type") == "error":
            return {"ename": output.get("ename", ""), "evalue": output.get("evalue", "")}
    return None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    meta = _graded_meta(item)
    if meta is not None and (report.when == "call" or report.outcome != "passed"):
        result = {
            "path": str(item.path),
            "grade_id": meta.get("grade_id", ""),
            "points": meta.get("points", 0),
            "when": report.when,
            "outcome": report.outcome,  # an xfail after a timed-out cell reads "skipped"
            "error": _error_output(item),
            "detail": "" if call.excinfo is None else str(call.excinfo.value).splitlines()[0],
        }
        report.user_properties.append(("grade_result", result))
    return report


def pytest_runtest_logreport(report):
    if os.environ.get("PYTEST_XDIST_WORKER"):  # the controller writes what the workers report
        return
    target = os.environ.get(RESULTS_ENV)
    for key, value in report.user_properties:
        if key == "grade_result" and target:
            with open(target, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(value) + "\n")
