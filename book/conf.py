"""Sphinx configuration of the course website (`make site`; scripts/build_site.py runs it).

The sources are staged by scripts/build_site.py in build/site-src: the pages of this folder, the
README, the lessons and the exercises. Nothing is executed: pages show the stored outputs.
Nothing is loaded from another host either: MathJax comes from the npm package in this folder's
package.json (copied into the site), the theme's fonts and scripts come with the theme.
"""

from __future__ import annotations

import shutil
from pathlib import Path

BOOK = Path(__file__).resolve().parent
MATHJAX = BOOK / "node_modules" / "mathjax" / "es5"
# The parts of MathJax 3 that tex-chtml.js loads: TeX extensions on demand, the CHTML fonts, the
# menu and accessibility code, and the English (and Nemeth) speech rules of its explorer. Not the
# other combined builds, the SVG output or the speech rules of other languages (about 20 MB).
MATHJAX_PARTS = (
    "tex-chtml.js",
    "input/tex/extensions",
    "output/chtml/fonts/woff-v2",
    "ui",
    "a11y",
    "sre/mathmaps/base.json",
    "sre/mathmaps/en.json",
    "sre/mathmaps/nemeth.json",
)

project = "Attention, hands on"
author = "the course authors"
copyright = "the course authors, MIT licence"
language = "en"

extensions = ["myst_nb", "sphinx.ext.mathjax"]
root_doc = "index"
exclude_patterns = ["README.md", "_ipynb/**", "**/.ipynb_checkpoints"]

# MyST: $...$ and $$...$$ math, and anchors for the README's "#other-set-ups" style links.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# MyST-NB: stored outputs only. A widget has no kernel on a web page: its bundle's image/png (the
# static view the course's explorers add; scripts/build_site.py fails when one is missing) is
# shown instead of the widget view, and no ipywidgets JavaScript is loaded.
nb_execution_mode = "off"
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}
nb_merge_streams = True

html_theme = "sphinx_book_theme"
html_title = "Attention, hands on"
html_static_path = ["_static"]
# search-button-field.html: the theme's search button, named by the words it shows.
templates_path = ["_templates"]
html_css_files = ["course.css"]
html_copy_source = False  # no second copy of every notebook under _sources/
html_show_sourcelink = False
html_last_updated_fmt = None
# Light unless the reader picks another mode with the theme's button: the figures are drawn on white.
html_context = {"default_mode": "light"}
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": False,  # each lesson page links its own .ipynb (scripts/build_site.py)
    "use_fullscreen_button": False,
    "use_source_button": False,
    "use_repository_button": False,
    "use_issues_button": False,
    "use_edit_page_button": False,
}

mathjax_path = "mathjax/tex-chtml.js"


def _check_mathjax(app) -> None:
    missing = [part for part in MATHJAX_PARTS if not (MATHJAX / part).exists()]
    if missing:
        raise RuntimeError(
            f"MathJax is not installed in {MATHJAX.parent} (missing {missing[0]}): "
            "run `npm ci --prefix book` (make site does)"
        )


def _copy_mathjax(app, exception) -> None:
    """Copy the MathJax parts the pages use into _static/mathjax/ of the built site."""
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    for part in MATHJAX_PARTS:
        src, dst = MATHJAX / part, target / part
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)


def _search_page_script(app, pagename, templatename, context, doctree) -> None:
    """Plain-text math in search snippets (_static/search_text.js), on the search page only."""
    if pagename == "search":
        app.add_js_file("search_text.js")


def setup(app):
    app.connect("builder-inited", _check_mathjax)
    app.connect("html-page-context", _search_page_script)
    app.connect("build-finished", _copy_mathjax)
