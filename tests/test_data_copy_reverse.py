"""Copy/reverse task: seeded, lengths in range, targets and alignments exact."""

import random

import pytest

from course_lib.data.copy_reverse import make_copy_task, symbols


def test_same_seed_same_data_other_seed_other_data():
    assert make_copy_task(50, 1, 20, seed=3) == make_copy_task(50, 1, 20, seed=3)
    assert make_copy_task(50, 1, 20, seed=3) != make_copy_task(50, 1, 20, seed=4)


def test_known_first_example_pins_the_generator():
    random.seed(123)  # the global seed plays no part
    first = make_copy_task(2, 5, 5, seed=0)[0]
    assert "".join(first.src) == "65638"
    backwards = make_copy_task(1, 5, 5, reverse=True, seed=0)[0]
    assert "".join(backwards.src) == "65638" and "".join(backwards.tgt) == "83656"


@pytest.mark.parametrize("reverse", [False, True])
def test_targets_lengths_and_alignments(reverse):
    data = make_copy_task(400, 3, 50, n_symbols=12, reverse=reverse, seed=1)
    lengths = [len(ex.src) for ex in data]
    assert min(lengths) == 3 and max(lengths) == 50
    alphabet = set(symbols(12))
    for ex in data:
        assert set(ex.src) <= alphabet
        assert ex.tgt == (ex.src[::-1] if reverse else ex.src)
        assert len(ex.alignment) == len(ex.tgt)
        for t, (start, end) in enumerate(ex.alignment):
            assert end == start + 1 and ex.src[start] == ex.tgt[t]
    assert len({s for ex in data for s in ex.src}) == 12


def test_bad_arguments():
    with pytest.raises(ValueError, match="min_len"):
        make_copy_task(5, 6, 5)
    with pytest.raises(ValueError, match="min_len"):
        make_copy_task(5, 0, 5)
    with pytest.raises(ValueError, match="n_symbols"):
        make_copy_task(5, 1, 5, n_symbols=37)
    with pytest.raises(ValueError, match="n must"):
        make_copy_task(-1, 1, 5)
