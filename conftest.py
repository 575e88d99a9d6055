"""Settings shared by every pytest run of the course (unit tests, nbval, browser tests)."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time

# The number is course_lib.repro.THREADS (tests/test_environment.py checks they agree); written
# out here so the variable is set before anything imports torch.
os.environ.setdefault("OMP_NUM_THREADS", "2")
_STARTED = time.time()


def pytest_sessionfinish(session, exitstatus):
    """nbval leaves an nbval-ipython-* folder in the temp dir per run: remove the ones we made."""
    if hasattr(session.config, "workerinput"):
        return
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "nbval-ipython-*")):
        if os.path.getmtime(path) >= _STARTED - 1:
            shutil.rmtree(path, ignore_errors=True)
