"""Seeding and thread count: the two things that make stored notebook outputs reproducible."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

# The course's one thread count. The Makefile and the root conftest.py export the same number
# as OMP_NUM_THREADS (tests/test_environment.py keeps them equal): summation order, and with it
# the last bits of every trained weight, changes with the number of threads.
THREADS = 2


def course_threads() -> int:
    """The thread count the course runs with: $OMP_NUM_THREADS if set, otherwise THREADS."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return int(value) if value.isdigit() and int(value) > 0 else THREADS


def set_seed(seed: int = 0, threads: int | None = None) -> torch.Generator:
    """Seed Python, NumPy and torch, fix torch's thread count, and return a seeded generator.

    One thread count for storing and for validating outputs matters: summation order changes
    with the number of threads, and with it the last bits of every trained weight.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads if threads is not None else course_threads())
    return torch.Generator().manual_seed(seed)
