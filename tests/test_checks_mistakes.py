"""Every catalogued mistake, applied to a correct answer, is caught with its own hint."""

from __future__ import annotations

import math

import pytest
import torch

from course_lib import checks
from course_lib.checks import CLASSIC, MISTAKES, CheckFailed, NotImplementedYet

NEG = float("-inf")


def _keep(mask: torch.Tensor) -> torch.Tensor:
    return mask[:, None, :]


def _attend(query, keys, values, mask, *, masked=True, scale=1.0, read=None):
    scores = query @ keys.transpose(1, 2) * scale
    if masked:
        scores = scores.masked_fill(~_keep(mask), NEG)
    weights = scores.softmax(-1)
    return weights @ (values if read is None else read(keys, values)), weights


def _attend_one(scores, mask, states, masked=True, dim=-1):
    if masked:
        scores = scores.masked_fill(~mask, NEG)
    weights = scores.softmax(dim)
    return torch.einsum("bs,bsd->bd", weights, states), weights


def _bahdanau(y, h_prev, enc, mask, score, cell, *, masked=True, late=False, swap=False, dim=-1):
    context, weights = _attend_one(score(h_prev, enc), mask, enc, masked, dim)
    pair = [context, y] if swap else [y, context]
    h_t = cell(torch.cat(pair, -1), h_prev)
    if late:  # attend again with the new state and return that attention
        context, weights = _attend_one(score(h_t, enc), mask, enc)
    return h_t, context, weights


def _luong(y, h_prev, enc, mask, cell, w, combine, out, **mistake):
    h_t = cell(y, h_prev)
    query = h_prev if mistake.get("early") else h_t
    context, weights = _attend_one(torch.einsum("bh,hk,bsk->bs", query, w, enc), mask, enc)
    pair = [context, h_t] if mistake.get("swap") else [h_t, context]
    mixed = combine(torch.cat(pair, -1))
    h_tilde = mixed if mistake.get("no_tanh") else torch.tanh(mixed)
    return out(h_t if mistake.get("from_h_t") else h_tilde), h_t, weights


def _decode(step, h0, tgt_in, greedy, *, always=None):
    """always='gold' feeds tgt_in in both modes; always='prediction' feeds predictions in both."""
    feed_prediction = greedy if always is None else always == "prediction"
    tokens, weights, inputs, h = [], [], tgt_in[:, 0], h0
    for t in range(tgt_in.shape[1]):
        logits, h, w = step(inputs, h)
        tokens.append(logits.argmax(-1))
        weights.append(w)
        if t + 1 < tgt_in.shape[1]:
            inputs = tokens[-1] if feed_prediction else tgt_in[:, t + 1]
    return torch.stack(tokens, 1), torch.stack(weights, 1)


def _mlp(query, keys, w1, w2, *, act=torch.tanh, key_first=False):
    queries = query[:, None].expand(-1, keys.shape[1], -1)
    pair = torch.cat([keys, queries] if key_first else [queries, keys], -1)
    return act(pair @ w1.T) @ w2


def _reverse_in_place(src, lengths):
    for b, length in enumerate(lengths.tolist()):
        src[b, :length] = src[b, :length].flip(0).clone()
    return src


def _accuracy(weights, spans, mode):
    start, end = spans[..., 0], spans[..., 1]
    predicted = weights.argmax(-1)
    aligned = start >= 0
    inside = (start <= predicted) & (predicted <= end if mode == "inclusive" else predicted < end)
    if mode == "first":
        inside = predicted == start
    hits = inside & aligned
    if mode == "all":
        return hits.float().mean().item()
    if mode == "macro":
        return (hits.sum(1).float() / aligned.sum(1)).mean().item()
    return hits.sum().item() / aligned.sum().item()


def _bad_reverse_padding(src, lengths):
    return src.flip(1)


# (mistake id, check, mistaken answer): the answer is correct except for that one mistake
def _beam_without_history(beam_scores, log_probs, k):
    vocab = log_probs.shape[-1]
    scores, flat = log_probs.reshape(-1).topk(k)
    return scores, flat // vocab, flat % vocab


def _beam_each_keeps_its_best(beam_scores, log_probs, k):
    return (
        beam_scores + log_probs.max(-1).values,
        torch.arange(len(beam_scores)),
        log_probs.argmax(-1),
    )


def _cross_entropy(logits, targets):
    return torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, reduction="none")


def _loss_per_sentence(logits, targets, pad_id):
    keep = (targets != pad_id).float()
    return ((_cross_entropy(logits, targets) * keep).sum(1) / keep.sum(1)).mean()


def _training_loss_fed_back(step, h0, tgt_in, tgt_out, pad_id):
    logits, h, tokens = [], h0, tgt_in[:, 0]
    for _ in range(tgt_in.shape[1]):
        out, h, _ = step(tokens, h)
        logits.append(out)
        tokens = out.argmax(-1)
    keep = tgt_out != pad_id
    return _cross_entropy(torch.stack(logits, 1), tgt_out)[keep].mean()


def _sdpa(q, k, v, mask, scale=math.sqrt, late_mask=False):
    """Scaled dot-product attention with a padding mask, optionally wrong in one way."""
    scores = torch.einsum("bqd,bkd->bqk", q, k) / scale(q.shape[-1])
    keep = mask[:, None, :]
    if late_mask:
        weights = scores.softmax(-1) * keep
    else:
        weights = scores.masked_fill(~keep, NEG).softmax(-1)
    return weights @ v, weights


def _pe(length, d_model, swap=False, halves=False, step=2, base=10000.0):
    """Sinusoidal positions, optionally wrong in one way."""
    pos = torch.arange(length, dtype=torch.float32)[:, None]
    angles = pos / base ** (step * torch.arange(d_model // 2) / d_model)
    first, second = (angles.cos(), angles.sin()) if swap else (angles.sin(), angles.cos())
    if halves:
        return torch.cat([first, second], dim=-1)
    return torch.stack([first, second], dim=-1).flatten(1)


CASES = [
    ("softmax_wrong_axis", checks.check_attention_weights, lambda s: s.softmax(dim=1)),
    (
        "softmax_wrong_axis",
        checks.check_masked_softmax,
        lambda s, m: s.masked_fill(~_keep(m), NEG).softmax(dim=1),
    ),
    (
        "softmax_wrong_axis",
        checks.check_bahdanau_step,
        lambda *a: _bahdanau(*a, dim=0),
    ),
    (
        "mask_after_softmax",
        checks.check_masked_softmax,
        lambda s, m: s.softmax(-1) * _keep(m),
    ),
    (
        "mask_after_softmax",
        checks.check_masked_softmax,
        lambda s, m: torch.where(_keep(m), s.softmax(-1), torch.zeros_like(s)),
    ),
    ("padding_not_masked", checks.check_masked_softmax, lambda s, m: s.softmax(-1)),
    (
        "padding_not_masked",
        checks.check_attend,
        lambda q, k, v, m: _attend(q, k, v, m, masked=False),
    ),
    ("padding_not_masked", checks.check_bahdanau_step, lambda *a: _bahdanau(*a, masked=False)),
    (
        "bilinear_transposed",
        checks.check_bilinear_score,
        lambda q, k, w: torch.einsum("bj,bsj->bs", q @ w.T, k),
    ),
    ("mlp_missing_tanh", checks.check_mlp_score, lambda *a: _mlp(*a, act=lambda x: x)),
    ("missing_scale", checks.check_scaled_dot_score, lambda q, k: (q[:, None] * k).sum(-1)),
    ("bahdanau_query_h_t", checks.check_bahdanau_step, lambda *a: _bahdanau(*a, late=True)),
    ("luong_predicts_from_h_t", checks.check_luong_step, lambda *a: _luong(*a, from_h_t=True)),
    ("weights_not_normalised", checks.check_attention_weights, lambda s: s.exp()),
    ("beam_ignores_history", checks.check_beam_step, _beam_without_history),
    ("beam_greedy_per_hypothesis", checks.check_beam_step, _beam_each_keeps_its_best),
    (
        "loss_counts_padding",
        checks.check_masked_loss,
        lambda logits, targets, pad: _cross_entropy(logits, targets).mean(),
    ),
    ("loss_sentence_average", checks.check_masked_loss, _loss_per_sentence),
    ("training_feeds_prediction", checks.check_training_loss, _training_loss_fed_back),
    (
        "temperature_multiplied",
        checks.check_temperature_weights,
        lambda s, t: (s * t).softmax(-1),
    ),
    (
        "temperature_after_softmax",
        checks.check_temperature_weights,
        lambda s, t: s.softmax(-1) / t,
    ),
    (
        "entropy_zero_weights_nan",
        checks.check_weights_entropy,
        lambda w: -(w * w.log()).sum(-1),
    ),
    ("entropy_sign", checks.check_weights_entropy, lambda w: torch.special.xlogy(w, w).sum(-1)),
    (
        "empty_row_nan",
        checks.check_empty_row_softmax,
        lambda s, m: s.masked_fill(~_keep(m), NEG).softmax(-1),
    ),
    (
        "empty_row_uniform",
        checks.check_empty_row_softmax,
        lambda s, m: s.masked_fill(~_keep(m), -1e9).softmax(-1),
    ),
    (
        "softmax_overflow",
        checks.check_attention_weights,
        lambda s: s.exp() / s.exp().sum(-1, keepdim=True),
    ),
    ("weights_not_normalised", checks.check_attention_weights, torch.sigmoid),
    (
        "weights_not_normalised",
        checks.check_masked_softmax,
        lambda s, m: s.masked_fill(~_keep(m), NEG).exp(),
    ),
    (
        "context_wrong_axis",
        checks.check_context_vector,
        lambda w, v: (w.unsqueeze(-1) * (v if w.dim() == 2 else v[:, None])).sum(1),
    ),
    (
        "context_wrong_axis",
        checks.check_context_vector,
        lambda w, v: (w.unsqueeze(-1) * (v if w.dim() == 2 else v[:, None])).sum(-1),
    ),
    ("greedy_feeds_gold", checks.check_decode, lambda *a: _decode(*a, always="gold")),
    (
        "in_place_edit",
        checks.check_masked_softmax,
        lambda s, m: s.masked_fill_(~_keep(m), NEG).softmax(-1),
    ),
    ("in_place_edit", checks.check_reverse_valid, _reverse_in_place),
    (
        "in_place_edit",
        checks.check_dot_score,
        lambda q, k: torch.einsum("bd,bsd->bs", q, k.mul_(1.0).add_(0.5)),
    ),
    # the extra mistakes
    (
        "unwanted_scale",
        checks.check_dot_score,
        lambda q, k: torch.einsum("bd,bsd->bs", q, k) / math.sqrt(q.shape[-1]),
    ),
    (
        "scaled_by_d",
        checks.check_scaled_dot_score,
        lambda q, k: torch.einsum("bd,bsd->bs", q, k) / q.shape[-1],
    ),
    (
        "mask_inverted",
        checks.check_lengths_to_mask,
        lambda lengths, n: torch.arange(n)[None] >= lengths[:, None],
    ),
    (
        "mask_inverted",
        checks.check_masked_softmax,
        lambda s, m: s.masked_fill(_keep(m), NEG).softmax(-1),
    ),
    (
        "mask_off_by_one",
        checks.check_lengths_to_mask,
        lambda lengths, n: torch.arange(n)[None] <= lengths[:, None],
    ),
    ("mlp_concat_order", checks.check_mlp_score, lambda *a: _mlp(*a, key_first=True)),
    (
        "context_mean",
        checks.check_context_vector,
        lambda w, v: (w.unsqueeze(-1) * (v if w.dim() == 2 else v[:, None])).mean(-2),
    ),
    (
        "context_from_keys",
        checks.check_attend,
        lambda q, k, v, m: _attend(q, k, v, m, read=lambda keys, values: keys),
    ),
    ("bahdanau_input_order", checks.check_bahdanau_step, lambda *a: _bahdanau(*a, swap=True)),
    ("luong_query_h_prev", checks.check_luong_step, lambda *a: _luong(*a, early=True)),
    ("luong_missing_tanh", checks.check_luong_step, lambda *a: _luong(*a, no_tanh=True)),
    ("luong_concat_order", checks.check_luong_step, lambda *a: _luong(*a, swap=True)),
    (
        "teacher_forcing_feeds_prediction",
        checks.check_decode,
        lambda *a: _decode(*a, always="prediction"),
    ),
    ("last_column_is_padding", checks.check_last_valid_state, lambda s, lengths: s[:, -1]),
    (
        "length_off_by_one",
        checks.check_last_valid_state,
        lambda s, lengths: s[torch.arange(s.shape[0]), lengths.clamp(max=s.shape[1] - 1)],
    ),
    ("reversed_padding", checks.check_reverse_valid, _bad_reverse_padding),
    ("flipped_batch", checks.check_reverse_valid, lambda src, lengths: src.flip(0)),
    ("argmax_wrong_axis", checks.check_hard_alignment, lambda w: w.argmax(1)),
    (
        "alignment_counts_unaligned",
        checks.check_alignment_accuracy,
        lambda w, g: _accuracy(w, g, "all"),
    ),
    (
        "alignment_macro_average",
        checks.check_alignment_accuracy,
        lambda w, g: _accuracy(w, g, "macro"),
    ),
    (
        "span_end_inclusive",
        checks.check_alignment_accuracy,
        lambda w, g: _accuracy(w, g, "inclusive"),
    ),
    (
        "span_start_only",
        checks.check_alignment_accuracy,
        lambda w, g: _accuracy(w, g, "first"),
    ),
    ("one_based_index", checks.check_map_reading, lambda: (5, 5)),
    ("map_wrong_axis", checks.check_map_reading, lambda: (2, 4)),
    ("map_wrong_axis", checks.check_map_reading, lambda: (4, 3)),
    # lesson 07
    ("missing_scale", checks.check_scaled_attention, lambda *a: _sdpa(*a, scale=lambda d: 1.0)),
    ("scaled_by_d", checks.check_scaled_attention, lambda *a: _sdpa(*a, scale=lambda d: d)),
    ("mask_after_softmax", checks.check_scaled_attention, lambda *a: _sdpa(*a, late_mask=True)),
    (
        "split_without_transpose",
        checks.check_split_heads,
        lambda x, h: x.reshape(x.shape[0], h, x.shape[1], -1),
    ),
    (
        "merge_without_transpose",
        checks.check_merge_heads,
        lambda x: x.reshape(x.shape[0], x.shape[2], -1),
    ),
    (
        "causal_hides_diagonal",
        checks.check_causal_mask,
        lambda n: torch.ones(n, n, dtype=torch.bool).tril(-1),
    ),
    (
        "causal_upper_triangle",
        checks.check_causal_mask,
        lambda n: torch.ones(n, n, dtype=torch.bool).triu(),
    ),
    ("pe_sin_cos_swapped", checks.check_positional_encoding, lambda n, d: _pe(n, d, swap=True)),
    ("pe_not_interleaved", checks.check_positional_encoding, lambda n, d: _pe(n, d, halves=True)),
    ("pe_wrong_frequency", checks.check_positional_encoding, lambda n, d: _pe(n, d, step=1)),
    ("pe_wrong_frequency", checks.check_positional_encoding, lambda n, d: _pe(n, d, base=1e3)),
]


@pytest.mark.parametrize(
    ("mistake", "check", "answer"),
    CASES,
    ids=[f"{m}-{c.__name__.removeprefix('check_')}" for m, c, _ in CASES],
)
def test_mistake_is_recognised_with_its_hint(mistake, check, answer, capsys):
    with pytest.raises(CheckFailed) as info:
        check(answer)
    assert not isinstance(info.value, NotImplementedYet)
    assert MISTAKES[mistake] in str(info.value)
    assert "✓" not in capsys.readouterr().out


def test_every_catalogued_mistake_has_a_test():
    assert {mistake for mistake, _, _ in CASES} == set(MISTAKES)


def test_catalogue_holds_the_twelve_classics_with_distinct_hints():
    assert len(CLASSIC) == 12 and set(CLASSIC) <= set(MISTAKES)
    assert len(set(MISTAKES.values())) == len(MISTAKES)
    for text in MISTAKES.values():  # one or two sentences, each ending with a full stop
        assert text.endswith(".") and 1 <= text.count(". ") + 1 <= 3
