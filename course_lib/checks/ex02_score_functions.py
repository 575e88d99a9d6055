"""Checks for exercise 02: the dot, scaled dot, bilinear and MLP score functions."""

from __future__ import annotations

import math

import torch

from ._core import Candidate, compare, generator, randn, sum_rounding
from ._part import SCALES, Part, run_check, stress_sizes

SHAPE_HINT = "query is (batch, d_q), keys (batch, src_len, d_k); the scores are (batch, src_len)."


def _dot(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    return torch.einsum("bd,bsd->bs", query, keys)  # (batch, src_len)


def _scaled_dot(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    return _dot(query, keys) / math.sqrt(query.shape[-1])


def _dot_examples():
    """(query, keys) pairs whose dimensions all differ, in two layouts."""
    for seed, (batch, src_len, d) in [(31, (2, 5, 4)), (32, (3, 2, 6))]:
        gen = generator(seed)
        yield randn(gen, batch, d), randn(gen, batch, src_len, d)


def _dot_stress(gen: torch.Generator):
    for (batch, src_len, d), scale in zip(stress_sizes(gen, 3), SCALES, strict=True):
        yield randn(gen, batch, d) * scale, randn(gen, batch, src_len, d)


def _judge_dot(args, result) -> None:
    query, keys = args
    expected = _dot(query, keys)
    scaled = expected / math.sqrt(query.shape[-1])
    rounding = sum_rounding(_dot(query.abs(), keys.abs()), query.shape[-1])
    compare("dot_score", "scores", result, expected, [Candidate("unwanted_scale", scaled)],
            SHAPE_HINT, atol=rounding)  # fmt: skip


DOT_SCORE = Part(
    "dot_score",
    _dot_examples,
    _dot_stress,
    _judge_dot,
    on_error=SHAPE_HINT,
    reference=_dot,
    grad_args=(0, 1),
)


def check_dot_score(fn) -> None:
    """dot_score(query, keys) -> (batch, src_len) with entries h · s_k."""
    run_check(DOT_SCORE, fn)


def _judge_scaled_dot(args, result) -> None:
    query, keys = args
    plain = _dot(query, keys)
    d = query.shape[-1]
    candidates = [Candidate("missing_scale", plain), Candidate("scaled_by_d", plain / d)]
    rounding = sum_rounding(_scaled_dot(query.abs(), keys.abs()), d + 1)
    compare("scaled_dot_score", "scores", result, plain / math.sqrt(d), candidates, SHAPE_HINT,
            atol=rounding)  # fmt: skip


SCALED_DOT_SCORE = Part(
    "scaled_dot_score",
    _dot_examples,
    _dot_stress,
    _judge_scaled_dot,
    on_error=SHAPE_HINT,
    reference=_scaled_dot,
    grad_args=(0, 1),
)


def check_scaled_dot_score(fn) -> None:
    """scaled_dot_score(query, keys) -> (batch, src_len) with entries h · s_k / sqrt(d)."""
    run_check(SCALED_DOT_SCORE, fn)


BILINEAR_WHERE = "Compute h^T W s_k for every key: weight is (d_q, d_k), " + SHAPE_HINT


def _bilinear(query, keys, weight):
    return torch.einsum("bi,ij,bsj->bs", query, weight, keys)


def _bilinear_examples():
    # a square, non-symmetric W first, so that using W.T runs and can be recognised
    for seed, (batch, src_len, d_q, d_k) in [(41, (2, 5, 4, 4)), (42, (3, 5, 4, 6))]:
        gen = generator(seed)
        yield randn(gen, batch, d_q), randn(gen, batch, src_len, d_k), randn(gen, d_q, d_k)


def _bilinear_stress(gen: torch.Generator):
    for (batch, src_len, d_q, d_k), scale in zip(stress_sizes(gen, 4), SCALES, strict=True):
        query, keys = randn(gen, batch, d_q), randn(gen, batch, src_len, d_k) * scale
        yield query, keys, randn(gen, d_q, d_k)


def _judge_bilinear(args, result) -> None:
    query, keys, weight = args
    candidates = []
    if weight.shape[0] == weight.shape[1]:
        transposed = torch.einsum("bi,ji,bsj->bs", query, weight, keys)
        candidates.append(Candidate("bilinear_transposed", transposed))
    compare(
        "bilinear_score",
        "scores",
        result,
        _bilinear(query, keys, weight),
        candidates,
        BILINEAR_WHERE,
        atol=sum_rounding(_bilinear(query.abs(), keys.abs(), weight.abs()), sum(weight.shape)),
    )


BILINEAR_SCORE = Part(
    "bilinear_score",
    _bilinear_examples,
    _bilinear_stress,
    _judge_bilinear,
    on_error=BILINEAR_WHERE,
    reference=_bilinear,
    grad_args=(0, 1, 2),
)


def check_bilinear_score(fn) -> None:
    """bilinear_score(query, keys, weight) -> (batch, src_len) with entries h^T W s_k."""
    run_check(BILINEAR_SCORE, fn)


MLP_WHERE = "w1 is (d_attn, d_q + d_k) and w2 is (d_attn,); " + SHAPE_HINT


def _mlp(query, keys, w1, w2, *, key_first=False, activation=torch.tanh):
    src_len = keys.shape[1]
    queries = query[:, None, :].expand(-1, src_len, -1)  # (batch, src_len, d_q)
    pair = torch.cat([keys, queries] if key_first else [queries, keys], dim=-1)
    hidden = activation(pair @ w1.T)  # (batch, src_len, d_attn)
    return hidden @ w2  # (batch, src_len)


def _mlp_inputs(gen, batch, src_len, d_q, d_k, d_attn, scale=1.0):
    query, keys = randn(gen, batch, d_q) * scale, randn(gen, batch, src_len, d_k)
    return query, keys, randn(gen, d_attn, d_q + d_k), randn(gen, d_attn)


def _mlp_examples():
    for seed, sizes in [(51, (2, 5, 3, 4, 6)), (52, (3, 4, 5, 2, 7))]:
        yield _mlp_inputs(generator(seed), *sizes)


def _mlp_stress(gen: torch.Generator):
    # tanh saturates on huge inputs, so the largest scale here is 10, not 1e3
    for sizes, scale in zip(stress_sizes(gen, 5), (1e-3, 1.0, 10.0), strict=True):
        yield _mlp_inputs(gen, *sizes, scale=scale)


def _judge_mlp(args, result) -> None:
    query, keys, w1, w2 = args
    candidates = [
        Candidate("mlp_missing_tanh", _mlp(query, keys, w1, w2, activation=lambda x: x)),
        Candidate("mlp_concat_order", _mlp(query, keys, w1, w2, key_first=True)),
    ]
    # tanh is 1-Lipschitz, so the hidden sums' rounding reaches the scores at most times |w2|
    magnitude = _mlp(query.abs(), keys.abs(), w1.abs(), w2.abs(), activation=lambda x: x)
    rounding = sum_rounding(magnitude + w2.abs().sum(), sum(w1.shape) + 1)
    compare("mlp_score", "scores", result, _mlp(query, keys, w1, w2), candidates, MLP_WHERE,
            atol=rounding)  # fmt: skip


MLP_SCORE = Part(
    "mlp_score",
    _mlp_examples,
    _mlp_stress,
    _judge_mlp,
    on_error=MLP_WHERE,
    reference=_mlp,
    grad_args=(0, 1, 2, 3),
)


def check_mlp_score(fn) -> None:
    """mlp_score(query, keys, w1, w2) -> (batch, src_len) with entries w2^T tanh(W1 [h; s_k])."""
    run_check(MLP_SCORE, fn)
