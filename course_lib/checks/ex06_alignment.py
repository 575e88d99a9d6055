"""Checks for exercise 06: hard alignments, alignment accuracy, and reading an attention map."""

from __future__ import annotations

import numbers

import torch

from ._core import Candidate, CheckFailed, as_number, compare, generator, randn, unpack
from ._part import Part, pick, run_check, stress_sizes
from .mistakes import hint

# English -> German, with the verb moving to the end: target step t attends mostly to ALIGN[t].
MAP_SOURCE = ["I", "have", "read", "the", "book", "<eos>"]
MAP_TARGET = ["ich", "habe", "das", "Buch", "gelesen", "<eos>"]
_ALIGN = [0, 1, 3, 4, 2, 5]


def example_map() -> tuple[torch.Tensor, list[str], list[str]]:
    """A fixed attention map (tgt_len, src_len) with its source and target tokens, for reading."""
    noise = torch.rand(len(MAP_TARGET), len(MAP_SOURCE), generator=generator(131))
    scores = 1.5 * noise + 3.0 * torch.nn.functional.one_hot(torch.tensor(_ALIGN)).float()
    scores[2, 4] += 1.5  # "das" also looks at "book": the article agrees with its noun
    return scores.softmax(-1), list(MAP_SOURCE), list(MAP_TARGET)


ALIGN_WHERE = "weights are (batch, tgt_len, src_len); the result is (batch, tgt_len)."


def _hard_examples():
    return [(randn(generator(141), 2, 3, 5).softmax(-1),)]


def _hard_stress(gen: torch.Generator):
    return [(randn(gen, *shape).softmax(-1),) for shape in stress_sizes(gen, 3)]


def _judge_hard(args, result) -> None:
    (weights,) = args
    candidates = [Candidate("argmax_wrong_axis", weights.argmax(1))]
    compare("hard_alignment", "alignment", result, weights.argmax(-1), candidates, ALIGN_WHERE)


HARD_ALIGNMENT = Part(
    "hard_alignment", _hard_examples, _hard_stress, _judge_hard, on_error=ALIGN_WHERE, exact=True
)


def check_hard_alignment(fn) -> None:
    """hard_alignment(weights) -> long (batch, tgt_len): the most attended source position per step."""
    run_check(HARD_ALIGNMENT, fn)


def _gold_spans(gen: torch.Generator, predicted: torch.Tensor, src_len: int) -> torch.Tensor:
    """Gold spans [start, end) per target token around or away from `predicted`; [-1, -1] = none.

    Half hit (the span holds the prediction), some miss just after the span (the prediction sits
    at `end`, which an inclusive end would count), the rest miss elsewhere or have no gold.
    """
    spans = torch.full((*predicted.shape, 2), -1, dtype=torch.long)
    for index in range(predicted.numel()):
        k = int(predicted.view(-1)[index])
        width = pick(gen, 1, min(3, src_len))
        draw = float(torch.rand(1, generator=gen))
        if draw < 0.5:  # a hit: a span of `width` positions that holds k
            start = max(0, min(k - pick(gen, 0, width - 1), src_len - width))
        elif draw < 0.7 and k >= 1:  # a miss by one: the span ends right before k
            start = max(0, k - width)
            width = k - start
        elif draw < 0.9:  # a miss: the first span of `width` positions that avoids k
            start = 0 if k >= width else k + 1
            width = min(width, src_len - start)
            if width <= 0:
                continue
        else:
            continue  # no gold alignment for this token
        spans.view(-1, 2)[index] = torch.tensor([start, start + width])
    return spans


def _accuracy_examples():
    """Weights and gold spans for three sentences, with hits, misses and unaligned tokens."""
    gen = generator(151)
    weights = randn(gen, 3, 4, 6).softmax(-1)  # (batch, tgt_len, src_len)
    spans = _gold_spans(gen, weights.argmax(-1), 6)
    return [(weights, spans)]


def _accuracy_stress(gen: torch.Generator):
    """Random spans; position 0 is often predicted, and at least one token is aligned."""
    cases = []
    for batch, tgt_len, src_len in stress_sizes(gen, 3):
        src_len = max(src_len, 2)
        scores = randn(gen, batch, tgt_len, src_len)
        scores[..., 0] += 2.0 * (torch.rand(batch, tgt_len, generator=gen) < 0.4)
        weights = scores.softmax(-1)
        spans = _gold_spans(gen, weights.argmax(-1), src_len)
        spans.view(-1, 2)[pick(gen, 0, batch * tgt_len - 1)] = torch.tensor([0, src_len])
        cases.append((weights, spans))
    return cases


def span_hits(weights: torch.Tensor, spans: torch.Tensor, inclusive_end: bool = False):
    """(hits, aligned), both bool (batch, tgt_len): the hard alignment inside the gold span."""
    predicted = weights.argmax(-1)
    start, end = spans[..., 0], spans[..., 1]
    aligned = start >= 0
    inside = (start <= predicted) & ((predicted <= end) if inclusive_end else (predicted < end))
    return inside & aligned, aligned


def _judge_accuracy(args, result) -> None:
    part = "alignment_accuracy"
    weights, spans = args
    result = as_number(part, "accuracy", result)
    hits, aligned = span_hits(weights, spans)
    expected = hits.sum().item() / aligned.sum().item()
    per_sentence = hits.sum(1).double() / aligned.sum(1).clamp(min=1)
    inclusive, _ = span_hits(weights, spans, inclusive_end=True)
    first_only = (weights.argmax(-1) == spans[..., 0]) & aligned
    mistakes = {
        "alignment_counts_unaligned": hits.double().mean().item(),
        "alignment_macro_average": per_sentence.mean().item(),
        "span_end_inclusive": inclusive.sum().item() / aligned.sum().item(),
        "span_start_only": first_only.sum().item() / aligned.sum().item(),
    }
    if abs(result - expected) <= 1e-6:
        return
    for mistake, value in mistakes.items():
        if abs(value - expected) > 1e-6 and abs(result - value) <= 1e-6:
            raise CheckFailed(f"{part}: {hint(mistake)}", mistake=mistake)
    raise CheckFailed(
        f"{part}: got {result:.4g}, expected {expected:.4g}. At every target token whose span "
        "starts at 0 or later, check start <= hard alignment < end, and divide the number of "
        "such tokens by the number of tokens with a span."
    )


ALIGNMENT_ACCURACY = Part(
    "alignment_accuracy", _accuracy_examples, _accuracy_stress, _judge_accuracy, exact=True
)


def check_alignment_accuracy(fn) -> None:
    """alignment_accuracy(weights, spans) -> float: share of aligned tokens whose argmax is in the span."""
    run_check(ALIGNMENT_ACCURACY, fn)


def _judge_map(args, result) -> None:
    part = "map_reading"
    answers = unpack(part, result, ("source_for_buch", "target_for_read"))
    weights, _, _ = example_map()
    t_buch, s_read = MAP_TARGET.index("Buch"), MAP_SOURCE.index("read")
    questions = [
        ("source_for_buch", weights[t_buch].argmax().item(), weights[:, t_buch].argmax().item()),
        ("target_for_read", weights[:, s_read].argmax().item(), weights[s_read].argmax().item()),
    ]
    for (name, right, across), answer in zip(questions, answers, strict=True):
        answer = as_number(part, name, answer, numbers.Integral)
        if answer == right:
            continue
        if answer == right + 1:
            raise CheckFailed(
                f"{part}: `{name}`: {hint('one_based_index')}", mistake="one_based_index"
            )
        if answer == across:
            raise CheckFailed(
                f"{part}: `{name}`: {hint('map_wrong_axis')}", mistake="map_wrong_axis"
            )
        raise CheckFailed(
            f"{part}: `{name}` = {answer} is not the position with the darkest cell. Find the "
            "row (target) or column (source) named in the question and read off the darkest cell."
        )


# The map is fixed (the learner reads it in the notebook), so the grader asks the same question.
MAP_READING = Part("map_reading", lambda: [()], lambda gen: [()], _judge_map, exact=True)


def check_map_reading(fn) -> None:
    """map_answers() -> (source position for 'Buch', target position that attends most to 'read')."""
    run_check(MAP_READING, fn)
