"""Build the course website into build/site/ (`make site`), from the stored notebooks, offline.

1. Stage the Sphinx sources in build/site-src/: the pages of book/, the README and docs/grading.md
   they include, and a page copy of every lesson and exercise with a line of links under its
   title (its .ipynb, its exercise or lesson, how to run it). In those copies a progress bar
   becomes its last line of text (read from the notebook's saved widget state) and a course
   widget becomes the static view it stored beside its live view. The notebooks themselves are
   never executed or changed; the .ipynb the pages link to are the untouched files.
2. Run Sphinx (book/conf.py) with every warning an error.
3. Check the result: every internal link, script, stylesheet and image points at a file of the
   site (and an anchor in it), nothing is loaded from another host, no large file is stored twice.

Usage: python scripts/build_site.py [--out build/site]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import html
import json
import re
import shutil
import sys
import time
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
KINDS = ("notebooks", "exercises")  # folders of the course that become pages, same layout
# Shown above a widget's static view on the site: what the live widget does, and what the picture
# holds instead, by the CSS class of the widget's root (course_lib/widgets.py, head_explorer.py).
STATIC_NOTE = (
    '<p class="widget-static-note"><strong>Interactive in JupyterLab.</strong> {what} '
    '<a href="../running.html">Run the course</a> to use the live version.</p>'
)
NO_KERNEL = "This page has no Python kernel, so here is"
WIDGET_WHAT = {
    "temperature-explorer": f"A slider sets the softmax temperature. {NO_KERNEL} the weights at "
    "several temperatures at once.",
    "decoder-step-explorer": f"A slider steps through the decoder's output steps. {NO_KERNEL} "
    "every step at once.",
    "g2p-explorer": f"You type a word and the model pronounces it. {NO_KERNEL} what it does with "
    "a few words.",
    "head-explorer": f"Sliders pick the layer, the head and the decoder step. {NO_KERNEL} every "
    "layer and head at once.",
}
DUPLICATE_MIN_BYTES = 10_000  # larger files stored twice in the site are reported


class SiteError(Exception):
    """The sources cannot make a correct site (a widget without a static view, no title, ...)."""


# ---- staging ---------------------------------------------------------------------------------


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _widget_states(nb: dict) -> dict:
    return nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _child_states(states: dict, model: dict) -> list[dict]:
    ids = [c.removeprefix("IPY_MODEL_") for c in model.get("state", {}).get("children", [])]
    return [states.get(i, {}) for i in ids]


def progress_text(states: dict, model_id: str) -> str | None:
    """The last line a tqdm notebook bar showed, as text: ``training: 100%|██████████| 400/400``.

    None when the model is not a tqdm bar (an HBox of an HTML, a FloatProgress and an HTML).
    """
    model = states.get(model_id, {})
    if model.get("model_name") != "HBoxModel":
        return None
    children = _child_states(states, model)
    names = [c.get("model_name") for c in children]
    if names != ["HTMLModel", "FloatProgressModel", "HTMLModel"]:
        return None
    left, bar, right = (c.get("state", {}) for c in children)
    done = bar.get("value", 0.0) / bar["max"] if bar.get("max") else 0.0
    filled = max(0, min(10, int(done * 10)))
    bar_text = "█" * filled + " " * (10 - filled)
    parts = (html.unescape(left.get("value", "")), bar_text, html.unescape(right.get("value", "")))
    return f"{parts[0]}|{parts[1]}|{parts[2]}".replace("\u2007", " ")


def _widget_class(states: dict, model_id: str) -> str | None:
    classes = states.get(model_id, {}).get("state", {}).get("_dom_classes", [])
    return next((c for c in classes if c in WIDGET_WHAT), None)


def static_widget_outputs(nb: dict, where: str) -> None:
    """Replace every widget output by what a page without a kernel can show, or fail."""
    states = _widget_states(nb)
    for index, cell in enumerate(nb.get("cells", [])):
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data:
                outputs.append(output)
                continue
            model_id = data[WIDGET_VIEW].get("model_id", "")
            bar = progress_text(states, model_id)
            if bar is not None:
                outputs.append(_display({"text/plain": bar}))
            elif "image/png" in data:
                default = f"{NO_KERNEL} a picture of it."
                what = WIDGET_WHAT.get(_widget_class(states, model_id) or "", default)
                note = STATIC_NOTE.format(what=what)
                outputs.append(_display({"text/html": note}))
                png = {"image/png": data["image/png"], "text/plain": "static view of the widget"}
                outputs.append(_display(png, output.get("metadata", {})))
            else:
                raise SiteError(
                    f"{where}, cell {index}: a widget output without a static view (no image/png "
                    "in its bundle, and not a progress bar). Re-execute the notebook with the "
                    "current course_lib (python scripts/execute_notebooks.py NOTEBOOK), or give the "
                    "widget a static view (course_lib/static_views.py)."
                )
        if "outputs" in cell:
            cell["outputs"] = outputs
    nb.get("metadata", {}).pop("widgets", None)


def _display(data: dict, metadata: dict | None = None) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": metadata or {}}


def links_line(kind: str, stem: str, root: Path) -> str:
    """The links shown under a page's title: its .ipynb, its partner page, how to run it."""
    other = "exercises" if kind == "notebooks" else "notebooks"
    name = "lesson" if kind == "notebooks" else "exercises"
    links = [f"{{download}}`Download the {name} notebook (.ipynb) <../_ipynb/{kind}/{stem}.ipynb>`"]
    if (root / other / f"{stem}.ipynb").is_file():
        label = "Its exercises" if kind == "notebooks" else "Its lesson"
        links.append(f"[{label}](../{other}/{stem}.ipynb)")
    if kind == "notebooks":
        links.append("[Run it on your machine](../running.md)")
    else:
        links.append("[How to do and grade it](../running.md#exercises-and-grading)")
    return "```{container} page-links\n" + " · ".join(links) + "\n```\n"


def add_links_line(nb: dict, line: str, where: str) -> None:
    """Put ``line`` right under the notebook's title (the first cell's ``# `` heading)."""
    cells = nb.get("cells", [])
    first = cells[0] if cells else {}
    source = _text(first.get("source", "")) if first.get("cell_type") == "markdown" else ""
    title, sep, rest = source.partition("\n")
    if not title.startswith("# "):
        raise SiteError(f"{where}: the first cell must start with the page title ('# ...')")
    first["source"] = f"{title}\n\n{line}\n{rest.lstrip(chr(10))}" if sep else f"{title}\n\n{line}"


def page_copy(nb: dict, kind: str, stem: str, root: Path) -> dict:
    """The notebook as its site page: links under the title, widgets made static."""
    page = copy.deepcopy(nb)
    where = f"{kind}/{stem}.ipynb"
    add_links_line(page, links_line(kind, stem, root), where)
    static_widget_outputs(page, where)
    return page


LESSONS_MARKER = "<!-- lessons table: scripts/build_site.py writes it here"
README_LESSON_ROW = re.compile(r"^\| `(\d\d_\w+)` \| (.+?) \|", re.M)


def lessons_table(root: Path) -> str:
    """The home page's table: each lesson's title linked, what it teaches (the README's lessons
    table, without its run times), and its exercises."""
    readme = (root / "README.md").read_text(encoding="utf-8")
    teaches = dict(README_LESSON_ROW.findall(readme))
    rows = ["| lesson | what it teaches | exercises |", "|---|---|---|"]
    for path in sorted((root / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        title = _text(nb["cells"][0]["source"]).partition("\n")[0].removeprefix("# ").strip()
        exercise = root / "exercises" / path.name
        practice = f"[exercises](exercises/{path.name})" if exercise.is_file() else ""
        what = teaches.get(path.stem, "")
        rows.append(f"| [{title}](notebooks/{path.name}) | {what} | {practice} |")
    return "\n".join(rows) + "\n"


def stage(root: Path, dest: Path) -> list[str]:
    """Write the Sphinx sources into ``dest``; return the notebook pages it staged."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for page in sorted((root / "book").glob("*.md")):
        text = page.read_text(encoding="utf-8")
        if page.name == "index.md":
            head, marker, tail = text.partition(LESSONS_MARKER)
            if not marker:
                raise SiteError(f"book/index.md lost its marker line {LESSONS_MARKER!r}")
            text = head + lessons_table(root) + tail.partition("\n")[2]
        (dest / page.name).write_text(text, encoding="utf-8")
    shutil.copy2(root / "README.md", dest / "README.md")
    (dest / "docs").mkdir()
    shutil.copy2(root / "docs" / "grading.md", dest / "docs" / "grading.md")
    staged = []
    for kind in KINDS:
        (dest / kind).mkdir()
        (dest / "_ipynb" / kind).mkdir(parents=True)
        for path in sorted((root / kind).glob("*.ipynb")):
            shutil.copy2(path, dest / "_ipynb" / kind / path.name)
            nb = json.loads(path.read_text(encoding="utf-8"))
            page = page_copy(nb, kind, path.stem, root)
            text = json.dumps(page, indent=1, ensure_ascii=False) + "\n"
            (dest / kind / path.name).write_text(text, encoding="utf-8")
            staged.append(f"{kind}/{path.name}")
    return staged


# ---- checks of the built site ----------------------------------------------------------------

LINK_ATTRS = {"a": "href", "link": "href", "script": "src", "img": "src", "source": "src",
              "iframe": "src", "video": "src", "audio": "src"}  # fmt: skip
CSS_URL = re.compile(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)")


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[tuple[str, str]] = []  # (tag, url)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        attr = LINK_ATTRS.get(tag)
        if attr and attrs.get(attr):
            self.refs.append((tag, attrs[attr]))


def _parse(path: Path) -> _PageParser:
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


def _is_external(url: str) -> bool:
    parts = urlsplit(url)
    return bool(parts.scheme in ("http", "https") or url.startswith("//"))


def pages_of(site: Path) -> list[Path]:
    """The site's HTML pages (not the theme's template fragments that Sphinx copies to _static)."""
    return sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)


def check_site(site: Path) -> list[str]:
    """Every problem of the built site in ``site``: broken internal links, images, stylesheets or
    scripts, missing anchors, and any resource loaded from another host (links to other sites, an
    <a href>, are fine: following one is the reader's choice)."""
    site = site.resolve()
    problems: list[str] = []
    pages = pages_of(site)
    parsed = {page: _parse(page) for page in pages}
    for page, parser in parsed.items():
        rel_page = page.relative_to(site)
        for tag, url in parser.refs:
            if url.startswith(("data:", "mailto:", "javascript:")):
                continue
            if _is_external(url):
                if tag != "a":
                    problems.append(f"{rel_page}: <{tag}> loads {url} from another host")
                continue
            parts = urlsplit(url)
            if parts.scheme:
                problems.append(f"{rel_page}: <{tag}> has an unexpected URL {url}")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if site not in target.parents and target != site:
                problems.append(f"{rel_page}: <{tag}> {url} points outside the site")
            elif not target.is_file():
                problems.append(f"{rel_page}: <{tag}> {url} points at a missing file")
            elif parts.fragment and target.suffix == ".html":
                anchors = parsed[target].ids if target in parsed else _parse(target).ids
                if unquote(parts.fragment) not in anchors:
                    problems.append(f"{rel_page}: <{tag}> {url}: no such anchor")
    for sheet in sorted(site.rglob("*.css")):
        for url in CSS_URL.findall(sheet.read_text(encoding="utf-8", errors="replace")):
            if url.startswith("data:") or url.startswith("#"):
                continue
            rel_sheet = sheet.relative_to(site)
            if _is_external(url):
                problems.append(f"{rel_sheet}: url({url}) loads from another host")
                continue
            target = (sheet.parent / unquote(urlsplit(url).path)).resolve()
            if not target.is_file():
                problems.append(f"{rel_sheet}: url({url}) points at a missing file")
    return problems


def duplicates(site: Path, min_bytes: int = DUPLICATE_MIN_BYTES) -> list[list[str]]:
    """Groups of files of at least ``min_bytes`` with the same content, stored more than once."""
    by_hash: dict[str, list[str]] = defaultdict(list)
    for path in sorted(site.rglob("*")):
        if path.is_file() and path.stat().st_size >= min_bytes:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            by_hash[digest].append(str(path.relative_to(site)))
    return [group for group in by_hash.values() if len(group) > 1]


def size_mb(site: Path) -> float:
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) / 1e6


# ---- build -----------------------------------------------------------------------------------


SOURCE_MAP_COMMENT = re.compile(r"//# sourceMappingURL=\S+$|/\*# sourceMappingURL=[^*]*\*/", re.M)


def prune(site: Path) -> None:
    """Remove what no page loads: the theme's source maps (for debugging its minified code) with
    the comments that name them, the translation catalogues of its other languages, and the
    empty _sources/ folder (no page sources are copied)."""
    static = site / "_static"
    for source_map in static.rglob("*.map"):
        source_map.unlink()
    for path in [*static.rglob("*.js"), *static.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        if "sourceMappingURL" in text:
            path.write_text(
                SOURCE_MAP_COMMENT.sub("", text), encoding="utf-8", errors="surrogateescape"
            )
    shutil.rmtree(static / "locales", ignore_errors=True)
    sources = site / "_sources"
    if sources.is_dir() and not any(sources.iterdir()):
        sources.rmdir()


def run_sphinx(src: Path, out: Path, doctrees: Path, confdir: Path = BOOK) -> int:
    from sphinx.cmd.build import build_main

    args = ["-b", "html", "-W", "--keep-going", "-q", "-n"]
    return build_main([*args, "-c", str(confdir), "-d", str(doctrees), str(src), str(out)])


def build(root: Path, out: Path, work: Path) -> int:
    """Stage, build and check; 0 when the site in ``out`` is complete and correct."""
    start = time.perf_counter()
    src, doctrees = work / "site-src", work / "site-doctrees"
    for stale in (out, doctrees):
        if stale.exists():
            shutil.rmtree(stale)
    try:
        staged = stage(root, src)
    except SiteError as err:
        print(f"make site: {err}", file=sys.stderr)
        return 1
    if run_sphinx(src, out, doctrees) != 0:
        print("make site: Sphinx reported warnings or errors (above); the site is incomplete.")
        return 1
    prune(out)
    problems = check_site(out)
    for group in duplicates(out):
        problems.append(f"the same content is stored {len(group)} times: {', '.join(group)}")
    for problem in problems:
        print(f"make site: {problem}", file=sys.stderr)
    if problems:
        print(f"make site: {len(problems)} problem(s) in {out}", file=sys.stderr)
        return 1
    pages = len(pages_of(out))
    print(
        f"site: {out} ({pages} HTML pages, {len(staged)} of them notebooks; "
        f"{size_mb(out):.1f} MB) built in {time.perf_counter() - start:.0f} s. "
        f"Open {out / 'index.html'}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--work", type=Path, default=ROOT / "build", help="for the staged sources")
    args = parser.parse_args(argv)
    return build(ROOT, args.out.resolve(), args.work.resolve())


if __name__ == "__main__":
    sys.exit(main())
