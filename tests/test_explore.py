"""course_lib.explore against trusted references: greedy_decode, metrics, plain numpy."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from course_lib import metrics
from course_lib.data import build_vocabs, make_batch, make_dates
from course_lib.data.vocab import EOS
from course_lib.explore import (
    alignment_offsets,
    date_alignment_report,
    g2p_predictor,
    nearest_states,
    project_2d,
    sequence_log_prob,
    text_table,
    trace_decoding,
)
from course_lib.models import build_model
from course_lib.search import beam_search, greedy_decode

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


def test_sequence_log_prob_matches_beam_search_score():
    model = tiny("luong")
    ex = DATES[2]
    batch = make_batch([ex], SRC_VOCAB, TGT_VOCAB)
    tokens, _, score = beam_search(
        model, batch.src, batch.src_lengths, 3, 6, length_penalty=0.0, return_scores=True
    )
    out = TGT_VOCAB.decode(tokens[0])
    stopped = EOS in tokens[0].tolist()  # EOS reached, or cut by max_len
    got = sequence_log_prob(model, ex.src, out, SRC_VOCAB, TGT_VOCAB, add_eos=stopped)
    assert got == pytest.approx(float(score[0]), abs=1e-4)


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


def test_date_alignment_report_agrees_with_metrics():
    model = tiny("bahdanau")
    report = date_alignment_report(model, DATES, SRC_VOCAB, TGT_VOCAB, batch_size=5)
    batch = make_batch(DATES, SRC_VOCAB, TGT_VOCAB)
    with torch.no_grad():
        _, weights = model.eval()(batch.src, batch.src_lengths, batch.tgt_in)
    expected = metrics.alignment_accuracy(weights, batch.alignments)
    assert report["all"] == pytest.approx(expected, abs=1e-12)
    assert set(report) == {"all", "year", "month", "day", "sharpness"}
    assert 0 < report["sharpness"] <= 1


def test_text_table_aligns_and_formats():
    rows = [["a", 0.5, 1200], ["bbb", 1.0, 7], ["chance", "-", 0.25]]
    table = text_table(["model", "acc", "params"], rows, ["acc"])
    lines = table.splitlines()
    assert lines[0].split() == ["model", "acc", "params"]
    assert lines[2].split() == ["a", "50.0%", "1,200"]
    assert lines[4].split() == ["chance", "-", "0.25"]
    assert len({len(line) for line in lines[:2]}) == 1
    with pytest.raises(ValueError, match="3 cells"):
        text_table(["a", "b"], [[1, 2, 3]])


def test_alignment_offsets_on_hand_made_weights():
    class Fixed(torch.nn.Module):
        """Attends to position 2 at every step, whatever the input."""

        def forward(self, src, lengths, tgt_in):
            weights = torch.zeros(*tgt_in.shape, src.shape[1])
            weights[..., 2] = 1.0
            return None, weights

    ex = SimpleNamespace(src=list("abcdef"), tgt=list("xyz"), alignment=[(2, 3), (0, 1), None])
    vocab = build_vocabs([ex])
    offsets = alignment_offsets(Fixed(), [ex], *vocab)
    assert offsets == {0: 0.5, 2: 0.5}  # inside the first span, two to the right of the second
