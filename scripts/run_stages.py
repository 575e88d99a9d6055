"""Run every test stage (a make target each), even after one fails; report each; fail at the end.

Used by `make test`. Each argument is a lane: one stage, or several joined by commas, which run
one after the other. Lanes run side by side, so a stage that mostly waits (pip downloading, a
browser loading pages) overlaps one that computes:

    python scripts/run_stages.py lint,test-unit test-notebooks,test-portability test-wheel

``--jobs N`` runs at most N lanes at once: the lanes wait in a queue, in the order given, and
each one starts as soon as a running one ends, so listing the longest stages first keeps the
cores busy until the end (fixed lanes of unequal length leave a core idle while the longest
finishes). Without it every lane starts at once.

``--favour STAGE`` (repeatable) runs every other stage under ``nice``: the favoured one (the
browser tests, which wait on a kernel and a page in turn and stretch most when starved) gets a
core whenever it can use one, and the others take the rest.

A stage's output goes to build/stages/<stage>.log (under the current directory) and is printed
whole when the stage ends, so lanes never interleave their lines. Exit code 1 if any stage
failed. ``--serial`` runs the lanes one after the other (``--jobs 1``: for a machine with one
core, or to read the output as it comes).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

LOG_DIR = Path("build") / "stages"  # relative to where make runs: the repository root
_print_lock = threading.Lock()


NICE = 10  # what a stage that is not favoured runs under (see --favour)


def run_stage(target: str, log_dir: Path = LOG_DIR, nice: int = 0) -> tuple[int, float]:
    """`make <target>` with its output in a log file; returns its exit code and seconds taken."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"{target}.log"
    start = time.monotonic()
    prefix = ["nice", "-n", str(nice)] if nice else []
    with log.open("w") as out:
        code = subprocess.call(
            [*prefix, os.environ.get("MAKE", "make"), "--no-print-directory", target],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    seconds = time.monotonic() - start
    with _print_lock:
        verdict = "passed" if code == 0 else f"FAILED (exit {code})"
        print(f"\n===== make {target}: {verdict} in {seconds:.1f} s =====", flush=True)
        print(log.read_text(errors="replace"), end="", flush=True)
    return code, seconds


def run_lane(
    stages: list[str], log_dir: Path = LOG_DIR, favoured: frozenset[str] | None = None
) -> list[tuple[str, int, float]]:
    """The stages of one lane in order, each run whatever the one before it gave."""
    results = []
    for stage in stages:
        nice = NICE if favoured and stage not in favoured else 0
        results.append((stage, *run_stage(stage, log_dir, nice)))
    return results


def summary(results: list[tuple[str, int, float]], wall: float) -> str:
    width = max(len(name) for name, _, _ in results)
    lines = ["", "===== test stages ====="]
    for name, code, seconds in results:
        verdict = "passed" if code == 0 else f"FAILED (exit {code})"
        lines.append(f"{name:<{width}}  {verdict:<16} {seconds:7.1f} s")
    failed = sum(1 for _, code, _ in results if code != 0)
    total = sum(seconds for _, _, seconds in results)
    lines.append(
        f"{len(results) - failed} of {len(results)} stages passed: {total:.1f} s of stages "
        f"in {wall:.1f} s of wall time"
    )
    return "\n".join(lines)


def parse_lanes(args: list[str]) -> list[list[str]]:
    lanes = [[stage for stage in arg.split(",") if stage] for arg in args]
    return [lane for lane in lanes if lane]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lanes", nargs="*", help="stage[,stage...] per lane")
    parser.add_argument("--serial", action="store_true", help="run the lanes one by one")
    parser.add_argument("--jobs", type=int, default=0, help="lanes at once (0: all of them)")
    parser.add_argument(
        "--favour", action="append", default=[], help="run the other stages under nice"
    )
    args = parser.parse_args(argv)
    lanes = parse_lanes(args.lanes)
    if not lanes:
        parser.print_usage(sys.stderr)
        return 2
    start = time.monotonic()
    workers = 1 if args.serial else min(args.jobs, len(lanes)) if args.jobs > 0 else len(lanes)
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        favoured = frozenset(args.favour)
        per_lane = list(pool.map(lambda lane: run_lane(lane, LOG_DIR, favoured), lanes))
    results = [result for lane in per_lane for result in lane]
    print(summary(results, time.monotonic() - start), flush=True)
    return 1 if any(code != 0 for _, code, _ in results) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
