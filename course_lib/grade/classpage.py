"""The class report as one self-contained HTML page: inline CSS and SVG, no script, no asset.

    write_class_page(class_summary(report), Path("class.html"))

Sections: per part a bar (passed, failed, not tried) and the named mistakes with their counts and
learners, the parts with most failures first; a histogram of totals; one row per learner.
Every text from a report (learner ids come from file names) is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

COLOURS = {"passed": "#1a7f37", "failed": "#cf222e", "not_tried": "#8c959f"}
MARKS = {"passed": "✓", "failed": "✗", "not_implemented": "◻", "not_run": "◻"}
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #1f2328; max-width: 70em; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #d0d7de; padding: 0.25em 0.5em; text-align: left; vertical-align: top; }
td.num { text-align: right; }
.passed { color: #1a7f37; } .failed { color: #cf222e; } .not_tried { color: #57606a; }
.hint { color: #57606a; font-size: 0.9em; }
"""


def _bar(part: dict, learners: int, width: int = 240, height: int = 14) -> str:
    """An inline SVG bar: passed, failed and not tried, each as a share of the class."""
    x, rects = 0.0, []
    for key in ("passed", "failed", "not_tried"):
        w = width * part[key] / max(learners, 1)
        if w > 0:
            rects.append(
                f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" '
                f'fill="{COLOURS[key]}"><title>{key.replace("_", " ")}: {part[key]}</title></rect>'
            )
        x += w
    label = f"{part['passed']} passed, {part['failed']} failed, {part['not_tried']} not tried"
    return (
        f'<svg class="bar" role="img" aria-label="{label}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(rects)}</svg>'
    )


def _histogram(summary: dict, width: int = 480, height: int = 160) -> str:
    """An inline SVG histogram of the learners' totals, with its count over each bar."""
    counts, edges = summary["histogram"]["counts"], summary["histogram"]["edges"]
    top = max(counts + [1])
    step = width / len(counts)
    base = height - 20
    shapes = []
    for i, count in enumerate(counts):
        h = (base - 16) * count / top
        x = i * step
        shapes.append(
            f'<rect x="{x + 2:.1f}" y="{base - h:.1f}" width="{step - 4:.1f}" height="{h:.1f}" '
            f'fill="#0969da"><title>{edges[i]:g}-{edges[i + 1]:g} points: {count}</title></rect>'
            f'<text x="{x + step / 2:.1f}" y="{base - h - 3:.1f}" font-size="11" '
            f'text-anchor="middle">{count}</text>'
            f'<text x="{x:.1f}" y="{height - 4}" font-size="10">{edges[i]:g}</text>'
        )
    shapes.append(
        f'<text x="{width - 2}" y="{height - 4}" font-size="10" text-anchor="end">'
        f"{edges[-1]:g}</text>"
    )
    return (
        f'<svg id="histogram" role="img" aria-label="histogram of totals" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
        f"{''.join(shapes)}</svg>"
    )


def _mistakes(part: dict) -> str:
    items = [
        f"<li><b>{escape(mid)}</b> × {m['count']}: {escape(', '.join(m['learners']))}"
        f'<div class="hint">{escape(m["hint"])}</div></li>'
        for mid, m in part["mistakes"].items()
    ]
    if part["unnamed"]["count"]:
        who = escape(", ".join(part["unnamed"]["learners"]))
        items.append(f"<li>not a catalogued mistake × {part['unnamed']['count']}: {who}</li>")
    return f"<ul>{''.join(items)}</ul>" if items else ""


def _parts_table(summary: dict) -> str:
    learners = len(summary["learners"])
    rows = [
        "<tr><th>part</th><th>points</th><th>passed</th><th>failed</th><th>not tried</th>"
        "<th>share</th><th>mistakes (count: learners)</th></tr>"
    ]
    for part in summary["parts"]:
        rows.append(
            f'<tr class="part" data-part="{escape(part["id"])}"><td>{escape(part["id"])}</td>'
            f'<td class="num">{part["max"]:g}</td><td class="num passed">{part["passed"]}</td>'
            f'<td class="num failed">{part["failed"]}</td>'
            f'<td class="num not_tried">{part["not_tried"]}</td>'
            f"<td>{_bar(part, learners)}</td><td>{_mistakes(part)}</td></tr>"
        )
    return f'<table id="parts">{"".join(rows)}</table>'


def _learners_table(summary: dict) -> str:
    columns = summary["columns"]
    head = "".join(f'<th title="{escape(c)}">{escape(c)}</th>' for c in columns)
    rows = [f"<tr><th>learner</th><th>total</th>{head}</tr>"]
    for row in summary["rows"]:
        cells = []
        for column in columns:
            part = row["parts"].get(column)
            if part is None:
                cells.append('<td class="not_tried" title="not handed in">·</td>')
                continue
            status = part["status"]
            tip = part["mistake"] or status.replace("_", " ")
            kind = status if status in ("passed", "failed") else "not_tried"
            cells.append(
                f'<td class="{kind}" title="{escape(tip)}">{MARKS.get(status, "?")} '
                f"{part['score']:g}</td>"
            )
        rows.append(
            f'<tr class="learner"><td>{escape(row["learner"])}</td>'
            f'<td class="num">{row["total"]:g}</td>{"".join(cells)}</tr>'
        )
    return f'<table id="learners">{"".join(rows)}</table>'


def class_page(summary: dict, title: str = "Class report") -> str:
    """The whole page as a string."""
    learners = len(summary["learners"])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        f"<p>{learners} learners, {len(summary['parts'])} parts, {summary['max']:g} points.</p>"
        "<h2>Parts, most failures first</h2>"
        '<p><span class="passed">■ passed</span> <span class="failed">■ failed</span> '
        '<span class="not_tried">■ not tried</span> (stub left, not run, or not handed in)</p>'
        f"{_parts_table(summary)}"
        f"<h2>Totals</h2>{_histogram(summary)}"
        f"<h2>Learners</h2>{_learners_table(summary)}"
        "</body></html>\n"
    )


def write_class_page(summary: dict, path: Path) -> None:
    Path(path).write_text(class_page(summary), encoding="utf-8")
