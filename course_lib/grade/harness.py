"""The sandbox's main process: `python -I -m course_lib.grade.harness`, with the job on stdin.

It never runs the learner's code itself. For each part it forks a child (attempt.py) that runs
the notebook's code cells and calls the answer on the grader's cases, and it watches that child:
a child that runs past the part's time limit is killed; a child that dies or hangs inside a cell
marks that cell to be skipped, and the part is tried again without it, so `os._exit(0)` or an
endless loop in one cell costs only the part whose answer needs it. Events go to stdout as JSON
lines ({"ev": "part" | "skip" | "result" | "done", ...}); the grader reads them defensively.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import sys
import time

MAX_CHILD_BYTES = 8_000_000


def _preload(job: dict) -> None:
    """Import what the notebook's cells import, once here, so each forked child gets it free."""
    import torch

    torch.set_num_threads(1)  # tiny tensors; one thread also keeps fork() safe with OpenMP
    from .. import checks  # noqa: F401  (the setup cell imports it)

    if any("matplotlib" in cell["source"] for cell in job["cells"]):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot  # noqa: F401


def _watch(pid: int, read_fd: int, seconds: float) -> tuple[list[dict], str]:
    """Events from one child until it exits; the second item says how it ended ("" = normally)."""
    events, buffer, size = [], b"", 0
    deadline = time.monotonic() + seconds
    selector = selectors.DefaultSelector()
    selector.register(read_fd, selectors.EVENT_READ)
    ending, open_, done, status = "", True, 0, 0
    while True:
        if open_ and selector.select(timeout=0.05):
            chunk = os.read(read_fd, 65536)
            size += len(chunk)
            if not chunk:
                open_ = False
                selector.unregister(read_fd)
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue  # a line the answer printed onto the pipe: ignored
                if isinstance(event, dict):
                    events.append(event)
        if not done:  # reap once: a second waitpid on a reaped child raises ChildProcessError
            done, status = os.waitpid(pid, os.WNOHANG)
        if done and not open_:
            break
        if done and open_ and not selector.select(timeout=0.05):
            break  # exited, but a process it started still holds the pipe open
        if time.monotonic() > deadline or size > MAX_CHILD_BYTES:
            ending = "timeout" if size <= MAX_CHILD_BYTES else "too much output"
            if not done:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            break
    selector.close()
    os.close(read_fd)
    if not ending and done:
        if os.WIFSIGNALED(status):
            ending = f"killed by signal {os.WTERMSIG(status)}"
        elif os.WEXITSTATUS(status) != 0 or not any(e.get("ev") == "result" for e in events):
            ending = f"exited with code {os.WEXITSTATUS(status)}"
    return events, ending


def _try_part(out, job: dict, part: dict, skip: dict[str, str]) -> None:
    """Run one part in children until it reports, skipping each cell that kills or hangs them."""
    from .attempt import attempt

    for _ in range(len(job["cells"]) + 1):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: drop the grader's channel, then run the learner's code
            os.close(read_fd)
            os.close(out.fileno())
            attempt(write_fd, job, part, skip)
        os.close(write_fd)
        events, ending = _watch(pid, read_fd, job["part_timeout"])
        results = [e for e in events if e.get("ev") == "result" and e.get("part") == part["id"]]
        if results:  # the last one: the attempt writes it just before it exits
            _send(out, results[-1])
            return
        progress = [e for e in events if e.get("ev") in ("cell", "call")]
        last = progress[-1] if progress else {}
        cell = last.get("cell")
        if (
            last.get("ev") == "cell"
            and cell in {c["id"] for c in job["cells"]}
            and cell not in skip
        ):
            why = (
                "ran past the time limit"
                if ending == "timeout"
                else f"ended its process ({ending})"
            )
            skip[cell] = why
            _send(out, {"ev": "skip", "cell": cell, "why": why})
            continue
        error = {"type": "Timeout" if ending == "timeout" else "ProcessEnded", "message": ending}
        _send(out, {"ev": "result", "part": part["id"], "outcome": {"error": error}})
        return


def _send(out, event: dict) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


def main() -> None:
    job = json.loads(sys.stdin.buffer.read())
    devnull = os.open(os.devnull, os.O_RDWR)
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(devnull, 0)
    os.dup2(devnull, 1)  # stray prints (ours or a library's) stay off the channel
    _preload(job)
    skip = dict(job.get("skip", {}))
    for part in job["parts"]:
        _send(out, {"ev": "part", "part": part["id"]})
        _try_part(out, job, part, skip)
    _send(out, {"ev": "done"})


if __name__ == "__main__":
    main()
