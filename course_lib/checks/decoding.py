"""Checks for exercise 05: a Bahdanau step, a Luong step, and a decoding loop recording attention."""

from __future__ import annotations

import torch
from torch import nn

from ._core import Candidate, call, compare, generator, lengths_mask, passed, randn, unpack


def _seeded(module: nn.Module, gen: torch.Generator) -> nn.Module:
    """Give a module reproducible weights without touching the notebook's global random state."""
    with torch.no_grad():
        for param in module.parameters():
            param.copy_(torch.randn(param.shape, generator=gen) * 0.6)
    return module


def _build(gen: torch.Generator, factory) -> nn.Module:
    with torch.random.fork_rng(devices=[]):  # construction draws from the global generator
        module = factory()
    return _seeded(module, gen)


class MLPScore(nn.Module):
    """Bahdanau's score v^T tanh(W_q h + W_k s), returning (batch, src_len) for one query."""

    def __init__(self, d_q: int, d_k: int, d_attn: int):
        super().__init__()
        self.w_query = nn.Linear(d_q, d_attn, bias=False)
        self.w_key = nn.Linear(d_k, d_attn, bias=False)
        self.v = nn.Linear(d_attn, 1, bias=False)

    def forward(self, query: torch.Tensor, keys: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(self.w_query(query)[:, None, :] + self.w_key(keys))
        return self.v(hidden).squeeze(-1)  # (batch, src_len)


def _attend(scores, mask, values, dim=-1, masked=True):
    if masked:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = scores.softmax(dim=dim)  # (batch, src_len)
    return torch.einsum("bs,bsd->bd", weights, values), weights


def check_bahdanau_step(fn) -> None:
    """bahdanau_step(y_emb, h_prev, enc_states, mask, score, cell) -> (h_t, context, weights)."""
    part = "bahdanau_step"
    where = (
        "Query with h_prev, mask, softmax, weighted sum of enc_states, then cell([y; c], h_prev)."
    )
    batch, src_len, emb, hidden, d_enc, d_attn = 2, 5, 3, 4, 6, 7
    gen = generator(101)
    score = _build(gen, lambda: MLPScore(hidden, d_enc, d_attn))
    cell = _build(gen, lambda: nn.GRUCell(emb + d_enc, hidden))
    y_emb, h_prev = randn(gen, batch, emb), randn(gen, batch, hidden)
    enc_states = randn(gen, batch, src_len, d_enc)  # (batch, src_len, 2 * enc_hidden)
    mask = lengths_mask([5, 3], src_len)
    result = call(part, fn, y_emb, h_prev, enc_states, mask, score, cell, on_error=where)
    h_t, context, weights = unpack(part, result, ("h_t", "context", "weights"))
    with torch.no_grad():
        scores = score(h_prev, enc_states)
        expected_context, expected_weights = _attend(scores, mask, enc_states)
        expected_h = cell(torch.cat([y_emb, expected_context], -1), h_prev)
        late_context, late_weights = _attend(score(expected_h, enc_states), mask, enc_states)
        swapped_h = cell(torch.cat([expected_context, y_emb], -1), h_prev)
        unmasked = _attend(scores, mask, enc_states, masked=False)
        wrong_axis = _attend(scores, mask, enc_states, dim=0)
    compare(
        part,
        "weights",
        weights,
        expected_weights,
        [
            Candidate("bahdanau_query_h_t", late_weights),
            Candidate("padding_not_masked", unmasked[1]),
            Candidate("softmax_wrong_axis", wrong_axis[1]),
        ],
        where,
    )
    compare(
        part,
        "context",
        context,
        expected_context,
        [Candidate("bahdanau_query_h_t", late_context)],
        where,
    )
    compare(
        part,
        "h_t",
        h_t,
        expected_h,
        [Candidate("bahdanau_input_order", swapped_h)],
        where,
    )
    passed(part)


def _luong_parts(gen: torch.Generator, emb: int, hidden: int, d_enc: int, vocab: int):
    cell = _build(gen, lambda: nn.GRUCell(emb, hidden))
    w_score = randn(gen, hidden, d_enc) * 0.6
    combine = _build(gen, lambda: nn.Linear(hidden + d_enc, hidden, bias=False))
    out = _build(gen, lambda: nn.Linear(hidden, vocab))
    return cell, w_score, combine, out


def _luong_reference(y_emb, h_prev, enc_states, mask, cell, w_score, combine, out, **mistake):
    """Luong's step; keyword flags switch on one mistake at a time to compute its output."""
    h_t = cell(y_emb, h_prev)
    query = h_prev if mistake.get("query_h_prev") else h_t
    scores = torch.einsum("bh,hk,bsk->bs", query, w_score, enc_states)
    context, weights = _attend(scores, mask, enc_states)
    pair = [context, h_t] if mistake.get("swap") else [h_t, context]
    h_tilde = combine(torch.cat(pair, -1))
    if not mistake.get("no_tanh"):
        h_tilde = torch.tanh(h_tilde)
    logits = out(h_t if mistake.get("from_h_t") else h_tilde)
    return logits, h_t, weights


def check_luong_step(fn) -> None:
    """luong_step(y_emb, h_prev, enc_states, mask, cell, w_score, combine, out) -> (logits, h_t, weights)."""
    part = "luong_step"
    where = (
        "h_t = cell(y_emb, h_prev); bilinear scores h_t^T W s; masked softmax; context; "
        "h~_t = tanh(combine([h_t; c_t])); logits = out(h~_t)."
    )
    batch, src_len, emb, hidden, d_enc, vocab = 2, 5, 3, 4, 6, 9
    gen = generator(111)
    modules = _luong_parts(gen, emb, hidden, d_enc, vocab)
    y_emb, h_prev = randn(gen, batch, emb), randn(gen, batch, hidden)
    enc_states = randn(gen, batch, src_len, d_enc)
    mask = lengths_mask([3, 5], src_len)
    args = (y_emb, h_prev, enc_states, mask, *modules)
    result = call(part, fn, *args, on_error=where)
    logits, h_t, weights = unpack(part, result, ("logits", "h_t", "weights"))
    with torch.no_grad():
        expected = _luong_reference(*args)
        early = _luong_reference(*args, query_h_prev=True)
        from_h_t = _luong_reference(*args, from_h_t=True)
        no_tanh = _luong_reference(*args, no_tanh=True)
        swapped = _luong_reference(*args, swap=True)
    compare(part, "h_t", h_t, expected[1], where=where)
    compare(
        part,
        "weights",
        weights,
        expected[2],
        [Candidate("luong_query_h_prev", early[2])],
        where,
    )
    compare(
        part,
        "logits",
        logits,
        expected[0],
        [
            Candidate("luong_predicts_from_h_t", from_h_t[0]),
            Candidate("luong_missing_tanh", no_tanh[0]),
            Candidate("luong_concat_order", swapped[0]),
            Candidate("luong_query_h_prev", early[0]),
        ],
        where,
    )
    passed(part)


def make_step(seed: int = 121, batch: int = 2, src_len: int = 5, vocab: int = 9):
    """A small seeded Luong decoder step `step(tokens, h) -> (logits, h, weights)` and its h0."""
    gen = generator(seed)
    emb, hidden, d_enc = 3, 4, 6
    embed = _build(gen, lambda: nn.Embedding(vocab, emb))
    modules = _luong_parts(gen, emb, hidden, d_enc, vocab)
    enc_states = randn(gen, batch, src_len, d_enc)
    mask = lengths_mask([src_len, src_len - 2], src_len)
    h0 = randn(gen, batch, hidden)

    def step(tokens: torch.Tensor, h: torch.Tensor):
        """One decoder step: previous tokens (batch,) and state (batch, hidden) in."""
        with torch.no_grad():
            logits, h_t, weights = _luong_reference(embed(tokens), h, enc_states, mask, *modules)
        return logits, h_t, weights

    return step, h0


def _run(step, h0, tgt_in, greedy):
    tokens, weights = [], []
    inputs, h = tgt_in[:, 0], h0
    for t in range(tgt_in.shape[1]):
        logits, h, w = step(inputs, h)
        prediction = logits.argmax(-1)
        tokens.append(prediction)
        weights.append(w)
        if t + 1 < tgt_in.shape[1]:
            inputs = prediction if greedy else tgt_in[:, t + 1]
    return torch.stack(tokens, 1), torch.stack(weights, 1)


def check_decode(fn) -> None:
    """decode(step, h0, tgt_in, greedy) -> (tokens (batch, tgt_len), weights (batch, tgt_len, src_len))."""
    part = "decode"
    step, h0 = make_step()
    tgt_in = torch.tensor([[1, 4, 7, 3], [1, 8, 2, 6]])  # (batch, tgt_len), SOS = 1 first
    where = (
        "Call step tgt_len times starting from tgt_in[:, 0]; keep the argmax of each step's "
        "logits and stack the tokens and weights along dim=1."
    )
    forced = _run(step, h0, tgt_in, greedy=False)
    free = _run(step, h0, tgt_in, greedy=True)
    for greedy, expected, other, mistake in [
        (False, forced, free, "teacher_forcing_feeds_prediction"),
        (True, free, forced, "greedy_feeds_gold"),
    ]:
        result = call(part, fn, step, h0, tgt_in, greedy, on_error=where)
        tokens, weights = unpack(part, result, ("tokens", "weights"))
        label = f"tokens (greedy={greedy})"
        compare(part, label, tokens, expected[0], [Candidate(mistake, other[0])], where)
        label = f"weights (greedy={greedy})"
        compare(part, label, weights, expected[1], [Candidate(mistake, other[1])], where)
    passed(part)
