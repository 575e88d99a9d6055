"""Serve the built course website on loopback and check one page the way a reader's browser sees it."""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from e2e_lab import is_loopback
from playwright.sync_api import Browser, ConsoleMessage, Request, Response, Route

from course_lib.paths import COURSE_ROOT

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
COURSE_WIDGETS = ("temperature-explorer", "decoder-step-explorer", "g2p-explorer", "head-explorer")


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """``python -m http.server`` on 127.0.0.1 and a free port, in a thread; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# Everything the page check reads from the DOM once MathJax has finished, in one evaluation.
# Text nodes inside code, scripts and typeset math are skipped when looking for raw TeX.
_PAGE_FACTS_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  await document.fonts.ready;
  const images = [...document.images];
  await Promise.all(images.map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
  const skip = 'pre, code, script, style, mjx-container, .highlight, textarea';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip)) texts.push(node.textContent);
  }
  const notes = [...document.querySelectorAll('.widget-static-note')];
  return {
    title: document.title,
    text: texts.join(' '),
    bodyText: document.body.innerText,
    images: images.map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth,
                                complete: img.complete})),
    mathElements: document.querySelectorAll('.math').length,
    mathUntypeset: [...document.querySelectorAll('.math')]
        .filter(el => !el.querySelector('mjx-container')).map(el => el.textContent.slice(0, 80)),
    mathErrors: [...document.querySelectorAll('mjx-merror')].map(el => el.textContent),
    typeset: document.querySelectorAll('mjx-container').length,
    staticViews: notes.map(note => {
      const output = note.closest('.cell_output') || note.parentElement;
      const img = output ? output.querySelector('img') : null;
      return {width: img ? img.naturalWidth : 0, alt: img ? img.alt : null};
    }),
  };
}
"""

# Raw TeX that MathJax should have turned into math: $...$, $$...$$, \\(...\\), \\[...\\].
RAW_MATH = re.compile(r"\$\$?[^$\s][^$]*?\$\$?|\\\(.+?\\\)|\\\[.+?\\\]", re.S)


@dataclass
class PageReport:
    """What one page did in the browser; ``problems()`` is empty for a good page."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    @property
    def broken_images(self) -> list[str]:
        return [img["src"] for img in self.facts.get("images", []) if not img["width"]]

    @property
    def raw_math(self) -> list[str]:
        return RAW_MATH.findall(self.facts.get("text", ""))

    def problems(self) -> list[str]:
        found = [f"console: {e}" for e in self.console_errors]
        found += [f"failed request: {r}" for r in self.failed_requests]
        found += [f"external request: {r}" for r in self.external_requests]
        found += [f"image did not load: {src}" for src in self.broken_images]
        found += [f"raw TeX left in the text: {m!r}" for m in self.raw_math[:5]]
        found += [f"math not typeset: {m!r}" for m in self.facts.get("mathUntypeset", [])[:5]]
        found += [f"MathJax error: {m!r}" for m in self.facts.get("mathErrors", [])[:5]]
        return found


def check_page(browser: Browser, url: str, screenshot: Path | None = None) -> PageReport:
    """Load ``url`` in a fresh context, wait for math and images, and report what went wrong.

    Every request that would leave the machine is aborted and recorded; every failed request,
    HTTP error, console error and uncaught exception is recorded too.
    """
    report = PageReport(url=url)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)

    def route(r: Route) -> None:
        if is_loopback(r.request.url) or r.request.url.startswith("file:"):
            r.continue_()
        else:
            report.external_requests.append(r.request.url)
            r.abort()

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            report.console_errors.append(msg.text)

    def on_failed(request: Request) -> None:
        if request.url not in report.external_requests:
            report.failed_requests.append(f"{request.url} ({request.failure})")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            report.failed_requests.append(f"{response.url} (HTTP {response.status})")

    try:
        context.route("**/*", route)
        page = context.new_page()
        page.on("console", on_console)
        page.on("pageerror", lambda exc: report.console_errors.append(f"pageerror: {exc}"))
        page.on("requestfailed", on_failed)
        page.on("response", on_response)
        page.goto(url, wait_until="load")
        report.facts = page.evaluate(_PAGE_FACTS_JS)
        if screenshot is not None:
            page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    return report


# ---- what a page must show, read from the notebook it was made from ---------------------------


def notebook(rel_path: str) -> dict:
    return json.loads((COURSE_ROOT / rel_path).read_text(encoding="utf-8"))


def expected_widgets(nb: dict) -> tuple[int, int]:
    """(course widgets, progress bars) among the notebook's stored widget outputs."""
    states = nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    course = bars = 0
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                continue
            model = states.get(view["model_id"], {})
            classes = model.get("state", {}).get("_dom_classes", [])
            if any(c in COURSE_WIDGETS for c in classes):
                course += 1
            elif model.get("model_name") == "HBoxModel":
                bars += 1
    return course, bars


def has_math(nb: dict) -> bool:
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    return bool(re.search(r"\$[^$\s]", text))
