"""Checks for exercise 03: from scores to attention weights, with and without padding."""

from __future__ import annotations

import torch

from ._core import Candidate, CheckFailed, compare, generator, lengths_mask, randn
from ._part import Part, random_lengths, run_check, stress_sizes

WEIGHTS_SHAPE = "scores and weights are (batch, tgt_len, src_len)."


def not_normalised(weights: torch.Tensor) -> str | None:
    """Name the mistake when rows that should sum to one do not (a property, whatever the cause)."""
    sums = weights.detach().double().sum(-1)
    return "weights_not_normalised" if not torch.allclose(sums, torch.ones_like(sums)) else None


def _weights_examples():
    for seed, shape in [(61, (2, 3, 5)), (62, (4, 2, 3))]:
        yield (randn(generator(seed), *shape) * 2,)  # (batch, tgt_len, src_len)


def _weights_stress(gen: torch.Generator):
    # equal sizes catch an axis chosen by size; the offsets catch an exp() that over/underflows
    for shape, (scale, offset) in zip(
        stress_sizes(gen, 3), [(1e-3, 0.0), (3.0, 40.0), (10.0, -40.0)], strict=True
    ):
        yield (randn(gen, *shape) * scale + offset,)


def _judge_weights(args, result) -> None:
    (scores,) = args
    candidates = [
        Candidate("softmax_wrong_axis", scores.softmax(dim=1)),
        Candidate("softmax_wrong_axis", scores.softmax(dim=0)),
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
