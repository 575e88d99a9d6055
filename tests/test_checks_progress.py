"""The progress cell: each part's state and points from the checks run in this kernel."""

from __future__ import annotations

import pytest
import torch

from course_lib import checks
from course_lib.checks import _part
from course_lib.checks._progress import progress_lines, released_points


@pytest.fixture(autouse=True)
def fresh_results(monkeypatch):
    monkeypatch.setattr(_part, "LAST_RESULTS", {})
    import course_lib.checks._progress as progress_module

    monkeypatch.setattr(progress_module, "LAST_RESULTS", _part.LAST_RESULTS)


def _todo(*args):
    raise NotImplementedError()


def test_points_come_from_the_release_as_the_grader_reads_them():
    assert released_points("03_softmax_weights")[:3] == [
        ("attention_weights", 1),
        ("lengths_to_mask", 1),
        ("masked_softmax", 3),
    ]


def test_each_state_gets_its_mark_and_points(capsys):
    with pytest.raises(checks.CheckFailed):
        checks.check_attention_weights(lambda s: s.softmax(dim=1))
    checks.check_lengths_to_mask(_todo)
    with pytest.raises(checks.CheckFailed):
        checks.check_temperature_weights(lambda s, t: (s * t).softmax(-1))
    checks.check_masked_softmax(
        lambda s, m: s.masked_fill(~m[:, None, :], float("-inf")).softmax(-1)
    )
    capsys.readouterr()
    checks.progress("03_softmax_weights")
    lines = capsys.readouterr().out.splitlines()
    assert "make grade" in lines[0]
    table = {line.split()[1]: line.split() for line in lines[1:-1]}
    assert table["attention_weights"][:3] == ["✗", "attention_weights", "0/1"]
    assert table["lengths_to_mask"][:3] == ["◻", "lengths_to_mask", "0/1"]
    assert table["masked_softmax"][:3] == ["✓", "masked_softmax", "3/3"]
    assert table["temperature_weights"][:3] == ["✗", "temperature_weights", "0/1"]
    assert table["weights_entropy"][:3] == ["·", "weights_entropy", "0/2"]
    assert lines[-1].split() == ["total", "3/10"]


def test_a_wrong_answer_after_a_right_one_counts_as_wrong():
    right = checks.check_attention_weights
    right(lambda s: s.softmax(-1))
    with pytest.raises(checks.CheckFailed):
        right(lambda s: s.softmax(1))
    lines = progress_lines([("attention_weights", 1)], _part.LAST_RESULTS)
    assert lines[0].startswith("✗ attention_weights  0/1")


def test_missing_release_is_said_not_raised(tmp_path, capsys):
    checks.progress("03_softmax_weights", release=tmp_path)
    assert "cannot read the released exercise" in capsys.readouterr().out


def test_progress_does_not_touch_torch_state():
    state = torch.get_rng_state()
    checks.progress("03_softmax_weights")
    assert torch.equal(state, torch.get_rng_state())
