"""Attention for sequence-to-sequence models: score functions, masked softmax, context vector.

The pieces, in the order a decoder uses them at each step:

1. ``scores``: how well the query (the decoder state h) fits each key (encoder state s):
   dot h·s and bilinear h^T W s (Luong et al. 2015, https://arxiv.org/abs/1508.04025),
   additive v^T tanh(W_q h + W_k s) (Bahdanau et al. 2014, https://arxiv.org/abs/1409.0473),
   scaled dot h·s/sqrt(d) (Vaswani et al. 2017, https://arxiv.org/abs/1706.03762).
2. ``masking``: softmax over source positions that gives padding exactly zero weight.
3. ``context``: the weighted sum of the values, and ``attend`` doing all three at once.
4. ``modules``: the scores as nn.Modules for the decoders.

Shapes: query ``(batch, d_q)`` for one decoder step or ``(batch, tgt_len, d_q)`` for all steps,
keys ``(batch, src_len, d_k)``, values ``(batch, src_len, d_v)``.
"""

from .context import SCORE_ALIASES, attend, context_vector
from .masking import lengths_to_mask, masked_softmax
from .modules import AdditiveScore, BilinearScore, DotScore, ScaledDotScore, make_score
from .scores import (
    ADDITIVE_CHUNK_BYTES,
    additive_score,
    additive_score_projected,
    bilinear_score,
    dot_score,
    scaled_dot_score,
)

__all__ = [
    "ADDITIVE_CHUNK_BYTES",
    "SCORE_ALIASES",
    "AdditiveScore",
    "BilinearScore",
    "DotScore",
    "ScaledDotScore",
    "additive_score",
    "additive_score_projected",
    "attend",
    "bilinear_score",
    "context_vector",
    "dot_score",
    "lengths_to_mask",
    "make_score",
    "masked_softmax",
    "scaled_dot_score",
]
