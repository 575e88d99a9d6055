"""The experiments of lessons 01-02, budgeted in steps so that stored results reproduce.

Lesson 01 trains three models on the copy task and measures exact match by source length (the
shape of Bahdanau et al.'s Figure 2, https://arxiv.org/abs/1409.0473). Lesson 02 trains one Luong
model per score function on the dates task and tabulates what Luong et al.'s Table 4 reports
(https://arxiv.org/abs/1508.04025), plus alignment accuracy. Steps, not seconds: the same seed and
thread count give the same numbers on any machine; only the timings differ.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from course_lib import metrics
from course_lib.data import Vocab, build_vocabs, make_batch, make_copy_task, split_dates
from course_lib.data.vocab import PAD
from course_lib.evaluation import evaluate, perplexity, predict, teacher_forced
from course_lib.models import Seq2Seq, build_model
from course_lib.search import eval_mode
from course_lib.training import train

# Length bins of the bottleneck curve: 1-5, 6-10, ..., 46-50 (inclusive).
COPY_BINS: tuple[tuple[int, int], ...] = tuple((lo, lo + 4) for lo in range(1, 51, 5))

# The three models of lesson 01. They share the encoder (one-directional GRU, same sizes): the
# only differences are the order the encoder reads and whether the decoder attends.
BOTTLENECK_MODELS: dict[str, dict[str, Any]] = {
    "no attention": {"kind": "none"},
    "no attention, source reversed": {"kind": "none", "reverse_source": True},
    "attention (Luong, general)": {"kind": "luong", "score": "general"},
}

# Luong et al.'s names for the three scores of the lecture.
LUONG_SCORE_NAMES = {"dot": "dot", "general": "bilinear (general)", "concat": "MLP (concat)"}


@dataclass
class TaskData:
    """A training set, a test set and the vocabularies built from the training set."""

    train: list
    test: list
    src_vocab: Vocab
    tgt_vocab: Vocab


@dataclass
class Run:
    """One trained model with its training history (``training.train``'s dict)."""

    name: str
    model: Seq2Seq
    history: dict[str, Any]

    @property
    def train_seconds(self) -> float:
        return float(self.history["train_seconds"])


def copy_data(
    n_train: int = 20_000,
    n_test: int = 1_000,
    max_len: int = 50,
    n_symbols: int = 10,
    seed: int = 0,
) -> TaskData:
    """Copy task with source lengths uniform in 1..max_len; train and test from different seeds."""
    train_set = make_copy_task(n_train, 1, max_len, n_symbols=n_symbols, seed=seed)
    test_set = make_copy_task(n_test, 1, max_len, n_symbols=n_symbols, seed=seed + 1)
    return TaskData(train_set, test_set, *build_vocabs(train_set))


def dates_data(n_train: int = 20_000, n_test: int = 1_000, seed: int = 0) -> TaskData:
    """Dates in EN/FR/DE to ISO; no test source string appears in training."""
    train_set, test_set = split_dates(n_train, n_test, seed=seed)
    return TaskData(train_set, test_set, *build_vocabs(train_set))


def count_parameters(module: torch.nn.Module) -> int:
    """Number of trainable numbers in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def train_model(
    name: str,
    data: TaskData,
    steps: int,
    *,
    emb: int = 32,
    hidden: int = 128,
    lr: float = 3e-3,
    batch_size: int = 64,
    seed: int = 0,
    progress: bool = True,
    **model_kwargs: Any,
) -> Run:
    """Build a model (``build_model`` kwargs) and train it for ``steps`` Adam steps.

    A cosine learning-rate schedule and length bucketing: both make a short budget go further.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    model = build_model(
        src_vocab_size=len(data.src_vocab),
        tgt_vocab_size=len(data.tgt_vocab),
        emb=emb,
        hidden=hidden,
        seed=seed,
        **model_kwargs,
    )
    if progress:
        print(f"{name}: {count_parameters(model):,} parameters, {steps} steps", flush=True)
    history = train(
        model,
        data.train,
        data.src_vocab,
        data.tgt_vocab,
        steps=steps,
        lr=lr,
        batch_size=batch_size,
        seed=seed,
        progress=progress,
        lr_schedule="cosine",
        bucket=True,
    )
    return Run(name, model, history)


def bottleneck_experiment(
    data: TaskData,
    steps: int = 600,
    models: Mapping[str, Mapping[str, Any]] = BOTTLENECK_MODELS,
    bins: Sequence[tuple[int, int]] = COPY_BINS,
    **train_kwargs: Any,
) -> tuple[dict[str, Run], dict[str, dict[str, float]]]:
    """Train each model of ``models`` for ``steps`` steps; return the runs and their curves:
    greedy exact match on the test set per source-length bin, ``{"lo-hi": accuracy}``."""
    runs, curves = {}, {}
    for name, config in models.items():
        runs[name] = train_model(name, data, steps, **config, **train_kwargs)
        predictions = predict(runs[name].model, data.test, data.src_vocab, data.tgt_vocab)
        references = [list(ex.tgt) for ex in data.test]
        lengths = [len(ex.src) for ex in data.test]
        curves[name] = metrics.accuracy_by_length(predictions, references, lengths, bins)
    return runs, curves


def score_parameters(model: Seq2Seq) -> int:
    """Parameters of the attention score alone (0 for dot)."""
    return count_parameters(model.decoder.score)


def score_comparison(
    data: TaskData,
    scores: Sequence[str] = ("dot", "general", "concat"),
    steps: int = 1_000,
    **train_kwargs: Any,
) -> tuple[dict[str, Run], dict[str, dict[str, float]]]:
    """One Luong model per score (same seed, data and budget); test metrics for each.

    Rows hold: score parameters, model parameters, test perplexity, exact match, token accuracy
    and alignment accuracy (share of target characters whose strongest weight falls in their
    gold source span).
    """
    runs, rows = {}, {}
    for score in scores:
        name = LUONG_SCORE_NAMES.get(score, score)
        run = train_model(name, data, steps, kind="luong", score=score, **train_kwargs)
        result = evaluate(run.model, data.test, data.src_vocab, data.tgt_vocab)
        runs[score] = run
        rows[score] = {
            "score params": score_parameters(run.model),
            "model params": count_parameters(run.model),
            "perplexity": perplexity(run.model, data.test, data.src_vocab, data.tgt_vocab),
            "exact match": result["exact_match"],
            "token accuracy": result["token_accuracy"],
            "alignment accuracy": result["alignment_accuracy"],
        }
    return runs, rows


def teacher_forced_attention(model: Seq2Seq, example: Any, data: TaskData):
    """Weights ``(tgt_len + 1, src_len)`` for one example's reference target (EOS row last).

    Returns ``(weights, src_tokens, tgt_tokens)`` ready for ``plots.plot_attention``.
    """
    batch = make_batch([example], data.src_vocab, data.tgt_vocab)
    with eval_mode(model):
        _, weights = model(batch.src, batch.src_lengths, batch.tgt_in)  # (1, tgt_len, src_len)
    if weights is None:
        raise ValueError("this model has no attention: there are no weights to show")
    return weights[0], list(example.src), [*example.tgt, "<eos>"]


def mean_peak_weight(model: Seq2Seq, data: TaskData) -> float:
    """Average, over the test set's target tokens (EOS included), of the largest attention weight.

    1.0 means every step looks at exactly one source token; lower means blends.
    """
    total, count = 0.0, 0
    for batch, _, weights in teacher_forced(model, data.test, data.src_vocab, data.tgt_vocab):
        real = batch.tgt_out != PAD  # (batch, tgt_len)
        total += float(weights.amax(dim=-1)[real].sum())  # weights: (batch, tgt_len, src_len)
        count += int(real.sum())
    return total / count


def accuracy_by_position(
    model: Seq2Seq, data: TaskData, min_len: int, max_len: int, positions: int
) -> list[float]:
    """Share of test outputs right at target position i (0-based, i < ``positions``), over the
    test examples whose source length lies in ``[min_len, max_len]``."""
    chosen = [ex for ex in data.test if min_len <= len(ex.src) <= max_len]
    if not chosen or positions > min_len:
        raise ValueError(
            f"need test examples of length {min_len}..{max_len} and positions <= min_len"
        )
    predictions = predict(model, chosen, data.src_vocab, data.tgt_vocab)
    return [
        sum(len(p) > i and p[i] == ex.tgt[i] for p, ex in zip(predictions, chosen, strict=True))
        / len(chosen)
        for i in range(positions)
    ]
