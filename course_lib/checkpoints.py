"""Save and load models as safetensors + JSON: plain data only, nothing is ever unpickled.

A checkpoint is a folder with four files:

- ``model.safetensors``: the weights, float32;
- ``config.json``: the ``ModelConfig`` (as "model"), a format version and free ``metadata``;
- ``src_vocab.json`` / ``tgt_vocab.json``: the vocabularies (``Vocab.to_dict``).

Loading rebuilds the model from the config and checks, before using anything, that the
vocabularies fit the config, that the weights fit the model (same names, same shapes), and, when
given, that the caller's vocabularies and config agree with the stored ones; every mismatch is
listed in one ValueError.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from course_lib.data.vocab import Vocab
from course_lib.models import ModelConfig, Seq2Seq

FORMAT_VERSION = 1
WEIGHTS, CONFIG, SRC_VOCAB, TGT_VOCAB = (
    "model.safetensors",
    "config.json",
    "src_vocab.json",
    "tgt_vocab.json",
)
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


@dataclass
class Checkpoint:
    """What ``load`` returns: the model (in eval mode), its config and both vocabularies."""

    model: Seq2Seq
    config: ModelConfig
    src_vocab: Vocab
    tgt_vocab: Vocab
    metadata: dict[str, Any]


def vocab_digest(vocab: Vocab) -> str:
    """A short fingerprint of a vocabulary's tokens and order, stored in the config."""
    return hashlib.sha256(json.dumps(vocab.itos).encode()).hexdigest()[:16]


def _vocab_diff(name: str, stored: Vocab, given: Vocab) -> str | None:
    """Say how two vocabularies differ (size, first differing index), or None if equal."""
    if stored.itos == given.itos:
        return None
    if len(stored) != len(given):
        return f"{name}: stored vocabulary has {len(stored)} tokens, the given one {len(given)}"
    i = next(i for i, (a, b) in enumerate(zip(stored.itos, given.itos, strict=True)) if a != b)
    return f"{name}: token {i} is {stored.itos[i]!r} in the checkpoint but {given.itos[i]!r} given"


def save(
    path_dir: str | Path,
    model: Seq2Seq,
    config: ModelConfig | None,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` to the folder ``path_dir`` (created if needed); returns the folder.

    ``config`` (None: ``model.config``) must rebuild a model with exactly these weight shapes,
    and the vocabularies must have the config's sizes.
    """
    config = dataclasses.asdict(model.config if config is None else config)
    problems = _check_config(config, src_vocab, tgt_vocab)
    if not problems:
        template = Seq2Seq(ModelConfig(**config), seed=None).state_dict()
        problems += _check_weights(template, model.state_dict())
    if problems:
        raise ValueError(
            "cannot save a checkpoint that would not load:\n- " + "\n- ".join(problems)
        )
    path = Path(path_dir)
    path.mkdir(parents=True, exist_ok=True)
    tensors = {
        k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()
    }
    save_file(tensors, path / WEIGHTS, metadata={"format": "course_lib seq2seq"})
    stored = {
        "format_version": FORMAT_VERSION,
        "model": config,
        "src_vocab_sha": vocab_digest(src_vocab),
        "tgt_vocab_sha": vocab_digest(tgt_vocab),
        "metadata": metadata or {},
    }
    (path / CONFIG).write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n")
    (path / SRC_VOCAB).write_text(json.dumps(src_vocab.to_dict(), ensure_ascii=False) + "\n")
    (path / TGT_VOCAB).write_text(json.dumps(tgt_vocab.to_dict(), ensure_ascii=False) + "\n")
    return path


def _check_config(config: dict[str, Any], src_vocab: Vocab, tgt_vocab: Vocab) -> list[str]:
    """List what keeps a stored config (a dict) from building a model for these vocabularies."""
    known = {field.name for field in dataclasses.fields(ModelConfig)}
    problems = [f"config key {k!r} is not a ModelConfig field" for k in config if k not in known]
    if "kind" not in config:
        problems.append("config has no 'kind'")
    for key, vocab in (("src_vocab_size", src_vocab), ("tgt_vocab_size", tgt_vocab)):
        if config.get(key) != len(vocab):
            problems.append(f"config {key}={config.get(key)} but the vocabulary has {len(vocab)}")
    if not problems:
        try:
            ModelConfig(**config)
        except ValueError as error:
            problems.append(str(error))
    return problems


def _check_weights(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> list[str]:
    """List missing, unexpected and wrongly shaped weights."""
    problems = [
        f"missing weight {k} {tuple(v.shape)}" for k, v in expected.items() if k not in found
    ]
    problems += [f"unexpected weight {k}" for k in found if k not in expected]
    problems += [
        f"weight {k} has shape {tuple(found[k].shape)}, the config expects {tuple(v.shape)}"
        for k, v in expected.items()
        if k in found and found[k].shape != v.shape
    ]
    return problems


def load(
    path_dir: str | Path,
    src_vocab: Vocab | None = None,
    tgt_vocab: Vocab | None = None,
    expected_config: dict[str, Any] | None = None,
) -> Checkpoint:
    """Rebuild the model saved in ``path_dir``; raise ValueError naming every mismatch.

    Give ``src_vocab`` / ``tgt_vocab`` / ``expected_config`` (some ``ModelConfig`` fields and
    their values) to check that the checkpoint was made for your data and settings.
    """
    path = Path(path_dir)
    missing = [
        name for name in (WEIGHTS, CONFIG, SRC_VOCAB, TGT_VOCAB) if not (path / name).is_file()
    ]
    if missing:
        raise FileNotFoundError(
            f"{path} is not a complete checkpoint: missing {', '.join(missing)}"
        )
    stored = json.loads((path / CONFIG).read_text())
    if stored.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path / CONFIG}: format_version {stored.get('format_version')!r}, "
            f"this course_lib reads version {FORMAT_VERSION}"
        )
    config = stored["model"]
    vocabs = {
        name: Vocab.from_dict(json.loads((path / file).read_text()))
        for name, file in (("src_vocab", SRC_VOCAB), ("tgt_vocab", TGT_VOCAB))
    }
    problems = _check_config(config, vocabs["src_vocab"], vocabs["tgt_vocab"])
    for name, vocab in vocabs.items():
        if stored.get(f"{name}_sha") != vocab_digest(vocab):
            problems.append(f"{name}.json does not match the fingerprint recorded in config.json")
    for name, given in (("src_vocab", src_vocab), ("tgt_vocab", tgt_vocab)):
        if given is not None and (diff := _vocab_diff(name, vocabs[name], given)):
            problems.append(diff)
    for key, value in (expected_config or {}).items():
        if config.get(key) != value:
            problems.append(
                f"config {key}={config.get(key)!r} in the checkpoint, expected {value!r}"
            )
    weights = load_file(path / WEIGHTS)  # safetensors: raw arrays, no code runs
    model = None
    if not problems:
        model = Seq2Seq(ModelConfig(**config), seed=None)
        problems += _check_weights(model.state_dict(), weights)
    if problems:
        raise ValueError(f"checkpoint {path} does not match:\n- " + "\n- ".join(problems))
    model.load_state_dict(weights)
    model.eval()
    return Checkpoint(
        model, model.config, vocabs["src_vocab"], vocabs["tgt_vocab"], stored["metadata"]
    )


def load_pretrained(name: str) -> Checkpoint:
    """A shipped model: ``"g2p_bahdanau"`` or ``"g2p_luong"`` (see ``pretrained/scores.json``)."""
    available = sorted(p.name for p in PRETRAINED_DIR.iterdir() if (p / CONFIG).is_file())
    if name not in available:
        raise ValueError(f"no pretrained model {name!r}; available: {available}")
    return load(PRETRAINED_DIR / name)
