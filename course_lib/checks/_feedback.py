"""How a failed check looks in a notebook: a few sentences, never the checks' own code.

IPython asks an exception for `_render_traceback_()` before printing a traceback; CheckFailed
answers with `render_failure`: the part's message, and, when the learner's own function raised,
that error's traceback trimmed to the frames of notebook cells (course_lib and torch left out).
"""

from __future__ import annotations

import linecache
import re
import textwrap
import traceback
from types import TracebackType

WIDTH = 100
RED, BOLD, RESET = "\x1b[31m", "\x1b[1m", "\x1b[0m"
# where IPython puts a cell's code: ipykernel's /tmp/ipykernel_<pid>/<hash>.py, IPython's own
# <ipython-input-N-hash>; used when no running shell can tell (a plain interpreter).
CELL_FILE = re.compile(r"(ipykernel_\d+[/\\]\d+\.py$)|(^<ipython-input-)")


def _shell_compiler():
    try:
        from IPython import get_ipython
    except ImportError:  # checks also run without IPython (the grader, plain pytest)
        return None
    shell = get_ipython()
    return getattr(shell, "compile", None)


def cell_label(filename: str) -> str | None:
    """'Cell In[5]' for a notebook cell's code, None for any other file."""
    compiler = _shell_compiler()
    names = getattr(compiler, "_filename_map", {}) if compiler is not None else {}
    if filename in names:
        return f"Cell In[{names[filename]}]"
    return "Cell" if CELL_FILE.search(filename) else None


def learner_frames(tb: TracebackType | None) -> list[str]:
    """The frames of `tb` that run notebook cells, formatted as a short traceback."""
    lines = []
    for frame, lineno in traceback.walk_tb(tb):
        label = cell_label(frame.f_code.co_filename)
        if label is None:
            continue
        lines.append(f"  {label}, line {lineno}, in {frame.f_code.co_name}")
        code = linecache.getline(frame.f_code.co_filename, lineno).strip()
        if code:
            lines.append(f"    {code}")
    return lines


def wrap(message: str, width: int = WIDTH) -> list[str]:
    return textwrap.wrap(message, width, subsequent_indent="  ") or [message]


def render_failure(message: str, mark: str = "✗", cause: BaseException | None = None) -> list[str]:
    """The lines a learner sees for a failed check (what IPython prints instead of a traceback)."""
    first, *rest = wrap(f"{mark} {message}")
    lines = [f"{RED}{BOLD}{first}{RESET}", *rest]
    if cause is not None:
        frames = learner_frames(cause.__traceback__)
        if frames:
            lines += ["", "Where your code raised it:", *frames]
            lines.append(f"{RED}{type(cause).__name__}: {cause}{RESET}")
    return lines
