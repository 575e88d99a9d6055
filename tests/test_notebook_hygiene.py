"""Stored notebooks stay clean: fully executed, no execution noise, nothing machine-specific."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from course_lib.paths import COURSE_ROOT as ROOT

LESSONS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
EXERCISES = sorted((ROOT / "exercises").glob("*.ipynb"))
STORED = LESSONS + SOLUTIONS
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NOISE = {
    "machine path": re.compile(r"/(work|root|home|tmp)/"),
    "memory address": re.compile(r" at 0x[0-9a-fA-F]{6,}"),
    "warning": re.compile(r"\b\w*Warning: "),
}


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text())["cells"]


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_the_course_has_seven_lessons_each_with_a_solution_and_an_exercise():
    stems = [p.stem for p in LESSONS]
    assert len(stems) == 7, f"expected 7 lesson notebooks, found {stems}"
    assert [p.stem for p in SOLUTIONS] == stems
    assert [p.stem for p in EXERCISES] == stems


@pytest.mark.parametrize("path", STORED, ids=_name)
def test_stored_notebooks_are_fully_executed_in_order(path):
    counts = [c["execution_count"] for c in _cells(path) if c["cell_type"] == "code"]
    assert None not in counts, (
        f"{_name(path)} has code cells that were never run: run `make notebooks`"
    )
    assert counts == list(range(1, len(counts) + 1)), f"{_name(path)} was not run top to bottom"


@pytest.mark.parametrize("path", STORED + EXERCISES, ids=_name)
def test_no_execution_noise(path):
    for index, cell in enumerate(_cells(path)):
        assert "execution" not in cell["metadata"], f"{_name(path)} cell {index} has timestamps"
        text = json.dumps(cell.get("outputs", []))
        for what, pattern in NOISE.items():
            match = pattern.search(text)
            assert not match, (
                f"{_name(path)} cell {index} output holds a {what}: {match.group(0)!r}"
            )


@pytest.mark.parametrize("path", EXERCISES, ids=_name)
def test_exercises_ship_without_outputs(path):
    for cell in _cells(path):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_lessons_state_objectives_and_link_their_exercise(path):
    text = "".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "markdown")
    assert re.search(r"learning objectives", text, re.I), f"{_name(path)} has no objectives"
    assert f"../exercises/{path.name}" in text, f"{_name(path)} does not link its exercise"
    assert re.search(r"check your understanding", text, re.I), f"{_name(path)} has no questions"


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_self_checks_sit_in_cells_of_their_own_that_a_learner_can_spot(path):
    """A lesson's checks of its own claims are whole cells that start with `with self_check(`
    and carry the `self-check` tag; no cell outside them stops a learner's run with a claim."""
    for i, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        tagged = "self-check" in cell.get("metadata", {}).get("tags", [])
        uses = "self_check(" in source
        where = f"{_name(path)} cell {i}"
        assert tagged == uses, f"{where}: the self-check tag and a self_check block go together"
        if uses:
            assert source.startswith("with self_check("), f"{where}: start with the self-check"
            assert not re.search(r"^\S", source.split("\n", 1)[1], re.M), (
                f"{where}: everything in a self-check cell belongs inside its with block"
            )
        else:
            assert "expect_between(" not in source and "expect(" not in source, (
                f"{where}: a claim outside a self_check block stops a learner's Run All"
            )


@pytest.mark.parametrize("path", STORED, ids=_name)
def test_every_picture_has_alt_text_for_the_site(path):
    """A cell that shows a picture says in words what it shows (MyST-NB's `mystnb.image.alt`):
    without it the site's <img> gets its file name as alt text, which a screen reader reads out."""
    missing = []
    for cell in _cells(path):
        pictures = [o for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
        alt = cell["metadata"].get("mystnb", {}).get("image", {}).get("alt", "")
        if pictures and (len(alt.split()) < 8 or re.search(r"\.(png|svg|jpe?g)\b", alt)):
            missing.append(cell.get("id"))
    assert not missing, f"cells with a picture but no alt text of a sentence or more: {missing}"


@pytest.mark.parametrize("path", LESSONS, ids=_name)
def test_stored_explorer_pictures_carry_the_current_alt_text(path):
    """What JupyterLab shows for an explorer without a kernel is its stored <img>: its alt text
    must be the one course_lib gives now (the cells are nbval-ignore-output, so nbval cannot
    see it go stale)."""
    from course_lib.static_views import img_html
    from course_lib.widgets import STATIC_ALTS

    nb = json.loads(path.read_text())
    state = nb["metadata"].get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW not in data or "image/png" not in data:
                continue
            classes = state[data[WIDGET_VIEW]["model_id"]]["state"].get("_dom_classes", [])
            kinds = [c for c in classes if c in STATIC_ALTS]
            assert len(kinds) == 1, f"{cell['id']}: an explorer of unknown kind {classes}"
            expected = img_html(data["image/png"], STATIC_ALTS[kinds[0]])
            stored = "".join(data.get("text/html", []))  # the file keeps text as a list of lines
            assert stored == expected, (
                f"{cell['id']}: the stored picture lacks the current alt text; re-execute "
                "the lesson (python scripts/execute_notebooks.py)"
            )
