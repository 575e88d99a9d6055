"""Where the learner's code runs: a bubblewrap sandbox, or a process group where that is missing.

bubblewrap (Debian/Ubuntu package `bubblewrap`) gives each notebook:
- a new PID namespace: every process the learner starts, even in a new session, dies with it,
  and no process outside it can be signalled (`os.kill(os.getppid(), SIGKILL)` cannot reach
  the grader);
- no network, a private tmpfs as /tmp and working directory, and a read-only view of only the
  system, Python, the environment and `course_lib`: no other learner's notebook, no solutions,
  no report file.
Without bubblewrap, or where it cannot create namespaces (some containers), grading still runs
with weaker isolation ("process-group"): a new session killed as a whole at the end, a private
temporary directory, a minimal environment. The report says which one was used.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MAX_OUTPUT_BYTES = 16_000_000
COURSE_LIB = Path(__file__).resolve().parents[1]
# -I ignores PYTHONPATH and the working directory; the harness is then imported from the very
# course_lib this grader runs from (not whichever copy the environment has installed), so the
# grader and its harness can never come from two different versions.
_OWN_COPY = f"import sys; sys.path.insert(0, {str(COURSE_LIB.parent)!r}); "
HARNESS = [
    sys.executable,
    "-I",
    "-c",
    _OWN_COPY + "from course_lib.grade.harness import main; main()",
]
ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "MPLBACKEND": "Agg",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
}


def _readonly_paths() -> list[str]:
    """What the sandbox needs to see: Python, the environment, course_lib (read-only)."""
    paths = {sys.prefix, sys.base_prefix, str(COURSE_LIB), str(Path(sys.executable).parent)}
    real = Path(os.path.realpath(sys.executable)).parents[1]
    paths.add(str(real))
    return sorted(p for p in paths if Path(p).exists())


def bwrap_command(bwrap: str) -> list[str]:
    """The bubblewrap prefix: system dirs and Python read-only, fresh /tmp, /proc, /dev."""
    command = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    command += ["--die-with-parent", "--new-session", "--clearenv"]
    # The fresh /tmp first: the read-only binds below go on top of it, so a venv or a checkout
    # that lives under /tmp (a CI clone, say) stays visible inside.
    command += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for top in ("/usr", "/etc"):
        command += ["--ro-bind", top, top]
    for top in ("/bin", "/lib", "/lib64", "/sbin"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    for path in _readonly_paths():
        command += ["--ro-bind", path, path]
    command += ["--chdir", "/tmp"]
    for key, value in {**ENV, "HOME": "/tmp", "TMPDIR": "/tmp", "MPLCONFIGDIR": "/tmp"}.items():
        command += ["--setenv", key, value]
    return [*command, "--"]


@dataclass(frozen=True)
class Sandbox:
    """How to start the harness: `kind` is "bubblewrap" or "process-group"; `note` says why."""

    kind: str
    prefix: tuple[str, ...] = ()
    tmp_root: str | None = None
    note: str = ""


def choose_sandbox(isolation: str = "auto", tmp_root: str | None = None) -> Sandbox:
    """bubblewrap when it is installed and works here, else (or when asked) a process group."""
    if isolation == "process-group":
        return Sandbox("process-group", tmp_root=tmp_root, note="process-group isolation asked for")
    bwrap = shutil.which("bwrap")
    problem = "bubblewrap (bwrap) is not installed"
    if bwrap:
        prefix = bwrap_command(bwrap)
        try:
            probe = subprocess.run(
                [*prefix, sys.executable, "-I", "-c", _OWN_COPY + "import course_lib"],
                capture_output=True,
                timeout=60,
            )
            stderr = probe.stderr.decode(errors="replace")[-200:]
            why = (stderr.strip() or f"exit code {probe.returncode}") if probe.returncode else ""
        except (OSError, subprocess.TimeoutExpired) as err:
            why = f"{type(err).__name__}: {err}"
        if not why:
            return Sandbox("bubblewrap", tuple(prefix), tmp_root)
        problem = "bubblewrap cannot run here: " + why
    if isolation == "bubblewrap":
        from .restore import GradingError

        raise GradingError(problem.strip())
    return Sandbox("process-group", tmp_root=tmp_root, note=problem.strip())


@dataclass
class Run:
    """What one harness run sent back: its events, and how it ended ("" when it said done)."""

    events: list[dict]
    ending: str
    unreadable_lines: int = 0
    stderr_tail: str = ""


def _feed(stream, data: bytes) -> None:
    try:
        stream.write(data)
        stream.close()
    except OSError:
        pass  # the harness died before reading its job; its missing events tell the rest


def _parse(lines: list[bytes], run: Run) -> None:
    for line in lines:
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError:
            event = None
        if isinstance(event, dict) and isinstance(event.get("ev"), str):
            run.events.append(event)
        else:
            run.unreadable_lines += 1


def run_harness(sandbox: Sandbox, job: dict, seconds: float) -> Run:
    """Start the harness in the sandbox, give it the job, collect its events for `seconds`."""
    workdir = tempfile.mkdtemp(prefix="course-grade-", dir=sandbox.tmp_root)
    env = {**ENV, "HOME": workdir, "TMPDIR": workdir, "MPLCONFIGDIR": workdir}
    stderr_path = Path(workdir) / "harness-stderr.txt"  # diagnostics only, never results
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [*sandbox.prefix, *HARNESS],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=workdir,
            env=env,
            start_new_session=True,
        )
    job_bytes = json.dumps(job).encode()
    threading.Thread(target=_feed, args=(proc.stdin, job_bytes), daemon=True).start()
    run, buffer, size = Run([], "timeout"), b"", 0
    deadline = time.monotonic() + seconds
    try:
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline and size < MAX_OUTPUT_BYTES:
                if not selector.select(timeout=min(0.2, max(deadline - time.monotonic(), 0))):
                    continue
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    run.ending = ""
                    break
                size += len(chunk)
                *lines, buffer = (buffer + chunk).split(b"\n")
                _parse(lines, run)
                if any(e.get("ev") == "done" for e in run.events):
                    run.ending = ""
                    break
        _parse([buffer], run)
    finally:
        _kill(proc)
        run.stderr_tail = _tail(stderr_path)
        shutil.rmtree(workdir, ignore_errors=True)
    if size >= MAX_OUTPUT_BYTES:
        run.ending = "sent more output than the grader accepts"
    elif not run.ending and not any(e.get("ev") == "done" for e in run.events):
        run.ending = f"the grading process ended early (exit code {proc.returncode})"
    return run


def _tail(path: Path, size: int = 600) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - size))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


def _kill(proc: subprocess.Popen) -> None:
    """End the harness and everything in its session (all of the sandbox, under bubblewrap)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
    proc.stdout.close()
