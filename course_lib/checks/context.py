"""Checks for exercise 04: the context vector and one whole attention step."""

from __future__ import annotations

import torch

from ._core import Candidate, call, compare, generator, lengths_mask, passed, randn, unpack
from .weights import masked_reference, masked_softmax_candidates, not_normalised


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


def check_context_vector(fn) -> None:
    """context_vector(weights, values) -> weighted sums of values, for one step or all steps."""
    part = "context_vector"
    where = (
        "weights are (batch, src_len) or (batch, tgt_len, src_len), values (batch, src_len, d_v); "
        "the context is (batch, d_v) or (batch, tgt_len, d_v)."
    )
    gen = generator(81)
    batch, tgt_len, src_len, d_v = 2, 3, 5, 4
    values = randn(gen, batch, src_len, d_v)
    for shape in [(batch, src_len), (batch, tgt_len, src_len)]:
        weights = _weights(gen, shape, [5, 3])
        result = call(part, fn, weights, values, on_error=where)
        aligned = values if len(shape) == 2 else values[:, None]  # broadcast over target steps
        expected = (weights[..., None] * aligned).sum(-2)
        compare(part, "context", result, expected, _context_candidates(weights, values), where)
    passed(part)


def check_attend(fn) -> None:
    """attend(query, keys, values, mask) -> (context, weights) with dot scores and masked softmax."""
    part = "attend"
    where = (
        "query (batch, tgt_len, d), keys (batch, src_len, d), values (batch, src_len, d_v), "
        "mask (batch, src_len); context (batch, tgt_len, d_v), weights (batch, tgt_len, src_len)."
    )
    for seed, (batch, tgt_len, src_len, d, d_v), lengths in [
        (91, (2, 3, 5, 4, 6), [5, 2]),
        (92, (3, 2, 4, 7, 3), [1, 4, 3]),
    ]:
        gen = generator(seed)
        query, keys = randn(gen, batch, tgt_len, d), randn(gen, batch, src_len, d)
        values = randn(gen, batch, src_len, d_v)
        mask = lengths_mask(lengths, src_len)
        result = call(part, fn, query, keys, values, mask, on_error=where)
        context, weights = unpack(part, result, ("context", "weights"))
        scores = query @ keys.transpose(1, 2)  # (batch, tgt_len, src_len)
        expected_weights = masked_reference(scores, mask)
        candidates = masked_softmax_candidates(scores, mask)
        candidates.append(Candidate("unwanted_scale", masked_reference(scores / d**0.5, mask)))
        compare(part, "weights", weights, expected_weights, candidates, where, not_normalised)
        expected_context = expected_weights @ values
        context_candidates = _context_candidates(expected_weights, values)
        context_candidates.append(Candidate("context_from_keys", expected_weights @ keys))
        compare(part, "context", context, expected_context, context_candidates, where)
    passed(part)
