"""Batches: padding, SOS/EOS framing, lengths, shuffling and gold alignment matrices."""

import pytest
import torch

from course_lib.data.batching import Example, alignment_matrix, batches, make_batch, show_batch
from course_lib.data.vocab import EOS, PAD, SOS, Vocab, build_vocabs

EXAMPLES = [
    Example(list("ab"), list("xyz"), [(0, 1), (1, 2), None]),
    Example(list("abcde"), list("z"), [(2, 5)]),
    Example(list("cab"), list("yy"), [(0, 1), (0, 3)]),
]


@pytest.fixture
def vocabs():
    return build_vocabs(EXAMPLES)


def test_shapes_padding_and_framing(vocabs):
    src_vocab, tgt_vocab = vocabs
    batch = make_batch(EXAMPLES, src_vocab, tgt_vocab)
    assert batch.src.shape == (3, 5) and batch.src.dtype == torch.long
    assert batch.tgt_in.shape == batch.tgt_out.shape == (3, 4)
    assert batch.src_lengths.tolist() == [2, 5, 3]
    assert batch.tgt_lengths.tolist() == [4, 2, 3]
    assert len(batch) == 3
    for row, ex in enumerate(EXAMPLES):
        n_src, n_tgt = len(ex.src), len(ex.tgt)
        assert src_vocab.decode(batch.src[row, :n_src]) == ex.src
        assert (batch.src[row, n_src:] == PAD).all()
        assert batch.tgt_in[row, 0] == SOS
        assert tgt_vocab.decode(batch.tgt_in[row, 1 : n_tgt + 1]) == ex.tgt
        assert tgt_vocab.decode(batch.tgt_out[row]) == ex.tgt
        assert batch.tgt_out[row, n_tgt] == EOS
        assert (batch.tgt_out[row, n_tgt + 1 :] == PAD).all()
        assert (batch.tgt_in[row, n_tgt + 1 :] == PAD).all()
        # teacher forcing: the input at step t+1 is the output at step t
        assert torch.equal(batch.tgt_in[row, 1 : n_tgt + 1], batch.tgt_out[row, :n_tgt])
    assert batch.examples == EXAMPLES


def test_src_eos_and_sort(vocabs):
    src_vocab, tgt_vocab = vocabs
    batch = make_batch(EXAMPLES, src_vocab, tgt_vocab, sort=True, src_eos=True)
    assert batch.src_lengths.tolist() == [6, 4, 3]
    assert [len(ex.src) for ex in batch.examples] == [5, 3, 2]
    assert batch.src[0, 5] == EOS and batch.src[2, 2] == EOS
    assert src_vocab.decode(batch.src[1]) == list("cab")


def test_alignment_matrices(vocabs):
    batch = make_batch(EXAMPLES, *vocabs)
    assert batch.alignments.shape == (3, 4, 5) and batch.alignments.dtype == torch.bool
    assert torch.equal(batch.alignments[1], alignment_matrix([(2, 5)], 4, 5))
    assert batch.alignments[0, :2].nonzero().tolist() == [[0, 0], [1, 1]]
    assert batch.alignments[1, 0].tolist() == [False, False, True, True, True]
    assert not batch.alignments[1, 1:].any()  # EOS and padding rows
    assert batch.alignments[0, 2].sum() == 0  # None span
    assert batch.alignments[2, 1].tolist() == [True, True, True, False, False]
    no_alignment = [Example(list("ab"), list("x"))] + EXAMPLES
    assert make_batch(no_alignment, *vocabs).alignments is None
    with pytest.raises(ValueError, match="src_len"):
        alignment_matrix([(3, 6)], 2, 5)


def test_batches_cover_everything_once_and_shuffle_reproducibly(vocabs):
    data = [Example([str(i % 7)], [str(i % 5)]) for i in range(10)]
    src_vocab, tgt_vocab = build_vocabs(data)
    plain = list(batches(data, 4, src_vocab, tgt_vocab))
    assert [len(b) for b in plain] == [4, 4, 2]
    assert [ex for b in plain for ex in b.examples] == data

    def order(seed):
        gen = torch.Generator().manual_seed(seed)
        return [
            id(ex) for b in batches(data, 4, src_vocab, tgt_vocab, True, gen) for ex in b.examples
        ]

    assert sorted(order(0)) == sorted(id(ex) for ex in data)
    assert order(0) == order(0)
    assert order(0) != order(1)
    assert order(0) != [id(ex) for ex in data]
    dropped = list(batches(data, 4, src_vocab, tgt_vocab, drop_last=True))
    assert [len(b) for b in dropped] == [4, 4]
    with pytest.raises(ValueError, match="batch_size"):
        list(batches(data, 0, src_vocab, tgt_vocab))


def test_to_device_keeps_lengths_on_cpu(vocabs):
    batch = make_batch(EXAMPLES, *vocabs).to("meta")
    assert batch.src.device.type == "meta"
    assert batch.tgt_in.device.type == batch.tgt_out.device.type == "meta"
    assert batch.alignments.device.type == "meta"
    assert batch.src_lengths.device.type == "cpu"
    assert len(batch.examples) == 3


def test_empty_inputs_rejected(vocabs):
    with pytest.raises(ValueError, match="at least one"):
        make_batch([], *vocabs)
    with pytest.raises(ValueError, match="empty"):
        make_batch([Example([], ["x"])], *vocabs)


def test_show_batch_is_readable():
    data = [Example(list("a b"), ["AH", "B"]), Example(list("q"), ["Z"])]
    src_vocab = Vocab(list("ab "))
    tgt_vocab = Vocab(["AH", "B", "Z"])
    text = show_batch(make_batch(data, src_vocab, tgt_vocab), src_vocab, tgt_vocab)
    lines = text.splitlines()
    assert "src (2, 3)" in lines[0] and "(2, 3)" in lines[0]
    assert lines[1].endswith("a ␣ b")
    assert lines[2].endswith("▶  AH B")
    assert lines[3].endswith("AH B  ■")
    assert lines[4].endswith("? · ·")  # 'q' is unknown, then padding
    assert lines[6].endswith("Z  ■  ·")
    many = make_batch([data[1]] * 10, src_vocab, tgt_vocab)
    assert show_batch(many, src_vocab, tgt_vocab, max_rows=2).endswith("... 8 more rows")
