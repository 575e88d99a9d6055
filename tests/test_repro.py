"""The thread count: an explicit setting always wins; otherwise the free cores, at most THREADS."""

from __future__ import annotations

import os

import pytest
import torch

from course_lib import repro


@pytest.fixture
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    "course,omp,expected",
    [
        (None, "2", 2),
        (None, "1", 1),
        ("3", "2", 3),  # the course's variable wins over OpenMP's
        ("auto", "2", None),  # "auto" asks for the free cores even where OpenMP's is set
        (None, None, None),
        (None, "zero", None),  # not a positive count: ignored
        ("0", None, None),
    ],
)
def test_explicit_threads_precedence(monkeypatch, course, omp, expected):
    for name, value in ((repro.ENV_VAR, course), ("OMP_NUM_THREADS", omp)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert repro.explicit_threads() == expected


@pytest.mark.parametrize(
    "free,expected", [(0.0, 1), (0.7, 1), (1.2, 1), (1.8, 2), (2.0, 2), (15.0, repro.THREADS)]
)
def test_auto_threads_follows_the_free_cores_within_bounds(monkeypatch, free, expected):
    monkeypatch.setattr(repro, "free_cores", lambda: free)
    assert repro.auto_threads() == expected


def test_explicit_count_wins_over_a_busy_machine(monkeypatch, restore_threads):
    monkeypatch.setattr(repro, "free_cores", lambda: 0.0)
    monkeypatch.delenv(repro.ENV_VAR, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    repro.set_seed(0)
    assert torch.get_num_threads() == 2
    assert repro.adapt_threads() == 2
    monkeypatch.setenv(repro.ENV_VAR, "auto")
    assert repro.adapt_threads() == 1


def test_unset_count_follows_the_machine(monkeypatch, restore_threads):
    monkeypatch.delenv(repro.ENV_VAR, raising=False)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    free = {"cores": 2.0}
    monkeypatch.setattr(repro, "free_cores", lambda: free["cores"])
    repro.set_seed(0)
    assert torch.get_num_threads() == 2
    free["cores"] = 0.9  # another process took a core
    assert repro.adapt_threads() == 1
    assert torch.get_num_threads() == 1


def test_load_meter_subtracts_this_process(monkeypatch):
    """Busy seconds of the machine minus our own CPU seconds, per wall second."""
    readings = iter([(0.0, 100.0, 5.0), (2.0, 103.0, 6.0), (2.01, 103.0, 6.0), (4.0, 107.0, 6.0)])
    meter = repro._LoadMeter()
    monkeypatch.setattr(meter, "_read", lambda: next(readings))
    monkeypatch.setattr(repro.time, "sleep", lambda s: None)
    # first reading: a short sample is taken; (3 busy - 1 own) / 2 s = 1 core used by others
    assert meter.others() == pytest.approx(1.0)
    assert meter.others() == pytest.approx(1.0)  # 10 ms later: too short, the last value stands
    assert meter.others() == pytest.approx(2.0)  # (4 busy - 0 own) / 2 s


def test_free_cores_never_exceeds_the_cores_this_process_may_use():
    assert repro.free_cores() <= len(os.sched_getaffinity(0))
