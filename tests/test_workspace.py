"""The learner's workspace: copies of what is missing, nothing overwritten, the course's settings."""

from __future__ import annotations

import json

import pytest

from course_lib import workspace


def _course(tmp_path):
    course = tmp_path / "course"
    for folder, names in {"notebooks": ["01_a", "02_b"], "exercises": ["01_a"]}.items():
        (course / folder).mkdir(parents=True)
        for name in names:
            (course / folder / f"{name}.ipynb").write_text(f"original {folder}/{name}")
    return course


def test_first_run_copies_every_lesson_and_exercise(tmp_path):
    course = _course(tmp_path)
    copied = workspace.make_workspace(tmp_path / "work", course)
    names = sorted(str(p.relative_to(tmp_path / "work")) for p in copied)
    assert names == ["exercises/01_a.ipynb", "notebooks/01_a.ipynb", "notebooks/02_b.ipynb"]
    assert (tmp_path / "work/notebooks/02_b.ipynb").read_text() == "original notebooks/02_b"


def test_learners_work_is_never_overwritten_and_new_lessons_arrive(tmp_path):
    course = _course(tmp_path)
    work = tmp_path / "work"
    workspace.make_workspace(work, course)
    (work / "exercises/01_a.ipynb").write_text("my answers")
    (course / "exercises/01_a.ipynb").write_text("updated upstream")
    (course / "notebooks/03_c.ipynb").write_text("new lesson")  # what a git pull brings

    copied = workspace.make_workspace(work, course)

    assert copied == [work / "notebooks/03_c.ipynb"]
    assert (work / "exercises/01_a.ipynb").read_text() == "my answers"
    assert (course / "exercises/01_a.ipynb").read_text() == "updated upstream"


def test_missing_course_folder_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no folder"):
        workspace.copy_missing(tmp_path / "nowhere", tmp_path / "work")


def test_lab_overrides_turn_on_widget_state_and_off_the_news(tmp_path):
    (tmp_path / "overrides.json").write_text(json.dumps({"other:plugin": {"x": 1}}))
    path = workspace.write_lab_overrides(tmp_path)
    settings = json.loads(path.read_text())
    assert settings["@jupyter-widgets/jupyterlab-manager:plugin"]["saveState"] is True
    notification = settings["@jupyterlab/apputils-extension:notification"]
    assert notification == {"fetchNews": "false", "checkForUpdates": False}
    assert settings["other:plugin"] == {"x": 1}  # someone else's setting is kept


def test_workspace_is_ignored_by_git():
    ignored = (workspace.COURSE_ROOT / ".gitignore").read_text().splitlines()
    assert "/work/" in ignored


def _recipe(target: str) -> str:
    text = (workspace.COURSE_ROOT / "Makefile").read_text().replace("\\\n", " ")
    block = text.split(f"\n{target}: ", 1)[1]
    return block.split("\n\n", 1)[0]


def test_make_lab_opens_the_workspace_and_grade_compares_with_the_release():
    lab = _recipe("lab")
    assert "-m course_lib.workspace --into $(WORK)" in lab
    assert "--ServerApp.root_dir=$(CURDIR)/$(WORK)" in lab
    grade = _recipe("grade")
    assert "--release exercises" in grade  # the pristine release, never the learner's copies
    makefile = (workspace.COURSE_ROOT / "Makefile").read_text()
    assert "\nNB ?= $(WORK)/exercises\n" in makefile
