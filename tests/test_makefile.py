"""The Makefile's help lists every target, and `make test` runs stages that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _words_after(prefix: str) -> list[str]:
    """The words on the (joined) Makefile line that starts with prefix, e.g. `.PHONY:`."""
    text = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    assert len(lines) == 1, f"expected one line starting with {prefix!r}, found {len(lines)}"
    return lines[0].removeprefix(prefix).split()


def _help() -> str:
    proc = subprocess.run(
        ["make", "--no-print-directory", "-s", "help"],
        cwd=ROOT,
        text=True,
        capture_output=True,
        check=True,
    )
    return proc.stdout


def test_help_lists_every_phony_target():
    shown = set(re.findall(r"make ([\w-]+)", _help()))
    missing = [t for t in _words_after(".PHONY:") if t != "help" and t not in shown]
    assert not missing, f"make help does not mention: {missing}"


def test_every_test_stage_is_a_phony_target():
    phony = set(_words_after(".PHONY:"))
    lanes = _words_after("TEST_LANES :=")
    stages = [stage for lane in lanes for stage in lane.split(",")]
    assert stages and set(stages) <= phony, stages
    assert len(stages) == len(set(stages)), f"a stage runs twice: {stages}"
