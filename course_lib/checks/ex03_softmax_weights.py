"""Checks for exercise 03: from scores to attention weights, with and without padding."""

from __future__ import annotations

import torch

from ._core import Candidate, CheckFailed, compare, generator, lengths_mask, randn
from ._part import Part, pick, random_lengths, run_check, stress_sizes
from .mistakes import hint

WEIGHTS_SHAPE = "scores and weights are (batch, tgt_len, src_len)."


def not_normalised(weights: torch.Tensor) -> str | None:
    """Name the mistake when rows that should sum to one do not (a property, whatever the cause)."""
    sums = weights.detach().double().sum(-1)
    return "weights_not_normalised" if not torch.allclose(sums, torch.ones_like(sums)) else None


# Scores this large overflow exp() even in float64 (exp(710) is inf): only a softmax that
# subtracts each row's maximum first (the max trick of lesson 03) gets them right.
LARGE_SCORE = 1000.0


def _weights_examples():
    for seed, shape, offset in [(61, (2, 3, 5), 0.0), (62, (4, 2, 3), 0.0), (63, (3, 2, 4), 1.0)]:
        scores = randn(generator(seed), *shape) * 2  # (batch, tgt_len, src_len)
        yield (scores + offset * LARGE_SCORE,)


def naive_softmax(scores: torch.Tensor) -> torch.Tensor:
    """exp / row sum without the max trick: NaN (inf / inf) once exp() overflows."""
    return scores.exp() / scores.exp().sum(-1, keepdim=True)


def _weights_stress(gen: torch.Generator):
    # equal sizes catch an axis chosen by size; the offsets catch an exp() that over/underflows
    for shape, (scale, offset) in zip(
        stress_sizes(gen, 3), [(1e-3, 0.0), (3.0, LARGE_SCORE), (10.0, -40.0)], strict=True
    ):
        yield (randn(gen, *shape) * scale + offset,)


def _judge_weights(args, result) -> None:
    (scores,) = args
    candidates = [
        Candidate("softmax_wrong_axis", scores.softmax(dim=1)),
        Candidate("softmax_wrong_axis", scores.softmax(dim=0)),
        Candidate("softmax_overflow", naive_softmax(scores)),
        Candidate("weights_not_normalised", scores.exp()),
        Candidate("weights_not_normalised", scores / scores.sum(-1, keepdim=True)),
    ]
    compare(
        "attention_weights",
        "weights",
        result,
        scores.softmax(dim=-1),
        candidates,
        where="Take a softmax over the source positions (the last axis).",
        diagnose=not_normalised,
    )


ATTENTION_WEIGHTS = Part(
    "attention_weights",
    _weights_examples,
    _weights_stress,
    _judge_weights,
    on_error=WEIGHTS_SHAPE,
    reference=lambda scores: scores.softmax(dim=-1),
    grad_args=(0,),
)


def check_attention_weights(fn) -> None:
    """attention_weights(scores) -> softmax over the source positions, same shape as scores."""
    run_check(ATTENTION_WEIGHTS, fn)


def _mask_examples():
    return [(torch.tensor(lengths), src_len) for lengths, src_len in [([3, 5, 1], 6), ([2, 4], 4)]]


def _mask_stress(gen: torch.Generator):
    for batch, src_len in stress_sizes(gen, 2, high=9):
        yield torch.tensor(random_lengths(gen, batch, src_len)), src_len


def _judge_mask(args, result) -> None:
    lengths, src_len = args
    positions = torch.arange(src_len)[None, :]
    if isinstance(result, torch.Tensor) and result.dtype != torch.bool:
        raise CheckFailed(
            f"lengths_to_mask: the mask should be a bool tensor (True = real token), got "
            f"{result.dtype}; a comparison such as `positions < lengths` gives one."
        )
    compare(
        "lengths_to_mask",
        "mask",
        result,
        lengths_mask(lengths, src_len),
        [
            Candidate("mask_off_by_one", positions <= lengths[:, None]),
            Candidate("mask_inverted", positions >= lengths[:, None]),
        ],
        where="Row b is True at positions 0 .. lengths[b] - 1 and False after.",
    )


LENGTHS_TO_MASK = Part("lengths_to_mask", _mask_examples, _mask_stress, _judge_mask)


def check_lengths_to_mask(fn) -> None:
    """lengths_to_mask(lengths, src_len) -> bool (batch, src_len), True at real tokens."""
    run_check(LENGTHS_TO_MASK, fn)


def masked_reference(scores: torch.Tensor, mask: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Softmax over `dim` with padding (mask False, broadcast over target steps) set to -inf."""
    return scores.masked_fill(~mask[:, None, :], float("-inf")).softmax(dim=dim)


def masked_softmax_candidates(scores: torch.Tensor, mask: torch.Tensor) -> list[Candidate]:
    """What the classic masking mistakes produce on (batch, tgt_len, src_len) scores."""
    keep = mask[:, None, :]
    return [
        Candidate("padding_not_masked", scores.softmax(-1)),
        Candidate("mask_after_softmax", scores.softmax(-1) * keep),
        Candidate("softmax_wrong_axis", masked_reference(scores, mask, dim=1)),
        Candidate("softmax_wrong_axis", scores.softmax(1) * keep),
        Candidate("mask_inverted", scores.masked_fill(keep, float("-inf")).softmax(-1)),
        Candidate("mask_inverted", scores.softmax(-1) * ~keep),
        Candidate("weights_not_normalised", scores.exp() * keep),
    ]


MASKED_WHERE = "mask is bool (batch, src_len), True = real token; " + WEIGHTS_SHAPE


def _masked_examples():
    for seed, (batch, tgt_len, src_len), lengths in [
        (71, (2, 3, 5), [5, 3]),
        (72, (3, 4, 6), [2, 6, 4]),
    ]:
        yield randn(generator(seed), batch, tgt_len, src_len) * 2, lengths_mask(lengths, src_len)


def _masked_stress(gen: torch.Generator):
    # scores far below -1e4 catch a mask written as a large negative number instead of -inf
    # (the first case has equal sizes >= 2, so a row of length 1 is padded)
    for (batch, tgt_len, src_len), offset in zip(
        stress_sizes(gen, 3), [-2e4, 0.0, 30.0], strict=True
    ):
        scores = randn(gen, batch, tgt_len, src_len) * 3 + offset
        yield scores, lengths_mask(random_lengths(gen, batch, src_len), src_len)


def _judge_masked(args, result) -> None:
    scores, mask = args
    part = "masked_softmax"
    expected = masked_reference(scores, mask)
    compare(
        part, "weights", result, expected, masked_softmax_candidates(scores, mask), MASKED_WHERE
    )
    padded = result.detach()[~mask[:, None, :].expand_as(result)]
    if (padded != 0).any():  # within tolerance is not enough: padding must be exactly zero
        raise CheckFailed(
            f"{part}: padded positions get tiny but nonzero weights; fill them with -inf "
            "(not a large negative number added to the scores) so they get exactly 0."
        )


MASKED_SOFTMAX = Part(
    "masked_softmax",
    _masked_examples,
    _masked_stress,
    _judge_masked,
    on_error=MASKED_WHERE,
    reference=masked_reference,
    grad_args=(0,),
)


def check_masked_softmax(fn) -> None:
    """masked_softmax(scores, mask) -> weights; padding gets exactly 0, real positions sum to one."""
    run_check(MASKED_SOFTMAX, fn)


# ---- temperature and entropy --------------------------------------------------------------------


def temperature_reference(scores: torch.Tensor, temperature: float) -> torch.Tensor:
    return (scores / temperature).softmax(dim=-1)


def _temperature_examples():
    for seed, shape, temperature in [(81, (2, 3, 5), 0.5), (82, (3, 2, 4), 4.0)]:
        yield randn(generator(seed), *shape) * 2, temperature


def _temperature_stress(gen: torch.Generator):
    for shape, temperature in zip(stress_sizes(gen, 3), [0.1, 3.0, 0.7], strict=True):
        yield randn(gen, *shape) * 3, temperature


def _judge_temperature(args, result) -> None:
    scores, temperature = args
    compare(
        "temperature_weights",
        "weights",
        result,
        temperature_reference(scores, temperature),
        [
            Candidate("temperature_multiplied", (scores * temperature).softmax(-1)),
            Candidate("softmax_wrong_axis", (scores / temperature).softmax(1)),
            Candidate("temperature_after_softmax", scores.softmax(-1) / temperature),
        ],
        where="Divide the scores by T, then take the softmax over the last axis.",
        diagnose=not_normalised,
    )


TEMPERATURE_WEIGHTS = Part(
    "temperature_weights",
    _temperature_examples,
    _temperature_stress,
    _judge_temperature,
    on_error=WEIGHTS_SHAPE + " temperature is a positive float.",
    reference=temperature_reference,
    grad_args=(0,),
)


def check_temperature_weights(fn) -> None:
    """temperature_weights(scores, temperature) -> softmax(scores / T) over the source positions."""
    run_check(TEMPERATURE_WEIGHTS, fn)


def entropy_reference(weights: torch.Tensor) -> torch.Tensor:
    """-sum_k a_k log a_k over the last axis, with 0 log 0 = 0 (padding has weight exactly 0)."""
    return -torch.special.xlogy(weights, weights).sum(dim=-1)


def _entropy_examples():
    for seed, (batch, tgt_len, src_len), lengths in [
        (91, (2, 3, 5), [5, 2]),
        (92, (3, 2, 4), [1, 4, 3]),
    ]:
        scores = randn(generator(seed), batch, tgt_len, src_len) * 2
        yield (masked_reference(scores, lengths_mask(lengths, src_len)),)


def _entropy_stress(gen: torch.Generator):
    for (batch, tgt_len, src_len), scale in zip(
        stress_sizes(gen, 3), [0.01, 1.0, 30.0], strict=True
    ):
        mask = lengths_mask(random_lengths(gen, batch, src_len), src_len)
        yield (masked_reference(randn(gen, batch, tgt_len, src_len) * scale, mask),)


def _judge_entropy(args, result) -> None:
    (weights,) = args
    naive = -(weights * weights.log()).sum(-1)
    compare(
        "weights_entropy",
        "entropy",
        result,
        entropy_reference(weights),
        [
            Candidate("entropy_zero_weights_nan", naive),
            Candidate("entropy_sign", -entropy_reference(weights)),
            Candidate("softmax_wrong_axis", -torch.special.xlogy(weights, weights).sum(1)),
        ],
        where="weights are (batch, tgt_len, src_len); the entropy is (batch, tgt_len).",
    )


WEIGHTS_ENTROPY = Part(
    "weights_entropy",
    _entropy_examples,
    _entropy_stress,
    _judge_entropy,
    on_error="weights are (batch, tgt_len, src_len); return the entropy (batch, tgt_len).",
)


def check_weights_entropy(fn) -> None:
    """weights_entropy(weights) -> (batch, tgt_len): -sum a log a, padding (a = 0) adding 0."""
    run_check(WEIGHTS_ENTROPY, fn)


# ---- the empty row ----------------------------------------------------------------------------


def empty_rows_reference(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The masked softmax, with a row of nothing but padding all zeros instead of NaN."""
    weights = masked_reference(scores, mask)
    empty = ~mask.any(dim=-1)
    return weights.masked_fill(empty[:, None, None], 0.0)


def _empty_examples():
    for seed, (batch, tgt_len, src_len), lengths in [
        (101, (3, 2, 5), [4, 0, 5]),
        (102, (2, 3, 4), [0, 2]),
    ]:
        yield randn(generator(seed), batch, tgt_len, src_len) * 2, lengths_mask(lengths, src_len)


def _empty_stress(gen: torch.Generator):
    for (batch, tgt_len, src_len), offset in zip(
        stress_sizes(gen, 3), [-2e4, 0.0, 30.0], strict=True
    ):
        lengths = random_lengths(gen, batch, src_len)
        lengths[pick(gen, 0, batch - 1)] = 0  # at least one sentence of padding only
        yield randn(gen, batch, tgt_len, src_len) * 3 + offset, lengths_mask(lengths, src_len)


def _judge_empty(args, result) -> None:
    scores, mask = args
    part = "empty_row_softmax"
    with_nan = masked_reference(scores, mask)
    uniform = scores.masked_fill(~mask[:, None, :], -1e9).softmax(-1)
    compare(
        part,
        "weights",
        result,
        empty_rows_reference(scores, mask),
        [
            Candidate("empty_row_nan", with_nan),
            Candidate("empty_row_uniform", uniform),
            *masked_softmax_candidates(scores, mask),
        ],
        MASKED_WHERE,
    )
    padded = result.detach()[~mask[:, None, :].expand_as(result)]
    if (padded != 0).any():
        raise CheckFailed(f"{part}: {hint('empty_row_uniform')}", mistake="empty_row_uniform")


EMPTY_ROW_SOFTMAX = Part(
    "empty_row_softmax",
    _empty_examples,
    _empty_stress,
    _judge_empty,
    on_error=MASKED_WHERE,
)


def check_empty_row_softmax(fn) -> None:
    """empty_row_softmax(scores, mask) -> the masked softmax, all zeros where a row is all padding."""
    run_check(EMPTY_ROW_SOFTMAX, fn)
