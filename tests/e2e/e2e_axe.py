"""Accessibility audits with axe-core, loaded from book/node_modules (npm, pinned in
book/package.json and its lock), never from a CDN.

``audit(page)`` injects axe into the page and runs it; ``blocking`` keeps the violations of
serious or critical impact, the ones a test fails on; ``tally`` counts violations by rule and
impact for a report. axe-core's rules: https://dequeuniversity.com/rules/axe/4.14
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from playwright.sync_api import Page

from course_lib.paths import COURSE_ROOT

AXE_JS = COURSE_ROOT / "book" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
# WCAG 2.x A and AA and axe's best practices: the set a public course is expected to meet.
RUN_ONLY = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]

_RUN_JS = """
async ([include, exclude, tags, rules]) => {
  const context = {exclude: exclude.map(selector => [selector])};
  if (include) context.include = [[include]];
  const runOnly = rules ? {type: 'rule', values: rules} : {type: 'tag', values: tags};
  const result = await axe.run(context, {runOnly, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary,
                              html: n.html.slice(0, 200)})),
  }));
}
"""


def axe_missing() -> str | None:
    """Why the audit cannot run here, or None."""
    if AXE_JS.is_file():
        return None
    return f"axe-core is not installed ({AXE_JS} missing): run `npm ci --prefix book`"


def audit(
    page: Page,
    include: str | None = None,
    exclude: tuple[str, ...] = (),
    rules: list[str] | None = None,
    axe_js: Path = AXE_JS,
) -> list[dict]:
    """Every violation axe finds in ``page`` (within ``include``, a CSS selector, if given), by
    the rules of ``RUN_ONLY``'s tags, or by ``rules`` (axe rule ids) alone."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(content=axe_js.read_text(encoding="utf-8"))
    return page.evaluate(_RUN_JS, [include, list(exclude), RUN_ONLY, rules])


def blocking(violations: list[dict]) -> list[dict]:
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def tally(violations: list[dict]) -> Counter:
    """Elements in violation, by (rule, impact)."""
    counts: Counter = Counter()
    for v in violations:
        counts[(v["id"], v["impact"])] += len(v["nodes"])
    return counts


def describe(violations: list[dict], per_rule: int = 3) -> str:
    """A short report: each rule, its impact, and where the first few offending elements are."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}, {len(v['nodes'])} elements): {v['help']}")
        lines += [f"    {n['target']}: {n['html'][:120]}" for n in v["nodes"][:per_rule]]
    return "\n".join(lines)
