"""Checks for exercise 05: a Bahdanau step, a Luong step, and a decoding loop recording attention.

The modules handed to an answer (score layer, GRU cell, decoder step) are built here from a
generator, and record their constructor arguments in `init_kwargs`, so the grader can rebuild the
same module from plain numbers inside its sandbox.
"""

from __future__ import annotations

import torch
from torch import nn

from ._core import Candidate, compare, generator, lengths_mask, randn, unpack
from ._part import Part, pick, random_lengths, run_check, stress_sizes


def _seeded(modules: list[nn.Module], gen: torch.Generator, scale: float = 0.6) -> None:
    """Reproducible weights, drawn in parameter order, without touching the global random state."""
    with torch.no_grad():
        for module in modules:
            for param in module.parameters():
                param.copy_(torch.randn(param.shape, generator=gen) * scale)


def _build(gen: torch.Generator, factory, scale: float = 0.6) -> nn.Module:
    with torch.random.fork_rng(devices=[]):  # construction draws from the global generator
        module = factory()
    _seeded([module], gen, scale)
    return module


class MLPScore(nn.Module):
    """Bahdanau's score v^T tanh(W_q h + W_k s), returning (batch, src_len) for one query."""

    def __init__(self, d_q: int, d_k: int, d_attn: int):
        super().__init__()
        self.init_kwargs = {"d_q": d_q, "d_k": d_k, "d_attn": d_attn}
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


BAHDANAU_WHERE = (
    "Query with h_prev, mask, softmax, weighted sum of enc_states, then cell([y; c], h_prev)."
)


def _bahdanau(y_emb, h_prev, enc_states, mask, score, cell, *, late=False, swap=False, **attend):
    """Bahdanau's step; the keywords switch on one mistake to compute what it gives."""
    context, weights = _attend(score(h_prev, enc_states), mask, enc_states, **attend)
    h_t = cell(torch.cat([context, y_emb] if swap else [y_emb, context], -1), h_prev)
    if late:
        context, weights = _attend(score(h_t, enc_states), mask, enc_states)
    return h_t, context, weights


def _bahdanau_inputs(gen, batch, src_len, emb, hidden, d_enc, d_attn, lengths, scale=1.0):
    score = _build(gen, lambda: MLPScore(hidden, d_enc, d_attn))
    cell = _build(gen, lambda: nn.GRUCell(emb + d_enc, hidden))
    y_emb, h_prev = randn(gen, batch, emb), randn(gen, batch, hidden)
    enc_states = randn(gen, batch, src_len, d_enc) * scale  # (batch, src_len, 2 * enc_hidden)
    return y_emb, h_prev, enc_states, lengths_mask(lengths, src_len), score, cell


def _bahdanau_examples():
    yield _bahdanau_inputs(generator(101), 2, 5, 3, 4, 6, 7, [5, 3])


def _bahdanau_stress(gen: torch.Generator):
    for (batch, src_len, emb, hidden, d_enc, d_attn), scale in zip(
        stress_sizes(gen, 6), (1e-3, 1.0, 3.0), strict=True
    ):
        lengths = random_lengths(gen, batch, src_len)
        yield _bahdanau_inputs(gen, batch, src_len, emb, hidden, d_enc, d_attn, lengths, scale)


def _judge_bahdanau(args, result) -> None:
    part = "bahdanau_step"
    h_t, context, weights = unpack(part, result, ("h_t", "context", "weights"))
    with torch.no_grad():
        expected_h, expected_context, expected_weights = _bahdanau(*args)
        late = _bahdanau(*args, late=True)
        swapped_h = _bahdanau(*args, swap=True)[0]
        unmasked = _bahdanau(*args, masked=False)
        wrong_axis = _bahdanau(*args, dim=0)
    weight_candidates = [
        Candidate("bahdanau_query_h_t", late[2]),
        Candidate("padding_not_masked", unmasked[2]),
        Candidate("softmax_wrong_axis", wrong_axis[2]),
    ]
    compare(part, "weights", weights, expected_weights, weight_candidates, BAHDANAU_WHERE)
    context_candidates = [Candidate("bahdanau_query_h_t", late[1])]
    compare(part, "context", context, expected_context, context_candidates, BAHDANAU_WHERE)
    h_candidates = [Candidate("bahdanau_input_order", swapped_h)]
    compare(part, "h_t", h_t, expected_h, h_candidates, BAHDANAU_WHERE)


BAHDANAU_STEP = Part(
    "bahdanau_step",
    _bahdanau_examples,
    _bahdanau_stress,
    _judge_bahdanau,
    on_error=BAHDANAU_WHERE,
    reference=_bahdanau,
    grad_args=(0, 1, 2),
    grad_outputs=(0, 1, 2),
)


def check_bahdanau_step(fn) -> None:
    """bahdanau_step(y_emb, h_prev, enc_states, mask, score, cell) -> (h_t, context, weights)."""
    run_check(BAHDANAU_STEP, fn)


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


LUONG_WHERE = (
    "h_t = cell(y_emb, h_prev); bilinear scores h_t^T W s; masked softmax; context; "
    "h~_t = tanh(combine([h_t; c_t])); logits = out(h~_t)."
)


def _luong_inputs(gen, batch, src_len, emb, hidden, d_enc, vocab, lengths, scale=1.0):
    modules = _luong_parts(gen, emb, hidden, d_enc, vocab)
    y_emb, h_prev = randn(gen, batch, emb), randn(gen, batch, hidden)
    enc_states = randn(gen, batch, src_len, d_enc) * scale
    return (y_emb, h_prev, enc_states, lengths_mask(lengths, src_len), *modules)


def _luong_examples():
    yield _luong_inputs(generator(111), 2, 5, 3, 4, 6, 9, [3, 5])


def _luong_stress(gen: torch.Generator):
    for (batch, src_len, emb, hidden, d_enc, vocab), scale in zip(
        stress_sizes(gen, 6), (1e-3, 1.0, 3.0), strict=True
    ):
        lengths = random_lengths(gen, batch, src_len)
        yield _luong_inputs(gen, batch, src_len, emb, hidden, d_enc, vocab, lengths, scale)


def _judge_luong(args, result) -> None:
    part = "luong_step"
    logits, h_t, weights = unpack(part, result, ("logits", "h_t", "weights"))
    with torch.no_grad():
        expected = _luong_reference(*args)
        early = _luong_reference(*args, query_h_prev=True)
        from_h_t = _luong_reference(*args, from_h_t=True)
        no_tanh = _luong_reference(*args, no_tanh=True)
        swapped = _luong_reference(*args, swap=True)
    compare(part, "h_t", h_t, expected[1], where=LUONG_WHERE)
    early_weights = [Candidate("luong_query_h_prev", early[2])]
    compare(part, "weights", weights, expected[2], early_weights, LUONG_WHERE)
    logit_candidates = [
        Candidate("luong_predicts_from_h_t", from_h_t[0]),
        Candidate("luong_missing_tanh", no_tanh[0]),
        Candidate("luong_concat_order", swapped[0]),
        Candidate("luong_query_h_prev", early[0]),
    ]
    compare(part, "logits", logits, expected[0], logit_candidates, LUONG_WHERE)


LUONG_STEP = Part(
    "luong_step",
    _luong_examples,
    _luong_stress,
    _judge_luong,
    on_error=LUONG_WHERE,
    reference=_luong_reference,
    grad_args=(0, 1, 2, 5),
    grad_outputs=(0, 1, 2),
)


def check_luong_step(fn) -> None:
    """luong_step(y_emb, h_prev, enc_states, mask, cell, w_score, combine, out) -> (logits, h_t, weights)."""
    run_check(LUONG_STEP, fn)


class LuongStep(nn.Module):
    """A small Luong decoder step over fixed encoder states: step(tokens, h) -> (logits, h, weights).

    tokens are the previous tokens (batch,) and h the state (batch, hidden); weights are
    (batch, src_len). It runs without gradients, as in inference.
    """

    def __init__(self, vocab: int, emb: int, hidden: int, d_enc: int, batch: int, src_len: int):
        super().__init__()
        self.init_kwargs = {
            "vocab": vocab,
            "emb": emb,
            "hidden": hidden,
            "d_enc": d_enc,
            "batch": batch,
            "src_len": src_len,
        }
        self.embed = nn.Embedding(vocab, emb)
        self.cell = nn.GRUCell(emb, hidden)
        self.w_score = nn.Parameter(torch.zeros(hidden, d_enc))
        self.combine = nn.Linear(hidden + d_enc, hidden, bias=False)
        self.out = nn.Linear(hidden, vocab)
        self.register_buffer("enc_states", torch.zeros(batch, src_len, d_enc))
        self.register_buffer("mask", torch.ones(batch, src_len, dtype=torch.bool))

    def forward(self, tokens: torch.Tensor, h: torch.Tensor):
        modules = (self.cell, self.w_score, self.combine, self.out)
        with torch.no_grad():
            return _luong_reference(self.embed(tokens), h, self.enc_states, self.mask, *modules)


def _make_step(gen, batch, src_len, vocab, lengths, emb=3, hidden=4, d_enc=6, embed_scale=0.6):
    with torch.random.fork_rng(devices=[]):
        step = LuongStep(vocab, emb, hidden, d_enc, batch, src_len)
    _seeded([step.embed], gen, embed_scale)
    _seeded([step.cell], gen)
    with torch.no_grad():
        step.w_score.copy_(randn(gen, hidden, d_enc) * 0.6)
        _seeded([step.combine, step.out], gen)
        step.enc_states.copy_(randn(gen, batch, src_len, d_enc))
        step.mask.copy_(lengths_mask(lengths, src_len))
    return step, randn(gen, batch, hidden)


def make_step(seed: int = 121, batch: int = 2, src_len: int = 5, vocab: int = 9):
    """A small seeded Luong decoder step `step(tokens, h) -> (logits, h, weights)` and its h0."""
    return _make_step(generator(seed), batch, src_len, vocab, [src_len, src_len - 2])


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


def _decode_examples():
    step, h0 = make_step()
    tgt_in = torch.tensor([[1, 4, 7, 3], [1, 8, 2, 6]])  # (batch, tgt_len), SOS = 1 first
    return [(step, h0, tgt_in, False), (step, h0, tgt_in, True)]


def _feedback_matters(step, h0, tgt_in) -> bool:
    """True when greedy decoding's later tokens depend on which tokens are fed back.

    A step that predicts the same token whatever it is fed cannot tell greedy decoding from a
    loop that feeds anything else (the first prediction, the gold token); such draws are redrawn.
    """
    greedy = _run(step, h0, tgt_in, True)[0]  # (batch, tgt_len)
    fed_first = greedy.clone()
    inputs, h = tgt_in[:, 0], h0
    for t in range(tgt_in.shape[1]):
        logits, h, _ = step(inputs, h)
        fed_first[:, t] = logits.argmax(-1)
        inputs = fed_first[:, 0]
    return not torch.equal(greedy, fed_first) and not torch.equal(
        greedy, _run(step, h0, tgt_in, False)[0]
    )


def _decode_stress(gen: torch.Generator):
    """Steps whose input token matters (a large embedding), over 1 to 7 target steps.

    Cases of 4 steps or more are redrawn (up to 50 times) until the fed-back tokens change the
    output, so that greedy decoding, teacher forcing and other feeding rules all differ.
    """
    cases = []
    for batch, tgt_len in [(1, pick(gen, 4, 7)), (pick(gen, 2, 4), 1), (3, pick(gen, 5, 7))]:
        for _ in range(50):
            src_len, vocab = pick(gen, 1, 6), pick(gen, 8, 14)
            lengths = random_lengths(gen, batch, src_len)
            step, h0 = _make_step(gen, batch, src_len, vocab, lengths, embed_scale=3.0)
            tgt_in = torch.randint(0, vocab, (batch, tgt_len), generator=gen)
            if tgt_len < 4 or _feedback_matters(step, h0, tgt_in):
                break
        cases += [(step, h0, tgt_in, False), (step, h0, tgt_in, True)]
    return cases


DECODE_WHERE = (
    "Call step tgt_len times starting from tgt_in[:, 0]; keep the argmax of each step's "
    "logits and stack the tokens and weights along dim=1."
)


def _judge_decode(args, result) -> None:
    part = "decode"
    step, h0, tgt_in, greedy = args
    expected = _run(step, h0, tgt_in, greedy)
    other = _run(step, h0, tgt_in, not greedy)
    mistake = "greedy_feeds_gold" if greedy else "teacher_forcing_feeds_prediction"
    tokens, weights = unpack(part, result, ("tokens", "weights"))
    label = f"tokens (greedy={greedy})"
    compare(part, label, tokens, expected[0], [Candidate(mistake, other[0])], DECODE_WHERE)
    label = f"weights (greedy={greedy})"
    compare(part, label, weights, expected[1], [Candidate(mistake, other[1])], DECODE_WHERE)


# Reading tgt_in[:, t + 1] at the last step t = tgt_len - 1 is one past the end.
DECODE_INDEX_ERROR = (
    "At the last step there is no next gold token: tgt_in[:, t + 1] exists only while "
    "t + 1 < tgt_len, so prepare the next input only then (the last step needs none)."
)

DECODE = Part(
    "decode",
    _decode_examples,
    _decode_stress,
    _judge_decode,
    on_error=DECODE_WHERE,
    exact=True,
    error_hints={"IndexError": DECODE_INDEX_ERROR},
)


def check_decode(fn) -> None:
    """decode(step, h0, tgt_in, greedy) -> (tokens (batch, tgt_len), weights (batch, tgt_len, src_len))."""
    run_check(DECODE, fn)
