"""The lock, requirements.in, pyproject and environment.yml must describe one environment, and
every thread-count setting says the same number."""

from __future__ import annotations

import re

import pytest
import yaml

from course_lib.paths import COURSE_ROOT as ROOT
from course_lib.repro import THREADS

# PyPI name -> conda-forge name, where they differ.
CONDA_NAMES = {"torch": "pytorch"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, version = line.partition("==")
        assert sep, f"requirements.lock line is not pinned with ==: {line!r}"
        pins[_canonical(name)] = version
    return pins


def _requested() -> list[str]:
    names = []
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            names.append(_canonical(re.split(r"[=<>!~\[ ]", line)[0]))
    return names


def _environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pins = {}
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep.get("pip", []):
                if pip_dep.startswith("-e"):
                    continue
                name, _, version = pip_dep.partition("==")
                pins[_canonical(name)] = version
        elif "=" in dep:
            name, _, version = dep.partition("=")
            pins[_canonical(name)] = version
    return pins


def test_torch_is_pinned_to_the_cpu_release():
    assert _lock()["torch"] == "2.13.0"


def test_every_requested_package_is_locked():
    lock = _lock()
    missing = [name for name in _requested() if name not in lock]
    assert not missing, f"in requirements.in but not in requirements.lock: {missing}"


@pytest.mark.parametrize("name", _requested())
def test_environment_yml_matches_the_lock(name):
    env = _environment()
    conda_name = _canonical(CONDA_NAMES.get(name, name))
    assert conda_name in env, f"{name} is in requirements.in but not in environment.yml"
    assert env[conda_name] == _lock()[name], (
        f"{name}: environment.yml pins {env[conda_name]}, requirements.lock pins {_lock()[name]}"
    )


def test_environment_yml_installs_the_course_from_the_checkout():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(dep["pip"] for dep in env["dependencies"] if isinstance(dep, dict))
    assert "-e ." in pip
    assert "python=3.11" in env["dependencies"]


def test_pyproject_dependencies_are_locked():
    text = (ROOT / "pyproject.toml").read_text()
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    names = [_canonical(re.split(r"[=<>!~ ]", d.strip().strip('",'))[0]) for d in block.split(",")]
    lock = _lock()
    missing = [n for n in names if n and n not in lock]
    assert not missing, f"pyproject dependencies missing from the lock: {missing}"


def test_thread_count_exports_match_repro():
    """The Makefile and the root conftest write the number out; course_lib.repro owns it."""
    makefile = (ROOT / "Makefile").read_text()
    conftest = (ROOT / "conftest.py").read_text()
    assert (
        re.findall(r"^export (?:OMP|MKL)_NUM_THREADS := (\d+)$", makefile, re.M)
        == [str(THREADS)] * 2
    )
    assert re.findall(r'setdefault\("OMP_NUM_THREADS", "(\d+)"\)', conftest) == [str(THREADS)]
