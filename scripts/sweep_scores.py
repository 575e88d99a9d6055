"""Train the score-function comparisons of lessons 02 and 06 with several seeds; store the figures.

One seed can rank three close models either way. This script repeats both lessons' comparisons
(the same data, sizes and budgets as the lessons; only the seed changes, which draws the initial
weights and the order of the batches) and writes every run's test figures to
course_lib/measured/score_seeds.json, which both lessons read to show the mean and the range.

Usage: python scripts/sweep_scores.py [--seeds 0 1 ... 7] [--add] [--jobs N] [--threads T]
  --add      keep the stored runs and add (or replace) the seeds given
  --jobs N   run N trainings side by side, each in its own process with --threads torch threads
One run takes 20-60 s with 2 idle threads; each run records the thread count it ran with (1 vs 2
threads changes the last bits of the trained weights, not the figures' spread). The stored file:
seeds 0-2 with 2 threads, then `--seeds 3 4 5 6 7 --add --jobs 2 --threads 1` (8 minutes on a
busy 2-core machine). `make sweep-scores` reruns all eight seeds, two runs at a time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import time
from functools import cache

import torch

from course_lib.evaluation import evaluate
from course_lib.experiments import TaskData, dates_data, mean_peak_weight, train_model
from course_lib.measured import SCORE_SEEDS_FILE
from course_lib.models import build_model
from course_lib.repro import THREADS
from course_lib.training import train

SCORES = ("dot", "general", "concat")


@cache
def _dates(n_test: int) -> TaskData:
    """The lessons' date data (the same split for every seed), built once per test-set size."""
    return dates_data(n_train=20_000, n_test=n_test, seed=0)


def lesson_02_run(score: str, seed: int) -> dict[str, float]:
    """Lesson 02's recipe: `train_model` for 650 steps at lr 5e-3 (cosine, bucketing), 1000 test dates."""
    data = _dates(1_000)
    run = train_model(
        score, data, 650, kind="luong", score=score, hidden=64, lr=5e-3, seed=seed, progress=False
    )
    return _figures(run.model, data)


def lesson_06_run(score: str, seed: int) -> dict[str, float]:
    """Lesson 05/06's recipe: 400 steps, lr 1e-2, cosine schedule, bucketing, 500 test dates."""
    data = _dates(500)
    model = build_model(
        "luong",
        len(data.src_vocab),
        len(data.tgt_vocab),
        emb=32,
        hidden=64,
        seed=seed,
        score=score,
    )
    recipe = dict(steps=400, lr=1e-2, batch_size=64, lr_schedule="cosine", bucket=True)
    train(model, data.train, data.src_vocab, data.tgt_vocab, seed=seed, progress=False, **recipe)
    return _figures(model, data)


def _figures(model, data: TaskData) -> dict[str, float]:
    result = evaluate(model, data.test, data.src_vocab, data.tgt_vocab)
    return {
        "exact_match": round(result["exact_match"], 4),
        "alignment_accuracy": round(result["alignment_accuracy"], 4),
        "mean_peak_weight": round(mean_peak_weight(model, data), 4),
    }


RECIPES = {"lesson 02": lesson_02_run, "lesson 06": lesson_06_run}


def _one_run(recipe: str, score: str, seed: int, threads: int) -> tuple[dict, float]:
    """One training of one recipe, in the calling process with ``threads`` torch threads."""
    torch.set_num_threads(threads)
    start = time.perf_counter()
    figures = RECIPES[recipe](score, seed)
    return {"seed": seed, "threads": threads, **figures}, time.perf_counter() - start


def _stored_runs() -> dict[str, dict[str, list[dict]]]:
    """The runs already in score_seeds.json, with the file's thread count on runs that lack one."""
    if not SCORE_SEEDS_FILE.exists():
        return {}
    record = json.loads(SCORE_SEEDS_FILE.read_text())
    for per_score in record["runs"].values():
        for runs in per_score.values():
            for run in runs:
                run.setdefault("threads", record.get("threads", THREADS))
    return record["runs"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(8)))
    parser.add_argument("--add", action="store_true", help="keep the stored runs")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=THREADS)
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    runs = _stored_runs() if args.add else {}
    tasks = [(r, s, seed) for r in RECIPES for s in SCORES for seed in args.seeds]
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no shared torch state
    with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=context) as pool:
        futures = {pool.submit(_one_run, *task, args.threads): task for task in tasks}
        for future in concurrent.futures.as_completed(futures):
            recipe, score, seed = futures[future]
            figures, seconds = future.result()
            print(f"{recipe} {score:>7} seed {seed}: {figures} ({seconds:.0f} s)", flush=True)
            kept = runs.setdefault(recipe, {}).setdefault(score, [])
            kept[:] = sorted([r for r in kept if r["seed"] != seed] + [figures], key=_seed)
    runs = {r: {s: runs[r][s] for s in SCORES} for r in RECIPES}  # the lessons' order
    record = {
        "made_by": "scripts/sweep_scores.py",
        "torch": torch.__version__,
        "machine": platform.machine(),
        "runs": runs,
    }
    SCORE_SEEDS_FILE.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {SCORE_SEEDS_FILE}")
    return 0


def _seed(run: dict) -> int:
    return run["seed"]


if __name__ == "__main__":
    raise SystemExit(main())
