"""Greedy decoding and beam search: against step-by-step argmax and against exhaustive search."""

from __future__ import annotations

import itertools

import pytest
import torch

from course_lib.data.vocab import EOS, PAD, SOS, UNK, Vocab
from course_lib.models import build_model
from course_lib.search import beam_search, greedy_decode, translate

KINDS = ("none", "bahdanau", "luong")
SRC_V = 10


def toy_model(kind: str, tgt_vocab: int, seed: int, eos_bias: float = 1.5):
    """A random model whose EOS is likely enough that outputs have mixed lengths."""
    m = build_model(kind, SRC_V, tgt_vocab, emb=4, hidden=6, seed=seed)
    with torch.no_grad():
        m.decoder.out.bias[EOS] += eos_bias
    return m.eval()


def toy_src(seed: int, batch: int = 3, src_len: int = 5):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, SRC_V, (batch, src_len), generator=g)
    lengths = torch.tensor([src_len, 2, 4][:batch])
    for row, n in enumerate(lengths.tolist()):
        src[row, n:] = PAD
    return src, lengths


@pytest.mark.parametrize("kind", KINDS)
def test_greedy_is_stepwise_argmax_and_pads_after_eos(kind):
    m = toy_model(kind, 8, seed=3)
    src, lengths = toy_src(0)
    tokens, weights = greedy_decode(m, src, lengths, max_len=6)
    for row in range(3):
        memory, state = m.encode(src[row : row + 1], lengths[row : row + 1])
        prev, expected = torch.tensor([SOS]), []
        for _ in range(6):
            logits, state, _ = m.step(prev, state, memory)
            logits[:, [PAD, SOS, UNK]] = float("-inf")
            prev = logits.argmax(-1)
            expected.append(int(prev))
            if expected[-1] == EOS:
                break
        got = tokens[row].tolist()
        assert got[: len(expected)] == expected
        assert all(t == PAD for t in got[len(expected) :])
        if weights is not None:
            assert weights.shape == (3, tokens.shape[1], 5)
            sums = weights[row].sum(-1)
            torch.testing.assert_close(sums[: len(expected)], torch.ones(len(expected)))
            assert sums[len(expected) :].abs().sum() == 0
            assert weights[row, :, lengths[row] :].abs().sum() == 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_of_width_one_is_greedy(kind, seed):
    m = toy_model(kind, 9, seed=seed)
    src, lengths = toy_src(seed)
    tokens, weights = greedy_decode(m, src, lengths, max_len=7)
    b_tokens, b_weights = beam_search(m, src, lengths, beam_size=1, max_len=7)
    assert torch.equal(b_tokens, tokens)
    if weights is not None:
        torch.testing.assert_close(b_weights, weights)


@torch.no_grad()
def exhaustive_best(m, src, lengths, max_len: int, alpha: float, tgt_vocab: int):
    """Score every possible output of every row by teacher forcing; return the best ones."""
    symbols = list(range(4, tgt_vocab))
    candidates = [
        (*seq, EOS) for n in range(max_len) for seq in itertools.product(symbols, repeat=n)
    ]
    candidates += list(itertools.product(symbols, repeat=max_len))  # cut at max_len, no EOS
    best = []
    for row in range(src.shape[0]):
        scored = []
        for cand in candidates:
            tgt_in = torch.tensor([[SOS, *cand[:-1]]])
            logits, _ = m(src[row : row + 1], lengths[row : row + 1], tgt_in)
            logits[..., [PAD, SOS, UNK]] = float("-inf")
            logp = torch.log_softmax(logits[0], -1)[torch.arange(len(cand)), list(cand)].sum()
            scored.append((float(logp) / len(cand) ** alpha, cand))
        best.append(max(scored))
    return best


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_beam_as_wide_as_the_vocabulary_is_exhaustive(kind, alpha):
    # Target vocabulary: 4 specials + 2 symbols = 6 entries; beam width 6. With 2 symbols + EOS
    # there are at most 2 * 3 = 6 candidates at step 2, so nothing is ever pruned before the
    # last step (3): the search is provably exhaustive, and must find the exact best output.
    tgt_vocab, max_len = 6, 3
    for seed in range(3):
        m = toy_model(kind, tgt_vocab, seed=seed, eos_bias=0.5)
        src, lengths = toy_src(seed)
        tokens, _, scores = beam_search(
            m, src, lengths, tgt_vocab, max_len, length_penalty=alpha, return_scores=True
        )
        for row, (score, cand) in enumerate(exhaustive_best(m, src, lengths, max_len, alpha, 6)):
            got = [t for t in tokens[row].tolist() if t != PAD]
            assert got == list(cand), (seed, row)
            assert abs(float(scores[row]) - score) < 1e-5


def test_beam_search_batched_equals_one_by_one():
    m = toy_model("bahdanau", 9, seed=4)
    src, lengths = toy_src(4)
    tokens, weights = beam_search(m, src, lengths, beam_size=3, max_len=6)
    for row in range(3):
        t1, w1 = beam_search(m, src[row : row + 1], lengths[row : row + 1], 3, 6)
        n = t1.shape[1]
        assert tokens[row, :n].tolist() == t1[0].tolist()
        assert (tokens[row, n:] == PAD).all()
        torch.testing.assert_close(weights[row, :n, : src.shape[1]], w1[0])


def test_wider_beam_never_scores_worse():
    m = toy_model("luong", 9, seed=5, eos_bias=0.0)
    src, lengths = toy_src(5)
    previous = None
    for k in (1, 2, 4, 9):
        _, _, scores = beam_search(m, src, lengths, k, 5, length_penalty=0.0, return_scores=True)
        if previous is not None:
            assert (scores >= previous - 1e-6).all()
        previous = scores


def test_translate_returns_tokens_and_trimmed_weights():
    src_vocab = Vocab(list("abcdef"))
    tgt_vocab = Vocab(list("xyzw"))
    m = toy_model("luong", len(tgt_vocab), seed=6)
    m.encoder.embedding = torch.nn.Embedding(len(src_vocab), 4, padding_idx=PAD)
    outputs, weights = translate(m, [list("abc"), list("f")], src_vocab, tgt_vocab, max_len=4)
    assert len(outputs) == 2 and all(set(o) <= set("xyzw") for o in outputs)
    assert weights[1].shape[1] == 1 and weights[0].shape[1] == 3
    assert weights[0].shape[0] in (len(outputs[0]), len(outputs[0]) + 1)  # + EOS if produced


def test_bad_arguments_are_explained():
    m = toy_model("luong", 8, seed=0)
    src, lengths = toy_src(0)
    with pytest.raises(ValueError, match="max_len must be a positive int"):
        greedy_decode(m, src, lengths, 0)
    with pytest.raises(ValueError, match="beam_size must be a positive int"):
        beam_search(m, src, lengths, 0, 5)
