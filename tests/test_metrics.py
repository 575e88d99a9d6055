"""Metrics against values computed by hand on tiny examples."""

from __future__ import annotations

import pytest
import torch

from course_lib import metrics


def test_exact_match_and_word_error_rate_with_alternatives():
    predictions = [["a", "b"], ["c"], ["d", "e"], ["f"]]
    references = [["a", "b"], [["x"], ["c"]], ["d"], [["f", "g"], ["h"]]]
    assert metrics.exact_match(predictions, references) == pytest.approx(2 / 4)
    assert metrics.word_error_rate(predictions, references) == pytest.approx(2 / 4)


def test_phoneme_error_rate_uses_the_closest_pronunciation():
    predictions = [["K", "AE", "T"], ["D", "AO", "G"], ["T", "AH"]]
    references = [
        ["K", "AE", "T"],  # 0 edits / 3
        [["D", "AA", "G", "Z"], ["D", "AO", "G", "Z"]],  # closest: 1 deletion / 4
        [["T", "UW"], ["T", "AH", "M", "EY", "T", "OW"]],  # 1 substitution / 2 (not 4 / 6)
    ]
    assert metrics.phoneme_error_rate(predictions, references) == pytest.approx(2 / 9)


def test_phoneme_error_rate_counts_insertions_deletions_substitutions():
    # kitten -> sitting: 3 edits over the reference's 7 tokens
    assert metrics.phoneme_error_rate([list("kitten")], [list("sitting")]) == pytest.approx(3 / 7)
    assert metrics.phoneme_error_rate([[]], [["A", "B"]]) == pytest.approx(1.0)
    assert metrics.phoneme_error_rate([["A", "B", "C"]], [["A"]]) == pytest.approx(2.0)


def test_token_accuracy_is_positional():
    predictions = [["a", "b", "c"], ["x"], ["p", "q", "r", "s"]]
    references = [["a", "x", "c"], ["x", "y"], ["p", "q"]]
    # 2/3 + 1/2 (missing token is wrong) + 2/2 (extra tokens ignored) = 5 / 7
    assert metrics.token_accuracy(predictions, references) == pytest.approx(5 / 7)


def test_accuracy_by_length_bins_inclusive_and_skips_empty():
    predictions = [["a"], ["b"], ["c"], ["d"]]
    references = [["a"], ["x"], ["c"], ["d"]]
    result = metrics.accuracy_by_length(
        predictions, references, [5, 10, 11, 20], bins=[(1, 10), (11, 20), (21, 30)]
    )
    assert result == {"1-10": 0.5, "11-20": 1.0}


def test_alignment_accuracy_from_spans_and_from_masks():
    weights = torch.tensor(
        [
            [[0.7, 0.2, 0.1, 0.0], [0.1, 0.1, 0.8, 0.0], [0.2, 0.5, 0.3, 0.0]],
            [[0.0, 0.9, 0.1, 0.0], [0.3, 0.3, 0.0, 0.4], [0.5, 0.5, 0.0, 0.0]],
        ]
    )  # (batch 2, tgt 3, src 4); argmax rows: [0, 2, 1] and [1, 3, 0]
    spans = [[(0, 1), (1, 2), None], [(1, 3), (2, 4), None]]
    # counted: 4 tokens; right: (0 in [0,1)), (1 in [1,3)), (3 in [2,4)) = 3
    assert metrics.alignment_accuracy(weights, spans) == pytest.approx(3 / 4)
    gold = torch.zeros(2, 3, 4, dtype=torch.bool)
    for b, row in enumerate(spans):
        for t, span in enumerate(row):
            if span is not None:
                gold[b, t, span[0] : span[1]] = True
    assert metrics.alignment_accuracy(weights, gold) == pytest.approx(3 / 4)
    assert metrics.alignment_accuracy(list(weights), list(gold)) == pytest.approx(3 / 4)


def test_metric_errors_say_what_is_wrong():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        metrics.exact_match([["a"], ["b"]], [["a"]])
    with pytest.raises(ValueError, match="no target token has a gold span"):
        metrics.alignment_accuracy(torch.ones(1, 2, 3), [[None, None]])
    with pytest.raises(ValueError, match="differs from weights"):
        metrics.alignment_accuracy(torch.ones(1, 2, 3), torch.ones(1, 2, 4, dtype=torch.bool))
