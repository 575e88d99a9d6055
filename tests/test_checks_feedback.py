"""What a learner sees when a check fails in a notebook: a few sentences, not the checks' code."""

from __future__ import annotations

import re

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib import checks
from course_lib.checks import CheckFailed
from course_lib.checks._feedback import render_failure

ANSI = re.compile(r"\x1b\[[0-9;]*m")

CELLS = {
    "setup": "import torch\nfrom course_lib import checks",
    "wrong_axis": "def attention_weights(scores):\n    return scores.softmax(dim=1)",
    "wrong_check": "checks.check_attention_weights(attention_weights)",
    "bug": (
        "def _helper(query, keys):\n"
        "    raise ValueError('my own bug')\n"
        "\n"
        "def dot_score(query, keys):\n"
        "    return _helper(query, keys)"
    ),
    "bug_check": "checks.check_dot_score(dot_score)",
    "todo": "def scaled_dot_score(query, keys):\n    raise NotImplementedError()",
    "todo_check": "checks.check_scaled_dot_score(scaled_dot_score)",
    "after": "print('still running')",
}


@pytest.fixture(scope="module")
def outputs() -> dict[str, list[dict]]:
    """Run the cells above in a real kernel, as JupyterLab would; outputs per cell name."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    NotebookClient(nb, timeout=120, allow_errors=True, kernel_name="python3").execute()
    return {name: cell.outputs for name, cell in zip(CELLS, nb.cells, strict=True)}


def _error_text(cell_outputs: list[dict]) -> str:
    (error,) = [out for out in cell_outputs if out["output_type"] == "error"]
    return ANSI.sub("", "\n".join(error["traceback"]))


def test_wrong_answer_shows_the_hint_only(outputs):
    text = _error_text(outputs["wrong_check"])
    assert text.startswith("✗ attention_weights: ")
    assert checks.MISTAKES["softmax_wrong_axis"].split(".")[0] in text.replace("\n  ", " ")
    assert "course_lib" not in text and "Traceback" not in text
    assert "softmax(dim=-1)" not in text  # the reference answer stays hidden
    assert len(text.splitlines()) <= 4


def test_learners_own_bug_shows_their_frames_only(outputs):
    text = _error_text(outputs["bug_check"])
    assert text.startswith("✗ dot_score: your code raised ValueError: my own bug.")
    assert "course_lib" not in text and "site-packages" not in text
    frames = [line for line in text.splitlines() if line.strip().startswith("Cell In[")]
    assert [line.rsplit(" in ", 1)[1] for line in frames] == ["dot_score", "_helper"]
    assert "raise ValueError('my own bug')" in text
    assert text.splitlines()[-1] == "ValueError: my own bug"


def test_part_not_done_yet_prints_a_line_and_the_run_goes_on(outputs):
    assert [out["output_type"] for out in outputs["todo_check"]] == ["stream"]
    assert outputs["todo_check"][0]["text"].startswith("◻ scaled_dot_score: not implemented yet")
    assert outputs["after"][0]["text"] == "still running\n"


def test_rendered_message_wraps_long_sentences():
    lines = render_failure("part: " + "word " * 60)
    assert len(lines) > 1 and all(len(ANSI.sub("", line)) <= 100 for line in lines)


def test_failure_outside_ipython_is_a_plain_assertion():
    with pytest.raises(AssertionError, match="softmax runs over the wrong axis"):
        checks.check_attention_weights(lambda scores: scores.softmax(dim=1))
    assert issubclass(CheckFailed, AssertionError)
