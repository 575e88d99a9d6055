"""Settings shared by every pytest run of the course (unit tests, nbval, browser tests)."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

# The number is course_lib.repro.THREADS (tests/test_environment.py checks they agree); written
# out here so the variable is set before anything imports torch.
os.environ.setdefault("OMP_NUM_THREADS", "2")
# COURSE_THREADS (course_lib.repro) would win over OMP_NUM_THREADS; `auto` is for learners
# (make lab), never for the runs that check stored outputs.
os.environ.pop("COURSE_THREADS", None)
# The lessons' self-checks (course_lib/claims.py) fail a cell in the course's own runs; for a
# learner they only print a note. nbval's kernels inherit this.
os.environ["COURSE_STRICT"] = "1"
_PRIVATE_TMP = pytest.StashKey[tuple[str, str | None]]()


def pytest_configure(config):
    """Give this run a private temp dir, inherited by nbval's kernels and every subprocess.

    nbval leaves an nbval-ipython-* folder per run in the temp dir; with a private one, the
    cleanup below removes what this run made and nothing of another run on the same machine.
    """
    if hasattr(config, "workerinput"):  # xdist workers inherit the controller's TMPDIR
        return
    private = tempfile.mkdtemp(prefix="course-pytest-")
    config.stash[_PRIVATE_TMP] = (private, os.environ.get("TMPDIR"))
    os.environ["TMPDIR"] = private
    tempfile.tempdir = private


def pytest_unconfigure(config):
    if _PRIVATE_TMP not in config.stash:
        return
    private, previous = config.stash[_PRIVATE_TMP]
    if previous is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = previous
    tempfile.tempdir = None
    shutil.rmtree(private, ignore_errors=True)
