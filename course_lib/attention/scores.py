"""The score functions of the lecture: how well each source position fits the current query.

Every function takes a query for one decoder step ``(batch, d_q)`` or for all target steps at once
``(batch, tgt_len, d_q)`` and keys ``(batch, src_len, d_k)``, and returns scores
``(batch, src_len)`` or ``(batch, tgt_len, src_len)`` respectively. Batched matrix products do
the work: there is no Python loop over positions (the additive score loops over *chunks* of
target steps, see below).

Papers: Bahdanau et al. 2014 (additive), https://arxiv.org/abs/1409.0473; Luong et al. 2015
(dot, general = bilinear, concat = additive), https://arxiv.org/abs/1508.04025; Vaswani et al.
2017 (scaled dot product), https://arxiv.org/abs/1706.03762.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch.autograd.function import once_differentiable

from ._validate import check_float, check_param, check_query_keys, shape_str

# Memory the additive score may use for one block of tanh activations, in bytes. Small enough
# that a block stays in the CPU's caches between the passes over it: (batch 64, 50 x 50 steps,
# d_attn 256, 2 threads, this machine) whole-batch chunks of 16 MiB took 15.9 ms, blocks of a
# few rows' steps of 3-10 MiB 10.4-12.5 ms.
ADDITIVE_CHUNK_BYTES = 8 * 2**20


def _as_steps(query: torch.Tensor) -> torch.Tensor:
    """View a one-step query ``(batch, d)`` as ``(batch, 1, d)`` so one code path serves both."""
    return query.unsqueeze(1) if query.dim() == 2 else query


def _like_query(scores: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """Drop the step axis again for a one-step query: (batch, 1, src_len) -> (batch, src_len)."""
    return scores.squeeze(1) if query.dim() == 2 else scores


def dot_score(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Luong's "dot" score h·s: free of parameters, so d_q must equal d_k."""
    check_query_keys("dot_score", query, keys, same_size=True)
    # (batch, tgt_len, d) @ (batch, d, src_len) -> (batch, tgt_len, src_len)
    return _like_query(torch.bmm(_as_steps(query), keys.transpose(1, 2)), query)


def scaled_dot_score(query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
    """Vaswani et al.'s h·s/sqrt(d): the division keeps the scores' spread independent of d."""
    check_query_keys("scaled_dot_score", query, keys, same_size=True)
    q = _as_steps(query)
    # baddbmm with beta=0 ignores its (uninitialised) first argument and folds the scale into
    # the matrix product, so scaling costs no extra pass over the scores.
    out = q.new_empty(q.shape[0], q.shape[1], keys.shape[1])
    scores = torch.baddbmm(out, q, keys.transpose(1, 2), beta=0, alpha=1 / math.sqrt(q.shape[-1]))
    return _like_query(scores, query)


def bilinear_score(query: torch.Tensor, keys: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Luong's "general" score h^T W s, W ``(d_q, d_k)``: a learned similarity, any d_q and d_k."""
    check_query_keys("bilinear_score", query, keys)
    check_param("bilinear_score", "weight", weight, (query.shape[-1], keys.shape[-1]), query)
    q = _as_steps(query)  # (batch, tgt_len, d_q)
    if q.shape[1] <= keys.shape[1]:
        # Project the side with fewer rows: here the queries, (batch, tgt_len, d_k).
        scores = torch.bmm(q @ weight, keys.transpose(1, 2))
    else:
        # keys @ W^T is (batch, src_len, d_q); then h · (W s) for every pair.
        scores = torch.bmm(q, (keys @ weight.T).transpose(1, 2))
    return _like_query(scores, query)


def additive_score(
    query: torch.Tensor,
    keys: torch.Tensor,
    w_query: torch.Tensor,
    w_key: torch.Tensor,
    v: torch.Tensor,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Bahdanau's MLP score v^T tanh(W_q h + W_k s): a one-hidden-layer network judges each pair.

    Shapes follow torch's Linear convention: w_query ``(d_attn, d_q)``, w_key ``(d_attn, d_k)``,
    v ``(d_attn,)``. See ``additive_score_projected`` for the memory-bounded chunking.
    """
    fn = "additive_score"
    check_query_keys(fn, query, keys)
    check_float(fn, "v", v, like=query)
    if v.dim() != 1:
        raise ValueError(f"{fn}: v must have shape (d_attn,), got {shape_str(v)}")
    check_param(fn, "w_query", w_query, (v.shape[0], query.shape[-1]), query)
    check_param(fn, "w_key", w_key, (v.shape[0], keys.shape[-1]), query)
    return additive_from_projections(fn, query @ w_query.T, keys @ w_key.T, v, chunk_size)


def additive_score_projected(
    query_proj: torch.Tensor,
    keys_proj: torch.Tensor,
    v: torch.Tensor,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """The additive score from projections computed beforehand, so a decoder projects keys once.

    query_proj is W_q h ``(batch, [tgt_len,] d_attn)``, keys_proj is W_k s
    ``(batch, src_len, d_attn)``: computed once per sequence, then used at every step. All
    target steps at once would need a ``(batch, tgt_len, src_len, d_attn)`` tanh tensor; instead
    the work goes in chunks of ``chunk_size`` target steps (default: blocks of batch rows and
    steps that fit in ADDITIVE_CHUNK_BYTES), and the backward pass recomputes each chunk's tanh
    instead of storing it, so training memory stays bounded too. Second derivatives are not
    supported.
    """
    fn = "additive_score_projected"
    check_query_keys(fn, query_proj, keys_proj, same_size=True)
    check_param(fn, "v", v, (keys_proj.shape[-1],), query_proj)
    return additive_from_projections(fn, query_proj, keys_proj, v, chunk_size)


def additive_from_projections(
    fn: str,
    query_proj: torch.Tensor,
    keys_proj: torch.Tensor,
    v: torch.Tensor,
    chunk_size: int | None,
) -> torch.Tensor:
    """``additive_score_projected`` for inputs its caller ``fn`` has already validated.

    Every public entry point checks its own inputs once, then calls this: a decoding step
    does not validate the same tensors two or three times over.
    """
    q = _as_steps(query_proj)
    if chunk_size is not None and (
        not isinstance(chunk_size, int) or isinstance(chunk_size, bool) or chunk_size < 1
    ):
        raise ValueError(f"{fn}: chunk_size must be a positive int or None, got {chunk_size!r}")
    blocks = _blocks(q, keys_proj, chunk_size)
    if torch.is_grad_enabled() and (q.requires_grad or keys_proj.requires_grad or v.requires_grad):
        scores = _AdditiveScores.apply(q, keys_proj, v, blocks)
    else:  # no graph to record: skip the autograd.Function and its saved tensors
        scores = _additive_chunks(q, keys_proj, v, blocks.forward)
    return _like_query(scores, query_proj)


class _Blocks(NamedTuple):
    """How the additive score splits its work: (batch rows, target steps) per forward block, and
    target steps per backward chunk (all batch rows: the gradients of k and v sum over them)."""

    forward: tuple[int, int]
    backward: int


def _blocks(q: torch.Tensor, k: torch.Tensor, chunk_size: int | None) -> _Blocks:
    """chunk_size target steps at a time for the whole batch, or (None) blocks of at most
    ADDITIVE_CHUNK_BYTES: the forward pass takes all target steps of a few batch rows at once,
    so those rows' keys stay in the cache while every step reads them."""
    batch, tgt_len, _ = q.shape
    if chunk_size is not None:
        return _Blocks((batch, chunk_size), chunk_size)
    pair_bytes = k.shape[1] * k.shape[2] * k.element_size()  # one (batch row, step): src x d
    pairs = max(1, ADDITIVE_CHUNK_BYTES // max(pair_bytes, 1))
    steps = max(1, min(tgt_len, pairs))
    rows = max(1, min(batch, pairs // steps))
    return _Blocks((rows, steps), max(1, pairs // max(batch, 1)))


# Why not torch.tanh: tanh(z) = 2 sigmoid(2z) - 1 is the same function, and on one core of the
# course machine torch's tanh takes 2.7 ns per element, its sigmoid 0.7 (0.9 with
# ATEN_CPU_CAPABILITY=avx2), and the exponential form below 0.35 (both). The additive score
# evaluates batch * tgt_len * src_len * d_attn of them, so this is most of its time.
# ``additive_reference`` below is the formula as written; the tests hold the two together.


def additive_reference(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """v^T tanh(q_t + k_s) for all pairs at once, as written: (batch, tgt_len, src_len).

    q (batch, tgt_len, d_attn), k (batch, src_len, d_attn), v (d_attn,). Needs the whole
    (batch, tgt_len, src_len, d_attn) tensor; the tests compare the chunked version with it.
    """
    return torch.tanh(q[:, :, None, :] + k[:, None, :, :]) @ v


# Safe bound for the exponential form below: exp(80) and exp(-80) are normal float32 numbers, so
# exp(-2q) exp(-2k) is a product of two of them: it may round to 0 or inf, never inf * 0 = NaN.
EXP_FORM_MAX_ABS = 40.0


def _max_abs(t: torch.Tensor) -> torch.Tensor:
    """max |t| in one pass (t.norm(inf) took 1.1 ms for 64 x 50 x 256 floats here, this 0.05)."""
    low, high = torch.aminmax(t)
    return torch.maximum(-low, high)


def _additive_chunks(q, k, v, block):
    """v^T tanh(q_t + k_s) block by block, as (2v)^T sigmoid(2q_t + 2k_s) - sum(v).

    sigmoid(2q + 2k) = 1 / (1 + exp(-2q) exp(-2k)): the exponentials are taken of the small
    tensors q and k, so each of the batch * tgt_len * src_len * d_attn elements costs one
    multiply-add and one division. Pre-activations beyond +-EXP_FORM_MAX_ABS use torch.sigmoid.
    ``block`` is (batch rows, target steps) per block.
    """
    batch, tgt_len, d_attn = q.shape
    src_len = k.shape[1]
    largest = max(_max_abs(q), _max_abs(k)) if q.numel() and k.numel() else 0
    exp_form = largest <= EXP_FORM_MAX_ABS  # max |q| and max |k|
    if exp_form:
        eq, ek = torch.exp(q * -2), torch.exp(k * -2)  # (batch, tgt_len, d), (batch, src_len, d)
        one = q.new_ones(())
    else:
        q2 = q * 2  # doubling is exact, so 2q + 2k below rounds exactly like 2(q + k)
    scores = q.new_empty(batch, tgt_len, src_len)
    rows, steps = min(block[0], batch), min(block[1], tgt_len)
    # One buffer for every block's activations: a fresh tensor per block would be fresh pages.
    buffer = q.new_empty(rows * steps * src_len * d_attn)
    v2 = v * 2
    for b0 in range(0, batch, rows):
        b1 = min(b0 + rows, batch)
        for t0 in range(0, tgt_len, steps):
            t1 = min(t0 + steps, tgt_len)
            size = (b1 - b0) * (t1 - t0) * src_len * d_attn
            hidden = buffer[:size].view(b1 - b0, t1 - t0, src_len, d_attn)
            # (rows, steps, 1, d_attn) with (rows, 1, src_len, d_attn) -> (rows, steps, src, d)
            if exp_form:
                qs, ks = eq[b0:b1, t0:t1, None, :], ek[b0:b1, None, :, :]
                torch.addcmul(one, qs, ks, out=hidden).reciprocal_()
            else:
                qs, ks = q2[b0:b1, t0:t1, None, :], k[b0:b1, None, :, :]
                torch.add(qs, ks, alpha=2, out=hidden).sigmoid_()
            scores[b0:b1, t0:t1] = hidden @ v2  # (rows, steps, src_len)
    return scores.sub_(v.sum())


def _tanh_chunk(q: torch.Tensor, k: torch.Tensor, t0: int, t1: int) -> torch.Tensor:
    """tanh(q_t + k_s) for target steps t0..t1-1, all sources: (batch, t1-t0, src_len, d_attn).

    Computed as 2 sigmoid(2z) - 1 (see above): four cheap passes beat one tanh pass.
    """
    z = torch.add(q[:, t0:t1, None, :], k[:, None, :, :])
    return z.mul_(2).sigmoid_().mul_(2).sub_(1)


class _AdditiveScores(torch.autograd.Function):
    """v^T tanh(q_t + k_s) chunk by chunk, with a backward pass that recomputes the tanh."""

    @staticmethod
    def forward(ctx, q, k, v, blocks):
        # q (batch, tgt_len, d_attn), k (batch, src_len, d_attn), v (d_attn,)
        ctx.save_for_backward(q, k, v)
        ctx.chunk_size = blocks.backward
        return _additive_chunks(q, k, v, blocks.forward)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        q, k, v = ctx.saved_tensors
        need_q, need_k, need_v, _ = ctx.needs_input_grad
        grad_q = torch.empty_like(q) if need_q else None
        grad_k = torch.zeros_like(k) if need_k else None
        grad_v = torch.zeros_like(v) if need_v else None
        tgt_len, d_attn = q.shape[1], q.shape[2]
        for t0 in range(0, tgt_len, ctx.chunk_size):
            t1 = min(t0 + ctx.chunk_size, tgt_len)
            hidden = _tanh_chunk(q, k, t0, t1)  # (batch, chunk, src_len, d_attn)
            g = grad[:, t0:t1, :, None]  # (batch, chunk, src_len, 1)
            if need_v:
                grad_v += hidden.reshape(-1, d_attn).T @ g.reshape(-1)
            if need_q or need_k:
                # d score / d(q_t + k_s) = v * (1 - tanh^2), reusing the chunk's buffer in place.
                pre = hidden.square_().sub_(1).mul_(g).mul_(-v)
                if need_q:
                    grad_q[:, t0:t1] = pre.sum(2)
                if need_k:
                    grad_k += pre.sum(1)
        return grad_q, grad_k, grad_v, None


def check_scores(fn: str, scores: object, query: torch.Tensor, keys: torch.Tensor) -> None:
    """Check that a (possibly user-written) score function returned the shape attend expects."""
    expected = (*query.shape[:-1], keys.shape[1])
    if not isinstance(scores, torch.Tensor) or tuple(scores.shape) != expected:
        got = shape_str(scores) if isinstance(scores, torch.Tensor) else type(scores).__name__
        raise ValueError(f"{fn}: the score function must return shape {expected}, got {got}")
