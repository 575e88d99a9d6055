"""Figures measured once by a script and stored, for lessons that show more runs than they train.

`score_seeds.json` (written by scripts/sweep_scores.py): the score-function comparisons of lessons
02 and 06 repeated with several seeds. `seed_summary` turns it into mean and range per score.
"""

from __future__ import annotations

import json
from pathlib import Path

SCORE_SEEDS_FILE = Path(__file__).with_name("score_seeds.json")


def seed_summary(recipe: str, metric: str) -> dict[str, dict[str, float]]:
    """``{score: {"mean", "min", "max", "runs"}}`` of one metric over the stored seeds."""
    record = json.loads(SCORE_SEEDS_FILE.read_text())
    if recipe not in record["runs"]:
        raise KeyError(f"no stored sweep for {recipe!r}; stored: {sorted(record['runs'])}")
    summary = {}
    for score, runs in record["runs"][recipe].items():
        values = [run[metric] for run in runs]
        summary[score] = {
            "mean": sum(values) / len(values),
            "min": min(values),
            "max": max(values),
            "runs": len(values),
        }
    return summary
