"""scripts/build_site.py without Sphinx: staging the pages, and the checks of a built site."""

from __future__ import annotations

import importlib.util
import json

import pytest

from course_lib.paths import COURSE_ROOT

_spec = importlib.util.spec_from_file_location("build_site", COURSE_ROOT / "scripts/build_site.py")
build_site = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_site)

VIEW = build_site.WIDGET_VIEW


def _tqdm_states(value: float, total: float) -> dict:
    """The saved widget state of a tqdm notebook bar: HBox(HTML, FloatProgress, HTML)."""
    return {
        "bar": {"model_name": "HBoxModel", "state": {"children": ["IPY_MODEL_l", "IPY_MODEL_p", "IPY_MODEL_r"]}},
        "l": {"model_name": "HTMLModel", "state": {"value": "training:\u2007100%"}},
        "p": {"model_name": "FloatProgressModel", "state": {"value": value, "max": total}},
        "r": {"model_name": "HTMLModel", "state": {"value": "\u2007400/400\u2007[00:07&lt;00:00,\u200756.76step/s]"}},
        "box": {"model_name": "VBoxModel", "state": {"_dom_classes": ["decoder-step-explorer"], "children": []}},
    }  # fmt: skip


def _nb(outputs: list[dict], states: dict) -> dict:
    return {
        "cells": [
            {"cell_type": "markdown", "source": "# 09 · A title\n\nSome text.", "metadata": {}},
            {"cell_type": "code", "source": "f()", "outputs": outputs, "metadata": {}},
        ],
        "metadata": {"widgets": {build_site.WIDGET_STATE: {"state": states}}},
    }


def _widget(model_id: str, **extra) -> dict:
    data = {VIEW: {"model_id": model_id}, "text/plain": "ExplorerBox(...)", **extra}
    return {"output_type": "display_data", "data": data, "metadata": {}}


def test_a_progress_bar_reads_as_its_last_line():
    assert build_site.progress_text(_tqdm_states(400, 400), "bar") == (
        "training: 100%|██████████| 400/400 [00:07<00:00, 56.76step/s]"
    )
    half = build_site.progress_text(_tqdm_states(200, 400), "bar")
    assert "|█████     |" in half
    assert build_site.progress_text(_tqdm_states(1, 1), "box") is None


def test_widget_outputs_become_text_or_their_static_view():
    nb = _nb([_widget("bar"), _widget("box", **{"image/png": "UE5H"})], _tqdm_states(400, 400))
    build_site.static_widget_outputs(nb, "notebooks/09.ipynb")
    bar, note, picture = nb["cells"][1]["outputs"]
    assert bar["data"] == {
        "text/plain": "training: 100%|██████████| 400/400 [00:07<00:00, 56.76step/s]"
    }
    assert 'class="widget-static-note"' in note["data"]["text/html"]
    assert "steps through the decoder" in note["data"]["text/html"]
    assert picture["data"]["image/png"] == "UE5H" and VIEW not in picture["data"]
    assert "widgets" not in nb["metadata"]  # no widget state left for the page to load


def test_a_widget_without_a_static_view_stops_the_build():
    nb = _nb([_widget("box")], _tqdm_states(1, 1))
    with pytest.raises(
        build_site.SiteError, match=r"notebooks/09.ipynb, cell 1: .*execute_notebooks"
    ):
        build_site.static_widget_outputs(nb, "notebooks/09.ipynb")


def test_the_links_line_goes_under_the_title():
    nb = _nb([], {})
    build_site.add_links_line(
        nb, build_site.links_line("notebooks", "03_softmax_weights", COURSE_ROOT), "x"
    )
    source = nb["cells"][0]["source"]
    title, _, rest = source.partition("\n")
    assert title == "# 09 · A title"
    assert rest.lstrip().startswith("```{container} page-links")
    assert "../_ipynb/notebooks/03_softmax_weights.ipynb" in rest
    assert "[Its exercises](../exercises/03_softmax_weights.ipynb)" in rest
    assert rest.rstrip().endswith("Some text.")
    untitled = _nb([], {})
    untitled["cells"][0]["source"] = "No title here"
    with pytest.raises(build_site.SiteError, match="page title"):
        build_site.add_links_line(untitled, "links", "x")


def test_every_stored_notebook_stages_and_the_originals_stay_untouched(tmp_path):
    before = {
        p: p.read_bytes() for kind in build_site.KINDS for p in (COURSE_ROOT / kind).glob("*.ipynb")
    }
    staged = build_site.stage(COURSE_ROOT, tmp_path / "src")
    assert len(staged) == len(before)
    for path, content in before.items():
        assert path.read_bytes() == content
        rel = path.relative_to(COURSE_ROOT)
        assert (tmp_path / "src" / "_ipynb" / rel).read_bytes() == content
        page = json.loads((tmp_path / "src" / rel).read_text(encoding="utf-8"))
        assert "page-links" in "".join(page["cells"][0]["source"])
        outputs = [o for c in page["cells"] for o in c.get("outputs", [])]
        assert not any(VIEW in o.get("data", {}) for o in outputs)


def _write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_check_site_finds_broken_links_images_anchors_and_external_loads(tmp_path):
    _write(tmp_path / "_static" / "a.css", "body { background: url(bg.png); }")
    _write(tmp_path / "_static" / "bg.png", "png")
    _write(tmp_path / "_images" / "fig.png", "png")
    good = (
        '<link rel="stylesheet" href="../_static/a.css"><h2 id="part">x</h2>'
        '<img src="../_images/fig.png"><a href="#part">here</a><a href="../index.html">home</a>'
        '<a href="https://arxiv.org/abs/1409.0473">paper</a><img src="data:image/png;base64,AA">'
    )
    _write(tmp_path / "index.html", '<a href="notebooks/01.html#part">lesson</a>')
    _write(tmp_path / "notebooks" / "01.html", good)
    assert build_site.check_site(tmp_path) == []

    _write(tmp_path / "notebooks" / "02.html", (
        '<img src="../_images/gone.png"><a href="01.html#nowhere">x</a>'
        '<script src="https://cdn.example.org/mathjax.js"></script><a href="missing.html">y</a>'
    ))  # fmt: skip
    _write(tmp_path / "_static" / "b.css", "@font-face { src: url(fonts/gone.woff2); }")
    problems = "\n".join(build_site.check_site(tmp_path))
    assert "notebooks/02.html: <img> ../_images/gone.png points at a missing file" in problems
    assert "01.html#nowhere: no such anchor" in problems
    assert "loads https://cdn.example.org/mathjax.js from another host" in problems
    assert "missing.html points at a missing file" in problems
    assert "url(fonts/gone.woff2) points at a missing file" in problems
    assert len(problems.splitlines()) == 5


def test_duplicates_and_pruning(tmp_path):
    big = b"x" * build_site.DUPLICATE_MIN_BYTES
    _write(tmp_path / "_images" / "a.png", "")
    (tmp_path / "_images" / "a.png").write_bytes(big)
    (tmp_path / "_images" / "b.png").write_bytes(big)
    (tmp_path / "_images" / "c.png").write_bytes(big + b"y")
    assert build_site.duplicates(tmp_path) == [["_images/a.png", "_images/b.png"]]

    _write(tmp_path / "_static" / "scripts" / "t.js", "let a = 1;\n//# sourceMappingURL=t.js.map\n")
    _write(tmp_path / "_static" / "scripts" / "t.js.map", "{}")
    _write(tmp_path / "_static" / "styles" / "t.css", "a{}\n/*# sourceMappingURL=t.css.map*/\n")
    _write(tmp_path / "_static" / "locales" / "de" / "x.mo", "")
    (tmp_path / "_sources").mkdir()
    build_site.prune(tmp_path)
    assert (tmp_path / "_static" / "scripts" / "t.js").read_text() == "let a = 1;\n\n"
    assert "sourceMappingURL" not in (tmp_path / "_static" / "styles" / "t.css").read_text()
    assert not list(tmp_path.rglob("*.map"))
    assert not (tmp_path / "_static" / "locales").exists() and not (tmp_path / "_sources").exists()


def test_the_home_page_table_links_every_lesson_and_its_exercises():
    table = build_site.lessons_table(COURSE_ROOT)
    lessons = sorted((COURSE_ROOT / "notebooks").glob("*.ipynb"))
    assert len(table.splitlines()) == 2 + len(lessons)
    for path in lessons:
        assert f"](notebooks/{path.name}) |" in table
        assert f"[exercises](exercises/{path.name}) |" in table
    assert "softmax, the max trick" in table  # what each teaches, from the README
    assert " s |" not in table  # without the README's run times
