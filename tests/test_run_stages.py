"""scripts/run_stages.py (`make test`): every stage runs even after a failure; the exit says so."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "run_stages.py"
MAKEFILE = """\
ok:
\t@echo ran-ok
broken:
\t@echo ran-broken; exit 3
"""


def _run_stages(tmp_path: Path, *targets: str) -> subprocess.CompletedProcess:
    (tmp_path / "Makefile").write_text(MAKEFILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(
        [sys.executable, SCRIPT, *targets], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_a_failed_stage_does_not_stop_the_next_and_fails_the_run(tmp_path):
    proc = _run_stages(tmp_path, "broken", "ok")
    assert proc.returncode == 1
    assert "ran-broken" in proc.stdout and "ran-ok" in proc.stdout
    assert "broken  FAILED (exit 2)" in proc.stdout  # make reports a failed recipe as 2
    assert "1 of 2 stages passed" in proc.stdout


def test_all_stages_passing_exits_zero(tmp_path):
    proc = _run_stages(tmp_path, "ok", "ok")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 of 2 stages passed" in proc.stdout
