"""Re-execute notebooks in place, cleanly: no timestamps, no machine paths, a fixed thread count.

Usage: python scripts/execute_notebooks.py notebooks/*.ipynb solutions/*.ipynb
Prints the wall time of each notebook, the figures quoted in the README's notebook table.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_lib.paths import COURSE_ROOT
from course_lib.repro import THREADS

# Output text that would differ between machines or runs, and what it becomes in the stored file.
VOLATILE = [
    (re.compile(r"/[^\s:'\"]*/ipykernel_\d+/\d+\.py"), "<cell-file>"),
    (re.compile(re.escape(str(COURSE_ROOT))), "<course>"),
]


def scrub_text(text: str) -> str:
    for pattern, replacement in VOLATILE:
        text = pattern.sub(replacement, text)
    return text


def scrub(nb: nbformat.NotebookNode) -> None:
    """Drop execution timestamps and machine paths that nbclient leaves behind."""
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = scrub_text(output["text"])
            if "traceback" in output:
                output["traceback"] = [scrub_text(line) for line in output["traceback"]]
            data = output.get("data", {})
            for key in ("text/plain", "text/html", "text/markdown"):
                if key in data:
                    value = data[key]
                    data[key] = scrub_text("".join(value) if isinstance(value, list) else value)


def execute(path: Path, timeout: int) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    scrub(nb)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    os.environ["COURSE_STRICT"] = "1"  # a stored notebook never holds a failed self-check

    print(f"threads: OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    for path in args.notebooks:
        elapsed = execute(path, args.timeout)
        print(f"{elapsed:7.1f} s  {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
