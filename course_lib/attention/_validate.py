"""Input checks that turn a learner's shape or dtype slip into a message: expected vs actual."""

from __future__ import annotations

import torch


def shape_str(t: torch.Tensor) -> str:
    """Format a shape as ``(2, 3, 5)`` so messages read like the shape comments in the code."""
    return str(tuple(t.shape))


def check_float(fn: str, name: str, x: object, like: torch.Tensor | None = None) -> None:
    """Require a floating-point tensor (and, with ``like``, the same dtype as ``like``)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{fn}: {name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{fn}: {name} must be a floating-point tensor (e.g. torch.float32), got {x.dtype}; "
            f"convert it with {name}.float()"
        )
    if like is not None and x.dtype != like.dtype:
        raise TypeError(
            f"{fn}: {name} has dtype {x.dtype} but query has dtype {like.dtype}; "
            "use one dtype for all inputs"
        )


def check_query_keys(fn: str, query: object, keys: object, same_size: bool = False) -> None:
    """Check query ``(batch, [tgt_len,] d_q)`` against keys ``(batch, src_len, d_k)``."""
    check_float(fn, "query", query)
    check_float(fn, "keys", keys, like=query)
    if query.dim() not in (2, 3):
        raise ValueError(
            f"{fn}: query must be (batch, d_q) or (batch, tgt_len, d_q), "
            f"got {query.dim()} dims with shape {shape_str(query)}"
        )
    if keys.dim() != 3:
        raise ValueError(
            f"{fn}: keys must be (batch, src_len, d_k), "
            f"got {keys.dim()} dims with shape {shape_str(keys)}"
        )
    if query.shape[0] != keys.shape[0]:
        raise ValueError(
            f"{fn}: query and keys must share the batch size, got query batch {query.shape[0]} "
            f"{shape_str(query)} and keys batch {keys.shape[0]} {shape_str(keys)}"
        )
    if same_size and query.shape[-1] != keys.shape[-1]:
        raise ValueError(
            f"{fn}: query size d_q={query.shape[-1]} must equal key size d_k={keys.shape[-1]} "
            f"(query {shape_str(query)}, keys {shape_str(keys)}); "
            "bilinear_score or additive_score allow d_q != d_k"
        )


def check_param(fn: str, name: str, x: object, expected: tuple[int, ...], query: torch.Tensor):
    """Require a parameter tensor of an exact shape and the query's dtype."""
    check_float(fn, name, x, like=query)
    if tuple(x.shape) != expected:
        raise ValueError(f"{fn}: {name} must have shape {expected}, got {shape_str(x)}")
