"""Figures measured once by a script and stored, for lessons that show more runs than they train.

`score_seeds.json` (written by scripts/sweep_scores.py): the score-function comparisons of lessons
02 and 06 repeated with eight seeds. `seed_runs` gives every run, `seed_summary` the mean and
range per score, `seed_table` both as text.
"""

from __future__ import annotations

import json
from pathlib import Path

SCORE_SEEDS_FILE = Path(__file__).with_name("score_seeds.json")


def seed_runs(recipe: str) -> dict[str, list[dict]]:
    """The stored runs of one recipe, ``{score: [one dict of figures per seed, by seed]}``."""
    runs = json.loads(SCORE_SEEDS_FILE.read_text())["runs"]
    if recipe not in runs:
        raise KeyError(f"no stored sweep for {recipe!r}; stored: {sorted(runs)}")
    return runs[recipe]


def seed_summary(recipe: str, metric: str, runs_by_score=None) -> dict[str, dict[str, float]]:
    """``{score: {"mean", "min", "max", "runs"}}`` of one metric over the stored seeds.

    ``runs_by_score`` (from ``seed_runs``) saves reading the file again.
    """
    summary = {}
    for score, runs in (runs_by_score or seed_runs(recipe)).items():
        values = [run[metric] for run in runs]
        summary[score] = {
            "mean": sum(values) / len(values),
            "min": min(values),
            "max": max(values),
            "runs": len(values),
        }
    return summary


# Columns of `seed_table`: heading -> (stored metric, format of one value)
_COLUMNS = {
    "exact match": ("exact_match", "{:.1%}"),
    "alignment accuracy": ("alignment_accuracy", "{:.1%}"),
    "mean peak weight": ("mean_peak_weight", "{:.2f}"),
}


def seed_table(recipe: str) -> str:
    """A text table of one recipe's sweep: per score, each metric as "mean (lowest-highest)"."""
    from course_lib.experiments import LUONG_SCORE_NAMES
    from course_lib.tables import text_table

    stored = seed_runs(recipe)
    summaries = {name: seed_summary(recipe, key, stored) for name, (key, _) in _COLUMNS.items()}
    scores = list(next(iter(summaries.values())))
    runs = summaries["exact match"][scores[0]]["runs"]
    rows = []
    for score in scores:
        cells = []
        for name, (_, fmt) in _COLUMNS.items():
            s = summaries[name][score]
            cells.append(f"{fmt.format(s['mean'])} ({fmt.format(s['min'])}-{fmt.format(s['max'])})")
        rows.append([LUONG_SCORE_NAMES.get(score, score), *cells])
    header = [f"score ({runs} seeds)", *_COLUMNS]
    return text_table(header, rows)
