"""Small passes on one thread: on a busy machine, waking a second thread costs more than it saves.

torch splits every pass over more than 32768 elements between its threads. A softmax over the
scores of a batch (64 x 50 x 50 = 160,000 floats) takes about 0.1 ms on one core; handing half of
it to a second thread saves 0.05 ms when that thread is idle, but when the CPUs are shared with
other work the first thread waits until the second one is scheduled again, often milliseconds.
Running such passes on one thread makes their time depend on the work, not on the neighbours.
The results do not change: every element (every softmax row) is computed the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

# Passes over at most this many elements (1 MiB of float32) run on one thread.
ONE_THREAD_MAX_ELEMENTS = 2**18


@contextlib.contextmanager
def one_thread_if_small(numel: int) -> Iterator[None]:
    """Run the block on one thread when it touches at most ONE_THREAD_MAX_ELEMENTS per pass."""
    threads = torch.get_num_threads()
    if threads == 1 or numel > ONE_THREAD_MAX_ELEMENTS:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
