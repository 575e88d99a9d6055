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


def _accuracy_examples():
    """Weights and gold positions (-1 = no gold alignment) for three sentences of unequal length."""
    weights = randn(generator(151), 3, 4, 5).softmax(-1)  # (batch, tgt_len, src_len)
    predicted = weights.argmax(-1)
    gold = (predicted + 1) % 5  # start from all wrong, then make some right
    right = torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 1, 1, 1]], dtype=torch.bool)
    gold = torch.where(right, predicted, gold)
    gold[0, 3] = -1  # sentence 0 has 3 aligned tokens, sentence 1 has 2, sentence 2 has 4
    gold[1, 2:] = -1
    return [(weights, gold)]


def _accuracy_stress(gen: torch.Generator):
    """Random hits, misses and unaligned tokens; position 0 is often both predicted and gold."""
    cases = []
    for batch, tgt_len, src_len in stress_sizes(gen, 3):
        src_len = max(src_len, 2)
        scores = randn(gen, batch, tgt_len, src_len)
        scores[..., 0] += 2.0 * (torch.rand(batch, tgt_len, generator=gen) < 0.4)
        weights = scores.softmax(-1)
        predicted = weights.argmax(-1)
        draw = torch.rand(batch, tgt_len, generator=gen)
        other = (predicted + torch.randint(1, src_len, predicted.shape, generator=gen)) % src_len
        gold = torch.where(draw < 0.5, predicted, other)
        gold = torch.where(draw > 0.8, torch.full_like(gold, -1), gold)
        gold.view(-1)[pick(gen, 0, gold.numel() - 1)] = 0  # at least one aligned token
        cases.append((weights, gold))
    return cases


def _judge_accuracy(args, result) -> None:
    part = "alignment_accuracy"
    weights, gold = args
    result = as_number(part, "accuracy", result)
    hits = weights.argmax(-1) == gold
    aligned = gold >= 0
    expected = (hits & aligned).sum().item() / aligned.sum().item()
    per_sentence = (hits & aligned).sum(1).double() / aligned.sum(1).clamp(min=1)
    mistakes = {
        "alignment_counts_unaligned": hits.double().mean().item(),
        "alignment_macro_average": per_sentence.mean().item(),
    }
    if abs(result - expected) <= 1e-6:
        return
    for mistake, value in mistakes.items():
        if abs(value - expected) > 1e-6 and abs(result - value) <= 1e-6:
            raise CheckFailed(f"{part}: {hint(mistake)}")
    raise CheckFailed(
        f"{part}: got {result:.4g}, expected {expected:.4g}. Compare the argmax over source "
        "positions with gold at every target token where gold >= 0, and divide the number of "
        "matches by the number of such tokens."
    )


ALIGNMENT_ACCURACY = Part(
    "alignment_accuracy", _accuracy_examples, _accuracy_stress, _judge_accuracy, exact=True
)


def check_alignment_accuracy(fn) -> None:
    """alignment_accuracy(weights, gold) -> float: share of aligned target tokens whose argmax is gold."""
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
            raise CheckFailed(f"{part}: `{name}`: {hint('one_based_index')}")
        if answer == across:
            raise CheckFailed(f"{part}: `{name}`: {hint('map_wrong_axis')}")
        raise CheckFailed(
            f"{part}: `{name}` = {answer} is not the position with the darkest cell. Find the "
            "row (target) or column (source) named in the question and read off the darkest cell."
        )


# The map is fixed (the learner reads it in the notebook), so the grader asks the same question.
MAP_READING = Part("map_reading", lambda: [()], lambda gen: [()], _judge_map, exact=True)


def check_map_reading(fn) -> None:
    """map_answers() -> (source position for 'Buch', target position that attends most to 'read')."""
    run_check(MAP_READING, fn)
