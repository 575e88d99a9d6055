"""Train the score-function comparisons of lessons 02 and 06 with several seeds; store the figures.

One seed can rank three close models either way. This script repeats both lessons' comparisons
(the same data, sizes and budgets as the lessons; only the seed changes, which draws the initial
weights and the order of the batches) and writes every run's test figures to
course_lib/measured/score_seeds.json, which both lessons read to show the mean and the range.

Usage: python scripts/sweep_scores.py [--seeds 0 1 2]   (about 10 minutes on 2 idle cores)
"""

from __future__ import annotations

import argparse
import json
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(THREADS))
    torch.set_num_threads(THREADS)
    runs: dict[str, dict[str, list[dict]]] = {}
    for recipe, run_fn in RECIPES.items():
        runs[recipe] = {}
        for score in SCORES:
            runs[recipe][score] = []
            for seed in args.seeds:
                start = time.perf_counter()
                figures = run_fn(score, seed)
                runs[recipe][score].append({"seed": seed, **figures})
                print(
                    f"{recipe} {score:>7} seed {seed}: {figures} "
                    f"({time.perf_counter() - start:.0f} s)",
                    flush=True,
                )
    record = {
        "made_by": "scripts/sweep_scores.py",
        "torch": torch.__version__,
        "machine": platform.machine(),
        "threads": THREADS,
        "runs": runs,
    }
    SCORE_SEEDS_FILE.write_text(json.dumps(record, indent=1) + "\n")
    print(f"wrote {SCORE_SEEDS_FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
