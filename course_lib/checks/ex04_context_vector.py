"""Checks for exercise 04: the context vector and one whole attention step."""

from __future__ import annotations

import math

import torch

from ._core import Candidate, compare, generator, lengths_mask, randn, sum_rounding, unpack
from ._part import SCALES, Part, random_lengths, run_check, stress_sizes
from .ex03_softmax_weights import masked_reference, masked_softmax_candidates, not_normalised


def _weights(gen: torch.Generator, shape: tuple[int, ...], lengths: list[int]) -> torch.Tensor:
    """Valid attention weights: softmax rows with padding at exactly 0."""
    scores = randn(gen, *shape)
    mask = lengths_mask(lengths, shape[-1])
    if len(shape) == 3:
        mask = mask[:, None, :]
    return scores.masked_fill(~mask, float("-inf")).softmax(-1)


def _context_candidates(weights: torch.Tensor, values: torch.Tensor) -> list[Candidate]:
    """Contexts summed over each wrong axis, averaged, or built from the wrong tensor."""
    src_len = values.shape[1]
    if weights.dim() == 2:  # (batch, src_len)
        products = weights[..., None] * values  # (batch, src_len, d_v)
        wrong = [products.sum(-1), products.sum(0)]
        right = products.sum(1)
    else:  # (batch, tgt_len, src_len)
        products = weights[..., None] * values[:, None]  # (batch, tgt_len, src_len, d_v)
        wrong = [products.sum(1), products.sum(-1), products.sum(0)]
        right = products.sum(2)
    candidates = [Candidate("context_wrong_axis", value) for value in wrong]
    candidates.append(Candidate("context_mean", right / src_len))
    return candidates


CONTEXT_WHERE = (
    "weights are (batch, src_len) or (batch, tgt_len, src_len), values (batch, src_len, d_v); "
    "the context is (batch, d_v) or (batch, tgt_len, d_v)."
)


def _context(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    aligned = values if weights.dim() == 2 else values[:, None]  # broadcast over target steps
    return (weights[..., None] * aligned).sum(-2)


def _context_examples():
    gen = generator(81)
    batch, tgt_len, src_len, d_v = 2, 3, 5, 4
    values = randn(gen, batch, src_len, d_v)
    for shape in [(batch, src_len), (batch, tgt_len, src_len)]:
        yield _weights(gen, shape, [5, 3]), values


def _context_stress(gen: torch.Generator):
    for (batch, tgt_len, src_len, d_v), scale in zip(stress_sizes(gen, 4), SCALES, strict=True):
        values = randn(gen, batch, src_len, d_v) * scale
        lengths = random_lengths(gen, batch, src_len)
        for shape in [(batch, src_len), (batch, tgt_len, src_len)]:
            yield _weights(gen, shape, lengths), values


def _judge_context(args, result) -> None:
    weights, values = args
    candidates = _context_candidates(weights, values)
    rounding = sum_rounding(_context(weights.abs(), values.abs()), values.shape[1])
    compare("context_vector", "context", result, _context(weights, values), candidates,
            CONTEXT_WHERE, atol=rounding)  # fmt: skip


CONTEXT_VECTOR = Part(
    "context_vector",
    _context_examples,
    _context_stress,
    _judge_context,
    on_error=CONTEXT_WHERE,
    reference=_context,
    grad_args=(0, 1),
)


def check_context_vector(fn) -> None:
    """context_vector(weights, values) -> weighted sums of values, for one step or all steps."""
    run_check(CONTEXT_VECTOR, fn)


ATTEND_WHERE = (
    "query (batch, tgt_len, d), keys (batch, src_len, d), values (batch, src_len, d_v), "
    "mask (batch, src_len); context (batch, tgt_len, d_v), weights (batch, tgt_len, src_len)."
)


def _attend(query, keys, values, mask):
    weights = masked_reference(query @ keys.transpose(1, 2), mask)  # (batch, tgt_len, src_len)
    return weights @ values, weights


def attention_inputs(cases):
    """(query, keys, values, mask) for each (seed, (batch, tgt_len, src_len, d, d_v), lengths)."""
    for seed, (batch, tgt_len, src_len, d, d_v), lengths in cases:
        gen = generator(seed)
        query, keys = randn(gen, batch, tgt_len, d), randn(gen, batch, src_len, d)
        yield query, keys, randn(gen, batch, src_len, d_v), lengths_mask(lengths, src_len)


def attention_stress(gen: torch.Generator, min_d: int = 1):
    """Grader inputs for an attention step: stress sizes, queries at three magnitudes."""
    for (batch, tgt_len, src_len, d, d_v), scale in zip(
        stress_sizes(gen, 5), (1e-3, 1.0, 3.0), strict=True
    ):
        d = max(d, min_d)
        query, keys = randn(gen, batch, tgt_len, d) * scale, randn(gen, batch, src_len, d)
        mask = lengths_mask(random_lengths(gen, batch, src_len), src_len)
        yield query, keys, randn(gen, batch, src_len, d_v), mask


def context_rounding(weights, values, largest_score: float, score_terms: int) -> float:
    """Rounding a right float32 context can carry: its sums over the keys, plus each weight's
    relative error, about eps times the size of the scores (at most `largest_score`, each a sum
    of `score_terms` products). `weights` (batch, [tgt_len,] src_len), `values` (batch, src_len,
    d_v)."""
    terms = values.shape[1] + (score_terms + 2) * (1 + math.ceil(largest_score))
    return sum_rounding(_context(weights.abs(), values.abs()), terms)


def dot_score_bound(query, keys, scale: float = 1.0) -> float:
    """The largest |score| that `scale` times query . key can reach: scale * max |q| . |k|."""
    if query.numel() == 0 or keys.numel() == 0:
        return 0.0
    return scale * (query.abs() @ keys.abs().transpose(1, 2)).max().item()


def _attend_examples():
    return attention_inputs([(91, (2, 3, 5, 4, 6), [5, 2]), (92, (3, 2, 4, 7, 3), [1, 4, 3])])


def _judge_attend(args, result) -> None:
    query, keys, values, mask = args
    part = "attend"
    context, weights = unpack(part, result, ("context", "weights"))
    scores = query @ keys.transpose(1, 2)  # (batch, tgt_len, src_len)
    expected_context, expected_weights = _attend(query, keys, values, mask)
    candidates = masked_softmax_candidates(scores, mask)
    d = query.shape[-1]
    candidates.append(Candidate("unwanted_scale", masked_reference(scores / d**0.5, mask)))
    compare(part, "weights", weights, expected_weights, candidates, ATTEND_WHERE, not_normalised)
    context_candidates = _context_candidates(expected_weights, values)
    context_candidates.append(Candidate("context_from_keys", expected_weights @ keys))
    largest = dot_score_bound(query, keys)
    rounding = context_rounding(expected_weights, values, largest, query.shape[-1])
    compare(part, "context", context, expected_context, context_candidates, ATTEND_WHERE,
            atol=rounding)  # fmt: skip


ATTEND = Part(
    "attend",
    _attend_examples,
    attention_stress,
    _judge_attend,
    on_error=ATTEND_WHERE,
    reference=_attend,
    grad_args=(0, 1, 2),
    grad_outputs=(0, 1),
)


def check_attend(fn) -> None:
    """attend(query, keys, values, mask) -> (context, weights) with dot scores and masked softmax."""
    run_check(ATTEND, fn)
