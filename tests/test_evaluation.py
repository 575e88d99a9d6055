"""course_lib.evaluation against trusted references: beam search scores, metrics, hand counts."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from course_lib import evaluation, metrics
from course_lib.data import build_vocabs, make_batch, make_dates
from course_lib.data.vocab import EOS
from course_lib.evaluation import (
    alignment_offsets,
    date_alignment_report,
    perplexity,
    sequence_log_prob,
)
from course_lib.models import build_model
from course_lib.search import beam_search
from course_lib.training import sequence_loss

DATES = make_dates(12, seed=3)
SRC_VOCAB, TGT_VOCAB = build_vocabs(make_dates(200, seed=1))


def tiny(kind: str, **kw):
    """An untrained, seeded model: its decisions are arbitrary but reproducible."""
    return build_model(kind, len(SRC_VOCAB), len(TGT_VOCAB), emb=6, hidden=10, seed=1, **kw)


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


def test_perplexity_is_exp_of_the_mean_token_loss():
    model = tiny("luong")
    batch = make_batch(DATES, SRC_VOCAB, TGT_VOCAB)  # one batch: one mean
    with torch.no_grad():
        logits, _ = model.eval()(batch.src, batch.src_lengths, batch.tgt_in)
    expected = math.exp(sequence_loss(logits, batch.tgt_out).item())
    assert perplexity(model, DATES, SRC_VOCAB, TGT_VOCAB) == pytest.approx(expected, rel=1e-5)


def test_g2p_scores_count_any_pronunciation_as_right(monkeypatch):
    words = [SimpleNamespace(src=list("ab"), tgt=["A"], references=[["A"], ["B"]])] * 2
    monkeypatch.setattr(evaluation, "predict", lambda *a, **k: [["B"], ["C"]])
    scores = evaluation.g2p_scores(None, words, None, None)
    assert scores == {"wer": 0.5, "per": 0.5}


def test_g2p_scores_with_a_beam_score_the_beam_search_outputs():
    """beam_size > 1 decodes each word with beam_search; the outputs are what gets scored."""
    model = tiny("bahdanau")
    words = [
        SimpleNamespace(src=ex.src, tgt=ex.tgt, references=[ex.tgt, ex.tgt[:3]]) for ex in DATES
    ]
    outputs = []
    for ex in DATES:
        batch = make_batch([ex], SRC_VOCAB, TGT_VOCAB)
        tokens, _ = beam_search(model, batch.src, batch.src_lengths, 3, 40)
        outputs.append(TGT_VOCAB.decode(tokens[0]))
    references = [w.references for w in words]
    expected = {
        "wer": metrics.word_error_rate(outputs, references),
        "per": metrics.phoneme_error_rate(outputs, references),
    }
    got = evaluation.g2p_scores(model, words, SRC_VOCAB, TGT_VOCAB, beam_size=3)
    assert got == pytest.approx(expected, abs=1e-12)
    assert got["per"] > 0  # an untrained model: the test can fail
