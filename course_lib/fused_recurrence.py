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

What makes it fast on a CPU, where every op costs a few microseconds however small its tensor:
- W_ctx c_t = a_t @ (values W_ctx^T): the values' share of the gates is projected once per
  sequence, so a step multiplies (src_len x 3*hidden), not (enc_dim x 3*hidden);
- tanh(k + q) = 1 - 2u with u = 1 / (1 + exp(2k) exp(2q)): exp(2 keys) is taken once, and a
  step's (batch, src_len, d_attn) pass is a multiply-add and a reciprocal (torch's tanh costs
  several times more per element). Softmax ignores the constant sum(v), so e = -2 u v;
- the gates' derivatives are computed for all steps at once before the backward loop, which
  then needs about fifteen ops per step.
"""

from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable

# Keys or queries beyond +-EXP_FORM_MAX_ABS use torch.tanh: then exp(2k) exp(2q) is never
# 0 * inf, and never rounds to 0 or inf where k + q is a few units and tanh is not yet +-1 in
# float32 (exp overflows past 44).
EXP_FORM_MAX_ABS = 40.0


class BahdanauRecurrence(torch.autograd.Function):
    """All target steps of the Bahdanau decoder: returns ``(hs, contexts, weights)``."""

    @staticmethod
    def forward(ctx, gi_emb, h0, keys, values, mask, w_hidden, b_hidden, w_ctx, v):
        # gi_emb (batch, tgt_len, 3*hidden), h0 (batch, hidden), keys (batch, src_len, d_attn),
        # values (batch, src_len, enc_dim), mask (batch, src_len) bool, w_hidden (3*hidden +
        # d_attn, hidden), b_hidden (3*hidden + d_attn,), w_ctx (3*hidden, enc_dim), v (d_attn,)
        value_gates = values @ w_ctx.t()  # (batch, src_len, 3*hidden)
        exp_form = keys.numel() > 0 and bool(keys.abs().max() <= EXP_FORM_MAX_ABS)
        args = (gi_emb, h0, keys, value_gates, mask, w_hidden, b_hidden, v)
        steps = _forward_steps(*args, exp_form)
        if exp_form and steps["queries"].abs().max() > EXP_FORM_MAX_ABS:
            exp_form = False  # a query too large for the exponential form: again with tanh
            steps = _forward_steps(*args, exp_form)
        weights = steps["weights"]  # (tgt_len, batch, src_len)
        contexts = torch.bmm(weights.transpose(0, 1), values)  # (batch, tgt_len, enc_dim)
        saved = (steps["h_prev"], steps["gates"], weights, steps["queries"], keys, values)
        ctx.save_for_backward(*saved, value_gates, w_hidden, w_ctx, v)
        ctx.exp_form = exp_form
        # Outputs batch-first: (batch, tgt_len, hidden), (.., enc_dim), (.., src_len)
        return steps["hs"], contexts, weights.transpose(0, 1)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_hs, d_contexts, d_weights):
        h_prev, gates, weights, queries, keys, values, value_gates, w_hidden, w_ctx, v = (
            ctx.saved_tensors
        )
        tgt_len, batch, hid = h_prev.shape
        three_h, d_attn = 3 * hid, keys.shape[-1]
        gate_factors, hidden_factors = _gate_factors(gates, h_prev)  # (T, batch, 3, hid) each
        # What reaches the weights from outside the recurrence, known before the loop: the
        # contexts' gradient (contexts = weights @ values) and the weights' own.
        da_outside = None if d_contexts is None else torch.bmm(d_contexts, values.transpose(1, 2))
        if d_weights is not None:
            da_outside = d_weights if da_outside is None else da_outside + d_weights
        # (batch, 1, 3h) @ (batch, 3h, src_len) per step: a row times a matrix is one fast
        # batched product; (batch, src_len, 3h) @ (batch, 3h, 1) is about 10x slower on a CPU.
        gates_by_source = value_gates.transpose(1, 2).contiguous()  # (batch, 3*hidden, src_len)
        exp_keys = torch.exp(keys * 2) if ctx.exp_form else None
        exp_queries = torch.exp(queries * 2) if ctx.exp_form else None  # (T, batch, d_attn)
        # e = p v (tanh form) or -2 u v (exponential form); either way d e/d(k + q) = -v g scale
        # with g = p^2 - 1 (scale 1) or u (u - 1) (scale 4), and d e/d v = coef * (p or u).
        scale, coef = (4.0, -2.0) if ctx.exp_form else (1.0, 1.0)
        w_gates, w_query = w_hidden[:three_h], w_hidden[three_h:]  # (3h, hid), (d_attn, hid)
        w_query_scaled = (-scale * v)[:, None] * w_query  # d q = g_row * (-scale v)
        d_gi = h_prev.new_empty(tgt_len, batch, three_h)
        d_gh = h_prev.new_empty(tgt_len, batch, three_h)
        g_rows = h_prev.new_empty(tgt_len, batch, d_attn)  # sum over sources of de * g
        dv_rows = h_prev.new_empty(tgt_len, batch, d_attn)  # sum over sources of de * (p or u)
        d_keys = torch.zeros_like(keys)  # (batch, src_len, d_attn)
        work, work2 = torch.empty_like(keys), torch.empty_like(keys)
        one = keys.new_ones(())
        dh = d_hs[:, -1].clone() if d_hs is not None else h_prev.new_zeros(batch, hid)
        for t in reversed(range(tgt_len)):
            z = gates[t, 1]
            # Through h_t = n + z (h_{t-1} - n) into the input and hidden sides of the gates
            torch.mul(dh[:, None, :], gate_factors[t], out=d_gi[t].view(batch, 3, hid))
            torch.mul(dh[:, None, :], hidden_factors[t], out=d_gh[t].view(batch, 3, hid))
            # gi = gi_emb + a @ value_gates, a = softmax(e) over real positions (0 on padding)
            a, row = weights[t], d_gi[t][:, None, :]  # (batch, src_len), (batch, 1, 3h)
            if da_outside is None:
                da = torch.bmm(row, gates_by_source)[:, 0]  # (batch, src_len)
            else:
                da = torch.baddbmm(da_outside[:, t, None, :], row, gates_by_source)[:, 0]
            de = da.sub_((a * da).sum(-1, keepdim=True)).mul_(a)  # through the softmax
            de_row = de[:, None, :]  # (batch, 1, src_len)
            # The (batch, src_len, d_attn) passes dominate: recomputed, as few as possible.
            if exp_keys is not None:
                u = torch.addcmul(one, exp_keys, exp_queries[t][:, None, :], out=work)
                u.reciprocal_()
                torch.bmm(de_row, u, out=dv_rows[t][:, None, :])
                g = torch.sub(u, 1, out=work2).mul_(u)
            else:
                p = torch.add(keys, queries[t][:, None, :], out=work).tanh_()
                torch.bmm(de_row, p, out=dv_rows[t][:, None, :])
                g = p.mul_(p).sub_(1)
            d_keys.addcmul_(de[:, :, None], g)  # times -scale v after the loop
            torch.bmm(de_row, g, out=g_rows[t][:, None, :])
            # [gh; q] = W_hidden h_{t-1} + b: back into h_{t-1}, plus what h_{t-1} gave directly
            carried = torch.addcmul(d_hs[:, t - 1], dh, z) if d_hs is not None and t else dh * z
            dh = torch.addmm(carried, d_gh[t], w_gates).addmm_(g_rows[t], w_query_scaled)
        d_keys.mul_(-scale * v)
        d_v = coef * dv_rows.sum((0, 1))
        # Parameter gradients: one matrix product over all (step, batch) rows at once.
        d_hidden = torch.cat([d_gh, g_rows * (-scale * v)], dim=-1)  # (T, batch, 3h + d_attn)
        d_w_hidden = d_hidden.reshape(-1, d_hidden.shape[-1]).t() @ h_prev.reshape(-1, hid)
        d_b_hidden = d_hidden.sum((0, 1))
        d_gi = d_gi.transpose(0, 1)  # back to (batch, tgt_len, 3*hidden)
        # value_gates = values W_ctx^T, used by every step: (batch, src_len, T) @ (batch, T, 3h)
        weights_bst = weights.permute(1, 2, 0)  # (batch, src_len, tgt_len)
        d_value_gates = torch.bmm(weights_bst, d_gi)  # (batch, src_len, 3*hidden)
        d_w_ctx = d_value_gates.reshape(-1, three_h).t() @ values.reshape(-1, values.shape[-1])
        d_values = d_value_gates @ w_ctx  # (batch, src_len, enc_dim)
        if d_contexts is not None:  # contexts = weights @ values
            d_values += torch.bmm(weights_bst, d_contexts)
        return d_gi, dh, d_keys, d_values, None, d_w_hidden, d_b_hidden, d_w_ctx, d_v


def _gate_factors(gates, h_prev):
    """d h_t / d (gi, gh) per step, for all steps at once: two (T, batch, 3, hidden) tensors.

    With d_n = dh (1 - z)(1 - n^2): the input side gets [d_n gh_n r (1 - r), dh (h - n) z (1 - z),
    d_n]; the hidden side the same but d_n r for the new gate (r scales gh_n).
    """
    r, z, n, ghn = gates.unbind(1)  # (T, batch, hid) each
    dn = (1 - z) * (1 - n * n)
    dr = dn * ghn * r * (1 - r)
    dz = (h_prev - n) * z * (1 - z)
    return torch.stack([dr, dz, dn], 2), torch.stack([dr, dz, dn * r], 2)


def _forward_steps(gi_emb, h0, keys, value_gates, mask, w_hidden, b_hidden, v, exp_form):
    """The forward loop; returns what the backward pass needs, time-major (tgt_len, batch, ..)."""
    batch, tgt_len, three_h = gi_emb.shape
    hid, (src_len, d_attn) = three_h // 3, keys.shape[1:]
    # Padding enters as a large negative score, added in the same op as the scores' product.
    padding = keys.new_zeros(batch * src_len).masked_fill_(~mask.reshape(-1), -1e30)
    # One work buffer for the (batch, src_len, d_attn) activations, reused at every step; the
    # backward pass recomputes them rather than storing tgt_len of them (fresh memory costs
    # more than recomputing).
    work = torch.empty_like(keys)
    if exp_form:
        exp_keys, v_scores, one = torch.exp(keys * 2), -2 * v, keys.new_ones(())
    h = h0
    hs, rs, zs, ns, ghns, ws, queries = [], [], [], [], [], [], []
    for t in range(tgt_len):
        proj = torch.addmm(b_hidden, h, w_hidden.t())  # (batch, 3*hidden + d_attn)
        gh, q = proj[:, :three_h], proj[:, three_h:]
        if exp_form:  # e = -2 u v; softmax ignores the constant sum(v) of (1 - 2u) v
            u = torch.addcmul(one, exp_keys, torch.exp(q * 2)[:, None, :], out=work)
            act, vec = u.reciprocal_(), v_scores
        else:
            act, vec = torch.add(keys, q[:, None, :], out=work).tanh_(), v
        e = torch.addmv(padding, act.view(-1, d_attn), vec).view(batch, src_len)
        a = torch.softmax(e, dim=-1)
        # gi = gi_emb[t] + W_ctx c_t, with W_ctx c_t = a_t @ value_gates: (batch, 3*hidden)
        gi = torch.baddbmm(gi_emb[:, t, None, :], a[:, None, :], value_gates)[:, 0]
        rz = torch.add(gi[:, : 2 * hid], gh[:, : 2 * hid]).sigmoid_()
        r, z = rz[:, :hid], rz[:, hid:]
        ghn = gh[:, 2 * hid :]
        n = torch.addcmul(gi[:, 2 * hid :], r, ghn).tanh_()
        h = torch.lerp(n, h, z)  # n + z (h - n)
        queries.append(q)
        for store, x in ((hs, h), (rs, r), (zs, z), (ns, n), (ghns, ghn), (ws, a)):
            store.append(x)
    return {
        "hs": torch.stack(hs, 1),  # (batch, tgt_len, hidden)
        "h_prev": torch.stack([h0, *hs[:-1]]),  # (tgt_len, batch, hidden)
        "gates": torch.stack([torch.stack(x) for x in (rs, zs, ns, ghns)], 1),  # (T, 4, b, hid)
        "weights": torch.stack(ws),  # (tgt_len, batch, src_len)
        "queries": torch.stack(queries),  # (tgt_len, batch, d_attn)
    }


def bahdanau_recurrence(gi_emb, h0, keys, values, mask, w_hidden, b_hidden, w_ctx, v):
    """Run :class:`BahdanauRecurrence`; see the module docstring for the equations."""
    return BahdanauRecurrence.apply(gi_emb, h0, keys, values, mask, w_hidden, b_hidden, w_ctx, v)
