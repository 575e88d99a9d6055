"""The learner's workspace: their own copies of the lessons and exercises, outside git's care.

`make lab` runs this module, then opens JupyterLab on `work/`. The course's files stay pristine:

- `work/notebooks/` and `work/exercises/` get a copy of every lesson and exercise that is not
  there yet. A file already there is never touched, so a learner's work survives, and `git pull`
  (which only changes the tracked originals) brings new lessons without a conflict. To start a
  lesson or an exercise afresh, delete its copy and run `make lab` again.
- `work/` is git-ignored; the grader compares against the release in `exercises/`, never here.
- JupyterLab gets the course's settings (below) in this Python's application settings
  (`<prefix>/share/jupyter/lab/settings/overrides.json`): widget state saved with a notebook, so
  a saved lesson shows its widgets when reopened, and no news or update pop-up.

    python -m course_lib.workspace            # copy what is missing into work/, write settings
    python -m course_lib.workspace --into DIR
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from course_lib.paths import COURSE_ROOT

WORKSPACE = COURSE_ROOT / "work"
COURSE_FOLDERS = ("notebooks", "exercises")

# JupyterLab settings, by plugin id, that the course needs; everything else stays as it is.
LAB_OVERRIDES: dict[str, dict[str, object]] = {
    # Save the widgets' state in the notebook: reopened, a lesson shows its last widget views
    # instead of "Error displaying widget: model not found".
    "@jupyter-widgets/jupyterlab-manager:plugin": {"saveState": True},
    # No "Would you like to receive official Jupyter news?" pop-up, no update check.
    "@jupyterlab/apputils-extension:notification": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


def copy_missing(source: Path, target: Path, pattern: str = "*.ipynb") -> list[Path]:
    """Copy each file of `source` matching `pattern` that `target` lacks; return the new copies."""
    if not source.is_dir():
        raise FileNotFoundError(f"no folder {source} to copy the course from")
    target.mkdir(parents=True, exist_ok=True)
    copied = []
    for original in sorted(source.glob(pattern)):
        copy = target / original.name
        if copy.exists():
            continue
        shutil.copy2(original, copy)
        copied.append(copy)
    return copied


def make_workspace(into: Path = WORKSPACE, course: Path = COURSE_ROOT) -> list[Path]:
    """Give the learner a copy of every lesson and exercise they do not have yet."""
    copied = []
    for folder in COURSE_FOLDERS:
        copied += copy_missing(course / folder, into / folder)
    return copied


def lab_settings_dir(prefix: Path | None = None) -> Path:
    """JupyterLab's application settings folder of the Python at `prefix` (default: this one)."""
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings"


def write_lab_overrides(settings_dir: Path | None = None) -> Path:
    """Merge LAB_OVERRIDES into `overrides.json` (settings of other plugins are kept)."""
    path = (settings_dir or lab_settings_dir()) / "overrides.json"
    current: dict = {}
    if path.is_file():
        try:
            current = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            current = {}
    for plugin, values in LAB_OVERRIDES.items():
        current.setdefault(plugin, {}).update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--into", type=Path, default=WORKSPACE, help="the workspace folder")
    args = parser.parse_args(argv)
    for path in make_workspace(args.into):
        print(f"new in your workspace: {path.relative_to(args.into.parent)}")
    write_lab_overrides()
    return 0


if __name__ == "__main__":
    sys.exit(main())
