"""The Transformer's attention and a tiny encoder-decoder built from it (lesson 07).

The same three steps as lessons 02-04 (scores, softmax weights, weighted sum), with three
changes: learned projections to queries, keys and values; every position querying every other
one (self-attention); several heads. Batch-first everywhere. Masks are boolean with True where a
query MAY look (the course's convention since lesson 03), which is the opposite of
``nn.MultiheadAttention``'s ``key_padding_mask`` (True = ignore).

``TinyTransformer`` speaks the decoders' protocol of ``course_lib.models`` (``encode``, ``step``,
``forward`` returning ``(logits, weights)``), so ``train``, ``evaluate`` and greedy search use it
unchanged. Its ``weights`` are the last decoder layer's cross-attention averaged over heads;
``cross_attention`` returns every layer and head.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from course_lib.attention import lengths_to_mask
from course_lib.data.vocab import PAD
from course_lib.models import check_lengths

__all__ = [
    "DecoderLayer",
    "EncoderLayer",
    "MultiHeadAttention",
    "TinyTransformer",
    "TransformerConfig",
    "build_transformer",
    "causal_mask",
    "merge_heads",
    "scaled_dot_product_attention",
    "sinusoidal_encoding",
    "split_heads",
]


def scaled_dot_product_attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k)) v: ``(output (..., q_len, d_v), weights (..., q_len, k_len))``.

    ``mask`` (broadcastable to ``(..., q_len, k_len)``), True where a query may look. Masked
    scores become -inf before the softmax; every query must be allowed at least one key.
    """
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., q_len, k_len)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights  # (..., q_len, d_v)


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """``(batch, len, d_model)`` -> ``(batch, heads, len, d_head)``: head h gets features
    ``h*d_head .. (h+1)*d_head - 1`` of every position."""
    batch, length, d_model = x.shape
    if d_model % heads:
        raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
    return x.view(batch, length, heads, d_model // heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """``(batch, heads, len, d_head)`` -> ``(batch, len, heads*d_head)``, undoing ``split_heads``."""
    batch, heads, length, d_head = x.shape
    return x.transpose(1, 2).reshape(batch, length, heads * d_head)


def causal_mask(length: int, device=None) -> torch.Tensor:
    """``(length, length)`` bool, True where query t may look at key j: j <= t (itself included)."""
    return torch.ones(length, length, dtype=torch.bool, device=device).tril()


def sinusoidal_encoding(length: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """Vaswani et al.'s positions, ``(length, d_model)``: column 2i is sin(pos / base^(2i/d)),
    column 2i+1 the cos of the same angle. ``d_model`` must be even."""
    if d_model % 2:
        raise ValueError(f"d_model must be even, got {d_model}")
    pos = torch.arange(length, dtype=torch.float32)[:, None]  # (length, 1)
    rates = base ** (-torch.arange(0, d_model, 2, dtype=torch.float32) / d_model)  # (d_model/2,)
    angles = pos * rates  # (length, d_model/2)
    return torch.stack([angles.sin(), angles.cos()], dim=-1).flatten(1)  # interleave sin, cos


class MultiHeadAttention(nn.Module):
    """Project, split into heads, attend in each, merge, project back.

    ``forward(query, key, value, mask=None)`` with ``(batch, len, d_model)`` inputs and a mask
    broadcastable to ``(batch, heads, q_len, k_len)`` returns ``(output (batch, q_len, d_model),
    weights (batch, heads, q_len, k_len))``.
    """

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        if d_model % heads:
            raise ValueError(f"d_model={d_model} is not divisible by heads={heads}")
        self.heads = heads
        self.w_q = nn.Linear(d_model, d_model)
        self.w_k = nn.Linear(d_model, d_model)
        self.w_v = nn.Linear(d_model, d_model)
        self.w_o = nn.Linear(d_model, d_model)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.w_q(query), self.heads)  # (batch, heads, q_len, d_head)
        k = split_heads(self.w_k(key), self.heads)  # (batch, heads, k_len, d_head)
        v = split_heads(self.w_v(value), self.heads)  # (batch, heads, k_len, d_head)
        out, weights = scaled_dot_product_attention(q, k, v, mask)
        return self.w_o(merge_heads(out)), weights

    @torch.no_grad()
    def copy_from_torch(self, mha: nn.MultiheadAttention) -> MultiHeadAttention:
        """Take the weights of a batch-first ``nn.MultiheadAttention`` of the same size."""
        for mine, w, b in zip(
            (self.w_q, self.w_k, self.w_v),
            mha.in_proj_weight.chunk(3),
            mha.in_proj_bias.chunk(3),
            strict=True,
        ):
            mine.weight.copy_(w)
            mine.bias.copy_(b)
        self.w_o.weight.copy_(mha.out_proj.weight)
        self.w_o.bias.copy_(mha.out_proj.bias)
        return self


def feed_forward(d_model: int, d_ff: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(d_model, d_ff), nn.ReLU(), nn.Linear(d_ff, d_model))


class EncoderLayer(nn.Module):
    """Self-attention then a feed-forward network, each with a residual and a LayerNorm.

    ``norm_first=False`` is the paper's order (normalise after adding); True normalises each
    sub-layer's input instead, which trains more easily without a warm-up. No dropout.
    """

    def __init__(self, d_model: int, heads: int, d_ff: int, norm_first: bool = False):
        super().__init__()
        self.attn = MultiHeadAttention(d_model, heads)
        self.ff = feed_forward(d_model, d_ff)
        self.norm1, self.norm2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.norm_first = norm_first

    def forward(self, x, mask=None):
        """``x (batch, len, d_model)``, ``mask`` broadcastable to ``(batch, heads, len, len)``."""
        if self.norm_first:
            h = self.norm1(x)
            x = x + self.attn(h, h, h, mask)[0]
            return x + self.ff(self.norm2(x))
        x = self.norm1(x + self.attn(x, x, x, mask)[0])
        return self.norm2(x + self.ff(x))

    @torch.no_grad()
    def copy_from_torch(self, layer: nn.TransformerEncoderLayer) -> EncoderLayer:
        """Take the weights of a batch-first ``nn.TransformerEncoderLayer`` (ReLU, same sizes)."""
        self.attn.copy_from_torch(layer.self_attn)
        self.ff[0].load_state_dict(layer.linear1.state_dict())
        self.ff[2].load_state_dict(layer.linear2.state_dict())
        self.norm1.load_state_dict(layer.norm1.state_dict())
        self.norm2.load_state_dict(layer.norm2.state_dict())
        return self


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention to the encoder, feed-forward; pre-norm residuals.

    ``forward`` returns ``(x, cross_weights (batch, heads, tgt_len, src_len))``.
    """

    def __init__(self, d_model: int, heads: int, d_ff: int):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, heads)
        self.cross_attn = MultiHeadAttention(d_model, heads)
        self.ff = feed_forward(d_model, d_ff)
        self.norms = nn.ModuleList(nn.LayerNorm(d_model) for _ in range(3))

    def forward(self, x, memory, self_mask, memory_mask):
        h = self.norms[0](x)
        x = x + self.self_attn(h, h, h, self_mask)[0]
        context, weights = self.cross_attn(self.norms[1](x), memory, memory, memory_mask)
        x = x + context
        return x + self.ff(self.norms[2](x)), weights


@dataclass
class TransformerConfig:
    """What fixes a ``TinyTransformer``'s shape."""

    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 64
    heads: int = 4
    layers: int = 2  # encoder layers and decoder layers each
    d_ff: int = 128
    max_len: int = 128


class TinyTransformer(nn.Module):
    """An encoder-decoder Transformer with the decoders' protocol (see the module docstring).

    Initial weights come from ``seed`` without touching the global random state.
    """

    has_attention = True

    def __init__(self, config: TransformerConfig, seed: int | None = 0):
        super().__init__()
        self.config = c = config
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.src_emb = nn.Embedding(c.src_vocab_size, c.d_model, padding_idx=PAD)
            self.tgt_emb = nn.Embedding(c.tgt_vocab_size, c.d_model, padding_idx=PAD)
            self.encoder = nn.ModuleList(
                EncoderLayer(c.d_model, c.heads, c.d_ff, norm_first=True) for _ in range(c.layers)
            )
            self.decoder = nn.ModuleList(
                DecoderLayer(c.d_model, c.heads, c.d_ff) for _ in range(c.layers)
            )
            self.enc_norm, self.dec_norm = nn.LayerNorm(c.d_model), nn.LayerNorm(c.d_model)
            self.out = nn.Linear(c.d_model, c.tgt_vocab_size)
            for emb in (self.src_emb, self.tgt_emb):  # times sqrt(d_model) below: unit size,
                nn.init.normal_(emb.weight, std=c.d_model**-0.5)  # as the positions
                emb.weight.data[PAD] = 0
        self.register_buffer("positions", sinusoidal_encoding(c.max_len, c.d_model), False)

    def _embed(self, emb: nn.Embedding, tokens: torch.Tensor) -> torch.Tensor:
        if tokens.shape[1] > self.config.max_len:
            raise ValueError(f"sequence of {tokens.shape[1]} > max_len={self.config.max_len}")
        x = emb(tokens) * math.sqrt(self.config.d_model)  # (batch, len, d_model)
        return x + self.positions[: tokens.shape[1]]

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[dict, tuple]:
        """``(memory, state)``: encoder states and padding mask; the state is the empty prefix."""
        lengths = check_lengths(src, src_lengths)
        mask = lengths_to_mask(lengths, src.shape[1]).to(src.device)  # (batch, src_len)
        x = self._embed(self.src_emb, src)
        for layer in self.encoder:
            x = layer(x, mask[:, None, None, :])  # keys: (batch, 1, 1, src_len)
        prefix = src.new_zeros(src.shape[0], 0)  # (batch, 0) target tokens so far
        return {"states": self.enc_norm(x), "mask": mask}, (prefix,)

    def decode(self, tgt_in: torch.Tensor, memory: dict):
        """``(logits (batch, tgt_len, vocab), [cross weights (batch, heads, tgt_len, src_len)]
        per layer)`` for the target prefix ``tgt_in``."""
        x = self._embed(self.tgt_emb, tgt_in)
        self_mask = causal_mask(tgt_in.shape[1], tgt_in.device)  # (tgt_len, tgt_len)
        memory_mask = memory["mask"][:, None, None, :]  # (batch, 1, 1, src_len)
        cross = []
        for layer in self.decoder:
            x, weights = layer(x, memory["states"], self_mask, memory_mask)
            cross.append(weights)
        return self.out(self.dec_norm(x)), cross

    def forward(self, src, src_lengths, tgt_in):
        """Teacher forced: ``(logits, weights (batch, tgt_len, src_len))``, the last layer's
        cross-attention averaged over its heads."""
        memory, _ = self.encode(src, src_lengths)
        logits, cross = self.decode(tgt_in, memory)
        return logits, cross[-1].mean(dim=1)

    def cross_attention(self, src, src_lengths, tgt_in) -> torch.Tensor:
        """Every cross-attention map, teacher forced: ``(layers, batch, heads, tgt_len, src_len)``."""
        memory, _ = self.encode(src, src_lengths)
        return torch.stack(self.decode(tgt_in, memory)[1])

    def step(self, tokens: torch.Tensor, state: tuple, memory: dict):
        """One decoding step. Without a cache: the whole prefix is decoded again each step."""
        prefix = torch.cat([state[0], tokens[:, None]], dim=1)  # (batch, t + 1)
        logits, cross = self.decode(prefix, memory)
        return logits[:, -1], (prefix,), cross[-1][:, :, -1].mean(dim=1)


def build_transformer(src_vocab_size: int, tgt_vocab_size: int, seed: int | None = 0, **sizes):
    """``TinyTransformer(TransformerConfig(src_vocab_size, tgt_vocab_size, **sizes), seed)``."""
    return TinyTransformer(TransformerConfig(src_vocab_size, tgt_vocab_size, **sizes), seed)
