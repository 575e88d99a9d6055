"""Checks for exercise 07: scaled dot-product attention, heads, the causal mask, positions.

The references below are written here, independently of `course_lib.transformer`.
"""

from __future__ import annotations

import math

import torch

from ._core import Candidate, CheckFailed, compare, generator, randn, unpack
from ._part import Part, pick, run_check, stress_sizes
from .ex03_softmax_weights import masked_reference, masked_softmax_candidates, not_normalised
from .ex04_context_vector import (
    attention_inputs,
    attention_stress,
    context_rounding,
    dot_score_bound,
)

# --- Part 1: scaled dot-product attention with a padding mask ---------------------------------

SDPA_WHERE = (
    "q (batch, q_len, d_k), k (batch, k_len, d_k), v (batch, k_len, d_v), mask (batch, k_len) "
    "True = real key; output (batch, q_len, d_v), weights (batch, q_len, k_len)."
)


def _sdpa(q, k, v, mask):
    scores = q @ k.transpose(1, 2) / math.sqrt(q.shape[-1])  # (batch, q_len, k_len)
    weights = masked_reference(scores, mask)
    return weights @ v, weights


def _sdpa_examples():
    return attention_inputs([(171, (2, 3, 5, 4, 6), [5, 2]), (172, (3, 2, 4, 9, 3), [1, 4, 3])])


def _sdpa_stress(gen: torch.Generator):
    return attention_stress(gen, min_d=2)  # with d_k = 1 a missing scale would not show


def _judge_sdpa(args, result) -> None:
    q, k, v, mask = args
    part = "scaled_attention"
    output, weights = unpack(part, result, ("output", "weights"))
    raw = q @ k.transpose(1, 2)  # (batch, q_len, k_len)
    d_k = q.shape[-1]
    expected_out, expected_w = _sdpa(q, k, v, mask)
    candidates = masked_softmax_candidates(raw / math.sqrt(d_k), mask)
    candidates += [
        Candidate("missing_scale", masked_reference(raw, mask)),
        Candidate("scaled_by_d", masked_reference(raw / d_k, mask)),
    ]
    compare(part, "weights", weights, expected_w, candidates, SDPA_WHERE, not_normalised)
    largest = dot_score_bound(q, k, scale=1 / math.sqrt(d_k))
    rounding = context_rounding(expected_w, v, largest, d_k)
    compare(part, "output", output, expected_out,
            [Candidate("context_from_keys", expected_w @ k)] if k.shape == v.shape else [],
            SDPA_WHERE, atol=rounding)  # fmt: skip


SCALED_ATTENTION = Part(
    "scaled_attention",
    _sdpa_examples,
    _sdpa_stress,
    _judge_sdpa,
    on_error=SDPA_WHERE,
    reference=_sdpa,
    grad_args=(0, 1, 2),
    grad_outputs=(0, 1),
)


def check_scaled_attention(fn) -> None:
    """scaled_attention(q, k, v, mask) -> (output, weights): softmax(q k^T / sqrt(d_k)) v."""
    run_check(SCALED_ATTENTION, fn)


# --- Parts 2 and 3: splitting into heads and merging back -------------------------------------

SPLIT_WHERE = "x (batch, length, d_model) -> (batch, heads, length, d_model // heads)."
MERGE_WHERE = "x (batch, heads, length, d_head) -> (batch, length, heads * d_head)."


def _split(x, heads):
    batch, length, d_model = x.shape
    return x.reshape(batch, length, heads, d_model // heads).permute(0, 2, 1, 3)


def _merge(x):
    batch, heads, length, d_head = x.shape
    return x.permute(0, 2, 1, 3).reshape(batch, length, heads * d_head)


def _split_examples():
    gen = generator(173)
    yield randn(gen, 2, 3, 12), 4  # d_head 3: every size differs
    yield randn(gen, 3, 5, 8), 2


def _split_stress(gen: torch.Generator):
    for batch, length, heads, d_head in stress_sizes(gen, 4, high=5):
        yield randn(gen, batch, length, heads * d_head), heads


def _judge_split(args, result) -> None:
    x, heads = args
    batch, length, d_model = x.shape
    wrong = x.reshape(batch, heads, length, d_model // heads)  # cuts the sequence, not the vectors
    compare("split_heads", "heads", result, _split(x, heads),
            [Candidate("split_without_transpose", wrong)], SPLIT_WHERE)  # fmt: skip


SPLIT_HEADS = Part(
    "split_heads",
    _split_examples,
    _split_stress,
    _judge_split,
    on_error=SPLIT_WHERE,
    reference=_split,
    grad_args=(0,),
)


def check_split_heads(fn) -> None:
    """split_heads(x, heads) -> (batch, heads, length, d_head), head h = features h*d_head..."""
    run_check(SPLIT_HEADS, fn)


def _merge_examples():
    gen = generator(174)
    yield (randn(gen, 2, 4, 3, 5),)  # (batch, heads, length, d_head)
    yield (randn(gen, 3, 2, 5, 4),)


def _merge_stress(gen: torch.Generator):
    for shape in stress_sizes(gen, 4, high=5):
        yield (randn(gen, *shape),)


def _judge_merge(args, result) -> None:
    (x,) = args
    batch, heads, length, d_head = x.shape
    wrong = x.reshape(batch, length, heads * d_head)  # no transpose back
    compare("merge_heads", "merged", result, _merge(x),
            [Candidate("merge_without_transpose", wrong)], MERGE_WHERE)  # fmt: skip


MERGE_HEADS = Part(
    "merge_heads",
    _merge_examples,
    _merge_stress,
    _judge_merge,
    on_error=MERGE_WHERE,
    reference=_merge,
    grad_args=(0,),
)


def check_merge_heads(fn) -> None:
    """merge_heads(x) -> (batch, length, heads * d_head), undoing split_heads."""
    run_check(MERGE_HEADS, fn)


# --- Part 4: the causal mask ------------------------------------------------------------------

CAUSAL_WHERE = "causal_mask(length) is bool (length, length), True where query t may see key j."


def _causal_examples():
    return [(5,), (3,)]


def _causal_stress(gen: torch.Generator):
    return [(1,), (2,), (pick(gen, 3, 9),)]


def _judge_causal(args, result) -> None:
    (length,) = args
    ones = torch.ones(length, length, dtype=torch.bool)
    if isinstance(result, torch.Tensor) and result.dtype != torch.bool:
        raise CheckFailed(
            f"causal_mask: the mask should be a bool tensor (True = may look), got {result.dtype}."
        )
    compare(
        "causal_mask",
        "mask",
        result,
        ones.tril(),
        [
            Candidate("causal_hides_diagonal", ones.tril(-1)),
            Candidate("causal_upper_triangle", ones.triu()),
            Candidate("causal_upper_triangle", ones.triu(1)),
        ],
        CAUSAL_WHERE,
    )


CAUSAL_MASK = Part("causal_mask", _causal_examples, _causal_stress, _judge_causal)


def check_causal_mask(fn) -> None:
    """causal_mask(length) -> bool (length, length), True at key j <= query t."""
    run_check(CAUSAL_MASK, fn)


# --- Part 5: sinusoidal positional encodings ---------------------------------------------------

PE_WHERE = (
    "positional_encoding(length, d_model) is (length, d_model): column 2i = sin(p / "
    "10000^(2i/d_model)), column 2i+1 = cos of the same angle."
)


def _angles(length: int, d_model: int, exponent_step: int = 2, base: float = 10000.0):
    pos = torch.arange(length, dtype=torch.float64)[:, None]
    pair = torch.arange(d_model // 2, dtype=torch.float64)
    return pos / base ** (exponent_step * pair / d_model)  # (length, d_model / 2)


def _interleave(first, second):
    return torch.stack([first, second], dim=-1).flatten(1)


def _pe(length: int, d_model: int) -> torch.Tensor:
    angles = _angles(length, d_model)
    return _interleave(angles.sin(), angles.cos())


def _pe_examples():
    return [(7, 6), (3, 10)]


def _pe_stress(gen: torch.Generator):
    return [(1, 2), (pick(gen, 4, 8), 4), (pick(gen, 20, 60), 2 * pick(gen, 3, 8))]


def _judge_pe(args, result) -> None:
    length, d_model = args
    angles = _angles(length, d_model)
    slow = _angles(length, d_model, exponent_step=1)
    compare(
        "positional_encoding",
        "encoding",
        result,
        _pe(length, d_model),
        [
            Candidate("pe_sin_cos_swapped", _interleave(angles.cos(), angles.sin())),
            Candidate("pe_not_interleaved", torch.cat([angles.sin(), angles.cos()], dim=-1)),
            Candidate("pe_wrong_frequency", _interleave(slow.sin(), slow.cos())),
            Candidate("pe_wrong_frequency", _interleave(*_pair(_angles(length, d_model, 2, 1e3)))),
        ],
        PE_WHERE,
    )


def _pair(angles):
    return angles.sin(), angles.cos()


POSITIONAL_ENCODING = Part("positional_encoding", _pe_examples, _pe_stress, _judge_pe)


def check_positional_encoding(fn) -> None:
    """positional_encoding(length, d_model) -> (length, d_model) sinusoidal positions."""
    run_check(POSITIONAL_ENCODING, fn)
