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


def _run_stages(tmp_path: Path, *targets: str, makefile: str = MAKEFILE):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "Makefile").write_text(makefile)
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


LANES_MAKEFILE = """\
first:
\t@echo one > order.txt
second:
\t@test -f order.txt && echo two >> order.txt && echo second-saw-first
waits-for-flag:
\t@for i in $$(seq 30); do test -f flag && break; sleep 0.1; done; test -f flag && echo saw-flag
makes-flag:
\t@touch flag
"""


def _run_lanes(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    return _run_stages(tmp_path, *args, makefile=LANES_MAKEFILE)


def test_stages_of_a_lane_run_in_order(tmp_path):
    proc = _run_lanes(tmp_path, "first,second")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "order.txt").read_text().split() == ["one", "two"]
    assert "second-saw-first" in proc.stdout


def test_lanes_run_side_by_side(tmp_path):
    # The first lane's stage waits up to 3 s for a file only the second lane makes: it can
    # pass only if both lanes run at once.
    proc = _run_lanes(tmp_path, "waits-for-flag", "makes-flag")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "saw-flag" in proc.stdout


def test_serial_lanes_do_not_overlap(tmp_path):
    proc = _run_lanes(tmp_path, "--serial", "waits-for-flag", "makes-flag")
    assert proc.returncode == 1
    assert "waits-for-flag  FAILED" in proc.stdout


def test_each_stage_output_is_printed_whole_and_logged(tmp_path):
    proc = _run_lanes(tmp_path, "first,second", "makes-flag")
    log = tmp_path / "build" / "stages" / "second.log"
    assert log.read_text().strip() == "second-saw-first"
    block = proc.stdout.split("===== make second: passed")[1]
    assert block.split("=====")[1].strip().startswith("second-saw-first")
    assert "3 of 3 stages passed" in proc.stdout


def test_a_queued_lane_starts_when_a_running_one_ends(tmp_path):
    # Two workers, three lanes: "first" ends at once, so its worker takes "makes-flag" from the
    # queue while "waits-for-flag" still waits. With one worker the flag comes too late.
    proc = _run_lanes(tmp_path, "--jobs", "2", "first", "waits-for-flag", "makes-flag")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "saw-flag" in proc.stdout
    proc = _run_lanes(tmp_path / "one", "--jobs", "1", "waits-for-flag", "makes-flag")
    assert proc.returncode == 1
    assert "waits-for-flag  FAILED" in proc.stdout


def test_queued_lanes_wait_for_a_free_worker(tmp_path):
    # "makes-flag" is third in the queue: with two workers it cannot start before one of the
    # first two lanes ends, and "waits-for-flag" is one of them.
    proc = _run_lanes(tmp_path, "--jobs", "2", "waits-for-flag", "waits-for-flag", "makes-flag")
    assert proc.returncode == 1


NICE_MAKEFILE = """\
show-nice:
\t@echo nice=$$(nice)
"""


def test_stages_other_than_the_favoured_run_under_nice(tmp_path):
    makefile = NICE_MAKEFILE + "favoured:\n\t@echo nice=$$(nice)\n"
    proc = _run_stages(tmp_path, "--favour", "favoured", "show-nice", "favoured", makefile=makefile)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    logs = tmp_path / "build" / "stages"
    base = os.nice(0)  # make test itself may run this under nice
    assert (logs / "show-nice.log").read_text().strip() == f"nice={min(base + 10, 19)}"
    assert (logs / "favoured.log").read_text().strip() == f"nice={base}"


def test_without_favour_nothing_is_niced(tmp_path):
    proc = _run_stages(tmp_path, "show-nice", makefile=NICE_MAKEFILE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    log = tmp_path / "build" / "stages" / "show-nice.log"
    assert log.read_text().strip() == f"nice={os.nice(0)}"
