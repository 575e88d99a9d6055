"""Checks for exercise 01: the single vector a decoder without attention sees, and source reversal."""

from __future__ import annotations

import torch

from ._core import Candidate, as_tensor, compare, generator, randn
from ._part import SCALES, Part, pick, random_lengths, run_check, stress_sizes

PAD = 0


def _last_valid(states: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    return states[torch.arange(states.shape[0]), lengths - 1]  # (batch, hidden)


def _last_valid_examples():
    for seed, (batch, src_len, hidden), lengths in [
        (11, (3, 5, 4), [4, 2, 3]),
        (12, (4, 6, 2), [6, 1, 3, 5]),
    ]:
        yield randn(generator(seed), batch, src_len, hidden), torch.tensor(lengths)


def _last_valid_stress(gen: torch.Generator):
    for (batch, src_len, hidden), scale in zip(stress_sizes(gen, 3), SCALES, strict=True):
        states = randn(gen, batch, src_len, hidden) * scale  # (batch, src_len, hidden)
        yield states, torch.tensor(random_lengths(gen, batch, src_len))


def _judge_last_valid(args, result) -> None:
    states, lengths = args
    batch, src_len = states.shape[:2]
    candidates = []
    if src_len > 1 and bool((lengths < src_len).any()):
        candidates.append(Candidate("last_column_is_padding", states[:, -1]))
    if bool((lengths < src_len).all()):
        candidates.append(Candidate("length_off_by_one", states[torch.arange(batch), lengths]))
    compare(
        "last_valid_state",
        "result",
        result,
        _last_valid(states, lengths),
        candidates,
        where="Pick, for each sequence b, the row states[b, lengths[b] - 1].",
    )


LAST_VALID_STATE = Part(
    "last_valid_state",
    _last_valid_examples,
    _last_valid_stress,
    _judge_last_valid,
    on_error="Positions run from 0 to length - 1.",
    reference=_last_valid,
    grad_args=(0,),
)


def check_last_valid_state(fn) -> None:
    """last_valid_state(states, lengths) -> (batch, hidden): the state after each sequence's last token."""
    run_check(LAST_VALID_STATE, fn)


def _reverse_valid(src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    out = src.clone()
    for b, length in enumerate(lengths.tolist()):
        out[b, :length] = src[b, :length].flip(0)
    return out


def _padded_tokens(gen: torch.Generator, batch: int, src_len: int, lengths: list[int]):
    tokens = torch.randint(4, 30, (batch, src_len), generator=gen)
    lengths_t = torch.tensor(lengths)
    return tokens.masked_fill(torch.arange(src_len)[None] >= lengths_t[:, None], PAD), lengths_t


def _reverse_examples():
    for seed, (batch, src_len), lengths in [(21, (3, 6), [6, 3, 4]), (22, (4, 5), [2, 5, 1, 3])]:
        yield _padded_tokens(generator(seed), batch, src_len, lengths)


def _reverse_stress(gen: torch.Generator):
    for batch, src_len in stress_sizes(gen, 2, high=8):
        yield _padded_tokens(gen, batch, src_len, random_lengths(gen, batch, src_len))


def _judge_reverse(args, result) -> None:
    src, lengths = args
    compare(
        "reverse_valid",
        "result",
        result,
        _reverse_valid(src, lengths),
        [Candidate("reversed_padding", src.flip(1)), Candidate("flipped_batch", src.flip(0))],
        where="Row b should read src[b, L-1], ..., src[b, 0], then the padding, with L = lengths[b].",
    )


REVERSE_VALID = Part("reverse_valid", _reverse_examples, _reverse_stress, _judge_reverse)


def check_reverse_valid(fn) -> None:
    """reverse_valid(src, lengths) -> src with each row's real tokens reversed, padding left in place."""
    run_check(REVERSE_VALID, fn)


def _lags_examples():
    return [(src_len, reverse) for src_len in (5, 7) for reverse in (False, True)]


def _lags_stress(gen: torch.Generator):
    lengths = [1, pick(gen, 2, 9), pick(gen, 10, 40)]
    return [(src_len, reverse) for src_len in lengths for reverse in (False, True)]


def _judge_lags(args, result) -> None:
    src_len, reverse = args
    if isinstance(result, list | tuple) or type(result).__module__ == "numpy":
        try:
            result = torch.as_tensor(result)
        except (TypeError, ValueError, RuntimeError):
            pass  # as_tensor in compare() names the type
    if isinstance(result, torch.Tensor) and result.is_floating_point():
        if torch.equal(result, result.round()):
            result = result.long()
    j = torch.arange(src_len)
    expected = 2 * j + 1 if reverse else torch.full((src_len,), src_len)
    read_at = "m - 1 - j" if reverse else "j"
    compare(
        "time_lags",
        f"time_lags({src_len}, reverse={reverse})",
        as_tensor("time_lags", "result", result),
        expected,
        where=(
            f"Source word j is read at step {read_at}, target word j is written at step "
            "m + j; the lag is the difference."
        ),
    )


TIME_LAGS = Part("time_lags", _lags_examples, _lags_stress, _judge_lags)


def check_time_lags(fn) -> None:
    """time_lags(src_len, reverse) -> (src_len,) steps between reading source word j and writing target word j."""
    run_check(TIME_LAGS, fn)
