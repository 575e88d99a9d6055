"""Copy and reverse tasks: the simplest data on which a fixed-size bottleneck visibly breaks."""

from __future__ import annotations

import random

from .batching import Example

ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def symbols(n_symbols: int) -> list[str]:
    """The first ``n_symbols`` symbols of the task alphabet (digits, then lowercase letters)."""
    if not isinstance(n_symbols, int) or not 1 <= n_symbols <= len(ALPHABET):
        raise ValueError(f"n_symbols must be an int in [1, {len(ALPHABET)}], got {n_symbols!r}")
    return list(ALPHABET[:n_symbols])


def make_copy_task(
    n: int,
    min_len: int,
    max_len: int,
    n_symbols: int = 10,
    reverse: bool = False,
    seed: int = 0,
) -> list[Example]:
    """``n`` random symbol sequences with lengths uniform in [min_len, max_len] (inclusive).

    The target is the source (or, with ``reverse``, the source reversed); ``alignment`` gives for
    every target position the one source position it copies. Same arguments, same data, on any
    machine (Python's ``random.Random``, independent of the global seed).
    """
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if not (isinstance(min_len, int) and isinstance(max_len, int)) or not 1 <= min_len <= max_len:
        raise ValueError(f"need ints with 1 <= min_len <= max_len, got {min_len!r}, {max_len!r}")
    alphabet = symbols(n_symbols)
    rng = random.Random(f"copy-{seed}")
    examples = []
    for _ in range(n):
        length = rng.randint(min_len, max_len)
        src = rng.choices(alphabet, k=length)
        if reverse:
            tgt = src[::-1]
            alignment = [(length - 1 - i, length - i) for i in range(length)]
        else:
            tgt = list(src)
            alignment = [(i, i + 1) for i in range(length)]
        examples.append(Example(src=src, tgt=tgt, alignment=alignment))
    return examples
