"""Checks for exercise 05: a Bahdanau step, a Luong step, and a decoding loop recording attention.

The modules handed to an answer (score layer, GRU cell, decoder step) are built here from a
generator, and record their constructor arguments in `init_kwargs`, so the grader can rebuild the
same module from plain numbers inside its sandbox.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ._core import (
    Candidate,
    CheckFailed,
    as_number,
    compare,
    generator,
    lengths_mask,
    randn,
    sum_rounding,
    unpack,
)
from ._part import Part, pick, random_lengths, run_check, stress_sizes
from .ex04_context_vector import context_rounding
from .mistakes import hint


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


def _gru_rounding(cell: nn.GRUCell, x: torch.Tensor, h_prev: torch.Tensor) -> float:
    """Rounding a right float32 h_t can carry: h_t = (1 - z) n + z h_prev can cancel to near 0,
    and n, z, r come from sums over x and h_prev (each gate is 1-Lipschitz in them)."""
    gates = x.abs() @ cell.weight_ih.abs().T + h_prev.abs() @ cell.weight_hh.abs().T
    gates = gates + cell.bias_ih.abs() + cell.bias_hh.abs()  # (batch, 3 * hidden)
    magnitude = 1 + h_prev.abs() + gates.reshape(len(x), 3, -1).sum(1)  # (batch, hidden)
    return sum_rounding(magnitude, x.shape[-1] + h_prev.shape[-1] + 4)


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
    y_emb, h_prev, enc_states, _, score, cell = args
    largest = score.v.weight.abs().sum().item()  # |v^T tanh(...)| <= sum |v|
    context_candidates = [Candidate("bahdanau_query_h_t", late[1])]
    compare(part, "context", context, expected_context, context_candidates, BAHDANAU_WHERE,
            atol=context_rounding(expected_weights, enc_states, largest, 2))  # fmt: skip
    h_candidates = [Candidate("bahdanau_input_order", swapped_h)]
    x = torch.cat([y_emb, expected_context], -1)  # the cell's input
    compare(part, "h_t", h_t, expected_h, h_candidates, BAHDANAU_WHERE,
            atol=_gru_rounding(cell, x, h_prev))  # fmt: skip


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
    y_emb, h_prev, enc_states, _, cell, w_score, combine, out = args
    compare(part, "h_t", h_t, expected[1], where=LUONG_WHERE,
            atol=_gru_rounding(cell, y_emb, h_prev))  # fmt: skip
    early_weights = [Candidate("luong_query_h_prev", early[2])]
    compare(part, "weights", weights, expected[2], early_weights, LUONG_WHERE)
    logit_candidates = [
        Candidate("luong_predicts_from_h_t", from_h_t[0]),
        Candidate("luong_missing_tanh", no_tanh[0]),
        Candidate("luong_concat_order", swapped[0]),
        Candidate("luong_query_h_prev", early[0]),
    ]
    compare(part, "logits", logits, expected[0], logit_candidates, LUONG_WHERE,
            atol=_luong_logit_rounding(expected[1], expected[2], enc_states, w_score, combine,
                                       out))  # fmt: skip


def _luong_logit_rounding(h_t, weights, enc_states, w_score, combine, out) -> float:
    """Rounding a right float32 logit can carry: out's sum over h~_t (|h~_t| <= 1), plus the
    rounding of h~_t's own sum over [h_t; c_t] (tanh is 1-Lipschitz), carried through out."""
    largest_score = (h_t.abs() @ w_score.abs() @ enc_states.abs().transpose(1, 2)).max().item()
    context = torch.einsum("bs,bsd->bd", weights.abs(), enc_states.abs())  # (batch, d_enc)
    pair = torch.cat([h_t.abs(), context], -1) @ combine.weight.abs().T  # (batch, hidden)
    magnitude = (1 + pair) @ out.weight.abs().T + out.bias.abs()  # (batch, vocab)
    terms = sum(combine.weight.shape) + enc_states.shape[1] + 4 * (1 + math.ceil(largest_score))
    return sum_rounding(magnitude, terms)


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


# ---- one step of beam search --------------------------------------------------------------------


def beam_reference(beam_scores: torch.Tensor, log_probs: torch.Tensor, k: int):
    """The k best expansions: (scores (k,), parents (k,), tokens (k,)), best first."""
    vocab = log_probs.shape[-1]
    totals = (beam_scores[:, None] + log_probs).reshape(-1)  # (beams * vocab,)
    best, flat = totals.topk(k)
    return best, flat // vocab, flat % vocab


def _log_probs(gen: torch.Generator, beams: int, vocab: int) -> torch.Tensor:
    return torch.log_softmax(randn(gen, beams, vocab) * 2, dim=-1)


def _beam_examples():
    gen = generator(131)
    for beams, vocab, k in [(3, 7, 3), (2, 5, 4)]:
        beam_scores = -torch.rand(beams, generator=gen) * 4  # summed log-probabilities so far
        yield beam_scores.sort(descending=True).values, _log_probs(gen, beams, vocab), k


def _beam_stress(gen: torch.Generator):
    for beams, vocab, k in [
        (1, pick(gen, 3, 9), 1),
        (3, 3, 3),
        (pick(gen, 2, 5), pick(gen, 6, 12), 4),
    ]:
        beam_scores = (-torch.rand(beams, generator=gen) * 6).sort(descending=True).values
        yield beam_scores, _log_probs(gen, beams, vocab), min(k, beams * vocab)


def _judge_beam(args, result) -> None:
    part = "beam_step"
    beam_scores, log_probs, k = args
    scores, parents, tokens = unpack(part, result, ("scores", "parents", "tokens"))
    expected = beam_reference(beam_scores, log_probs, k)
    history_free = beam_reference(torch.zeros_like(beam_scores), log_probs, k)
    where = "Add each hypothesis's score to its next-token log-probabilities, then keep the k best."
    own_best = log_probs.argmax(-1)  # what keeping each hypothesis's own best token gives
    if (
        isinstance(tokens, torch.Tensor)
        and tokens.shape == own_best.shape
        and torch.equal(tokens.long(), own_best)
        and not torch.equal(own_best, expected[2])
    ):
        raise CheckFailed(
            f"{part}: {hint('beam_greedy_per_hypothesis')}", mistake="beam_greedy_per_hypothesis"
        )
    compare(part, "scores", scores, expected[0], [
        Candidate("beam_ignores_history", history_free[0]),
        Candidate("beam_ignores_history", beam_scores[history_free[1]] + history_free[0]),
    ], where)  # fmt: skip
    compare(part, "parents", parents, expected[1], where=where)
    compare(part, "tokens", tokens, expected[2], where=where)


BEAM_STEP = Part(
    "beam_step",
    _beam_examples,
    _beam_stress,
    _judge_beam,
    on_error="beam_scores is (beams,), log_probs is (beams, vocab), k an int.",
    exact=True,
)


def check_beam_step(fn) -> None:
    """beam_step(beam_scores, log_probs, k) -> (scores, parents, tokens), each (k,), best first."""
    run_check(BEAM_STEP, fn)


# ---- the training loss: padding ignored, teacher forcing ------------------------------------------

PAD = 0


def masked_loss_reference(logits: torch.Tensor, targets: torch.Tensor, pad_id: int):
    """Mean cross-entropy over the target tokens that are not padding."""
    flat = nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    keep = targets != pad_id
    return flat[keep].sum() / keep.sum()


def _padded_targets(gen: torch.Generator, batch: int, tgt_len: int, vocab: int) -> torch.Tensor:
    """Tokens 1..vocab-1, padding (0) after each sentence's length; one sentence of full length."""
    targets = torch.randint(1, vocab, (batch, tgt_len), generator=gen)
    keep = lengths_mask(random_lengths(gen, batch, tgt_len), tgt_len)
    return targets.masked_fill(~keep, PAD)


def _loss_examples():
    gen = generator(141)
    for batch, tgt_len, vocab in [(2, 5, 7), (3, 4, 6)]:
        yield (
            randn(gen, batch, tgt_len, vocab) * 2,
            _padded_targets(gen, batch, tgt_len, vocab),
            PAD,
        )


def _loss_stress(gen: torch.Generator):
    for (batch, tgt_len, vocab), scale in zip(
        stress_sizes(gen, 3, high=8), [1e-3, 1.0, 30.0], strict=True
    ):
        vocab = max(vocab, 2)
        yield (
            randn(gen, batch, tgt_len, vocab) * scale,
            _padded_targets(gen, batch, tgt_len, vocab),
            PAD,
        )


def _loss_candidates(logits, targets, pad_id) -> list[Candidate]:
    flat = nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    keep = (targets != pad_id).to(flat.dtype)
    per_sentence = (flat * keep).sum(1) / keep.sum(1)
    return [
        Candidate("loss_counts_padding", flat.mean()),
        Candidate("loss_counts_padding", (flat * keep).sum() / flat.numel()),
        Candidate("loss_sentence_average", per_sentence.mean()),
    ]


def _as_loss(part: str, result: object) -> torch.Tensor:
    if isinstance(result, torch.Tensor) and result.numel() != 1:
        raise CheckFailed(
            f"{part}: return one number (the mean loss), got shape {tuple(result.shape)}."
        )
    return torch.tensor(as_number(part, "loss", result), dtype=torch.float64)


def _judge_loss(args, result) -> None:
    logits, targets, pad_id = args
    compare(
        "masked_loss",
        "loss",
        _as_loss("masked_loss", result),
        masked_loss_reference(logits, targets, pad_id).double(),
        [Candidate(c.mistake, c.value.double()) for c in _loss_candidates(logits, targets, pad_id)],
        where="Average the cross-entropy over the target tokens that are not padding.",
        atol=_loss_rounding(logits),
    )


def _loss_rounding(logits: torch.Tensor) -> float:
    """Absolute rounding a right loss can carry: log-softmax subtracts numbers as large as the
    logits, so in float32 a loss near 0 from logits near 30 is off by about 1e-6 (a stress case
    with large logits once failed a right answer by 2.6e-9 against a loss of 1e-5).

    Always float32's rounding: the learner computes on float32 inputs, while the grader judges
    on float64 copies of them (a float64 answer is within this too). Sizing it by the judged
    dtype gave 0 in the grader, and a right answer failed on about 1.5% of the drawn cases.
    """
    if logits.numel() == 0:
        return 0.0
    return 4 * torch.finfo(torch.float32).eps * (1.0 + logits.detach().abs().max().item())


MASKED_LOSS = Part(
    "masked_loss",
    _loss_examples,
    _loss_stress,
    _judge_loss,
    on_error="logits are (batch, tgt_len, vocab), targets (batch, tgt_len) long; return a scalar.",
    reference=masked_loss_reference,
    grad_args=(0,),
)


def check_masked_loss(fn) -> None:
    """masked_loss(logits, targets, pad_id) -> mean cross-entropy over the non-padding targets."""
    run_check(MASKED_LOSS, fn)


def teacher_forced_logits(step, h0, tgt_in) -> torch.Tensor:
    """Every step fed the gold token tgt_in[:, t]: logits (batch, tgt_len, vocab)."""
    logits, h = [], h0
    for t in range(tgt_in.shape[1]):
        out, h, _ = step(tgt_in[:, t], h)
        logits.append(out)
    return torch.stack(logits, dim=1)


def _fed_back_logits(step, h0, tgt_in) -> torch.Tensor:
    logits, h, inputs = [], h0, tgt_in[:, 0]
    for _ in range(tgt_in.shape[1]):
        out, h, _ = step(inputs, h)
        logits.append(out)
        inputs = out.argmax(-1)
    return torch.stack(logits, dim=1)


def _shifted(targets: torch.Tensor, sos: int) -> torch.Tensor:
    """The decoder's inputs for teacher forcing: SOS, then the targets moved one step right."""
    return torch.cat([torch.full_like(targets[:, :1], sos), targets[:, :-1]], dim=1)


def _training_examples():
    step, h0 = make_step(seed=151, vocab=9)
    gen = generator(152)
    tgt_out = _padded_targets(gen, 2, 5, 9)
    return [(step, h0, _shifted(tgt_out, 1), tgt_out, PAD)]


def _training_stress(gen: torch.Generator):
    for batch, tgt_len in [(1, pick(gen, 3, 6)), (3, pick(gen, 4, 7))]:
        src_len, vocab = pick(gen, 2, 6), pick(gen, 8, 12)
        step, h0 = _make_step(
            gen, batch, src_len, vocab, random_lengths(gen, batch, src_len), embed_scale=3.0
        )
        tgt_out = _padded_targets(gen, batch, tgt_len, vocab)
        yield step, h0, _shifted(tgt_out, 1), tgt_out, PAD


def _judge_training(args, result) -> None:
    part = "training_loss"
    step, h0, tgt_in, tgt_out, pad_id = args
    gold = teacher_forced_logits(step, h0, tgt_in)
    fed = _fed_back_logits(step, h0, tgt_in)
    candidates = [
        Candidate("training_feeds_prediction", masked_loss_reference(fed, tgt_out, pad_id))
    ]
    candidates += _loss_candidates(gold, tgt_out, pad_id)
    compare(
        part,
        "loss",
        _as_loss(part, result),
        masked_loss_reference(gold, tgt_out, pad_id).double(),
        [Candidate(c.mistake, c.value.double()) for c in candidates],
        where="Feed tgt_in[:, t] at every step t, stack the logits, and average the "
        "cross-entropy against tgt_out over the tokens that are not padding.",
    )


TRAINING_LOSS = Part(
    "training_loss",
    _training_examples,
    _training_stress,
    _judge_training,
    on_error="step(tokens, h) -> (logits, h, weights); tgt_in and tgt_out are (batch, tgt_len).",
    exact=True,
)


def check_training_loss(fn) -> None:
    """training_loss(step, h0, tgt_in, tgt_out, pad_id) -> the teacher-forced, padding-free loss."""
    run_check(TRAINING_LOSS, fn)
