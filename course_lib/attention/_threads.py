"""Small passes on one thread when the CPUs are busy: waking a second thread then costs more.

torch splits every pass over more than 32768 elements between its threads. A softmax over the
scores of a batch (64 x 50 x 50 = 160,000 floats) takes about 0.1 ms on one core; handing half of
it to a second thread saves 0.05 ms when that thread has a CPU to itself. When other programs
keep the CPUs busy, the first thread waits until the second one is scheduled again, often for
milliseconds, at every such pass. So: on a busy machine (1-minute load average above the CPU
count) passes over at most ONE_THREAD_MAX_ELEMENTS run on one thread; otherwise nothing changes.
The results are the same bits either way: every element, every softmax row, is computed alike.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

import torch

# Passes over at most this many elements (1 MiB of float32) run on one thread when busy.
ONE_THREAD_MAX_ELEMENTS = 2**18
# Below this torch runs a pass on one thread anyway (its grain size): nothing to decide.
TORCH_GRAIN = 32768
# The load average is read at most once per this many seconds.
LOAD_CHECK_SECONDS = 1.0

_last_check = {"at": float("-inf"), "busy": False}


def machine_busy() -> bool:
    """True when more threads want to run than there are CPUs (1-minute load average)."""
    now = time.monotonic()
    if now - _last_check["at"] >= LOAD_CHECK_SECONDS:
        try:
            load = os.getloadavg()[0]
        except (AttributeError, OSError):  # Windows has no load average
            load = 0.0
        _last_check.update(at=now, busy=load > (os.cpu_count() or 1))
    return _last_check["busy"]


@contextlib.contextmanager
def one_thread_if_small(numel: int) -> Iterator[None]:
    """Run the block on one thread if its passes are small and the machine is busy."""
    threads = torch.get_num_threads()
    small = TORCH_GRAIN < numel <= ONE_THREAD_MAX_ELEMENTS
    if threads == 1 or not small or not machine_busy():
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
