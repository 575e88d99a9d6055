"""course_lib.tracing against trusted references: greedy_decode and plain numpy."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from course_lib.data import build_vocabs, make_batch, make_dates
from course_lib.models import build_model
from course_lib.search import greedy_decode
from course_lib.tracing import g2p_predictor, nearest_states, project_2d, trace_decoding

DATES = make_dates(12, seed=3)
SRC_VOCAB, TGT_VOCAB = build_vocabs(make_dates(200, seed=1))


def tiny(kind: str, **kw):
    """An untrained, seeded model: its decisions are arbitrary but reproducible."""
    return build_model(kind, len(SRC_VOCAB), len(TGT_VOCAB), emb=6, hidden=10, seed=1, **kw)


@pytest.mark.parametrize("kind", ["bahdanau", "luong"])
def test_trace_matches_greedy_decode(kind):
    model = tiny(kind)
    ex = DATES[0]
    trace = trace_decoding(model, ex.src, SRC_VOCAB, TGT_VOCAB, max_len=7, topk=4)
    batch = make_batch([ex], SRC_VOCAB, TGT_VOCAB)
    tokens, weights = greedy_decode(model, batch.src, batch.src_lengths, max_len=7)
    n = len(trace.out_tokens)
    assert trace.out_tokens == [TGT_VOCAB.itos[i] for i in tokens[0, :n].tolist()]
    np.testing.assert_allclose(trace.weights, weights[0, :n].numpy(), atol=1e-6)
    assert trace.weights.shape == (n, len(ex.src))
    # the context is the weighted sum of the encoder states
    np.testing.assert_allclose(trace.contexts, trace.weights @ trace.states, atol=1e-5)
    for step, emitted in zip(trace.topk, trace.out_tokens, strict=True):
        assert len(step) == 4 and step[0][0] == emitted
        probs = [p for _, p in step]
        assert probs == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6


def test_trace_queries_are_the_state_that_asked():
    model = tiny("bahdanau")
    src = DATES[1].src
    trace = trace_decoding(model, src, SRC_VOCAB, TGT_VOCAB, max_len=3)
    memory, state = model.encode(*_one(src))
    # Bahdanau's first query is the decoder's initial state h_0
    torch.testing.assert_close(torch.from_numpy(trace.queries[0]), state[0][0].detach())
    luong = tiny("luong")
    trace = trace_decoding(luong, src, SRC_VOCAB, TGT_VOCAB, max_len=3)
    memory, state = luong.encode(*_one(src))
    _, after, _ = luong.step(torch.tensor([1]), state, memory)
    # Luong's first query is the state after the first step, h_1
    torch.testing.assert_close(torch.from_numpy(trace.queries[0]), after[0][0].detach())


def _one(src):
    batch = make_batch([SimpleNamespace(src=src, tgt=["0"])], SRC_VOCAB, TGT_VOCAB)
    return batch.src, batch.src_lengths


def test_trace_rejects_a_model_without_attention():
    with pytest.raises(ValueError, match="no attention"):
        trace_decoding(tiny("none"), DATES[0].src, SRC_VOCAB, TGT_VOCAB)


def test_nearest_states_sorted_by_distance():
    states = torch.tensor([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0]])
    near = nearest_states(torch.tensor([0.9, 0.1]), states, ["a", "b", "c"], k=2)
    assert [(i, tok) for i, tok, _ in near] == [(2, "c"), (0, "a")]
    assert near[0][2] == pytest.approx(np.hypot(0.1, 0.1))


def test_projection_keeps_weighted_sums():
    rng = np.random.default_rng(0)
    states = rng.normal(size=(5, 4))
    weights = np.array([0.1, 0.5, 0.2, 0.15, 0.05])
    flat, project = project_2d(states)
    assert flat.shape == (5, 2)
    np.testing.assert_allclose(project(weights @ states), weights @ flat, atol=1e-12)
    with pytest.raises(ValueError, match="src_len >= 2"):
        project_2d(states[:1])


def test_g2p_predictor_shapes():
    letters = list("abcdefghijklmnopqrstuvwxyz'")
    phones = ["AA", "B", "K", "D", "EH"]
    src_vocab, tgt_vocab = build_vocabs([SimpleNamespace(src=letters, tgt=phones)])
    model = build_model("bahdanau", len(src_vocab), len(tgt_vocab), emb=4, hidden=6, seed=0)
    ckpt = SimpleNamespace(model=model, src_vocab=src_vocab, tgt_vocab=tgt_vocab)
    phonemes, weights, got_letters = g2p_predictor(ckpt, max_len=5)(" Word ")
    assert got_letters == list("word")
    assert weights.shape == (len(phonemes), 4)
    assert set(phonemes) <= set(phones)
