"""Plumbing for lessons 04-06: trace one decoding step by step, a G2P predictor, alignment tables.

The notebooks compute the lesson's key quantity themselves (the weighted sum, the hard
alignment); these helpers collect what the figures and widgets need around it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from course_lib.data.batching import batches
from course_lib.data.vocab import EOS, SOS, Vocab
from course_lib.decoders import BahdanauDecoder
from course_lib.search import FORBIDDEN, eval_mode, translate

# Where each field of an ISO date "YYYY-MM-DD" sits in the 10 target characters.
DATE_FIELDS = {"year": (0, 1, 2, 3), "month": (5, 6), "day": (8, 9)}


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


def encode_source(tokens: Sequence[str], src_vocab: Vocab) -> tuple[torch.Tensor, torch.Tensor]:
    """One source as a batch of one, encoded as in training (no EOS): ``(src (1, len), lengths)``."""
    ids = src_vocab.encode(list(tokens), add_eos=False)
    if not ids:
        raise ValueError("the source is empty: give at least one token")
    return torch.tensor([ids]), torch.tensor([len(ids)])


def attends_before_step(model) -> bool:
    """True for Bahdanau (the query is h_{t-1}), False for Luong (the query is the new h_t)."""
    return isinstance(model.decoder, BahdanauDecoder)


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
    src, lengths = encode_source(src_tokens, src_vocab)
    rows: dict[str, list] = {k: [] for k in ("out", "w", "q", "c", "topk", "near")}
    with eval_mode(model):
        memory, state = model.encode(src, lengths)
        states = memory["values"][0]  # (src_len, enc_dim)
        token = torch.tensor([SOS])
        for _ in range(max_len):
            before = state
            logits, state, weights = model.step(token, state, memory)
            query = (before if attends_before_step(model) else state)[0][0]  # (hidden,)
            logits = logits[0].clone()
            logits[list(FORBIDDEN)] = float("-inf")
            probs = torch.softmax(logits, dim=-1)  # (vocab,)
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


def sequence_log_prob(
    model,
    src_tokens: Sequence[str],
    out_tokens: Sequence[str],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    add_eos: bool = True,
) -> float:
    """Sum of log p(token) over ``out_tokens`` (plus EOS), teacher forced, by decoding's rules."""
    src, lengths = encode_source(src_tokens, src_vocab)
    ids = tgt_vocab.encode(list(out_tokens), add_eos=add_eos)
    tgt_in = torch.tensor([[SOS] + ids[:-1]])  # (1, len(ids)): the tokens before each one
    with eval_mode(model):
        logits, _ = model(src, lengths, tgt_in)
    logits = logits[0].clone()  # (out_len + 1, vocab)
    logits[:, list(FORBIDDEN)] = float("-inf")
    log_probs = torch.log_softmax(logits, dim=-1)
    return float(log_probs.gather(1, torch.tensor(ids)[:, None]).sum())


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


def date_alignment_report(model, examples, src_vocab: Vocab, tgt_vocab: Vocab, batch_size=500):
    """Alignment accuracy of teacher-forced attention, overall and per date field.

    A target character counts as aligned when its most attended source character lies in its
    gold span; characters without a span (the '-' separators, EOS) are left out. ``sharpness``
    is the mean largest weight of the counted rows (1 = all weight on one character).
    """
    right = {name: 0 for name in ("all", *DATE_FIELDS)}
    total = dict.fromkeys(right, 0)
    peak = 0.0
    with eval_mode(model):
        for batch in batches(examples, batch_size, src_vocab, tgt_vocab):
            if batch.alignments is None:
                raise ValueError("the examples carry no gold alignments (expected dates)")
            _, weights = model(batch.src, batch.src_lengths, batch.tgt_in)  # (b, tgt, src)
            gold = batch.alignments  # (batch, tgt_len, src_len) bool
            best = weights.argmax(dim=-1, keepdim=True)  # (batch, tgt_len, 1)
            hit = gold.gather(-1, best)[..., 0]  # (batch, tgt_len)
            counted = gold.any(dim=-1)  # (batch, tgt_len)
            peak += float(weights.max(dim=-1).values[counted].sum())
            right["all"] += int((hit & counted).sum())
            total["all"] += int(counted.sum())
            for name, cols in DATE_FIELDS.items():
                cols = list(cols)
                right[name] += int((hit[:, cols] & counted[:, cols]).sum())
                total[name] += int(counted[:, cols].sum())
    if total["all"] == 0:
        raise ValueError("no target character has a gold span")
    report = {name: right[name] / total[name] for name in right if total[name]}
    report["sharpness"] = peak / total["all"]
    return report


def alignment_offsets(model, examples, src_vocab: Vocab, tgt_vocab: Vocab, batch_size=500):
    """Share of aligned target tokens by how far their most attended position is from the gold
    span: 0 inside it, +1 one position to its right, -2 two to its left, ...
    """
    counts: dict[int, int] = {}
    with eval_mode(model):
        for batch in batches(examples, batch_size, src_vocab, tgt_vocab):
            _, weights = model(batch.src, batch.src_lengths, batch.tgt_in)  # (b, tgt, src)
            best = weights.argmax(dim=-1).tolist()  # (batch, tgt_len)
            for row, ex in zip(best, batch.examples, strict=True):
                for pos, span in zip(row, ex.alignment, strict=False):
                    if span is None:
                        continue
                    start, end = span
                    offset = pos - start if pos < start else max(pos - (end - 1), 0)
                    counts[offset] = counts.get(offset, 0) + 1
    total = sum(counts.values())
    if total == 0:
        raise ValueError("no target token has a gold span")
    return {k: v / total for k, v in sorted(counts.items())}


def _cell(value, percent: bool) -> str:
    """One table cell: fractions as percentages where asked, thousands separated, text as is."""
    is_number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if is_number and percent:
        return f"{float(value):.1%}"
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        return f"{int(value):,}"
    if isinstance(value, float | np.floating):
        return f"{float(value):.3g}"
    return str(value)


def text_table(header: Sequence[str], rows: Sequence[Sequence], percent: Sequence[str] = ()):
    """A plain-text table; numbers in the columns named in ``percent`` print as percentages."""
    cells = [[str(h) for h in header]]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells, the header {len(header)}")
        cells.append([_cell(v, h in percent) for h, v in zip(header, row, strict=True)])
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    padded = [
        [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        for r in cells
    ]  # first column left-aligned, numbers right-aligned
    lines = ["  ".join(r) for r in padded]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


__all__ = [
    "DATE_FIELDS",
    "StepTrace",
    "alignment_offsets",
    "attends_before_step",
    "date_alignment_report",
    "encode_source",
    "g2p_predictor",
    "nearest_states",
    "project_2d",
    "sequence_log_prob",
    "text_table",
    "trace_decoding",
]
