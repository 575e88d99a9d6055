"""Declarative specs for widget browser tests: which notebook, which widget, what to do, what changes."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from playwright.sync_api import Locator, expect


class Interaction(Protocol):
    """Something a learner does to a widget; raises if the widget did not take the input."""

    def perform(self, root: Locator) -> None: ...


# Seconds a Run All may take: limits for a busy machine, not expectations. Measured with one torch
# thread (as `make test` runs) on the 2-core machine at load average 7 to 14, other work beside
# it (run-times.json in the screenshots folder): notebooks without training at most 10 s, lesson
# 04 62 s, 05 80-133 s, 07 247 s (idle: 16, 22 and 46 s). Worst seen since, in `make test` with
# the browser tests started beside both nbval stages (load 4-7): 04 130 s, 05 180 s, 07 309 s.
# The limits leave about twice the worst of these.
RUN_TIMEOUT_S = 120.0
TRAINING_RUN_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class SliderKeys:
    """Focus the slider handle and press keys, e.g. ("ArrowRight",) or ("End",)."""

    keys: tuple[str, ...] = ("ArrowRight",)
    handle: str = "[role=slider]"

    def perform(self, root: Locator) -> None:
        handle = root.locator(self.handle)
        expect(handle, f"exactly one slider handle ({self.handle})").to_have_count(1)
        before = handle.get_attribute("aria-valuenow")
        handle.focus()
        for key in self.keys:
            root.page.keyboard.press(key)
        expect(handle, "the slider did not move").not_to_have_attribute("aria-valuenow", before)


@dataclass(frozen=True)
class TypeText:
    """Click into the text box, replace its content by typing `text`, then press Enter."""

    text: str
    box: str = "input[type=text], textarea"
    enter: bool = True

    def perform(self, root: Locator) -> None:
        box = root.locator(self.box)
        expect(box, f"exactly one text box ({self.box})").to_have_count(1)
        box.click()
        keyboard = root.page.keyboard
        keyboard.press("ControlOrMeta+a")
        keyboard.type(self.text, delay=30)
        if self.enter:
            keyboard.press("Enter")
        expect(box).to_have_value(self.text)


@dataclass(frozen=True)
class WidgetSpec:
    """One widget test. Selectors for text and image are looked up inside the widget root only."""

    id: str  # test id and screenshot name
    notebook: str  # path relative to the repository root
    root_class: str  # CSS class given with widget.add_class(...) to the widget's root box
    interact: Interaction
    text: str = ".widget-output pre"  # the one element whose text must change
    image: str = ".widget-output img"  # the one <img> whose src must change
    expect_text: str | None = None  # optional regex the new text must match
    run_timeout_s: float = RUN_TIMEOUT_S  # running all cells of the notebook

    @property
    def root_selector(self) -> str:
        return "." + self.root_class


@dataclass(frozen=True)
class FigureSpec:
    """A fixed figure (not a widget) to photograph after Run All: the one image output of the one
    code cell whose source contains ``cell_source``."""

    id: str  # test id and screenshot name
    notebook: str  # path relative to the repository root
    cell_source: str  # a snippet found in that cell's source only, e.g. "draw_architecture("
    run_timeout_s: float = RUN_TIMEOUT_S  # running all cells of the notebook


def wait_for_change(
    locator: Locator,
    read: Callable[[Locator], str | None],
    before: str | None,
    what: str,
    timeout_s: float,
    pattern: str | None = None,
    settle_s: float = 0.4,
) -> str:
    """Poll until exactly one element matches, its value differs from `before` (and fits
    `pattern`), and it stayed so for `settle_s` (several key presses redraw several times)."""
    deadline = time.monotonic() + timeout_s
    count, value, since = 0, before, None
    while time.monotonic() < deadline:
        count = locator.count()
        current = read(locator) if count == 1 else None
        if current and current != before and matches(pattern, current):
            if current != value or since is None:
                value, since = current, time.monotonic()
            elif time.monotonic() - since >= settle_s:
                return value
        else:
            value, since = current, None
        time.sleep(0.1)
    shown = (value or "")[:80]
    wanted = f" to match {pattern!r}" if pattern else ""
    raise AssertionError(
        f"{what} did not change{wanted} within {timeout_s} s ({count} matched, now {shown!r})"
    )


def text_of(locator: Locator) -> str | None:
    return locator.text_content()


def src_of(locator: Locator) -> str | None:
    return locator.get_attribute("src")


def matches(pattern: str | None, text: str) -> bool:
    return pattern is None or re.search(pattern, text) is not None


def record_run_time(artifacts: Path, notebook: str, seconds: float, load: float) -> None:
    """Add one Run All's seconds (and the load average at its start) to run-times.json.

    The time limits of Run All (e2e_widgets.RUN_TIMEOUT_S) were set from these figures measured
    on a busy machine; the file shows what a run took against its limit.
    """
    path = artifacts / "run-times.json"
    times = json.loads(path.read_text()) if path.exists() else []
    times.append({"notebook": notebook, "seconds": round(seconds, 1), "load": round(load, 1)})
    path.write_text(json.dumps(times, indent=1) + "\n")


# ---- keyboard and screen readers -------------------------------------------------------------

CONTROLS = "[role=slider], input, textarea, select, button, [contenteditable=true]"
# What a screen reader says for a slider: a plain number ("1.05", "3"), never float noise.
READABLE_VALUE = re.compile(r"^-?\d+(\.\d{1,3})?$")

_TAB_FROM_ROOT_JS = """
(root) => { root.setAttribute('tabindex', '-1'); root.focus(); }
"""
_ACTIVE_IN_ROOT_JS = """
(root, controls) => {
  const active = document.activeElement;
  if (!active || !root.contains(active) || active === root) return null;
  return [...root.querySelectorAll(controls)].indexOf(active);
}
"""


def tab_through(root: Locator, max_presses: int = 30) -> list[int]:
    """Focus ``root`` and press Tab until the focus leaves it: the indices (among the root's
    controls) of the controls the focus visited, in order."""
    root.evaluate(_TAB_FROM_ROOT_JS)
    visited: list[int] = []
    for _ in range(max_presses):
        root.page.keyboard.press("Tab")
        index = root.evaluate(_ACTIVE_IN_ROOT_JS, CONTROLS)
        if index is None:
            break
        visited.append(index)
    return visited


def move_by_keyboard(handle: Locator) -> None:
    """With the focus on a slider handle, move it with Home or End; raise if it did not move."""
    before = handle.get_attribute("aria-valuenow")
    at_min = before == handle.get_attribute("aria-valuemin")
    handle.page.keyboard.press("End" if at_min else "Home")
    expect(handle, "the slider ignored the key").not_to_have_attribute("aria-valuenow", before)


def unreadable_slider_values(root: Locator) -> list[str]:
    texts = root.locator("[role=slider]").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-valuetext'))"
    )
    return [repr(t) for t in texts if t is None or not READABLE_VALUE.match(t)]
