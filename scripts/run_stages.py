"""Run every test stage (a make target each), even after one fails; report each; fail at the end.

Used by `make test`: python scripts/run_stages.py lint test-unit test-notebooks ...
The list of stages lives in the Makefile (TEST_STAGES). Exit code 1 if any stage failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def run_stage(target: str) -> tuple[int, float]:
    """`make <target>` with this process's output; returns its exit code and seconds taken."""
    print(f"\n===== make {target} =====", flush=True)
    start = time.monotonic()
    code = subprocess.call([os.environ.get("MAKE", "make"), "--no-print-directory", target])
    return code, time.monotonic() - start


def summary(results: list[tuple[str, int, float]]) -> str:
    width = max(len(name) for name, _, _ in results)
    lines = ["", "===== test stages ====="]
    for name, code, seconds in results:
        verdict = "passed" if code == 0 else f"FAILED (exit {code})"
        lines.append(f"{name:<{width}}  {verdict:<16} {seconds:7.1f} s")
    failed = sum(1 for _, code, _ in results if code != 0)
    total = sum(seconds for _, _, seconds in results)
    lines.append(f"{len(results) - failed} of {len(results)} stages passed in {total:.1f} s")
    return "\n".join(lines)


def main(targets: list[str]) -> int:
    if not targets:
        print("usage: python scripts/run_stages.py TARGET...", file=sys.stderr)
        return 2
    results = [(target, *run_stage(target)) for target in targets]
    print(summary(results), flush=True)
    return 1 if any(code != 0 for _, code, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
