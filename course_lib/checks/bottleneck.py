"""Checks for exercise 01: the single vector a decoder without attention sees, and source reversal."""

from __future__ import annotations

import torch

from ._core import Candidate, call, compare, generator, passed, randn


def _last_valid(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return states[torch.arange(states.shape[0]), lengths - 1]


def check_last_valid_state(fn) -> None:
    """last_valid_state(states, lengths) -> (batch, hidden): the state after each sequence's last token."""
    part = "last_valid_state"
    for seed, (batch, src_len, hidden), lengths in [
        (11, (3, 5, 4), [4, 2, 3]),
        (12, (4, 6, 2), [6, 1, 3, 5]),
    ]:
        gen = generator(seed)
        states = randn(gen, batch, src_len, hidden)  # (batch, src_len, hidden)
        lengths_t = torch.tensor(lengths)
        result = call(part, fn, states, lengths_t, on_error="Positions run from 0 to length - 1.")
        candidates = [Candidate("last_column_is_padding", states[:, -1])]
        if max(lengths) < src_len:
            candidates.append(
                Candidate("length_off_by_one", states[torch.arange(batch), lengths_t])
            )
        compare(
            part,
            "result",
            result,
            _last_valid(states, lengths_t),
            candidates,
            where="Pick, for each sequence b, the row states[b, lengths[b] - 1].",
        )
    passed(part)


def _reverse_valid(src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    out = src.clone()
    for b, length in enumerate(lengths.tolist()):
        out[b, :length] = src[b, :length].flip(0)
    return out


def check_reverse_valid(fn) -> None:
    """reverse_valid(src, lengths) -> src with each row's real tokens reversed, padding left in place."""
    part = "reverse_valid"
    for seed, (batch, src_len), lengths in [(21, (3, 6), [6, 3, 4]), (22, (4, 5), [2, 5, 1, 3])]:
        gen = generator(seed)
        tokens = torch.randint(4, 30, (batch, src_len), generator=gen)
        lengths_t = torch.tensor(lengths)
        src = tokens.masked_fill(torch.arange(src_len)[None] >= lengths_t[:, None], 0)  # PAD = 0
        result = call(part, fn, src, lengths_t)
        compare(
            part,
            "result",
            result,
            _reverse_valid(src, lengths_t),
            [Candidate("reversed_padding", src.flip(1)), Candidate("flipped_batch", src.flip(0))],
            where="Row b should read src[b, L-1], ..., src[b, 0], then the padding, with L = lengths[b].",
        )
    passed(part)


def check_time_lags(fn) -> None:
    """time_lags(src_len, reverse) -> (src_len,) steps between reading source word j and writing target word j."""
    part = "time_lags"
    for src_len in (5, 7):
        for reverse in (False, True):
            result = call(part, fn, src_len, reverse)
            if isinstance(result, list | tuple):
                result = torch.tensor(result)
            if isinstance(result, torch.Tensor) and result.is_floating_point():
                if torch.equal(result, result.round()):
                    result = result.long()
            j = torch.arange(src_len)
            expected = 2 * j + 1 if reverse else torch.full((src_len,), src_len)
            read_at = "m - 1 - j" if reverse else "j"
            compare(
                part,
                f"time_lags({src_len}, reverse={reverse})",
                result,
                expected,
                where=(
                    f"Source word j is read at step {read_at}, target word j is written at step "
                    "m + j; the lag is the difference."
                ),
            )
    passed(part)
