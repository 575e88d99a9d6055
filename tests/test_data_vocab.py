"""Vocab: fixed special indices, reproducible order, and a lossless checkpoint round-trip."""

import json

import pytest
import torch

from course_lib.data.vocab import EOS, PAD, SOS, UNK, Vocab, build_vocabs


def test_specials_have_fixed_indices():
    vocab = Vocab(["b", "a"])
    assert (PAD, SOS, EOS, UNK) == (0, 1, 2, 3)
    assert vocab.itos[:4] == ["<pad>", "<sos>", "<eos>", "<unk>"]
    assert [vocab.stoi[t] for t in ("<pad>", "<sos>", "<eos>", "<unk>")] == [0, 1, 2, 3]
    assert vocab.itos[4:] == ["b", "a"]  # given order kept
    assert len(vocab) == 6


def test_build_is_sorted_deduplicated_and_counts():
    vocab = Vocab.build([list("cab"), list("bcc"), ["<eos>"]])
    assert vocab.itos[4:] == ["a", "b", "c"]  # specials in the data are not added twice
    assert Vocab.build([list("cab"), list("bcc")], min_freq=2).itos[4:] == ["b", "c"]


def test_encode_decode():
    vocab = Vocab(list("abc"))
    assert vocab.encode("cab") == [6, 4, 5, EOS]
    assert vocab.encode(list("ab"), add_eos=False, add_sos=True) == [SOS, 4, 5]
    assert vocab.encode("az", add_eos=False) == [4, UNK]
    ids = [SOS, 6, PAD, 4, EOS, 5, PAD]
    assert vocab.decode(ids) == ["c", "a"]
    assert vocab.decode(torch.tensor(ids), strip=False) == [
        "<sos>", "c", "<pad>", "a", "<eos>", "b", "<pad>"
    ]  # fmt: skip
    with pytest.raises(ValueError, match="out of range"):
        vocab.decode([7])
    with pytest.raises(TypeError):
        vocab.decode([[1, 2]])


def test_round_trip_through_json():
    vocab = Vocab.build([["AH", "B"], ["Z", "AH"]])
    restored = Vocab.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert restored == vocab
    assert restored.stoi == vocab.stoi
    assert restored.encode(["Z", "B"]) == vocab.encode(["Z", "B"])
    assert restored != Vocab(["B", "AH", "Z"])
    with pytest.raises(ValueError, match="specials"):
        Vocab.from_dict({"itos": ["a", "<pad>", "<sos>", "<eos>", "<unk>"]})
    with pytest.raises(ValueError, match="duplicate"):
        Vocab.from_dict({"itos": ["<pad>", "<sos>", "<eos>", "<unk>", "a", "a"]})


def test_bad_tokens_rejected():
    with pytest.raises(TypeError, match="str"):
        Vocab([1, 2])
    with pytest.raises(ValueError, match="4 distinct"):
        Vocab(["a"], specials=("<pad>", "<pad>", "<eos>", "<unk>"))


def test_build_vocabs_from_examples():
    class Ex:
        def __init__(self, src, tgt):
            self.src, self.tgt = src, tgt

    src, tgt = build_vocabs([Ex(list("ab"), ["X"]), Ex(list("b"), ["Y", "X"])])
    assert src.itos[4:] == ["a", "b"]
    assert tgt.itos[4:] == ["X", "Y"]
