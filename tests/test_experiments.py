"""The experiment plumbing of lessons 01-02: data splits, budgets, metrics and tables."""

from __future__ import annotations

import pytest
import torch

from course_lib import experiments as ex

TINY = {"emb": 4, "hidden": 8, "batch_size": 4, "progress": False}


@pytest.fixture(scope="module")
def copy():
    return ex.copy_data(n_train=24, n_test=12, max_len=6, n_symbols=5, seed=3)


@pytest.fixture(scope="module")
def dates():
    return ex.dates_data(n_train=30, n_test=6, seed=1)


def test_copy_data_lengths_vocab_and_separate_seeds(copy):
    assert len(copy.train) == 24 and len(copy.test) == 12
    assert all(1 <= len(e.src) <= 6 and e.tgt == e.src for e in copy.train + copy.test)
    assert copy.src_vocab.itos[4:] == list("01234")  # 4 specials, then the symbols
    assert [e.src for e in copy.train[:12]] != [e.src for e in copy.test]


def test_dates_data_keeps_test_sources_out_of_training(dates):
    train_sources = {e.src_text for e in dates.train}
    assert not any(e.src_text in train_sources for e in dates.test)
    assert all(len(e.tgt) == 10 for e in dates.test)


def test_count_parameters_counts_weights_and_biases():
    assert ex.count_parameters(torch.nn.Linear(3, 4)) == 3 * 4 + 4
    frozen = torch.nn.Linear(3, 4).requires_grad_(False)
    assert ex.count_parameters(frozen) == 0


def test_train_model_runs_the_step_budget_reproducibly(copy):
    a = ex.train_model("a", copy, 3, kind="luong", **TINY)
    b = ex.train_model("b", copy, 3, kind="luong", **TINY)
    assert a.history["steps"] == 3 and a.history["stopped_by"] == "steps"
    assert a.history["loss"] == b.history["loss"]  # same seed, same threads
    assert a.train_seconds >= 0.0


@pytest.mark.parametrize("steps", [0, -1, 2.5, True])
def test_train_model_rejects_a_bad_budget(copy, steps):
    with pytest.raises(ValueError, match="steps must be a positive int"):
        ex.train_model("x", copy, steps, kind="none", **TINY)


def test_bottleneck_curve_of_a_perfect_predictor_is_one(copy, monkeypatch):
    monkeypatch.setattr(ex, "predict", lambda model, examples, *a, **k: [e.tgt for e in examples])
    bins = [(1, 3), (4, 6), (7, 9)]
    _, curves = ex.bottleneck_experiment(copy, 1, {"m": {"kind": "none"}}, bins, **TINY)
    assert curves["m"] == {"1-3": 1.0, "4-6": 1.0}  # the empty bin 7-9 is left out


def test_accuracy_by_position_counts_each_position(copy, monkeypatch):
    def first_wrong(model, examples, *a, **k):
        return [["x"] + list(e.tgt[1:]) for e in examples]

    monkeypatch.setattr(ex, "predict", first_wrong)
    assert ex.accuracy_by_position(None, copy, 2, 6, 2) == [0.0, 1.0]
    with pytest.raises(ValueError, match="positions <= min_len"):
        ex.accuracy_by_position(None, copy, 2, 6, 3)


def test_bottleneck_experiment_returns_a_curve_per_model(copy):
    models = {"plain": {"kind": "none"}, "attending": {"kind": "luong"}}
    runs, curves = ex.bottleneck_experiment(copy, steps=2, models=models, bins=[(1, 6)], **TINY)
    assert list(runs) == list(curves) == ["plain", "attending"]
    assert all(0.0 <= c["1-6"] <= 1.0 for c in curves.values())


def test_score_comparison_rows_and_score_parameter_counts(dates):
    runs, rows = ex.score_comparison(dates, steps=2, **TINY)
    assert list(rows) == ["dot", "general", "concat"]
    d = TINY["hidden"]
    assert [r["score params"] for r in rows.values()] == [0, d * d, d * 2 * d + d]
    for row in rows.values():
        assert row["perplexity"] >= 1.0
        for key in ("exact match", "token accuracy", "alignment accuracy"):
            assert 0.0 <= row[key] <= 1.0
    peak = ex.mean_peak_weight(runs["dot"].model, dates)  # a uniform row has peak 1/src_len
    assert 1 / max(len(e.src) for e in dates.test) - 1e-6 <= peak <= 1.0 + 1e-6


def test_teacher_forced_attention_gives_one_row_per_target_token(dates):
    run = ex.train_model("t", dates, 1, kind="luong", **TINY)
    example = dates.test[0]
    weights, src, tgt = ex.teacher_forced_attention(run.model, example, dates)
    assert weights.shape == (len(example.tgt) + 1, len(example.src))
    assert tgt[-1] == "<eos>" and src == list(example.src)
    torch.testing.assert_close(weights.sum(-1), torch.ones(len(tgt)))
    plain = ex.train_model("n", dates, 1, kind="none", **TINY)
    with pytest.raises(ValueError, match="no attention"):
        ex.teacher_forced_attention(plain.model, example, dates)
