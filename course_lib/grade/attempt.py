"""One part's attempt, in a forked child inside the sandbox: run the answer cells, call the answer.

This is the only place where the learner's code runs. It writes JSON lines to a pipe read by the
harness: {"ev": "cell", "cell": id} before each cell, {"ev": "call"} before the answer is called,
then {"ev": "result", ...} with the outputs as plain data (see wire.py). Nothing here decides a
grade: the learner's code can change anything in this process, and the grader judges the data
it gets back in its own process.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal

import torch

from . import wire

MAGIC = re.compile(r"^(\s*)[%!]")


class TimeUp(BaseException):
    """Raised by the alarm; a BaseException so that `except Exception` in an answer misses it."""


def _on_alarm(signum, frame):
    raise TimeUp


def _limited(seconds: float, fn, *args):
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return fn(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _out_of_memory(err: BaseException) -> bool:
    """Python's MemoryError, or torch's allocator refusing (it raises RuntimeError)."""
    return isinstance(err, MemoryError) or (
        isinstance(err, RuntimeError) and "can't allocate memory" in str(err)
    )


def _error(err: BaseException) -> dict:
    kind = "TimeUp" if isinstance(err, TimeUp) else type(err).__name__
    if _out_of_memory(err):
        kind = "MemoryLimit"
    return {"type": str(kind)[:60], "message": str(err).splitlines()[0][:300] if str(err) else ""}


def _source(cell_source: str) -> str:
    """IPython magics and shell lines (`%timeit`, `!ls`) become `pass` in plain Python."""
    return "\n".join(
        MAGIC.sub(r"\1pass  # ", line) if MAGIC.match(line) else line
        for line in cell_source.splitlines()
    )


def run_cells(send, job: dict, skip: dict[str, str], namespace: dict) -> dict[str, str]:
    """Execute the notebook's code cells in order; returns {cell id: its error, one line}."""
    errors = {}
    for cell in job["cells"]:
        if cell["id"] in skip:
            continue
        send({"ev": "cell", "cell": cell["id"]})
        try:
            code = compile(_source(cell["source"]), f"<cell {cell['id']}>", "exec")
            _limited(job["cell_timeout"], exec, code, namespace)
        except BaseException as err:  # every failure of a learner's cell, reported, not fatal
            errors[cell["id"]] = _error(err)
    return errors


def _float_args(args: list, positions: list[int]) -> list[torch.Tensor]:
    leaves = []
    for i in positions:
        if isinstance(args[i], torch.Tensor) and args[i].is_floating_point():
            args[i] = args[i].detach().requires_grad_(True)
            leaves.append(args[i])
    return leaves


def _gradients(fn, case: dict, part: dict, seconds: float) -> dict:
    """Gradients of sum(output * cotangent) with respect to the part's float arguments."""
    args = [wire.decode(a, modules=True) for a in case["args"]]
    leaves = _float_args(args, part["grad_args"])
    try:
        result = _limited(seconds, fn, *args)
        outputs = (
            [result] if part["grad_outputs"] is None else [result[j] for j in part["grad_outputs"]]
        )
        cotangents = [wire.decode(c) for c in case["cot"]]
        terms = [
            (out * cot).sum()
            for out, cot in zip(outputs, cotangents, strict=True)
            if isinstance(out, torch.Tensor) and out.shape == cot.shape and out.requires_grad
        ]
        if not terms:
            return {"grad_error": "no_grad"}
        grads = torch.autograd.grad(sum(terms), leaves, allow_unused=True)
        return {"grads": [None if g is None else wire.encode(g) for g in grads]}
    except BaseException as err:  # the learner's code failed on the second call
        return {"grad_error": f"{_error(err)['type']}: {_error(err)['message']}"}


def run_case(fn, case: dict, part: dict, seconds: float) -> dict:
    """Call the answer on one case: its result, its arguments afterwards, and its gradients."""
    args = [wire.decode(a, modules=True) for a in case["args"]]
    try:
        result = _limited(seconds, fn, *args)
        out = {"result": wire.encode(result)}
        out["after"] = [wire.encode(a) if isinstance(a, torch.Tensor) else None for a in args]
    except BaseException as err:  # NotImplementedError, a bug, KeyboardInterrupt, TimeUp...
        return {"error": _error(err)}
    if case.get("cot") is not None:
        out.update(_gradients(fn, case, part, seconds))
    return out


def _mapped_bytes() -> int:
    """The address space this process already maps (torch and the preloaded modules)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def limit_memory(extra_bytes: int | None) -> None:
    """Cap this process's address space at what it maps now plus `extra_bytes` (RLIMIT_AS).

    Measured from what is mapped after the fork, so the limit holds whatever torch build (a CUDA
    build maps gigabytes of address space at import) the harness preloaded. Soft and hard limit
    alike: the learner's code cannot raise it again. An allocation past it fails at once with
    MemoryError (or torch's RuntimeError), before a page is touched.
    """
    if extra_bytes is None or not hasattr(resource, "RLIMIT_AS"):
        return
    cap = _mapped_bytes() + int(extra_bytes)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def attempt(write_fd: int, job: dict, part: dict, skip: dict[str, str]) -> None:
    """The child's whole life: cells, then every case of one part; never returns."""
    limit_memory(job.get("memory_bytes"))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):  # the answer's prints must not reach any channel
        os.dup2(devnull, fd)
    channel = os.fdopen(write_fd, "w", encoding="utf-8")

    def send(event: dict) -> None:
        channel.write(json.dumps(event) + "\n")
        channel.flush()

    namespace = {"__name__": "__main__", "display": lambda *a, **k: None}
    try:
        errors = run_cells(send, job, skip, namespace)
        send({"ev": "call"})
        fn = namespace.get(part["function"])
        if not callable(fn):
            outcome = {"error": {"type": "Missing", "message": part["function"]}}
        else:
            seconds = job["cell_timeout"]
            outcome = {"cases": [run_case(fn, case, part, seconds) for case in part["cases"]]}
        send({"ev": "result", "part": part["id"], "cell_errors": errors, "outcome": outcome})
    except BaseException as err:  # the answer broke the channel or this code: report, then exit
        try:
            send({"ev": "result", "part": part["id"], "outcome": {"error": _error(err)}})
        except BaseException:
            pass
    os._exit(0)
