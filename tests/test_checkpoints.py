"""Checkpoints: exact round trip, clear mismatch errors, and no unpickling anywhere."""

from __future__ import annotations

import dataclasses
import json
import pickle

import pytest
import torch

from course_lib import checkpoints
from course_lib.data.vocab import Vocab
from course_lib.models import build_model

SRC = Vocab(list("abcdefg"))
TGT = Vocab(["X", "Y", "Z"])


def toy(kind="bahdanau"):
    return build_model(kind, len(SRC), len(TGT), emb=4, hidden=6, seed=2)


def toy_inputs():
    return (
        torch.tensor([[4, 5, 6], [7, 8, 0]]),
        torch.tensor([3, 2]),
        torch.tensor([[1, 4], [1, 5]]),
    )


@pytest.mark.parametrize("kind", ["none", "bahdanau", "luong"])
def test_round_trip_gives_identical_outputs(tmp_path, kind):
    model = toy(kind)
    checkpoints.save(tmp_path / "ckpt", model, None, SRC, TGT, metadata={"note": "toy"})
    loaded = checkpoints.load(tmp_path / "ckpt", src_vocab=SRC, tgt_vocab=TGT)
    assert loaded.config == model.config and loaded.metadata == {"note": "toy"}
    assert loaded.src_vocab == SRC and loaded.tgt_vocab == TGT
    assert not loaded.model.training
    model.eval()
    out, w = model(*toy_inputs())
    out2, w2 = loaded.model(*toy_inputs())
    assert torch.equal(out, out2)
    assert (w is None and w2 is None) or torch.equal(w, w2)


def test_files_are_plain_data(tmp_path):
    checkpoints.save(tmp_path, toy(), None, SRC, TGT)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["model.safetensors", "config.json", "src_vocab.json", "tgt_vocab.json"]
    )
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["model"]["kind"] == "bahdanau" and config["format_version"] == 1


def test_loading_never_unpickles(tmp_path, monkeypatch):
    checkpoints.save(tmp_path, toy(), None, SRC, TGT)

    def forbidden(*args, **kwargs):
        raise AssertionError("something tried to unpickle")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    checkpoints.load(tmp_path)


def test_vocabulary_mismatch_is_named(tmp_path):
    checkpoints.save(tmp_path, toy(), None, SRC, TGT)
    other = Vocab(["X", "W", "Z"])
    with pytest.raises(ValueError, match=r"tgt_vocab: token 5 is 'Y' in the checkpoint but 'W'"):
        checkpoints.load(tmp_path, tgt_vocab=other)
    with pytest.raises(ValueError, match="stored vocabulary has 11 tokens, the given one 12"):
        checkpoints.load(tmp_path, src_vocab=Vocab(list("abcdefgh")))


def test_edited_files_are_caught(tmp_path):
    checkpoints.save(tmp_path, toy(), None, SRC, TGT)
    (tmp_path / "tgt_vocab.json").write_text(json.dumps(Vocab(["X", "Z", "Y"]).to_dict()))
    with pytest.raises(ValueError, match="tgt_vocab.json does not match the fingerprint"):
        checkpoints.load(tmp_path)
    checkpoints.save(tmp_path, toy(), None, SRC, TGT)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model"]["hidden"] = 8
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match=r"gates_hidden.weight has shape \(18, 6\), the config expects \(24, 8\)"
    ):
        checkpoints.load(tmp_path)
    with pytest.raises(ValueError, match="config hidden=8 in the checkpoint, expected 6"):
        checkpoints.load(tmp_path, expected_config={"hidden": 6})


def test_saving_checks_config_and_vocab_sizes(tmp_path):
    with pytest.raises(ValueError, match="tgt_vocab_size=7 but the vocabulary has 8"):
        checkpoints.save(tmp_path, toy(), None, SRC, Vocab(["X", "Y", "Z", "W"]))
    config = dataclasses.replace(toy().config, hidden=8)
    with pytest.raises(ValueError, match="the config expects"):
        checkpoints.save(tmp_path, toy(), config, SRC, TGT)


def test_loading_names_unknown_config_keys(tmp_path):
    checkpoints.save(tmp_path, toy(), None, SRC, TGT)
    config = json.loads((tmp_path / "config.json").read_text())
    config["model"]["layers"] = 2
    (tmp_path / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="'layers' is not a ModelConfig field"):
        checkpoints.load(tmp_path)


def test_stored_config_is_the_model_config_with_defaults_resolved(tmp_path):
    model = toy("luong")
    checkpoints.save(tmp_path, model, None, SRC, TGT)
    stored = json.loads((tmp_path / "config.json").read_text())["model"]
    assert stored == dataclasses.asdict(model.config)
    assert stored["bidirectional"] is False and stored["enc_hidden"] == 6


def test_missing_files_and_unknown_pretrained(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing model.safetensors"):
        checkpoints.load(tmp_path)
    with pytest.raises(ValueError, match="no pretrained model 'nope'"):
        checkpoints.load_pretrained("nope")
