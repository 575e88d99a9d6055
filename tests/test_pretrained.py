"""The shipped G2P models: small enough, loadable, and as good as scores.json says.

What is measured (as recorded in course_lib/pretrained/scores.json): the full CMUdict test
split (stress removed), batched greedy decoding; WER = share of words whose output matches none
of their pronunciations, PER = edits to the closest pronunciation over its length, summed.
"""

from __future__ import annotations

import json

import pytest

from course_lib import checkpoints
from course_lib.data.g2p import g2p_splits, to_examples
from course_lib.evaluation import g2p_scores  # the exact measurement the script uses

NAMES = ("g2p_bahdanau", "g2p_luong")
SCORES = json.loads((checkpoints.PRETRAINED_DIR / "scores.json").read_text())


@pytest.fixture(scope="module")
def test_split():
    return to_examples(g2p_splits()["test"])


@pytest.mark.parametrize("name", NAMES)
def test_shipped_files_are_small_and_load(name):
    path = checkpoints.PRETRAINED_DIR / name
    assert (path / checkpoints.WEIGHTS).stat().st_size <= 5 * 2**20
    ckpt = checkpoints.load_pretrained(name)
    assert ckpt.config.kind == name.removeprefix("g2p_")
    assert "e" in ckpt.src_vocab and "AH" in ckpt.tgt_vocab


@pytest.mark.parametrize("name", NAMES)
def test_shipped_models_reach_their_documented_scores(name, test_split):
    ckpt = checkpoints.load_pretrained(name)
    recorded = SCORES[name]
    assert recorded["n_test_words"] == len(test_split)
    scores = g2p_scores(ckpt.model, test_split, ckpt.src_vocab, ckpt.tgt_vocab)
    # Tolerance: a few words may flip on last-bit differences between machines/thread counts.
    assert scores["wer"] == pytest.approx(recorded["test_wer"], abs=2e-3)
    assert scores["per"] == pytest.approx(recorded["test_per"], abs=1e-3)
    assert scores["wer"] <= 0.30 and scores["per"] <= 0.08  # the course's targets
