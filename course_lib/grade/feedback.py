"""One feedback page per learner and exercise: each part's points, verdict and message.

    write_feedback(report, Path("feedback"))   # feedback/<learner>/<exercise>.html

The page holds only what the report holds: the part ids, points, statuses and the grader's
messages (hints written for learners). It never holds reference answers or the grader's inputs.
Learner ids come from file names, so they are reduced to a safe folder name here.
"""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

LABELS = {
    "passed": "✓ passed",
    "failed": "✗ failed",
    "not_implemented": "◻ not implemented yet",
    "not_run": "◻ not run",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:50em;color:#1f2328}"
    "table{border-collapse:collapse}td,th{border:1px solid #d0d7de;padding:.3em .6em;"
    "text-align:left;vertical-align:top}.passed{color:#1a7f37}.failed{color:#cf222e}"
)


def safe_name(text: str) -> str:
    """A file or folder name made of letters, digits, '.', '_' and '-' only, never hidden."""
    name = re.sub(r"[^\w.-]", "_", text).lstrip(".")
    return name or "_"


def feedback_page(nb: dict) -> str:
    """The HTML page of one graded notebook."""
    rows = ["<tr><th>part</th><th>points</th><th>verdict</th><th>message</th></tr>"]
    for part in nb["parts"]:
        message = "" if part["status"] == "passed" else part["message"]
        rows.append(
            f'<tr class="{escape(part["status"])}"><td>{escape(part["id"])}</td>'
            f"<td>{part['score']:g} / {part['max']:g}</td>"
            f"<td>{escape(LABELS.get(part['status'], part['status']))}</td>"
            f"<td>{escape(message)}</td></tr>"
        )
    title = f"{nb.get('exercise') or Path(nb['path']).stem}: {nb.get('learner', '')}"
    error = f"<p>{escape(nb['error'])}</p>" if nb.get("error") else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>Total: {nb.get('score', 0):g} / {nb.get('max', 0):g}</p>"
        f"{error}<table>{''.join(rows)}</table></body></html>\n"
    )


def write_feedback(report: dict, folder: Path) -> list[Path]:
    """Write every notebook's page under folder/<learner>/; returns the paths written.

    A learner with two copies of one exercise gets both, the second as `<exercise>-2.html`.
    """
    written = []
    for nb in report["notebooks"]:
        learner = safe_name(nb.get("learner") or Path(nb["path"]).stem)
        stem = safe_name(nb.get("exercise") or Path(nb["path"]).stem)
        target = Path(folder) / learner / f"{stem}.html"
        copy = 2
        while target in written:
            target = target.with_name(f"{stem}-{copy}.html")
            copy += 1
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(feedback_page(nb), encoding="utf-8")
        written.append(target)
    return written
