"""Run notebooks under nbval (lax) in a pytest subprocess that can always be stopped and cleaned."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from . import RESULTS_ENV

COURSE_ROOT = Path(__file__).resolve().parents[2]


class RunnerError(RuntimeError):
    """pytest/nbval itself failed (a usage or internal error, not a learner's wrong answer)."""


def _kill_leftovers(workdir: Path) -> None:
    """Kill kernels we started that outlived pytest (they run with their cwd under workdir)."""
    root = str(workdir.resolve())
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cwd = os.readlink(proc / "cwd")
            if cwd == root or cwd.startswith(root + os.sep):
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue


def run_nbval(
    copies: list[Path], workdir: Path, cell_timeout: int, timeout: float, jobs: int = 1
) -> tuple[list[dict], bool]:
    """Run nbval (lax) on the copies in one pytest subprocess; return its records and timed_out."""
    results = workdir / "results.jsonl"
    (workdir / "pytest.ini").write_text("[pytest]\n")
    (workdir / "tmp").mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "2")
    env.update(
        {
            RESULTS_ENV: str(results),
            "TMPDIR": str(workdir / "tmp"),  # nbval's and the kernels' temp files die with workdir
            "PYTHONPATH": os.pathsep.join(filter(None, [str(COURSE_ROOT), env.get("PYTHONPATH")])),
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
    )
    plugins = ["-p", "nbval.plugin", "-p", "course_lib.grade.plugin", "-p", "no:cacheprovider"]
    if jobs > 1:
        plugins += ["-p", "xdist.plugin", "-n", str(jobs), "--dist", "loadfile"]
    command = [
        sys.executable,
        "-m",
        "pytest",
        *plugins,
        "--nbval-lax",
        "--nbval-current-env",
        f"--nbval-cell-timeout={cell_timeout}",
        "-q",
        "--no-header",
        "-W",
        "ignore",
        *map(str, copies),
    ]
    proc = subprocess.Popen(
        command,
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    timed_out = False
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate()
    _kill_leftovers(workdir)
    if not timed_out and proc.returncode not in (0, 1):
        tail = output.decode(errors="replace")[-2000:]
        raise RunnerError(f"pytest/nbval failed with exit code {proc.returncode}:\n{tail}")
    records = []
    if results.exists():
        for line in results.read_text(encoding="utf-8").splitlines():
            records.append(json.loads(line))
    return records, timed_out
