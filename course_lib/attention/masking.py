"""From scores to attention weights: padding masks and a softmax that never attends to padding."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ._threads import one_thread_if_small
from ._validate import check_float, shape_str


def lengths_to_mask(lengths: torch.Tensor | Sequence[int], src_len: int) -> torch.Tensor:
    """Turn source lengths ``(batch,)`` into a bool mask ``(batch, src_len)``, True = real token."""
    fn = "lengths_to_mask"
    if not isinstance(lengths, torch.Tensor):
        lengths = torch.as_tensor(lengths)
    if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
        raise TypeError(
            f"{fn}: lengths must be an integer tensor (torch.long), got {lengths.dtype}"
        )
    if lengths.dim() != 1:
        raise ValueError(f"{fn}: lengths must have shape (batch,), got {shape_str(lengths)}")
    if lengths.numel() > 0:
        longest, shortest = int(lengths.max()), int(lengths.min())
        if longest > src_len:
            raise ValueError(
                f"{fn}: a length of {longest} is longer than src_len={src_len} "
                f"(lengths {lengths.tolist()}); lengths count real tokens and must be <= src_len"
            )
        if shortest < 0:
            raise ValueError(f"{fn}: lengths must be >= 0, got {lengths.tolist()}")
    positions = torch.arange(src_len, device=lengths.device)  # (src_len,)
    return positions[None, :] < lengths[:, None]  # (batch, src_len)


def _check_mask(fn: str, mask: object, scores: torch.Tensor) -> None:
    """Require a bool mask shaped (batch, src_len) or exactly like the scores."""
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{fn}: mask must be a bool torch.Tensor, got {type(mask).__name__}")
    if mask.dtype != torch.bool:
        raise TypeError(
            f"{fn}: mask must have dtype torch.bool (True = attend to this position), "
            f"got {mask.dtype}; for a 0/1 mask use mask.bool()"
        )
    allowed = {(scores.shape[0], scores.shape[-1]), tuple(scores.shape)}
    if tuple(mask.shape) not in allowed:
        expected = " or ".join(str(s) for s in sorted(allowed, key=len))
        raise ValueError(
            f"{fn}: mask must have shape {expected} to match scores {shape_str(scores)}, "
            f"got {shape_str(mask)}"
        )


def masked_softmax(
    scores: torch.Tensor,
    mask: torch.Tensor | None = None,
    lengths: torch.Tensor | Sequence[int] | None = None,
    temperature: float = 1.0,
) -> torch.Tensor:
    """Softmax over source positions of scores/temperature that gives padding exactly zero weight.

    ``scores`` is ``(batch, src_len)`` or ``(batch, tgt_len, src_len)``. Give either ``mask``
    (bool, True = keep; ``(batch, src_len)``, broadcast over target steps, or shaped like the
    scores) or ``lengths`` ``(batch,)``. Rows with at least one valid position sum to 1. A row
    with no valid position at all gets all-zero weights (its context vector is then zero) and zero,
    finite gradients; it never yields NaN. (Some textbook versions return uniform weights over the
    padding there, which silently mixes padding into the context.) Large scores are safe: softmax
    subtracts the row maximum, and padding is filled with the dtype's most negative finite value.
    A temperature above 1 flattens the weights, below 1 sharpens them.
    """
    fn = "masked_softmax"
    check_float(fn, "scores", scores)
    if scores.dim() not in (2, 3):
        raise ValueError(
            f"{fn}: scores must be (batch, src_len) or (batch, tgt_len, src_len), "
            f"got shape {shape_str(scores)}"
        )
    if isinstance(temperature, bool) or not isinstance(temperature, int | float):
        raise TypeError(f"{fn}: temperature must be a number, got {type(temperature).__name__}")
    if not 0 < temperature < float("inf"):
        raise ValueError(f"{fn}: temperature must be positive and finite, got {temperature}")
    if mask is not None and lengths is not None:
        raise ValueError(f"{fn}: give either mask or lengths, not both")
    if lengths is not None:
        mask = lengths_to_mask(lengths, scores.shape[-1])
        if mask.shape[0] != scores.shape[0]:
            raise ValueError(
                f"{fn}: got {mask.shape[0]} lengths for a batch of {scores.shape[0]} "
                f"(scores {shape_str(scores)})"
            )
    if mask is not None:
        _check_mask(fn, mask, scores)
    with one_thread_if_small(scores.numel()):  # a few cheap passes: see _threads.py
        return _masked_softmax(scores, mask, temperature)


def _masked_softmax(scores: torch.Tensor, mask: torch.Tensor | None, temperature: float):
    """``masked_softmax`` for checked inputs, mask already a bool tensor or None."""
    keep = None
    if mask is not None:
        keep = mask[:, None, :] if mask.dim() < scores.dim() else mask  # broadcast over tgt_len
        # A finite fill value keeps every row finite, even one that is all padding ...
        # (torch.where writes the filled copy in one pass; masked_fill would copy, then fill.)
        scores = torch.where(keep, scores, torch.finfo(scores.dtype).min)
    if temperature != 1:
        # Shifting by the row maximum first (softmax does not change) means a temperature below 1
        # cannot push huge scores past the largest float.
        scores = (scores - scores.amax(dim=-1, keepdim=True).detach()) / temperature
    weights = torch.softmax(scores, dim=-1)
    # ... whose (uniform) weights the multiplication sets to zero, along with their gradients.
    # (It stays even when every row has a real position: a row whose real scores are all -inf
    # would otherwise put its weight on the padding.)
    return weights if keep is None else weights * keep
