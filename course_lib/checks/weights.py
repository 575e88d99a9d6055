"""Checks for exercise 03: from scores to attention weights, with and without padding."""

from __future__ import annotations

import torch

from ._core import Candidate, CheckFailed, call, compare, generator, lengths_mask, passed, randn

WEIGHTS_SHAPE = "scores and weights are (batch, tgt_len, src_len)."


def not_normalised(weights: torch.Tensor) -> str | None:
    """Name the mistake when rows that should sum to one do not (a property, whatever the cause)."""
    sums = weights.detach().double().sum(-1)
    return "weights_not_normalised" if not torch.allclose(sums, torch.ones_like(sums)) else None


def check_attention_weights(fn) -> None:
    """attention_weights(scores) -> softmax over the source positions, same shape as scores."""
    part = "attention_weights"
    for seed, shape in [(61, (2, 3, 5)), (62, (4, 2, 3))]:
        scores = randn(generator(seed), *shape) * 2  # (batch, tgt_len, src_len)
        result = call(part, fn, scores, on_error=WEIGHTS_SHAPE)
        candidates = [
            Candidate("softmax_wrong_axis", scores.softmax(dim=1)),
            Candidate("softmax_wrong_axis", scores.softmax(dim=0)),
            Candidate("weights_not_normalised", scores.exp()),
            Candidate("weights_not_normalised", scores / scores.sum(-1, keepdim=True)),
        ]
        compare(
            part,
            "weights",
            result,
            scores.softmax(dim=-1),
            candidates,
            where="Take a softmax over the source positions (the last axis).",
            diagnose=not_normalised,
        )
    passed(part)


def check_lengths_to_mask(fn) -> None:
    """lengths_to_mask(lengths, src_len) -> bool (batch, src_len), True at real tokens."""
    part = "lengths_to_mask"
    for lengths, src_len in [([3, 5, 1], 6), ([2, 4], 4)]:
        lengths_t = torch.tensor(lengths)
        result = call(part, fn, lengths_t, src_len)
        positions = torch.arange(src_len)[None, :]
        if isinstance(result, torch.Tensor) and result.dtype != torch.bool:
            raise CheckFailed(
                f"{part}: the mask should be a bool tensor (True = real token), got {result.dtype}; "
                "a comparison such as `positions < lengths` gives one."
            )
        compare(
            part,
            "mask",
            result,
            lengths_mask(lengths, src_len),
            [
                Candidate("mask_off_by_one", positions <= lengths_t[:, None]),
                Candidate("mask_inverted", positions >= lengths_t[:, None]),
            ],
            where="Row b is True at positions 0 .. lengths[b] - 1 and False after.",
        )
    passed(part)


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


def check_masked_softmax(fn) -> None:
    """masked_softmax(scores, mask) -> weights; padding gets exactly 0, real positions sum to one."""
    part = "masked_softmax"
    where = "mask is bool (batch, src_len), True = real token; " + WEIGHTS_SHAPE
    for seed, (batch, tgt_len, src_len), lengths in [
        (71, (2, 3, 5), [5, 3]),
        (72, (3, 4, 6), [2, 6, 4]),
    ]:
        scores = randn(generator(seed), batch, tgt_len, src_len) * 2
        mask = lengths_mask(lengths, src_len)
        result = call(part, fn, scores, mask, on_error=where)
        expected = masked_reference(scores, mask)
        compare(part, "weights", result, expected, masked_softmax_candidates(scores, mask), where)
        padded = result.detach()[~mask[:, None, :].expand_as(result)]
        if (padded != 0).any():  # within tolerance is not enough: padding must be exactly zero
            raise CheckFailed(
                f"{part}: padded positions get tiny but nonzero weights; fill them with -inf "
                "(not a large negative number added to the scores) so they get exactly 0."
            )
    passed(part)
