"""The context vector, and ``attend``: score, masked softmax and weighted sum in one call."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import torch

from ._validate import check_float, check_query_keys, shape_str
from .masking import masked_softmax
from .scores import (
    additive_score,
    bilinear_score,
    check_scores,
    dot_score,
    scaled_dot_score,
)

# Names accepted by attend(score=...) and make_score; the lecture's and the papers' names.
SCORE_ALIASES = {
    "dot": "dot",
    "scaled_dot": "scaled_dot",
    "bilinear": "bilinear",
    "general": "bilinear",  # Luong et al. 2015
    "additive": "additive",
    "concat": "additive",  # Luong et al. 2015
    "mlp": "additive",
}

_PARAMS_HELP = {
    "dot": "no params",
    "scaled_dot": "no params",
    "bilinear": "params={'weight': tensor (d_q, d_k)}",
    "additive": "params={'w_query': (d_attn, d_q), 'w_key': (d_attn, d_k), 'v': (d_attn,)}",
}


def score_name(name: str, fn: str) -> str:
    """Map a score name or alias to its canonical name, or explain which names exist."""
    if name not in SCORE_ALIASES:
        raise ValueError(f"{fn}: unknown score {name!r}; expected one of {sorted(SCORE_ALIASES)}")
    return SCORE_ALIASES[name]


def context_vector(weights: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """The attention output: the weights' average of the values, ``(batch, [tgt_len,] d_v)``."""
    fn = "context_vector"
    check_float(fn, "weights", weights)
    check_float(fn, "values", values)
    if values.dtype != weights.dtype:
        raise TypeError(f"{fn}: values have dtype {values.dtype} but weights {weights.dtype}")
    if weights.dim() not in (2, 3) or values.dim() != 3:
        raise ValueError(
            f"{fn}: expected weights (batch, [tgt_len,] src_len) and values (batch, src_len, d_v), "
            f"got weights {shape_str(weights)} and values {shape_str(values)}"
        )
    if weights.shape[0] != values.shape[0] or weights.shape[-1] != values.shape[1]:
        raise ValueError(
            f"{fn}: weights {shape_str(weights)} need values of shape "
            f"({weights.shape[0]}, {weights.shape[-1]}, d_v), got {shape_str(values)}"
        )
    if weights.dim() == 2:
        # (batch, 1, src_len) @ (batch, src_len, d_v) -> (batch, d_v)
        return torch.bmm(weights.unsqueeze(1), values).squeeze(1)
    return torch.bmm(weights, values)  # (batch, tgt_len, d_v)


def _named_scores(name: str, query, keys, params) -> torch.Tensor:
    """Call the built-in score ``name`` with ``params`` as a mapping (or a bare tensor/tuple)."""
    fn = f"attend(score={name!r})"
    if name in ("dot", "scaled_dot"):
        if params is not None and not (isinstance(params, Mapping) and not params):
            raise ValueError(f"{fn} takes no params, got {type(params).__name__}")
        return (dot_score if name == "dot" else scaled_dot_score)(query, keys)
    if isinstance(params, torch.Tensor) and name == "bilinear":
        params = {"weight": params}
    elif isinstance(params, Sequence) and name == "additive" and len(params) == 3:
        params = dict(zip(("w_query", "w_key", "v"), params, strict=True))
    needed = {"bilinear": {"weight"}, "additive": {"w_query", "w_key", "v"}}[name]
    allowed = needed | ({"chunk_size"} if name == "additive" else set())
    if not isinstance(params, Mapping) or not needed <= params.keys() <= allowed:
        got = sorted(params) if isinstance(params, Mapping) else type(params).__name__
        raise ValueError(f"{fn} needs {_PARAMS_HELP[name]}, got {got}")
    score_fn = bilinear_score if name == "bilinear" else additive_score
    return score_fn(query, keys, **params)


def attend(
    query: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor | None = None,
    *,
    score: str | Callable[..., torch.Tensor] = "dot",
    params: Mapping[str, object] | torch.Tensor | Sequence[torch.Tensor] | None = None,
    mask: torch.Tensor | None = None,
    lengths: torch.Tensor | Sequence[int] | None = None,
    temperature: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Score, masked softmax and context in one call; returns ``(context, weights)`` for plotting.

    query ``(batch, [tgt_len,] d_q)``, keys ``(batch, src_len, d_k)``, values ``(batch, src_len,
    d_v)`` (default: the keys, as in Bahdanau et al. and Luong et al., where the encoder states
    are both). ``score`` is a name ("dot", "scaled_dot", "bilinear"/"general",
    "additive"/"concat"/"mlp") whose parameters come in ``params`` (see the score functions), or
    any callable ``score(query, keys, **params)`` such as a ``DotScore()`` module. ``mask``,
    ``lengths`` and ``temperature`` go to ``masked_softmax``. Returns context ``(batch, [tgt_len,]
    d_v)`` and weights ``(batch, [tgt_len,] src_len)``.
    """
    fn = "attend"
    values = keys if values is None else values
    check_query_keys(fn, query, keys)
    check_float(fn, "values", values, like=query)
    if values.dim() != 3 or values.shape[:2] != keys.shape[:2]:
        raise ValueError(
            f"{fn}: values must be (batch, src_len, d_v) = ({keys.shape[0]}, {keys.shape[1]}, d_v) "
            f"like keys {shape_str(keys)}, got {shape_str(values)}"
        )
    if isinstance(score, str):
        scores = _named_scores(score_name(score, fn), query, keys, params)
    elif callable(score):
        if params is not None and not isinstance(params, Mapping):
            raise TypeError(
                f"{fn}: params for a callable score must be a dict of keyword arguments, "
                f"got {type(params).__name__}"
            )
        scores = score(query, keys, **(params or {}))
        check_scores(fn, scores, query, keys)
    else:
        raise TypeError(f"{fn}: score must be a name or a callable, got {type(score).__name__}")
    weights = masked_softmax(scores, mask=mask, lengths=lengths, temperature=temperature)
    return context_vector(weights, values), weights
