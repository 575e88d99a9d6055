"""The harness's watch over one forked attempt, without a sandbox or a notebook."""

import json
import os
import time

from course_lib.grade.harness import _watch


def _child_that_reports_and_exits(exit_code: int = 0) -> tuple[int, int]:
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        os.write(write_fd, (json.dumps({"ev": "result", "part": "p"}) + "\n").encode())
        os._exit(exit_code)
    os.close(write_fd)
    return pid, read_fd


def test_a_child_that_exited_before_the_watch_is_reaped_once():
    # On a busy machine the child writes its result and exits before the harness looks: the
    # watch then reads the result, reaps the child, and must not reap it again when it reads EOF
    # (a second waitpid raised ChildProcessError and ended the whole harness with exit code 1).
    pid, read_fd = _child_that_reports_and_exits()
    time.sleep(0.3)
    events, ending = _watch(pid, read_fd, seconds=10)
    assert ending == ""
    assert events == [{"ev": "result", "part": "p"}]


def test_a_nonzero_exit_is_reported():
    pid, read_fd = _child_that_reports_and_exits(exit_code=3)
    time.sleep(0.3)
    _, ending = _watch(pid, read_fd, seconds=10)
    assert ending == "exited with code 3"


def test_a_child_that_hangs_is_killed_at_the_deadline():
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        time.sleep(60)
        os._exit(0)
    os.close(write_fd)
    started = time.monotonic()
    events, ending = _watch(pid, read_fd, seconds=0.5)
    assert (events, ending) == ([], "timeout")
    assert time.monotonic() - started < 30
