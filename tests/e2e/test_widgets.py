"""Each course widget, driven in a real browser, must redraw its text and its picture.

To test a new widget, add one WidgetSpec to SPECS (specs of one notebook next to each other, so
they share one run of the notebook). See tests/e2e/README.md.
"""

from __future__ import annotations

import json
import os

import pytest
from e2e_axe import audit, axe_missing, blocking, describe, tally
from e2e_lab import ERROR_TEXTS_JS
from e2e_widgets import (
    CONTROLS,
    TRAINING_RUN_TIMEOUT_S,
    FigureSpec,
    SliderKeys,
    TypeText,
    WidgetSpec,
    move_by_keyboard,
    src_of,
    tab_through,
    text_of,
    unreadable_slider_values,
    wait_for_change,
)
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e

DEMO = "tests/e2e/fixtures/e2e_demo.ipynb"

SPECS = [
    WidgetSpec(
        id="demo-slider",
        notebook=DEMO,
        root_class="e2e-demo-slider",
        interact=SliderKeys(("ArrowRight", "End")),
        expect_text=r"^frequency = 8\s*$",
    ),
    WidgetSpec(
        id="demo-text",
        notebook=DEMO,
        root_class="e2e-demo-text",
        interact=TypeText("attention"),
        expect_text=r"^word = 'attention' \(9 letters\)\s*$",
    ),
    # The course's own widgets. Notebooks that train a model get a longer run-all budget.
    WidgetSpec(
        id="temperature-slider",
        notebook="notebooks/03_softmax_weights.ipynb",
        root_class="temperature-explorer",
        interact=SliderKeys(("ArrowRight", "End")),
        expect_text=r"^T = 5\.00",
    ),
    WidgetSpec(
        id="context-decoder-steps",
        notebook="notebooks/04_context_vector.ipynb",
        root_class="decoder-step-explorer",
        interact=SliderKeys(("ArrowRight", "End")),
        expect_text=r"^step [1-9]\d*: emitted",
        run_timeout_s=TRAINING_RUN_TIMEOUT_S,
    ),
    WidgetSpec(
        id="transformer-head-explorer",
        notebook="notebooks/07_transformer_attention.ipynb",
        root_class="head-explorer",
        interact=SliderKeys(("ArrowRight", "End"), handle=".head-explorer-step [role=slider]"),
        expect_text=r"^layer 0, head 0, step [1-9]\d* \(output",
        run_timeout_s=TRAINING_RUN_TIMEOUT_S,
    ),
    # Lesson 05 last: FIGURES below photographs its figures in the same run of the notebook.
    WidgetSpec(
        id="full-model-decoder-steps",
        notebook="notebooks/05_full_model.ipynb",
        root_class="decoder-step-explorer",
        interact=SliderKeys(("ArrowRight", "End")),
        expect_text=r"^step [1-9]\d*: emitted",
        run_timeout_s=TRAINING_RUN_TIMEOUT_S,
    ),
    WidgetSpec(
        id="g2p-word-box",
        notebook="notebooks/05_full_model.ipynb",
        root_class="g2p-explorer",
        interact=TypeText("knight"),
        expect_text=r"^knight → [A-Z]",
        run_timeout_s=TRAINING_RUN_TIMEOUT_S,
    ),
]

# Fixed figures photographed for a person to look at (tests/e2e/screenshots/<id>.png). Same notebook
# as the last widget specs, so the notebook is not run twice.
FIGURES = [
    FigureSpec(
        id="full-model-architecture",
        notebook="notebooks/05_full_model.ipynb",
        cell_source="draw_architecture(",
        run_timeout_s=TRAINING_RUN_TIMEOUT_S,
    ),
]

CHANGE_TIMEOUT_S = 20.0


@pytest.mark.parametrize("spec", SPECS, ids=[s.id for s in SPECS])
def test_widget_redraws(spec: WidgetSpec, notebooks, artifacts_dir):
    with notebooks.using(spec) as lab:
        roots = lab.page.locator(spec.root_selector)
        expect(roots, f"exactly one widget root {spec.root_selector}").to_have_count(1)
        root = roots.first
        root.scroll_into_view_if_needed()
        text, image = root.locator(spec.text), root.locator(spec.image)
        expect(text, f"exactly one text element {spec.text}").to_have_count(1)
        expect(image, f"exactly one image {spec.image}").to_have_count(1)
        text_before, src_before = text_of(text), src_of(image)
        assert text_before and text_before.strip(), "the widget shows no text before interacting"
        assert src_before, "the widget's image has no src before interacting"

        cells_before = lab.cell_count()

        spec.interact.perform(root)

        try:
            wait_for_change(
                text, text_of, text_before, "the text", CHANGE_TIMEOUT_S, pattern=spec.expect_text
            )
            wait_for_change(image, src_of, src_before, "the image src", CHANGE_TIMEOUT_S)
        finally:
            shown_errors = root.evaluate(ERROR_TEXTS_JS)
            assert not shown_errors, "the widget shows an error:\n" + "\n".join(shown_errors)
        assert lab.cell_count() == cells_before, "key presses reached JupyterLab's shortcuts"
        expect(roots).to_have_count(1)
        expect(text).to_have_count(1)
        expect(image).to_have_count(1)

        root.screenshot(path=artifacts_dir / f"{spec.id}.png")
        assert unreadable_slider_values(root) == [], "a slider announces an unreadable value"
        check_keyboard_only(root)
        if lab.blocked:  # shown with the test's output; blocking them is expected, not a failure
            print("blocked non-loopback requests:", *sorted(set(lab.blocked)), sep="\n  ")
        errors = lab.take_console_errors()
        assert not errors, "errors in the browser console:\n" + "\n".join(errors)


def check_keyboard_only(root) -> None:
    """Tab from the widget's edge reaches each of its controls in turn; each slider reached so
    moves with the keyboard and still announces a readable value."""
    controls = root.locator(CONTROLS)
    visited = tab_through(root)
    assert sorted(set(visited)) == list(range(controls.count())), (
        f"Tab reached controls {visited} of {controls.count()}"
    )
    for index in dict.fromkeys(visited):
        control = controls.nth(index)
        if control.get_attribute("role") == "slider":
            control.focus()
            move_by_keyboard(control)
    assert unreadable_slider_values(root) == [], "a slider announces an unreadable value"


@pytest.mark.parametrize("spec", FIGURES, ids=[s.id for s in FIGURES])
def test_fixed_figure_is_shown(spec: FigureSpec, notebooks, artifacts_dir):
    with notebooks.using(spec) as lab:
        source = lab.page.locator(".cm-content", has_text=spec.cell_source)
        cells = lab.page.locator(".jp-NotebookPanel .jp-CodeCell").filter(has=source)
        expect(cells, f"exactly one cell containing {spec.cell_source!r}").to_have_count(1)
        image = cells.first.locator(".jp-OutputArea-output img")
        expect(image, "exactly one image in that cell's output").to_have_count(1)
        image.scroll_into_view_if_needed()
        size = image.evaluate("img => [img.complete, img.naturalWidth, img.naturalHeight]")
        assert size[0] and size[1] > 100 and size[2] > 100, f"the figure did not load: {size}"
        image.screenshot(path=artifacts_dir / f"{spec.id}.png")
        errors = lab.take_console_errors()
        assert not errors, "errors in the browser console:\n" + "\n".join(errors)


# JupyterLab with lesson 05 open and run (the notebook of the last specs: no second run).
LAB_AUDIT = FigureSpec(
    id="full-model-axe",
    notebook="notebooks/05_full_model.ipynb",
    cell_source="draw_architecture(",
    run_timeout_s=TRAINING_RUN_TIMEOUT_S,  # alone (-k axe); after the specs above it reuses their run
)


# The course's widgets in lesson 05, audited on their own: most of what axe finds on the whole
# page is JupyterLab's own (measured with JupyterLab 4.6.6: aria-allowed-attr on its toolbar
# buttons, aria-input-field-name on every code editor, aria-required-children on the cell feed,
# button-name on the heading-collapse buttons), which the course cannot change.
COURSE_WIDGETS = ".decoder-step-explorer, .g2p-explorer"
# The widgets' pictures are HTML <img> with alt text (course_lib.widgets.figure_output): JupyterLab
# draws an image/png without any (image-alt, critical), as it still does for the lesson's own
# figures. Left open, said so (measured here, not reachable from the kernel side):
# - aria-input-field-name (serious): ipywidgets 8.1 labels a slider with a <label> that is not
#   tied to the noUiSlider handle (a div with role=slider), so the handle has no name; only the
#   front end (ipywidgets itself) can set one.
KNOWN_IN_WIDGETS = {"aria-input-field-name"}


def test_jupyterlab_with_lesson_05_passes_axe(notebooks, artifacts_dir):
    """axe-core over JupyterLab with lesson 05 run: every finding of the whole page, any impact,
    is written to screenshots/axe-lab.json; the course's widgets have nothing serious or
    critical beyond KNOWN_IN_WIDGETS."""
    if axe_missing():  # book/node_modules: `npm ci --prefix book` (make site runs it)
        if os.environ.get("CI") == "true":
            pytest.fail(axe_missing())
        pytest.skip(axe_missing())
    with notebooks.using(LAB_AUDIT) as lab:
        page = audit(lab.page)
        counts = {f"{rule} {impact}": n for (rule, impact), n in sorted(tally(page).items())}
        (artifacts_dir / "axe-lab.json").write_text(json.dumps(counts, indent=1) + "\n")
        expect(lab.page.locator(COURSE_WIDGETS)).to_have_count(2)
        widgets = blocking(audit(lab.page, include=COURSE_WIDGETS))
        found = {v["id"] for v in widgets}
        assert found <= KNOWN_IN_WIDGETS, describe(widgets)
