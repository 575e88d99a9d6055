"""Seeding and thread count: the two things that make stored notebook outputs reproducible.

The thread count: summation order, and with it the last bits of every trained weight, changes
with the number of threads, so the runs that store and validate notebook outputs fix it
(``OMP_NUM_THREADS``, exported by the Makefile and the root conftest.py). A learner's run that
fixes nothing gets as many threads as the machine has free cores, at most ``THREADS``: on a busy
machine two threads of tiny matrix products wait for each other at every operation (an OpenMP
team finishes only when its slowest thread does, and a thread that lost its core to another
process holds the team up for the scheduler's whole time slice), so one thread is several times
faster there.
"""

from __future__ import annotations

import os
import random
import time

import numpy as np
import torch

# The course's one thread count, and the most it ever picks by itself. The Makefile and the root
# conftest.py export the same number as OMP_NUM_THREADS (tests/test_environment.py keeps them
# equal).
THREADS = 2
# COURSE_THREADS=N fixes the count and wins over OMP_NUM_THREADS; COURSE_THREADS=auto picks from
# the free cores even where OMP_NUM_THREADS is set (what `make lab` asks for).
ENV_VAR = "COURSE_THREADS"
SAMPLE_SECONDS = 0.1  # how long a first reading of the machine's load watches it
STALE_SECONDS = 60.0  # an older reading is not trusted: a fresh one is taken


def _positive_int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def explicit_threads() -> int | None:
    """The thread count fixed by the environment (COURSE_THREADS, then OMP_NUM_THREADS), or None.

    None means "choose from the free cores": neither is set, or COURSE_THREADS is "auto".
    """
    course = os.environ.get(ENV_VAR, "").strip().lower()
    if course == "auto":
        return None
    return _positive_int(course) or _positive_int(os.environ.get("OMP_NUM_THREADS"))


def _cores() -> set[int] | None:
    """The cores this process may run on (Linux), else None."""
    return set(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None


def _machine_busy_seconds() -> float | None:
    """CPU seconds used since boot, by all processes, on the cores this process may run on
    (Linux, /proc/stat), else None."""
    cores = _cores()
    busy = 0.0
    try:
        with open("/proc/stat") as stat:
            for line in stat:
                name, *fields = line.split()
                if not name.startswith("cpu") or name == "cpu":
                    continue
                if cores is not None and int(name[3:]) not in cores:
                    continue
                # user nice system idle iowait irq softirq steal: all but idle and iowait is busy
                ticks = [int(x) for x in fields[:8]]
                busy += sum(ticks) - ticks[3] - ticks[4]
    except (OSError, ValueError):
        return None
    return busy / os.sysconf("SC_CLK_TCK")


class _LoadMeter:
    """How many cores the rest of the machine used between two readings.

    The busy time of this process's cores (/proc/stat, in ticks of 10 ms) minus its own CPU time,
    per second of wall time: so a reading taken while this process trains sees only the others.
    Readings closer together than SAMPLE_SECONDS are too coarse; the last value stands instead.
    """

    def __init__(self):
        self.last: tuple[float, float, float] | None = None
        self.value: float | None = None

    def _read(self) -> tuple[float, float, float] | None:
        busy = _machine_busy_seconds()
        return None if busy is None else (time.monotonic(), busy, time.process_time())

    def others(self) -> float | None:
        """Cores busy with other processes since the last reading (a short one if none)."""
        now = self._read()
        if now is None:
            return None
        if self.last is None or now[0] - self.last[0] > STALE_SECONDS:
            self.last, self.value = now, None
        if now[0] - self.last[0] < SAMPLE_SECONDS:
            if self.value is not None:
                return self.value
            time.sleep(SAMPLE_SECONDS - (now[0] - self.last[0]))
            now = self._read()
        wall, busy, own = (a - b for a, b in zip(now, self.last, strict=True))
        self.last, self.value = now, max(0.0, busy - own) / wall
        return self.value


_METER = _LoadMeter()


def free_cores() -> float:
    """Cores this process may use that no other process is using now (an estimate)."""
    cores = _cores()
    count = len(cores) if cores else (os.cpu_count() or 1)
    others = _METER.others()
    if others is None and hasattr(os, "getloadavg"):  # macOS: the load average, a slower signal
        others = os.getloadavg()[0] - max(0, (os.cpu_count() or count) - count)
    return min(float(count), count - others) if others is not None else float(count)


def auto_threads(cap: int = THREADS) -> int:
    """1 to ``cap`` threads: the free cores, rounded down unless nearly a whole core is free."""
    return max(1, min(cap, int(free_cores() + 0.25)))


def course_threads() -> int:
    """The thread count the course runs with: the explicit setting if any, else chosen from the
    cores free right now (at most THREADS)."""
    return explicit_threads() or auto_threads()


def set_seed(seed: int = 0, threads: int | None = None) -> torch.Generator:
    """Seed Python, NumPy and torch, set torch's thread count, and return a seeded generator.

    ``threads=None`` takes ``course_threads()``: the fixed count where one is set (the course's
    own runs), else what the machine has free.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(threads if threads is not None else course_threads())
    return torch.Generator().manual_seed(seed)


def adapt_threads() -> int:
    """Re-choose torch's thread count from the free cores, unless it is fixed; returns it.

    For long training runs: load that arrives after ``set_seed`` otherwise finds two threads
    waiting for each other.
    """
    if explicit_threads() is None:
        threads = auto_threads()
        if threads != torch.get_num_threads():
            torch.set_num_threads(threads)
    return torch.get_num_threads()
