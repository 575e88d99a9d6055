"""Bahdanau's teacher-forced loop with a hand-written backward pass: the speed path.

Why: the decoder must loop over target steps (attention at step t needs h_{t-1}). Under autograd
every step records a dozen small ops, and the backward pass computes a weight gradient and
accumulates a full ``(batch, src_len, d_attn)`` key gradient per step. Here the backward loop
does only what the recurrence needs (the gradient flowing into h_{t-1}) and every parameter
gradient is one batched matrix product after the loop. ``BahdanauDecoder(fused=False)`` runs the
same equations under plain autograd; the tests check that both give the same values and
gradients.

Per step t (h = h_{t-1}, gates in the order reset, update, new, as in ``torch.nn.GRU``):
    [gh; q] = W_hidden h + b_hidden            GRU hidden-side gates and the attention query
    p = tanh(keys + q),  e = p v,  a = softmax(e over real positions),  c = a @ values
    gi = gi_emb[t] + W_ctx c                   the context's share of the input gates
    r, z = sigmoid(gi_r + gh_r), sigmoid(gi_z + gh_z)
    n = tanh(gi_n + r * gh_n),  h_t = n + z * (h - n)
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


class BahdanauRecurrence(torch.autograd.Function):
    """All target steps of the Bahdanau decoder: returns ``(hs, contexts, weights)``."""

    @staticmethod
    def forward(ctx, gi_emb, h0, keys, values, mask, w_hidden, b_hidden, w_ctx, v):
        # gi_emb (batch, tgt_len, 3*hidden), h0 (batch, hidden), keys (batch, src_len, d_attn),
        # values (batch, src_len, enc_dim), mask (batch, src_len) bool, w_hidden (3*hidden +
        # d_attn, hidden), b_hidden (3*hidden + d_attn,), w_ctx (3*hidden, enc_dim), v (d_attn,)
        batch, tgt_len, three_h = gi_emb.shape
        hid = three_h // 3
        pad = ~mask  # (batch, src_len)
        fill = torch.finfo(keys.dtype).min
        # One work buffer for tanh(keys + q), reused at every step; the backward pass recomputes
        # it rather than storing tgt_len of them (fresh memory that size costs more than tanh).
        work = torch.empty_like(keys)  # (batch, src_len, d_attn)
        h = h0
        hs, rs, zs, ns, ghns, ws, cs, queries = [], [], [], [], [], [], [], []
        for t in range(tgt_len):
            proj = torch.addmm(b_hidden, h, w_hidden.t())  # (batch, 3*hidden + d_attn)
            gh, q = proj[:, :three_h], proj[:, three_h:]
            p = torch.add(keys, q[:, None, :], out=work).tanh_()  # (batch, src_len, d_attn)
            e = torch.matmul(p, v).masked_fill_(pad, fill)  # (batch, src_len)
            a = torch.softmax(e, dim=-1)
            c = torch.bmm(a[:, None, :], values)[:, 0]  # (batch, enc_dim)
            gi = torch.addmm(gi_emb[:, t], c, w_ctx.t())  # (batch, 3*hidden)
            rz = torch.sigmoid(gi[:, : 2 * hid] + gh[:, : 2 * hid])
            r, z = rz[:, :hid], rz[:, hid:]
            ghn = gh[:, 2 * hid :]
            n = torch.tanh(gi[:, 2 * hid :] + r * ghn)
            h = n + z * (h - n)
            queries.append(q)
            for store, x in ((hs, h), (rs, r), (zs, z), (ns, n), (ghns, ghn), (ws, a), (cs, c)):
                store.append(x)
        # Saved tensors are time-major, (tgt_len, batch, ...), so each step's slice is contiguous.
        h_prev = torch.stack([h0, *hs[:-1]])  # (tgt_len, batch, hidden)
        weights, contexts = torch.stack(ws), torch.stack(cs)  # (T, batch, src_len / enc_dim)
        gates = torch.stack([torch.stack(x) for x in (rs, zs, ns, ghns)], 1)  # (T, 4, batch, hid)
        queries = torch.stack(queries)  # (tgt_len, batch, d_attn)
        saved = (h_prev, gates, weights, contexts, queries, keys, values, w_hidden, w_ctx, v)
        ctx.save_for_backward(*saved)
        # Outputs batch-first: (batch, tgt_len, hidden), (.., enc_dim), (.., src_len)
        return torch.stack(hs, 1), contexts.transpose(0, 1), weights.transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_hs, d_contexts, d_weights):
        h_prev, gates, weights, contexts, queries, keys, values, w_hidden, w_ctx, v = (
            ctx.saved_tensors
        )
        tgt_len, batch, hid = h_prev.shape
        three_h = 3 * hid
        d_gi = h_prev.new_empty(tgt_len, batch, three_h)
        d_hidden = h_prev.new_empty(tgt_len, batch, w_hidden.shape[0])  # [d gh; d q] per step
        d_ctx = h_prev.new_empty(tgt_len, batch, values.shape[-1])
        d_keys = torch.zeros_like(keys)  # (batch, src_len, d_attn)
        work = torch.empty_like(keys)
        d_v = torch.zeros_like(v)
        dh = h_prev.new_zeros(batch, hid)
        for t in reversed(range(tgt_len)):
            if d_hs is not None:
                dh = dh + d_hs[:, t]
            r, z, n, ghn = gates[t]
            # h_t = n + z * (h_{t-1} - n): back through the gates' tanh and sigmoids
            d_n = dh * (1 - z) * (1 - n * n)
            d_r = d_n * ghn * r * (1 - r)
            d_z = dh * (h_prev[t] - n) * z * (1 - z)
            torch.cat([d_r, d_z, d_n], dim=1, out=d_gi[t])
            # c = a @ values, with a = softmax(e) over real positions (a is 0 on padding)
            dc = d_gi[t] @ w_ctx  # (batch, enc_dim)
            if d_contexts is not None:
                dc = dc + d_contexts[:, t]
            d_ctx[t] = dc
            a = weights[t]  # (batch, src_len)
            da = torch.bmm(values, dc[:, :, None])[:, :, 0]  # (batch, src_len)
            if d_weights is not None:
                da = da + d_weights[:, t]
            de = a * (da - (a * da).sum(-1, keepdim=True))
            # e = p v with p = tanh(keys + q); d e / d(keys + q) = v (1 - p^2). The (batch,
            # src_len, d_attn) tensors dominate the cost, so they get as few passes as possible.
            p = torch.add(keys, queries[t][:, None, :], out=work).tanh_()  # recomputed
            de_row = de[:, None, :]  # (batch, 1, src_len)
            d_v += torch.bmm(de_row, p).sum((0, 1))
            g = p.mul_(p).sub_(1)  # p^2 - 1 = -(1 - p^2), in place
            d_keys.addcmul_(de[:, :, None], g)  # times -v after the loop
            d_q = torch.bmm(de_row, g)[:, 0].mul_(v).neg_()  # (batch, d_attn)
            # [gh; q] = W_hidden h_{t-1} + b: gh_r and gh_z share gi's gradients, gh_n is scaled
            torch.cat([d_r, d_z, d_n * r, d_q], dim=1, out=d_hidden[t])
            dh = dh * z + d_hidden[t] @ w_hidden
        d_keys.mul_(v).neg_()
        # Parameter gradients: one matrix product over all (step, batch) rows at once.
        d_w_hidden = d_hidden.reshape(-1, d_hidden.shape[-1]).t() @ h_prev.reshape(-1, hid)
        d_b_hidden = d_hidden.sum((0, 1))
        d_w_ctx = d_gi.reshape(-1, three_h).t() @ contexts.reshape(-1, contexts.shape[-1])
        # (batch, src_len, T) @ (batch, T, enc_dim) -> (batch, src_len, enc_dim)
        d_values = torch.bmm(weights.permute(1, 2, 0), d_ctx.transpose(0, 1))
        d_gi = d_gi.transpose(0, 1)  # back to (batch, tgt_len, 3*hidden)
        return d_gi, dh, d_keys, d_values, None, d_w_hidden, d_b_hidden, d_w_ctx, d_v


def bahdanau_recurrence(gi_emb, h0, keys, values, mask, w_hidden, b_hidden, w_ctx, v):
    """Run :class:`BahdanauRecurrence`; see the module docstring for the equations."""
    return BahdanauRecurrence.apply(gi_emb, h0, keys, values, mask, w_hidden, b_hidden, w_ctx, v)
