"""Step traces for the widgets and figures of lessons 04-06: what one decoding did, step by step.

The notebooks compute the lesson's key quantity themselves (the weighted sum, the hard
alignment); these helpers collect what the figures and widgets need around it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.data.vocab import EOS, SOS, Vocab
from course_lib.search import encode_sources, eval_mode, translate, without_forbidden


@dataclass
class StepTrace:
    """Everything one greedy decoding did, step by step (arrays are numpy, one row per step)."""

    src_tokens: list[str]
    out_tokens: list[str]  # emitted tokens, "<eos>" included when reached
    weights: np.ndarray  # (out_len, src_len) attention weights
    queries: np.ndarray  # (out_len, hidden) the decoder state that asked the question
    contexts: np.ndarray  # (out_len, enc_dim) weighted sums of the encoder states
    states: np.ndarray  # (src_len, enc_dim) encoder states
    topk: list[list[tuple[str, float]]]  # per step: most likely next tokens and probabilities
    nearest: list[list[tuple[int, str, float]]]  # per step: (src index, token, distance)


def nearest_states(
    context: torch.Tensor, states: torch.Tensor, src_tokens: Sequence[str], k: int = 3
) -> list[tuple[int, str, float]]:
    """The ``k`` encoder states closest (Euclidean) to ``context``: ``(index, token, distance)``."""
    distances = torch.linalg.vector_norm(states - context, dim=-1)  # (src_len,)
    k = min(k, len(distances))
    values, index = distances.topk(k, largest=False)
    return [(int(i), src_tokens[int(i)], float(d)) for d, i in zip(values, index, strict=True)]


def trace_decoding(
    model,
    src_tokens: Sequence[str],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    max_len: int = 30,
    topk: int = 3,
    n_nearest: int = 3,
) -> StepTrace:
    """Greedy-decode one source and record, at every step, what the step explorer shows."""
    if not model.has_attention:
        raise ValueError("this model has no attention: there are no weights to trace")
    src_tokens = list(src_tokens)
    src, lengths = encode_sources([src_tokens], src_vocab)
    rows: dict[str, list] = {k: [] for k in ("out", "w", "q", "c", "topk", "near")}
    with eval_mode(model):
        memory, state = model.encode(src, lengths)
        states = memory["values"][0]  # (src_len, enc_dim)
        token = torch.tensor([SOS])
        for _ in range(max_len):
            before = state
            logits, state, weights = model.step(token, state, memory)
            query = (before if model.decoder.attends_before_step else state)[0][0]  # (hidden,)
            probs = torch.softmax(without_forbidden(logits[0]), dim=-1)  # (vocab,)
            token = probs.argmax().view(1)
            w = weights[0]  # (src_len,)
            context = w @ states  # (enc_dim,): the weighted sum of lesson 04
            top_p, top_i = probs.topk(min(topk, len(probs)))
            rows["out"].append(tgt_vocab.itos[int(token)])
            rows["w"].append(w)
            rows["q"].append(query)
            rows["c"].append(context)
            rows["topk"].append(
                [(tgt_vocab.itos[int(i)], float(p)) for p, i in zip(top_p, top_i, strict=True)]
            )
            rows["near"].append(nearest_states(context, states, src_tokens, n_nearest))
            if int(token) == EOS:
                break
    return StepTrace(
        src_tokens=src_tokens,
        out_tokens=rows["out"],
        weights=torch.stack(rows["w"]).numpy(),
        queries=torch.stack(rows["q"]).numpy(),
        contexts=torch.stack(rows["c"]).numpy(),
        states=states.numpy(),
        topk=rows["topk"],
        nearest=rows["near"],
    )


def project_2d(states) -> tuple[np.ndarray, Callable[[np.ndarray], np.ndarray]]:
    """Encoder states on their two main directions (PCA), and the map that projects any vector.

    The map is affine, so the projection of a weighted sum (weights adding up to 1) is the same
    weighted sum of the projections: the picture of the context vector is exact.
    """
    s = np.asarray(states, dtype=float)
    if s.ndim != 2 or s.shape[0] < 2:
        raise ValueError(f"states must be (src_len >= 2, dim), got shape {s.shape}")
    mean = s.mean(axis=0)
    _, _, vt = np.linalg.svd(s - mean, full_matrices=False)
    basis = vt[:2].T  # (dim, 2)
    signs = np.sign(basis[np.abs(basis).argmax(axis=0), [0, 1]])  # fix SVD's arbitrary signs
    basis = basis * np.where(signs == 0, 1.0, signs)

    def project(x) -> np.ndarray:
        return (np.asarray(x, dtype=float) - mean) @ basis

    return project(s), project


def g2p_predictor(checkpoint, beam_size: int = 1, max_len: int | None = None):
    """A ``predict_fn(word) -> (phonemes, weights (n_phonemes, n_letters), letters)`` for widgets."""
    model, src_vocab, tgt_vocab = checkpoint.model, checkpoint.src_vocab, checkpoint.tgt_vocab

    def predict(word: str):
        letters = list(word.strip().lower())
        if not letters:
            raise ValueError("the word is empty")
        limit = max_len or 2 * len(letters) + 10
        outputs, weights = translate(
            model, [letters], src_vocab, tgt_vocab, max_len=limit, beam_size=beam_size
        )
        phonemes = outputs[0]
        return phonemes, weights[0][: len(phonemes)].numpy(), letters  # the EOS row dropped

    return predict


__all__ = [
    "StepTrace",
    "g2p_predictor",
    "nearest_states",
    "project_2d",
    "trace_decoding",
]
