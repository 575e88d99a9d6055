"""How good is a trained model? Every measurement the lessons and scripts make, in one place.

Two ways to look at a model:

- free running: ``predict`` greedy-decodes, and ``evaluate`` / ``g2p_scores`` /
  ``exact_match_fn`` compare the outputs with the references (``course_lib.metrics``);
- teacher forced: ``teacher_forced`` feeds the reference target and yields each batch's logits
  and attention weights, so every target token has a row. ``perplexity``,
  ``sequence_log_prob``, ``date_alignment_report`` and ``alignment_offsets`` read those.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
import torch.nn.functional as F

from course_lib import metrics
from course_lib.data.batching import Batch, batches
from course_lib.data.vocab import PAD, SOS, Vocab
from course_lib.search import (
    encode_sources,
    eval_mode,
    greedy_decode,
    translate,
    without_forbidden,
)

# Where each field of an ISO date "YYYY-MM-DD" sits in the 10 target characters.
DATE_FIELDS = {"year": (0, 1, 2, 3), "month": (5, 6), "day": (8, 9)}


def teacher_forced(
    model, examples: Sequence[Any], src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int = 500
) -> Iterator[tuple[Batch, torch.Tensor, torch.Tensor | None]]:
    """Yield ``(batch, logits (batch, tgt_len, vocab), weights (batch, tgt_len, src_len))`` per
    batch of ``examples``, reference target fed in, in eval mode without gradients.

    ``weights`` is None for a model without attention; row t of the weights belongs to target
    token t of ``batch.tgt_out`` (EOS included).
    """
    with eval_mode(model):
        for batch in batches(examples, batch_size, src_vocab, tgt_vocab):
            logits, weights = model(batch.src, batch.src_lengths, batch.tgt_in)
            yield batch, logits, weights


def predict(
    model,
    examples: Sequence[Any],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    batch_size: int = 500,
    max_len: int | None = None,
) -> list[list[str]]:
    """Greedy outputs for ``examples`` (their targets are not looked at), as token lists.

    ``max_len`` defaults to twice the longest source in each batch plus 10.
    """
    predictions = []
    for batch in batches(examples, batch_size, src_vocab, tgt_vocab):
        limit = max_len or 2 * int(batch.src_lengths.max()) + 10
        tokens, _ = greedy_decode(model, batch.src, batch.src_lengths, limit)
        predictions += [tgt_vocab.decode(row) for row in tokens]
    return predictions


def evaluate(
    model,
    examples: Sequence[Any],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    batch_size: int = 500,
    max_len: int | None = None,
) -> dict[str, float]:
    """Greedy-decode ``examples`` and score them: exact match, token accuracy and, when the
    examples carry gold alignments and the model attends, alignment accuracy (measured on the
    teacher-forced weights, so every target token has a row)."""
    examples = list(examples)
    predictions = predict(model, examples, src_vocab, tgt_vocab, batch_size, max_len)
    references = [list(ex.tgt) for ex in examples]
    result = {
        "exact_match": metrics.exact_match(predictions, references),
        "token_accuracy": metrics.token_accuracy(predictions, references),
    }
    if model.has_attention and all(getattr(ex, "alignment", None) for ex in examples):
        weights, gold = [], []
        for batch, _, w in teacher_forced(model, examples, src_vocab, tgt_vocab, batch_size):
            weights += list(w)
            gold += list(batch.alignments)
        result["alignment_accuracy"] = metrics.alignment_accuracy(weights, gold)
    return result


def exact_match_fn(
    examples: Sequence[Any], src_vocab: Vocab, tgt_vocab: Vocab, batch_size: int = 500
) -> Callable[[Any], float]:
    """An ``eval_fn`` for ``training.train``: greedy exact match on ``examples``."""
    fixed = list(examples)
    references = [list(ex.tgt) for ex in fixed]

    def eval_fn(model) -> float:
        predictions = predict(model, fixed, src_vocab, tgt_vocab, batch_size)
        return metrics.exact_match(predictions, references)

    return eval_fn


def g2p_scores(
    model, examples, src_vocab: Vocab, tgt_vocab: Vocab, beam_size: int = 1, max_len: int = 40
) -> dict[str, float]:
    """WER and PER of batched greedy decoding (or beam search, ``beam_size`` > 1) against all
    pronunciations of each word.

    Greedy is the measurement behind ``pretrained/scores.json`` (``scripts/train_pretrained.py``).
    """
    if beam_size == 1:
        predictions = predict(model, examples, src_vocab, tgt_vocab, batch_size=1000)
    else:
        predictions = translate(
            model, [ex.src for ex in examples], src_vocab, tgt_vocab, max_len=max_len,
            beam_size=beam_size, batch_size=500,
        )[0]  # fmt: skip
    references = [ex.references for ex in examples]
    return {
        "wer": metrics.word_error_rate(predictions, references),
        "per": metrics.phoneme_error_rate(predictions, references),
    }


def perplexity(model, examples: Sequence[Any], src_vocab: Vocab, tgt_vocab: Vocab) -> float:
    """exp(mean cross-entropy per target token, EOS included), teacher forced: Luong et al.'s
    Table 4 measure."""
    total, count = 0.0, 0
    for batch, logits, _ in teacher_forced(model, examples, src_vocab, tgt_vocab):
        # (batch, tgt_len, vocab) -> (batch * tgt_len, vocab) against (batch * tgt_len,)
        total += F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            batch.tgt_out.reshape(-1),
            ignore_index=PAD,
            reduction="sum",
        ).item()
        count += int((batch.tgt_out != PAD).sum())
    return math.exp(total / count)


def sequence_log_prob(
    model,
    src_tokens: Sequence[str],
    out_tokens: Sequence[str],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    add_eos: bool = True,
) -> float:
    """Sum of log p(token) over ``out_tokens`` (plus EOS), teacher forced, by decoding's rules."""
    src, lengths = encode_sources([src_tokens], src_vocab)
    ids = tgt_vocab.encode(list(out_tokens), add_eos=add_eos)
    tgt_in = torch.tensor([[SOS] + ids[:-1]])  # (1, len(ids)): the tokens before each one
    with eval_mode(model):
        logits, _ = model(src, lengths, tgt_in)
    log_probs = torch.log_softmax(without_forbidden(logits[0]), dim=-1)  # (out_len + 1, vocab)
    return float(log_probs.gather(1, torch.tensor(ids)[:, None]).sum())


def date_alignment_report(model, examples, src_vocab: Vocab, tgt_vocab: Vocab, batch_size=500):
    """Alignment accuracy of teacher-forced attention, overall and per date field.

    A target character counts as aligned when its most attended source character lies in its
    gold span; characters without a span (the '-' separators, EOS) are left out. ``sharpness``
    is the mean largest weight of the counted rows (1 = all weight on one character).
    """
    right = {name: 0 for name in ("all", *DATE_FIELDS)}
    total = dict.fromkeys(right, 0)
    peak = 0.0
    for batch, _, weights in teacher_forced(model, examples, src_vocab, tgt_vocab, batch_size):
        if batch.alignments is None:
            raise ValueError("the examples carry no gold alignments (expected dates)")
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
    for batch, _, weights in teacher_forced(model, examples, src_vocab, tgt_vocab, batch_size):
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
