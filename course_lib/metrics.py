"""How good are the outputs? Exact match, token accuracy, error rates and alignment accuracy.

Predictions and references are token lists (``list[list[str]]``, or lists of ids). Where a
source has several correct outputs (a word with two pronunciations), its reference may be a list
of alternatives (``list[list[str]]``): an output is right if it matches any of them, and error
rates are counted against the closest one. Edit distances come from rapidfuzz's Levenshtein,
which works on any sequences of hashable tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from rapidfuzz.distance import Levenshtein

__all__ = [
    "accuracy_by_length",
    "alignment_accuracy",
    "exact_match",
    "phoneme_error_rate",
    "token_accuracy",
    "word_error_rate",
]


def _alternatives(reference: Sequence) -> list[list]:
    """A reference as a list of alternatives: ``["a", "b"]`` -> ``[["a", "b"]]``."""
    if len(reference) > 0 and isinstance(reference[0], list | tuple):
        return [list(r) for r in reference]
    return [list(reference)]


def _check_pairs(predictions: Sequence, references: Sequence) -> None:
    if len(predictions) != len(references):
        raise ValueError(
            f"got {len(predictions)} predictions but {len(references)} references; "
            "they must pair up one to one"
        )
    if len(predictions) == 0:
        raise ValueError("got no predictions: a metric over 0 items is undefined")


def _closest(prediction: Sequence, reference: Sequence) -> tuple[int, int]:
    """(edit distance, reference length) for the alternative closest to ``prediction``."""
    return min((Levenshtein.distance(list(prediction), alt), len(alt)) for alt in reference)


def exact_match(predictions: Sequence, references: Sequence) -> float:
    """Share of outputs identical to (one of) their reference(s)."""
    _check_pairs(predictions, references)
    hits = sum(list(p) in _alternatives(r) for p, r in zip(predictions, references, strict=True))
    return hits / len(predictions)


def word_error_rate(predictions: Sequence, references: Sequence) -> float:
    """G2P's word error rate: share of words whose output matches none of their pronunciations."""
    return 1.0 - exact_match(predictions, references)


def phoneme_error_rate(predictions: Sequence, references: Sequence) -> float:
    """Edits (insertions, deletions, substitutions) over reference tokens, summed over the data.

    Each output is compared with its closest alternative (fewest edits; on a tie, the shorter
    one), and that alternative's length goes into the denominator.
    """
    _check_pairs(predictions, references)
    edits = total = 0
    for p, r in zip(predictions, references, strict=True):
        distance, length = _closest(p, _alternatives(r))
        edits += distance
        total += length
    if total == 0:
        raise ValueError("all references are empty: the error rate is undefined")
    return edits / total


def token_accuracy(predictions: Sequence, references: Sequence) -> float:
    """Share of reference positions where the output has the same token at the same position.

    A missing token (output too short) counts as wrong; extra tokens past the reference's end
    are not counted. With alternatives, the first reference is used.
    """
    _check_pairs(predictions, references)
    right = total = 0
    for p, r in zip(predictions, references, strict=True):
        ref = _alternatives(r)[0]
        right += sum(a == b for a, b in zip(p, ref, strict=False))
        total += len(ref)
    if total == 0:
        raise ValueError("all references are empty: token accuracy is undefined")
    return right / total


def accuracy_by_length(
    predictions: Sequence,
    references: Sequence,
    lengths: Sequence[int],
    bins: Sequence[tuple[int, int]],
) -> dict[str, float]:
    """Exact match per length bin: ``{"lo-hi": accuracy}`` for inclusive bins; empty bins omitted.

    ``lengths`` is usually the source length of each item (the x axis of Bahdanau et al.'s
    Figure 2).
    """
    _check_pairs(predictions, references)
    if len(lengths) != len(predictions):
        raise ValueError(f"got {len(lengths)} lengths for {len(predictions)} predictions")
    result = {}
    for lo, hi in bins:
        if lo > hi:
            raise ValueError(f"a bin must have lo <= hi, got ({lo}, {hi})")
        idx = [i for i, n in enumerate(lengths) if lo <= n <= hi]
        if idx:
            result[f"{lo}-{hi}"] = exact_match(
                [predictions[i] for i in idx], [references[i] for i in idx]
            )
    return result


def alignment_accuracy(weights, gold) -> float:
    """Share of target tokens whose largest attention weight falls inside their gold source span.

    ``weights``: ``(batch, tgt_len, src_len)`` tensor, or a list of ``(tgt_len_i, src_len_i)``
    tensors. ``gold``: a bool tensor of the same shape (``Batch.alignments``; True marks the gold
    span), or, per item, a list of ``(start, end)`` half-open spans or None, one per target
    token. Target tokens without a gold span (None, all-False rows, EOS) are not counted.
    """
    if isinstance(weights, torch.Tensor):
        if weights.dim() != 3:
            raise ValueError(
                f"weights must be (batch, tgt_len, src_len), got {tuple(weights.shape)}"
            )
        weights = list(weights)
    if isinstance(gold, torch.Tensor):
        gold = list(gold)
    if len(weights) != len(gold):
        raise ValueError(f"got weights for {len(weights)} items but gold for {len(gold)}")
    right = total = 0
    for w, g in zip(weights, gold, strict=True):
        best = w.argmax(dim=-1).tolist()  # (tgt_len,) highest-weight source position
        if isinstance(g, torch.Tensor):
            if g.shape != w.shape:
                raise ValueError(
                    f"gold alignment shape {tuple(g.shape)} differs from weights {tuple(w.shape)}"
                )
            counted = g.any(dim=-1).tolist()
            hits = g.gather(-1, w.argmax(dim=-1, keepdim=True))[:, 0].tolist()
            right += sum(h and c for h, c in zip(hits, counted, strict=True))
            total += sum(counted)
            continue
        for t, span in enumerate(g):
            if span is None or t >= len(best):
                total += span is not None  # a target token the output never reached is wrong
                continue
            start, end = span
            right += start <= best[t] < end
            total += 1
    if total == 0:
        raise ValueError("no target token has a gold span: alignment accuracy is undefined")
    return right / total
