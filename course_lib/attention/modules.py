"""Score functions as nn.Modules, so a decoder owns the parameters and swaps scores by name.

Each module says whether it ``projects_keys``: True when it offers ``project_keys(keys)``, once
per sequence, and ``score_projected(query, projected_keys)`` at every step (the additive score);
False when ``forward(query, keys)`` is all there is.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._validate import check_float, shape_str
from .context import score_name
from .scores import (
    additive_from_projections,
    additive_score,
    bilinear_score,
    dot_score,
    scaled_dot_score,
)


class DotScore(nn.Module):
    """h·s (Luong et al. 2015, https://arxiv.org/abs/1508.04025); no parameters."""

    projects_keys = False

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return dot_score(query, keys)


class ScaledDotScore(nn.Module):
    """h·s/sqrt(d) (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762); no parameters."""

    projects_keys = False

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return scaled_dot_score(query, keys)


class BilinearScore(nn.Module):
    """h^T W s, Luong et al.'s "general" score (https://arxiv.org/abs/1508.04025), W (d_q, d_k)."""

    projects_keys = False

    def __init__(self, d_q: int, d_k: int):
        super().__init__()
        self.d_q, self.d_k = d_q, d_k
        self.weight = nn.Parameter(torch.empty(d_q, d_k))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise W like nn.Linear(d_k, d_q) would, so h^T W s starts out like a dot product."""
        bound = 1 / math.sqrt(self.d_k)
        nn.init.uniform_(self.weight, -bound, bound)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return bilinear_score(query, keys, self.weight)

    def extra_repr(self) -> str:
        return f"d_q={self.d_q}, d_k={self.d_k}"


class AdditiveScore(nn.Module):
    """v^T tanh(W_q h + W_k s), Bahdanau et al. 2014 (https://arxiv.org/abs/1409.0473).

    A decoder that attends step by step calls ``project_keys`` once per sequence and then
    ``score_projected`` at every step, instead of projecting the same keys again each step.
    """

    projects_keys = True

    def __init__(self, d_q: int, d_k: int, d_attn: int, chunk_size: int | None = None):
        super().__init__()
        self.chunk_size = chunk_size
        self.w_query = nn.Linear(d_q, d_attn, bias=False)  # weight (d_attn, d_q)
        self.w_key = nn.Linear(d_k, d_attn, bias=False)  # weight (d_attn, d_k)
        self.v = nn.Parameter(torch.empty(d_attn))
        bound = 1 / math.sqrt(d_attn)
        nn.init.uniform_(self.v, -bound, bound)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        return additive_score(
            query, keys, self.w_query.weight, self.w_key.weight, self.v, self.chunk_size
        )

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """W_k s for every source position: (batch, src_len, d_k) -> (batch, src_len, d_attn)."""
        self._check_last("project_keys", "keys", keys, self.w_key.in_features, 3)
        return self.w_key(keys)

    def score_projected(self, query: torch.Tensor, keys_proj: torch.Tensor) -> torch.Tensor:
        """Scores for a raw query ``(batch, [tgt_len,] d_q)`` against keys from ``project_keys``.

        Called at every decoding step: the raw inputs are checked here, once; the projected
        query and the module's own ``v`` need no second check.
        """
        fn = "score_projected"
        self._check_last(fn, "query", query, self.w_query.in_features, None)
        self._check_last(fn, "keys_proj", keys_proj, self.v.shape[0], 3)
        if query.dim() not in (2, 3) or query.shape[0] != keys_proj.shape[0]:
            raise ValueError(
                f"AdditiveScore.{fn}: query must be (batch, [tgt_len,] d_q) with the batch of "
                f"keys_proj {shape_str(keys_proj)}, got {shape_str(query)}"
            )
        q = self.w_query(query)  # (batch, [tgt_len,] d_attn)
        return additive_from_projections(fn, q, keys_proj, self.v, self.chunk_size)

    def _check_last(self, fn: str, name: str, x: object, size: int, dims: int | None) -> None:
        """Name the expected feature size before nn.Linear fails with a less helpful message."""
        check_float(fn, name, x, like=self.v)
        if x.dim() == 0 or x.shape[-1] != size or (dims is not None and x.dim() != dims):
            want = f"(batch, src_len, {size})" if dims == 3 else f"(batch, [tgt_len,] {size})"
            raise ValueError(f"AdditiveScore.{fn}: {name} must be {want}, got {shape_str(x)}")


def make_score(name: str, d_q: int, d_k: int, d_attn: int | None = None) -> nn.Module:
    """Build a score module by name, so a decoder can take the score as a config string.

    Names: "dot", "scaled_dot", "bilinear"/"general", "additive"/"concat"/"mlp".

    ``d_attn`` (the additive score's hidden size) defaults to d_k; the other scores ignore it.
    """
    kind = score_name(name, "make_score")
    if kind in ("dot", "scaled_dot"):
        if d_q != d_k:
            raise ValueError(
                f"make_score: the {name!r} score needs d_q == d_k, got d_q={d_q}, d_k={d_k}; "
                "use 'bilinear' or 'additive' for different sizes"
            )
        return DotScore() if kind == "dot" else ScaledDotScore()
    if kind == "bilinear":
        return BilinearScore(d_q, d_k)
    return AdditiveScore(d_q, d_k, d_attn if d_attn is not None else d_k)
