"""Checks for exercise 02: the dot, scaled dot, bilinear and MLP score functions."""

from __future__ import annotations

import math

import torch

from ._core import Candidate, call, compare, generator, passed, randn

SHAPE_HINT = "query is (batch, d_q), keys (batch, src_len, d_k); the scores are (batch, src_len)."


def _dot(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bd,bsd->bs", query, keys)  # (batch, src_len)


def _dot_cases():
    """(query, keys) pairs whose dimensions all differ, in two layouts."""
    for seed, (batch, src_len, d) in [(31, (2, 5, 4)), (32, (3, 2, 6))]:
        gen = generator(seed)
        yield randn(gen, batch, d), randn(gen, batch, src_len, d)


def check_dot_score(fn) -> None:
    """dot_score(query, keys) -> (batch, src_len) with entries h · s_k."""
    part = "dot_score"
    for query, keys in _dot_cases():
        result = call(part, fn, query, keys, on_error=SHAPE_HINT)
        expected = _dot(query, keys)
        scaled = expected / math.sqrt(query.shape[-1])
        compare(part, "scores", result, expected, [Candidate("unwanted_scale", scaled)], SHAPE_HINT)
    passed(part)


def check_scaled_dot_score(fn) -> None:
    """scaled_dot_score(query, keys) -> (batch, src_len) with entries h · s_k / sqrt(d)."""
    part = "scaled_dot_score"
    for query, keys in _dot_cases():
        result = call(part, fn, query, keys, on_error=SHAPE_HINT)
        plain = _dot(query, keys)
        d = query.shape[-1]
        candidates = [Candidate("missing_scale", plain), Candidate("scaled_by_d", plain / d)]
        compare(part, "scores", result, plain / math.sqrt(d), candidates, SHAPE_HINT)
    passed(part)


def check_bilinear_score(fn) -> None:
    """bilinear_score(query, keys, weight) -> (batch, src_len) with entries h^T W s_k."""
    part = "bilinear_score"
    where = "Compute h^T W s_k for every key: weight is (d_q, d_k), " + SHAPE_HINT
    # a square, non-symmetric W first, so that using W.T runs and can be recognised
    for seed, (batch, src_len, d_q, d_k) in [(41, (2, 5, 4, 4)), (42, (3, 5, 4, 6))]:
        gen = generator(seed)
        query, keys = randn(gen, batch, d_q), randn(gen, batch, src_len, d_k)
        weight = randn(gen, d_q, d_k)
        result = call(part, fn, query, keys, weight, on_error=where)
        expected = torch.einsum("bi,ij,bsj->bs", query, weight, keys)
        candidates = []
        if d_q == d_k:
            transposed = torch.einsum("bi,ji,bsj->bs", query, weight, keys)
            candidates.append(Candidate("bilinear_transposed", transposed))
        compare(part, "scores", result, expected, candidates, where)
    passed(part)


def _mlp(query, keys, w1, w2, *, key_first=False, activation=torch.tanh):
    src_len = keys.shape[1]
    queries = query[:, None, :].expand(-1, src_len, -1)  # (batch, src_len, d_q)
    pair = torch.cat([keys, queries] if key_first else [queries, keys], dim=-1)
    hidden = activation(pair @ w1.T)  # (batch, src_len, d_attn)
    return hidden @ w2  # (batch, src_len)


def check_mlp_score(fn) -> None:
    """mlp_score(query, keys, w1, w2) -> (batch, src_len) with entries w2^T tanh(W1 [h; s_k])."""
    part = "mlp_score"
    where = "w1 is (d_attn, d_q + d_k) and w2 is (d_attn,); " + SHAPE_HINT
    for seed, (batch, src_len, d_q, d_k, d_attn) in [(51, (2, 5, 3, 4, 6)), (52, (3, 4, 5, 2, 7))]:
        gen = generator(seed)
        query, keys = randn(gen, batch, d_q), randn(gen, batch, src_len, d_k)
        w1, w2 = randn(gen, d_attn, d_q + d_k), randn(gen, d_attn)
        result = call(part, fn, query, keys, w1, w2, on_error=where)
        candidates = [
            Candidate("mlp_missing_tanh", _mlp(query, keys, w1, w2, activation=lambda x: x)),
            Candidate("mlp_concat_order", _mlp(query, keys, w1, w2, key_first=True)),
        ]
        compare(part, "scores", result, _mlp(query, keys, w1, w2), candidates, where)
    passed(part)
