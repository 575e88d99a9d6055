"""The site for every reader: one page, loaded once, seen in light mode, in dark mode and on a
phone-sized screen, with axe-core's audit in both modes; and the search page's snippets.

Each check returns what is wrong (empty when the page is fine), so that a test can also show it
catching a page broken on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from e2e_axe import audit, blocking
from playwright.sync_api import Page

PHONE_WIDTH = 390  # CSS pixels: an iPhone 12-15 held upright
DESKTOP = {"width": 1280, "height": 900}
# The rules whose outcome can change with the colour scheme; the others run once, in light mode.
DARK_RULES = ["color-contrast", "link-in-text-block"]

_WAIT_JS = """
async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) await MathJax.startup.promise;
  await document.fonts.ready;
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.onload = img.onerror = done; })));
}
"""

# The theme's own switch sets these two attributes (and remembers the choice in localStorage).
_SET_MODE_JS = """
(mode) => {
  if (!document.getElementById('e2e-no-transitions')) {  // colours fade in 0.2 s otherwise
    const style = Object.assign(document.createElement('style'), {id: 'e2e-no-transitions'});
    style.textContent = '*, *::before, *::after { transition: none !important; }';
    document.head.append(style);
  }
  document.documentElement.dataset.mode = mode;
  document.documentElement.dataset.theme = mode;
  return getComputedStyle(document.body).backgroundColor;
}
"""

# Every figure of the article that has transparent pixels must sit on a light backdrop: its own
# background or the first ancestor's that is not transparent (relative luminance >= 0.6, WCAG's
# formula). Opaque figures bring their own white.
_FIGURE_BACKDROPS_JS = """
() => {
  const channel = c => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const luminance = rgb => 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
  const backdrop = el => {
    for (let node = el; node; node = node.parentElement) {
      const m = getComputedStyle(node).backgroundColor.match(/[\\d.]+/g).map(Number);
      if (m.length < 4 || m[3] > 0.5) return m.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const problems = [];
  for (const img of document.querySelectorAll('.bd-article img')) {
    if (!img.complete || !img.naturalWidth) continue;
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    const alpha = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let clear = 0;
    for (let i = 3; i < alpha.length; i += 4) if (alpha[i] < 200) clear++;
    if (clear === 0) continue;
    const lum = luminance(backdrop(img));
    if (lum < 0.6) problems.push(`${img.getAttribute('src').slice(0, 80)}: ${clear} transparent ` +
        `pixels on a dark backdrop (luminance ${lum.toFixed(2)})`);
  }
  return problems;
}
"""

# What sticks out past the right edge of a narrow window: the page's own scroll width, and the
# main column's elements (outside tables, code and math, which scroll in their own boxes) that
# reach past the edge or whose text overflows them.
_OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const own = 'pre, table, .highlight, .pst-scrollable-table-container, mjx-container, .math';
  const sticksOut = el => el.getBoundingClientRect().right > width + 1 ||
      (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX === 'visible');
  const culprits = [...document.querySelectorAll('.bd-main *')]
    .filter(el => !el.closest(own) && sticksOut(el) && ![...el.children].some(sticksOut))
    .map(el => `<${el.tagName.toLowerCase()} class="${el.className}"> ` +
                JSON.stringify((el.textContent || '').trim().slice(0, 40)));
  return {scrollWidth: document.documentElement.scrollWidth, width, culprits: culprits.slice(0, 5)};
}
"""


# Every picture of the article says what it shows: axe's image-alt only asks for an alt
# attribute, and MyST-NB fills it with the image's file name when a cell gives none (which a
# screen reader reads out as "_images/820e5b7a...png").
_POOR_ALTS_JS = """
() => [...document.querySelectorAll('.bd-article img')]
  .map(img => img.getAttribute('alt') || '')
  .filter(alt => alt.trim().split(/\\s+/).length < 4 || /\\.(png|svg|jpe?g|gif)\\b/i.test(alt))
  .map(alt => JSON.stringify(alt.slice(0, 80)))
"""


@dataclass
class ReaderReport:
    """What one page showed to each reader; ``problems()`` is empty for a good page."""

    url: str
    axe: dict[str, list[dict]] = field(default_factory=dict)  # mode -> violations (all impacts)
    dark_figures: list[str] = field(default_factory=list)
    overflow: dict = field(default_factory=dict)
    poor_alts: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        found = []
        for mode, violations in self.axe.items():
            for v in blocking(violations):
                where = ", ".join(n["target"] for n in v["nodes"][:3])
                found.append(f"axe, {mode} mode: {v['id']} ({v['impact']}): {v['help']} at {where}")
        found += [f"dark mode: {p}" for p in self.dark_figures]
        found += [
            f"a picture without alt text that says what it shows: {a}" for a in self.poor_alts
        ]
        if self.overflow and self.overflow["scrollWidth"] > self.overflow["width"]:
            found.append(
                f"{self.overflow['width']} px wide: the page scrolls sideways to "
                f"{self.overflow['scrollWidth']} px; sticking out: {self.overflow['culprits']}"
            )
        return found


def wait_until_settled(page: Page) -> None:
    page.evaluate(_WAIT_JS)


def set_mode(page: Page, mode: str) -> None:
    page.evaluate(_SET_MODE_JS, mode)


def check_reader(page: Page) -> ReaderReport:
    """The loaded ``page`` (desktop size, light mode) for every reader; leaves it light and wide."""
    report = ReaderReport(url=page.url)
    wait_until_settled(page)
    report.poor_alts = page.evaluate(_POOR_ALTS_JS)
    report.axe["light"] = audit(page)
    set_mode(page, "dark")
    report.axe["dark"] = audit(page, rules=DARK_RULES)
    report.dark_figures = page.evaluate(_FIGURE_BACKDROPS_JS)
    set_mode(page, "light")
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 844})
    try:
        page.wait_for_function(f"() => document.documentElement.clientWidth <= {PHONE_WIDTH}")
        report.overflow = page.evaluate(_OVERFLOW_JS)
    finally:
        page.set_viewport_size(DESKTOP)
    return report


# ---- search snippets ---------------------------------------------------------------------------

# TeX a snippet must not show: math delimiters, dollar signs, backslash commands.
RAW_TEX = re.compile(r"\\[()\[\]]|\$|\\[A-Za-z]+")


def search_snippets(page: Page, base_url: str, query: str) -> list[str]:
    """The text of every result snippet for ``query``, once the search has finished."""
    page.goto(f"{base_url}/search.html?q={query}")
    page.locator("#search-results .search-summary").filter(
        has_text=re.compile("Search finished")
    ).wait_for(timeout=60_000)
    # Sphinx lists every result first and fetches each page for its snippet afterwards, so
    # "Search finished" can come before the snippets (a busy machine showed 2 of them): wait
    # until every result holds its snippet (or, for an API entry, its description).
    page.wait_for_function(_SNIPPETS_LOADED_JS, timeout=60_000, polling=100)
    return page.locator("#search-results p.context").all_inner_texts()


_SNIPPETS_LOADED_JS = """() => [...document.querySelectorAll('#search-results li')].every(
  (li) => li.querySelector(':scope > p.context, :scope > span'))"""


def raw_tex_in(snippets: list[str]) -> list[str]:
    return [f"{m.group(0)!r} in {s[:160]!r}" for s in snippets for m in [RAW_TEX.search(s)] if m]
