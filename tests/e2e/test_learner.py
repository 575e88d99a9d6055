"""The learner's side in a real browser: Run All past unfinished and wrong parts, short feedback,
and a workspace lesson that still shows its widgets after a save and a reopen.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import time

import nbformat
import pytest
from e2e_lab import LabPage
from e2e_widgets import RUN_TIMEOUT_S, TRAINING_RUN_TIMEOUT_S, record_run_time
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

EXERCISE = "work/exercises/03_softmax_weights.ipynb"
# lessons whose widgets must survive a save: (notebook, root classes of its widgets, run-all budget)
LESSONS = [
    ("work/notebooks/03_softmax_weights.ipynb", ("temperature-explorer",), RUN_TIMEOUT_S),
    (
        "work/notebooks/05_full_model.ipynb",
        ("decoder-step-explorer", "g2p-explorer"),
        TRAINING_RUN_TIMEOUT_S,
    ),
]
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

# Part 1 wrong (softmax over the target axis), part 2 left as released, part 3 right, the
# others left as released.
ANSWERS = {
    "03_attention_weights_answer": (
        "def attention_weights(scores):\n    return torch.softmax(scores, dim=1)"
    ),
    "03_masked_softmax_answer": (
        "def masked_softmax(scores, mask):\n"
        "    scores = scores.masked_fill(~mask[:, None, :], float('-inf'))\n"
        "    return torch.softmax(scores, dim=-1)"
    ),
}

# True once every non-empty code cell of the open notebook has an execution number (a failed
# cell does not stop the wait: the test is about the cells after it).
ALL_NUMBERED_JS = """
() => {
  const nb = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
  if (!nb) return false;
  return [...nb.querySelectorAll('.jp-CodeCell')].every(cell => {
    const source = (cell.querySelector('.cm-content')?.textContent || '').trim();
    const prompt = (cell.querySelector('.jp-InputArea-prompt')?.textContent || '').trim();
    return source === '' || /^\\[\\d+\\]:$/.test(prompt);
  });
}
"""
OUTPUT_TEXTS_JS = """
(nb) => [...nb.querySelectorAll('.jp-OutputArea-output')].map(el => el.textContent)
"""


def _menu(lab: LabPage, menu: str, command: str) -> None:
    lab.page.locator(".lm-MenuBar-item", has_text=menu).first.click()
    item = lab.page.locator(f".lm-Menu-item[data-command='{command}']")
    expect(item).to_have_count(1)
    item.click()


def _run_all_to_the_end(lab: LabPage, timeout_s: float, shot) -> None:
    timeout_ms = timeout_s * 1000
    start, load = time.monotonic(), os.getloadavg()[0]
    _menu(lab, "Run", "runmenu:run-all")
    try:
        lab.page.wait_for_function(ALL_NUMBERED_JS, timeout=timeout_ms, polling=200)
        lab.wait_kernel_idle(timeout=timeout_ms)
        record_run_time(
            shot.parent,
            shot.name.removesuffix("-run-all-FAILED.png"),
            time.monotonic() - start,
            load,
        )
    except Exception as err:
        lab.page.screenshot(path=shot, full_page=True)
        prompts = lab.page.locator(".jp-NotebookPanel .jp-InputArea-prompt").all_text_contents()
        errors = lab.take_console_errors()
        raise AssertionError(
            f"run all did not finish: prompts {prompts}, console {errors}"
        ) from err


def _outputs(lab: LabPage) -> list[str]:
    return lab.page.locator(".jp-NotebookPanel .jp-Notebook").evaluate(OUTPUT_TEXTS_JS)


def _write_answers(path, answers: dict[str, str]) -> None:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.id in answers:
            cell.source = answers[cell.id]
    nbformat.write(nb, path)


@pytest.fixture
def lab(lab_server, browser):
    page = LabPage.open(browser, lab_server.url, lab_server.token)
    yield page
    with contextlib.suppress(Exception):
        page.close()
    lab_server.shutdown_kernels()


def test_run_all_goes_past_wrong_and_unfinished_parts(lab_server, lab, artifacts_dir):
    _write_answers(lab_server.root / EXERCISE, ANSWERS)
    lab.open_notebook(EXERCISE, workspace="e2e-learner-run-all")
    _run_all_to_the_end(lab, RUN_TIMEOUT_S, artifacts_dir / "exercise-run-all-FAILED.png")
    texts = _outputs(lab)
    lab.page.screenshot(path=artifacts_dir / "exercise-run-all.png", full_page=True)

    wrong = [t for t in texts if t.startswith("✗ attention_weights:")]
    assert len(wrong) == 1, texts
    assert "wrong axis" in wrong[0] and len(wrong[0].splitlines()) <= 3, wrong[0]
    assert any(t.startswith("◻ lengths_to_mask: not implemented yet") for t in texts), texts
    assert any(t.strip() == "✓ masked_softmax passed" for t in texts), texts
    (progress,) = [t for t in texts if t.startswith("Your progress")]
    rows = {line.split()[1]: line.split()[:3] for line in progress.splitlines()[1:-1]}
    assert rows["attention_weights"] == ["✗", "attention_weights", "0/1"], progress
    assert rows["lengths_to_mask"] == ["◻", "lengths_to_mask", "0/1"], progress
    assert rows["masked_softmax"] == ["✓", "masked_softmax", "3/3"], progress
    assert progress.splitlines()[-1].split() == ["total", "3/10"], progress
    shown = "\n".join(texts)
    assert "Traceback" not in shown and "course_lib" not in shown and "softmax(dim=-1)" not in shown
    assert lab.page.get_by_text("official Jupyter news").count() == 0
    assert not lab.take_console_errors()


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(("lesson", "widgets", "budget_s"), LESSONS, ids=["03", "05"])
def test_saved_lesson_shows_its_widgets_when_reopened(
    lab_server, lab, browser, artifacts_dir, lesson, widgets, budget_s
):
    name = lesson.rsplit("/", 1)[1]
    original = lab_server.root / "notebooks" / name
    before = _digest(original)
    lab.open_notebook(lesson, workspace=f"e2e-learner-save-{name[:2]}")
    _menu(lab, "Edit", "editmenu:clear-all")  # so that "every cell numbered" means this run
    _run_all_to_the_end(lab, budget_s, artifacts_dir / f"lesson-{name[:2]}-run-all-FAILED.png")
    _menu(lab, "File", "docmanager:save")
    saved = lab_server.root / lesson
    views = set()

    def saved_with_state() -> bool:
        nb = json.loads(saved.read_text(encoding="utf-8"))
        state = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
        views.clear()
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                view = out.get("data", {}).get("application/vnd.jupyter.widget-view+json")
                if view:
                    views.add(view["model_id"])
        return bool(views) and views <= set(state)

    expect(lab.page.locator(".jp-mod-dirty")).to_have_count(0, timeout=30_000)
    assert saved_with_state(), "the saved lesson lacks the state of the widgets it shows"
    lab.close()
    lab_server.shutdown_kernels()

    again = LabPage.open(browser, lab_server.url, lab_server.token)
    try:
        again.open_notebook(lesson, workspace=f"e2e-learner-reopen-{name[:2]}")
        notebook = again.page.locator(".jp-NotebookPanel .jp-Notebook")
        for widget in widgets:
            expect(notebook.locator(f".{widget}")).to_have_count(1, timeout=30_000)
        again.page.screenshot(
            path=artifacts_dir / f"lesson-{name[:2]}-reopened.png", full_page=True
        )
        shown = "\n".join(notebook.evaluate(OUTPUT_TEXTS_JS))
        assert "Error displaying widget" not in shown and "model not found" not in shown
        assert not again.take_console_errors()
    finally:
        again.close()
    lab_server.shutdown_kernels()
    _reopen_with_no_kernel(lab_server, browser, lesson, widgets, artifacts_dir)
    assert _digest(original) == before, "the course's own lesson was modified"


# The call that displays each widget, to find its cell when no live widget is drawn.
WIDGET_CALLS = {
    "temperature-explorer": "temperature_explorer(",
    "decoder-step-explorer": "decoder_step_explorer(",
    "g2p-explorer": "g2p_explorer(",
}


def _reopen_with_no_kernel(lab_server, browser, lesson, widgets, artifacts_dir) -> None:
    """The saved lesson, opened where its kernel is not available: JupyterLab asks which kernel
    to start and the learner answers "No Kernel"; every widget's cell still shows its picture.

    Measured with JupyterLab 4.6: this copy is not signed as trusted, so Lab draws the static
    view from the output's bundle (course_lib/static_views.py) instead of the widget itself: the
    bundle's HTML <img>, whose alt text says what the picture shows."""
    saved = lab_server.root / lesson
    copy = saved.with_name(saved.stem + "-no-kernel.ipynb")
    nb = json.loads(saved.read_text(encoding="utf-8"))
    # a kernel neither the name nor the language of which this server knows (else Lab picks
    # the Python kernel by language and asks nothing)
    nb["metadata"]["kernelspec"] = {"name": "gone", "display_name": "Gone", "language": "none"}
    nb["metadata"].pop("language_info", None)
    copy.write_text(json.dumps(nb), encoding="utf-8")
    rel = copy.relative_to(lab_server.root).as_posix()
    lab = LabPage.open(browser, lab_server.url, lab_server.token)
    try:
        url = f"{lab.base_url}/lab/workspaces/e2e-no-kernel-{copy.stem[:2]}/tree/{rel}?reset"
        lab.page.goto(f"{url}&token={lab.token}", wait_until="domcontentloaded")
        dialog = lab.page.locator(".jp-Dialog")
        expect(dialog.get_by_text("Select Kernel").first).to_be_visible(timeout=60_000)
        dialog.locator("select").select_option(label="No Kernel")
        dialog.locator("button.jp-mod-accept").click()
        expect(dialog).to_have_count(0)
        notebook = lab.page.locator(".jp-NotebookPanel .jp-Notebook")
        for widget in widgets:
            source = lab.page.locator(".cm-content", has_text=WIDGET_CALLS[widget])
            cell = notebook.locator(".jp-CodeCell").filter(has=source)
            expect(cell, f"one cell calls {WIDGET_CALLS[widget]}").to_have_count(1)
            cell.scroll_into_view_if_needed()
            picture = cell.locator(".jp-OutputArea-output img")
            expect(picture.first).to_be_visible(timeout=30_000)
            loaded = picture.evaluate_all("els => els.some(i => i.complete && i.naturalWidth > 0)")
            assert loaded, f"{widget}: its picture did not load"
            alts = picture.evaluate_all("els => els.map(i => i.alt)")
            assert all("without a kernel" in alt for alt in alts), f"{widget}: alt text {alts}"
        lab.page.screenshot(path=artifacts_dir / f"lesson-{copy.stem[:2]}-no-kernel.png")
        shown = "\n".join(notebook.evaluate(OUTPUT_TEXTS_JS))
        for leftover in ("Error displaying widget", "model not found", "Loading widget"):
            assert leftover not in shown, f"the reopened lesson shows {leftover!r}"
        assert not lab.take_console_errors()
    finally:
        lab.close()


def test_temperature_slider_label_step_and_screen_reader_value(lab_server, lab, artifacts_dir):
    lab_server.restore("notebooks/03_softmax_weights.ipynb")
    lab.open_notebook("notebooks/03_softmax_weights.ipynb", workspace="e2e-learner-slider")
    _run_all_to_the_end(lab, RUN_TIMEOUT_S, artifacts_dir / "slider-run-all-FAILED.png")
    root = lab.page.locator(".temperature-explorer")
    expect(root).to_have_count(1)
    root.scroll_into_view_if_needed()
    label = root.locator(".widget-label").first
    expect(label).to_have_text("temperature")
    cut = label.evaluate("el => el.scrollWidth > el.clientWidth")
    assert not cut, "the slider's label is cut"
    handle = root.locator("[role=slider]")
    expect(handle).to_have_attribute("aria-valuenow", re.compile(r"^1(\.0+)?$"))
    handle.focus()
    lab.page.keyboard.press("ArrowRight")
    # one press moves T by 0.05: the readout shows it, and screen readers hear the same text in
    # aria-valuetext, "1.05", not 1.0500000000000003 (noUiSlider rounds aria-valuenow to one
    # decimal, so that is not compared)
    readout = root.locator(".widget-readout")
    expect(readout).to_have_text("1.05")
    expect(handle).to_have_attribute("aria-valuetext", "1.05")
    lab.page.keyboard.press("Home")  # the track starts at 0; the slider holds at T = 0.1
    expect(readout).to_have_text("0.10")
    expect(handle).to_have_attribute("aria-valuetext", "0.1")
    root.screenshot(path=artifacts_dir / "temperature-slider-keys.png")
    assert not lab.take_console_errors()
