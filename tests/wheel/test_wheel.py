"""course_lib as an ordinary package: build the wheel, install it in a throwaway venv, use it.

What JupyterHub, Colab or a teaching assistant's environment do (`pip install` of the wheel or
of the repository), and what the editable install of `make venv` hides: a data file left out of
package-data, or a run-time dependency missing from `[project].dependencies`.

The wheel is built from a copy of the sources (the checkout is not written to), installed
non-editable with requirements.lock as constraints, and used from a temp directory outside the
repository: the shipped models must give the scores in scores.json, one solution must grade to
full points, one lesson must run. 1.5 to 3.5 minutes (idle to busy 2-core machine), most of
it pip installing the dependencies.

Skip rule: skipped only when this Python cannot create a venv with pip (Debian: `apt install
python3.11-venv`); under CI=true that is a failure. Any other problem fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = Path(__file__).resolve().parent / "check_installed.py"
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "course_lib")
LESSON = "03_softmax_weights.ipynb"  # the fastest lesson (4 s)
SOLUTION = "03_softmax_weights.ipynb"
# Same tolerance as tests/test_pretrained.py: a few words may flip on last-bit differences.
WER_TOLERANCE, PER_TOLERANCE = 2e-3, 1e-3
CPU_TORCH_INDEX = "https://download.pytorch.org/whl/cpu"  # as in the Makefile (TORCH_INDEX)
INSTALL_TIMEOUT = 1800  # a guard against a hung pip, not a measurement


def _unusable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the wheel test must run)")
    pytest.skip(reason)


def _run(command: list, cwd: Path, env: dict | None = None, timeout: int = 900) -> str:
    """Run a command; on a non-zero exit fail the test with its output."""
    proc = subprocess.run(
        [str(c) for c in command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    output = "\n".join(
        line for line in proc.stdout.splitlines() if not line.startswith("WARNING: Location")
    )
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(map(str, command))} exited {proc.returncode}:\n{output[-4000:]}")
    return output


def _shipped_data_files() -> set[str]:
    """Every non-Python file of the package in the checkout, as wheel member names."""
    package = ROOT / "course_lib"
    return {
        path.relative_to(ROOT).as_posix()
        for path in package.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }


@pytest.fixture(scope="module")
def workspace() -> Iterator[Path]:
    """A temp directory outside the repository for the build, the venv (1 GB) and the runs."""
    with tempfile.TemporaryDirectory(prefix="course-wheel-") as name:
        path = Path(name)
        assert ROOT not in path.parents
        yield path


@pytest.fixture(scope="module")
def wheel(workspace) -> Path:
    source = workspace / "src"
    for name in SOURCES:
        if (ROOT / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
            shutil.copytree(ROOT / name, source / name, ignore=ignore)
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    dist = workspace / "dist"
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    _run([*build, "--quiet", "--wheel-dir", dist, source], cwd=workspace)
    (built,) = dist.glob("course_lib-*.whl")
    return built


def _torch_pin() -> str:
    """The lock's torch line: installed first, like `make venv` does, from the CPU index."""
    lines = (ROOT / "requirements.lock").read_text().splitlines()
    return next(line for line in lines if line.startswith("torch=="))


def _clean_env(venv: Path) -> dict:
    """The environment of a shell where only the throwaway venv is active."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env.setdefault("OMP_NUM_THREADS", "2")
    env.setdefault("GOMP_SPINCOUNT", "10000")  # see the Makefile: spinning workers fight for cores
    return env


@pytest.fixture(scope="module")
def venv(workspace, wheel) -> Path:
    """A fresh venv with the wheel installed from a file, non-editable, under the lock's pins."""
    path = workspace / "venv"
    made = subprocess.run(
        [sys.executable, "-m", "venv", path], capture_output=True, text=True, timeout=300
    )
    if made.returncode != 0 or not (path / "bin" / "pip").exists():
        _unusable(f"cannot create a venv with pip here: {made.stderr.strip()[-500:]}")
    install = [path / "bin" / "python", "-m", "pip", "install", "--quiet"]
    torch_index = os.environ.get("TORCH_INDEX", CPU_TORCH_INDEX)
    torch = [*install, "--no-deps", "--retries", "1", "--index-url", torch_index, _torch_pin()]
    _run(torch, cwd=workspace, env=_clean_env(path), timeout=INSTALL_TIMEOUT)
    _run(
        [*install, "-c", ROOT / "requirements.lock", wheel],
        cwd=workspace,
        env=_clean_env(path),
        timeout=INSTALL_TIMEOUT,
    )
    return path


def _check(venv: Path, workspace: Path, *args) -> str:
    command = [venv / "bin" / "python", CHECK, *args]
    return _run(command, cwd=workspace, env=_clean_env(venv))


def test_the_wheel_holds_every_data_file_of_the_package(wheel):
    members = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(_shipped_data_files() - members)
    assert not missing, f"package-data leaves these files out of the wheel: {missing}"


def test_the_installed_dependencies_are_consistent(venv, workspace):
    _run([venv / "bin" / "python", "-m", "pip", "check"], cwd=workspace, env=_clean_env(venv))


def test_every_module_course_lib_imports_is_installed(venv, workspace):
    assert "course_lib from " in _check(venv, workspace, "imports")


def test_the_shipped_models_reach_their_documented_scores(venv, workspace):
    output = _check(venv, workspace, "models", WER_TOLERANCE, PER_TOLERANCE)
    assert output.count("documented") == 4, output


def test_the_grader_gives_a_solution_full_points(venv, workspace):
    report = workspace / "grade-report.json"
    command = [venv / "bin" / "python", "-m", "course_lib.grade", ROOT / "solutions" / SOLUTION]
    command += ["--release", ROOT / "exercises", "--json", report]
    _run(command, cwd=workspace, env=_clean_env(venv))
    graded = json.loads(report.read_text())
    assert graded["max"] > 0 and graded["score"] == graded["max"], graded


def test_a_lesson_runs_with_nbclient(venv, workspace):
    # Last in this file: nbclient is a test tool, not a dependency of course_lib, and installing
    # it (with jupyter_client, nbformat, ...) must not hide a dependency the checks above need.
    install = [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "nbclient"]
    _run([*install, "-c", ROOT / "requirements.lock"], cwd=workspace, env=_clean_env(venv))
    lesson = workspace / "lesson" / LESSON
    lesson.parent.mkdir()
    shutil.copy2(ROOT / "notebooks" / LESSON, lesson)
    assert f"lesson: {LESSON} ran" in _check(venv, workspace, "lesson", lesson)
