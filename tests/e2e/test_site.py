"""The course website (`make site`, build/site/) in headless Chromium: every page offline and whole,
and readable by everyone: axe-core's audit, dark mode, a 390 px screen, plain-text search snippets.

`make test-site` builds the site first; run alone, these tests use the site already in build/site
(or the folder in $COURSE_SITE). Screenshots of every page land in tests/e2e/screenshots/site-*,
axe's findings of every impact, counted by rule, in screenshots/axe-site.json.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest
from e2e_axe import axe_missing, tally
from e2e_lab import is_loopback
from e2e_reader import DESKTOP, check_reader, raw_tex_in, search_snippets
from e2e_site import check_page, expected_widgets, has_math, notebook, serve

from course_lib.paths import COURSE_ROOT

pytestmark = pytest.mark.e2e

LESSONS = sorted(
    p.relative_to(COURSE_ROOT).as_posix() for p in COURSE_ROOT.glob("notebooks/*.ipynb")
)
EXERCISES = sorted(
    p.relative_to(COURSE_ROOT).as_posix() for p in COURSE_ROOT.glob("exercises/*.ipynb")
)
OTHER_PAGES = ["index.html", "running.html", "docs/grading.html"]
SEARCH = "search.html?q=softmax"  # its snippets include lesson 01's decoder equations


def _html(rel_notebook: str) -> str:
    return rel_notebook.removesuffix(".ipynb") + ".html"


def _load_build_site():
    spec = importlib.util.spec_from_file_location(
        "build_site", COURSE_ROOT / "scripts" / "build_site.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build_site = _load_build_site()


@pytest.fixture(scope="session")
def site_dir() -> Path:
    site = Path(os.environ.get("COURSE_SITE", COURSE_ROOT / "build" / "site"))
    if not (site / "index.html").is_file():
        message = f"no built site in {site}: run `make site` first (make test-site does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return site


@pytest.fixture(scope="session")
def site_url(site_dir, sigterm_as_interrupt):
    with serve(site_dir) as url:
        yield url


def _shot(artifacts_dir: Path, page: str) -> Path:
    return artifacts_dir / f"site-{page.removesuffix('.html').replace('/', '-')}.png"


@pytest.mark.parametrize("page", OTHER_PAGES + [_html(p) for p in LESSONS + EXERCISES])
def test_page_loads_offline_with_math_and_images(browser, site_url, artifacts_dir, page):
    report = check_page(browser, f"{site_url}/{page}", screenshot=_shot(artifacts_dir, page))
    assert report.problems() == [], f"{page}:\n" + "\n".join(report.problems())
    facts = report.facts
    assert "Attention, hands on" in facts["title"]
    assert facts["images"] or page in OTHER_PAGES or page.startswith("exercises/")
    source = page.removesuffix(".html") + ".ipynb"
    if page not in OTHER_PAGES and has_math(notebook(source)):
        assert facts["typeset"] > 0, f"{page}: its notebook has math, the page shows none"


@pytest.mark.parametrize("lesson", LESSONS)
def test_lesson_shows_static_widgets_and_links(browser, site_url, lesson):
    course_widgets, bars = expected_widgets(notebook(lesson))
    report = check_page(browser, f"{site_url}/{_html(lesson)}")
    views = report.facts["staticViews"]
    assert len(views) == course_widgets, (
        f"{lesson}: {len(views)} static views, {course_widgets} widgets"
    )
    assert all(v["width"] > 0 for v in views), f"{lesson}: a static view's picture is missing"
    text = report.facts["bodyText"]
    assert text.count("100%|██████████|") == bars, f"{lesson}: progress bars not shown as text"
    for leftover in ("Box(children=", "Loading widget", "Error displaying widget"):
        assert leftover not in text, f"{lesson}: the page shows {leftover!r}"


def test_lesson_page_links_its_notebook_exercise_and_neighbours(browser, site_dir, site_url):
    lesson = "notebooks/03_softmax_weights.html"
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{site_url}/{lesson}")
        links = page.locator(".page-links a")
        hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
        download = next(h for h in hrefs if h.endswith("03_softmax_weights.ipynb"))
        served = json.loads((site_dir / "notebooks" / download).resolve().read_text())
        assert served == notebook("notebooks/03_softmax_weights.ipynb")  # the untouched notebook
        assert "../exercises/03_softmax_weights.html" in hrefs
        assert "../running.html" in hrefs
        assert page.locator("a.left-prev").get_attribute("href") == "02_score_functions.html"
        assert page.locator("a.right-next").get_attribute("href") == "04_context_vector.html"
        toc = page.locator(".bd-sidenav a").all_inner_texts()
        assert sum(t.strip()[:2].isdigit() for t in toc) >= len(LESSONS)
        page.goto(f"{site_url}/exercises/03_softmax_weights.html")
        back = page.locator(".page-links a").evaluate_all("els => els.map(e => e.href)")
        assert any(h.endswith("/notebooks/03_softmax_weights.html") for h in back)
    finally:
        context.close()


def test_search_finds_softmax(browser, site_url, artifacts_dir):
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{site_url}/search.html?q=softmax")
        results = page.locator("#search-results ul.search li a")
        results.first.wait_for(timeout=30_000)
        hrefs = results.evaluate_all("els => els.map(e => e.getAttribute('href'))")
        assert any("notebooks/03_softmax_weights" in h for h in hrefs), hrefs
        page.screenshot(path=str(artifacts_dir / "site-search-softmax.png"), full_page=True)
    finally:
        context.close()


def test_a_page_opened_from_disk_works_too(browser, site_dir):
    """No server: file:// pages load their scripts, fonts, math and images all the same."""
    url = (site_dir / "notebooks" / "05_full_model.html").resolve().as_uri()
    report = check_page(browser, url)
    assert report.problems() == [], "\n".join(report.problems())
    assert report.facts["typeset"] > 0 and report.facts["staticViews"]


def test_a_deleted_lesson_image_is_caught(browser, site_dir, tmp_path):
    """Both checks must notice a lesson figure that went missing: the build's and the browser's."""
    broken = tmp_path / "site"
    shutil.copytree(site_dir, broken)
    page = broken / "notebooks" / "03_softmax_weights.html"
    image = next(
        src for tag, src in build_site._parse(page).refs if tag == "img" and "_images/" in src
    )
    (page.parent / image).unlink()
    assert any("missing file" in p and image in p for p in build_site.check_site(broken))
    with serve(broken) as url:
        report = check_page(browser, f"{url}/notebooks/03_softmax_weights.html")
    assert any(Path(image).name in src for src in report.broken_images)
    assert report.problems(), "a page with a missing image passed the browser check"


# ---- the build itself fails on what would make a broken site ---------------------------------

LAST = Path(LESSONS[-1]).stem
DEFECTS = {  # what is added to the lesson's last markdown cell -> what the build must say
    "missing image": ("![a figure](figures/missing.png)", "image file not readable"),
    "broken link": ("[next](no_such_lesson.ipynb)", "cross-reference target not found"),
    "broken raw HTML link": (
        '<a href="nowhere.html">x</a>',
        "nowhere.html points at a missing file",
    ),
    "Sphinx warning": ("{no-such-role}`text`", 'Unknown interpreted text role "no-such-role"'),
}


def _mini_course(tmp_path: Path, defect: str | None) -> Path:
    """A course of one lesson and its exercise, with the real pages, README and configuration.

    The lesson is the last one, whose only link to another page is to its exercise."""
    root = tmp_path / "course"
    (root / "book").mkdir(parents=True)
    for page in (COURSE_ROOT / "book").glob("*.md"):
        shutil.copy2(page, root / "book" / page.name)
    (root / "docs").mkdir()
    shutil.copy2(COURSE_ROOT / "README.md", root / "README.md")
    shutil.copy2(COURSE_ROOT / "docs" / "grading.md", root / "docs" / "grading.md")
    for kind in ("notebooks", "exercises"):
        (root / kind).mkdir()
        shutil.copy2(COURSE_ROOT / kind / f"{LAST}.ipynb", root / kind)
    if defect is not None:
        path = root / "notebooks" / f"{LAST}.ipynb"
        nb = json.loads(path.read_text(encoding="utf-8"))
        last = [c for c in nb["cells"] if c["cell_type"] == "markdown"][-1]
        last["source"] = "".join(last["source"]) + f"\n\n{DEFECTS[defect][0]}\n"
        path.write_text(json.dumps(nb), encoding="utf-8")
    return root


@pytest.mark.filterwarnings("ignore:.*is deprecated. Check CHANGES for Sphinx API")
@pytest.mark.parametrize("defect", [None, *DEFECTS])
def test_the_build_fails_on_a_broken_link_a_missing_image_or_a_warning(tmp_path, defect, capsys):
    if not (build_site.BOOK / "node_modules" / "mathjax").is_dir():
        message = "MathJax is not installed: run `npm ci --prefix book` (make site does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    root = _mini_course(tmp_path, defect)
    code = build_site.build(root, tmp_path / "site", tmp_path / "work")
    printed = capsys.readouterr()
    if defect is None:
        assert code == 0, printed.out + printed.err
    else:
        assert code == 1, f"the build passed with a {defect}"
        assert DEFECTS[defect][1] in printed.out + printed.err


# ---- every reader: axe-core, dark mode, a phone's width, search snippets ----------------------


@pytest.fixture(scope="session")
def reader_page(browser):
    """One tab for every reader check (loading the page is most of the cost); loopback only."""
    if axe_missing():
        if os.environ.get("CI") == "true":
            pytest.fail(axe_missing())
        pytest.skip(axe_missing())
    with _loopback_page(browser) as page:
        yield page


@contextlib.contextmanager
def _loopback_page(browser):
    """A desktop-sized tab that may reach loopback addresses only; closed afterwards."""
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(30_000)
    context.route("**/*", lambda r: r.continue_() if is_loopback(r.request.url) else r.abort())
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="session")
def axe_findings(artifacts_dir):
    """Every violation axe reports (all impacts), counted by rule, impact and mode, for the record."""
    counts: dict[str, int] = {}
    yield counts
    path = artifacts_dir / "axe-site.json"
    path.write_text(json.dumps(dict(sorted(counts.items())), indent=1) + "\n", encoding="utf-8")


@pytest.mark.parametrize("page", [*OTHER_PAGES, *(_html(p) for p in LESSONS + EXERCISES), SEARCH])
def test_page_for_every_reader(reader_page, site_url, axe_findings, page):
    """No serious or critical axe violation in light or dark mode, every figure readable in dark
    mode and described by its alt text, and no sideways scroll on a 390 px screen."""
    if page == SEARCH:
        search_snippets(reader_page, site_url, "softmax")
    else:
        reader_page.goto(f"{site_url}/{page}")
    report = check_reader(reader_page)
    for mode, violations in report.axe.items():
        for (rule, impact), n in tally(violations).items():
            key = f"{mode} {rule} {impact}"
            axe_findings[key] = axe_findings.get(key, 0) + n
    assert report.problems() == [], f"{page}:\n" + "\n".join(report.problems())


def test_search_snippets_show_math_as_text(reader_page, site_url):
    snippets = search_snippets(reader_page, site_url, "softmax")
    assert len(snippets) >= 5, snippets
    assert raw_tex_in(snippets) == [], "\n".join(raw_tex_in(snippets))
    # lesson 01's decoder equation, \operatorname{softmax}(W_o h_t), as a reader can follow it
    assert any("softmax(W_o h_t)" in s for s in snippets), snippets


# Every fetch of the search page waits 1.5 s, as on a busy machine: the results are listed and
# "Search finished" is shown long before any snippet arrives.
SLOW_FETCH_JS = """{
  const fetchNow = window.fetch.bind(window);
  window.fetch = (...args) => new Promise((done) => setTimeout(done, 1500)).then(() => fetchNow(...args));
}"""


def test_search_snippets_are_read_after_they_arrive(browser, site_url):
    with _loopback_page(browser) as page:
        page.add_init_script(SLOW_FETCH_JS)
        snippets = search_snippets(page, site_url, "softmax")
    assert len(snippets) >= 5, snippets


# Each reader check must catch a page broken on purpose: what is injected into lesson 03's page
# (JavaScript run in it) -> the start of the problem the check must report.
TRANSPARENT_FIGURE = """async () => {
  const canvas = Object.assign(document.createElement('canvas'), {width: 120, height: 40});
  const g = canvas.getContext('2d');
  g.fillStyle = '#222'; g.font = '16px sans-serif'; g.fillText('dark label', 8, 26);
  const img = new Image();
  img.src = canvas.toDataURL('image/png');
  img.style.background = 'none';
  document.querySelector('.bd-article').prepend(img);
  await img.decode();
}"""
BROKEN = {
    "faint text": (
        """() => document.querySelector('.bd-article').insertAdjacentHTML('afterbegin',
             '<p style="color:#b0b0b0">faint grey text on white</p>')""",
        "axe, light mode: color-contrast (serious)",
    ),
    "transparent figure without a plate": (TRANSPARENT_FIGURE, "dark mode: data:image/png"),
    "a picture named by its file": (
        """() => document.querySelector('.bd-article img').setAttribute('alt',
             '../_images/820e5b7a0a591225.png')""",
        "a picture without alt text that says what it shows",
    ),
    "a wide box": (
        """() => document.querySelector('.bd-article').insertAdjacentHTML('afterbegin',
             '<div style="width:900px">a box wider than a phone</div>')""",
        "390 px wide: the page scrolls sideways",
    ),
}


@pytest.mark.parametrize("breakage", BROKEN)
def test_reader_checks_catch_a_broken_page(reader_page, site_url, breakage):
    inject, expected = BROKEN[breakage]
    reader_page.goto(f"{site_url}/notebooks/03_softmax_weights.html")
    reader_page.evaluate(inject)
    problems = check_reader(reader_page).problems()
    assert any(p.startswith(expected) for p in problems), problems


def test_search_check_catches_raw_tex(browser, site_url):
    """Without the site's snippet script, Sphinx's snippets show TeX, and the check says so."""
    context = browser.new_context()
    try:
        context.route(
            "**/search_text.js*", lambda r: r.fulfill(body="", content_type="text/javascript")
        )
        found = raw_tex_in(search_snippets(context.new_page(), site_url, "softmax"))
        assert found, "the snippets of an unfixed search page passed the raw-TeX check"
    finally:
        context.close()
