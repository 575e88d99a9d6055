"""The stored seed sweep (course_lib/measured): complete, consistent, and summarised correctly."""

import json

import pytest

from course_lib import measured
from course_lib.measured import SCORE_SEEDS_FILE, seed_summary, seed_table

SCORES = ["dot", "general", "concat"]
METRICS = ["exact_match", "alignment_accuracy", "mean_peak_weight"]


def test_the_stored_sweep_covers_both_lessons_every_score_and_eight_seeds():
    runs = json.loads(SCORE_SEEDS_FILE.read_text())["runs"]
    assert sorted(runs) == ["lesson 02", "lesson 06"]
    for recipe, per_score in runs.items():
        assert list(per_score) == SCORES, recipe
        for score, seeds in per_score.items():
            assert [r["seed"] for r in seeds] == list(range(8)), (recipe, score)
            for r in seeds:
                assert all(0 < r[m] <= 1 for m in METRICS), (recipe, score, r)
                assert r["threads"] in (1, 2), (recipe, score, r)


def test_summary_is_mean_lowest_and_highest(tmp_path, monkeypatch):
    fake = {"runs": {"r": {"dot": [{"exact_match": v} for v in (0.9, 0.6, 0.75)]}}}
    path = tmp_path / "sweep.json"
    path.write_text(json.dumps(fake))
    monkeypatch.setattr(measured, "SCORE_SEEDS_FILE", path)
    s = seed_summary("r", "exact_match")["dot"]
    assert s == pytest.approx({"mean": 0.75, "min": 0.6, "max": 0.9, "runs": 3})
    with pytest.raises(KeyError, match="no stored sweep for 'other'"):
        seed_summary("other", "exact_match")


def test_the_table_shows_every_score_with_its_range():
    table = seed_table("lesson 02").splitlines()
    assert table[0].startswith("score (8 seeds)") and "alignment accuracy" in table[0]
    assert [line.split("  ")[0] for line in table[2:]] == [
        "dot",
        "bilinear (general)",
        "MLP (concat)",
    ]
    lowest = min(
        r["exact_match"]
        for r in json.loads(SCORE_SEEDS_FILE.read_text())["runs"]["lesson 02"]["dot"]
    )
    assert f"({lowest:.1%}-" in table[2]
