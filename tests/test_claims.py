"""Self-checks: claims print what they state, fail strictly under the tests, and only note for a learner."""

import math

import pytest

from course_lib.claims import ClaimFailed, expect, expect_between, self_check, strict


def test_inside_the_range_prints_the_range_not_the_value(capsys):
    assert expect_between("exact match", 0.9613, 0.93, 0.99) is None
    out = capsys.readouterr().out
    assert out == "✓ exact match: between 93% and 99%\n"
    assert "96" not in out


def test_two_values_in_the_range_print_the_same_text(capsys):
    expect_between("peak", 0.81, 0.7, 0.9)
    first = capsys.readouterr().out
    expect_between("peak", 0.84, 0.7, 0.9)
    assert capsys.readouterr().out == first


def test_bounds_are_inclusive(capsys):
    expect_between("x", 0.93, 0.93, 0.99)
    expect_between("x", 0.99, 0.93, 0.99)
    assert capsys.readouterr().out.count("✓") == 2


@pytest.mark.parametrize("value", [0.929, 0.991, math.nan, -1.0])
def test_outside_the_range_fails_with_the_measured_value(value, capsys):
    with pytest.raises(ClaimFailed, match=r"exact match: expected between 93% and 99%, got "):
        expect_between("exact match", value, 0.93, 0.99)
    assert capsys.readouterr().out == ""


def test_plain_numbers_without_percent(capsys):
    expect_between("perplexity", 1.02, 1.0, 1.05, percent=False)
    assert capsys.readouterr().out == "✓ perplexity: between 1 and 1.05\n"
    with pytest.raises(ClaimFailed, match="got 1.2$"):
        expect_between("perplexity", 1.2, 1.0, 1.05, percent=False)


def test_a_reversed_range_is_a_programming_error():
    with pytest.raises(ValueError, match="low=0.9 must not exceed high=0.1"):
        expect_between("x", 0.5, 0.9, 0.1)


def test_claim_failed_is_an_assertion_error():
    assert issubclass(ClaimFailed, AssertionError)


def test_expect_prints_the_claim_or_fails_with_what_was_measured(capsys):
    expect(True, "attention beats both", got="unused")
    assert capsys.readouterr().out == "✓ attention beats both\n"
    with pytest.raises(
        ClaimFailed, match=r"^attention beats both: not so in this run \(62% vs 70%\)$"
    ):
        expect(False, "attention beats both", got="62% vs 70%")


def test_strict_only_when_the_variable_is_exactly_one(monkeypatch):
    for value, expected in [("1", True), ("0", False), ("", False), ("yes", False)]:
        monkeypatch.setenv("COURSE_STRICT", value)
        assert strict() is expected
    monkeypatch.delenv("COURSE_STRICT")
    assert strict() is False


def test_a_learner_gets_a_note_and_the_cell_goes_on(monkeypatch, capsys):
    monkeypatch.delenv("COURSE_STRICT", raising=False)
    with self_check("the curves", changes="max_len"):
        expect_between("short strings right", 0.95, 0.8, 1)
        expect_between("long strings right", 0.41, 0.8, 1)
        print("never reached")
    out = capsys.readouterr().out
    assert out.startswith("✓ short strings right: between 80% and 100%\n◇ Self-check 'the curves'")
    assert "long strings right: expected between 80% and 100%, got 41.0%" in out
    assert "expected if you changed max_len" in out
    assert "never reached" not in out and "Traceback" not in out


def test_plain_asserts_inside_a_self_check_become_notes_too(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_STRICT", "0")
    with self_check("ordering"):
        assert 1 > 2, "one should beat two"
    assert "one should beat two" in capsys.readouterr().out


def test_under_the_tests_a_failed_self_check_fails(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_STRICT", "1")
    with pytest.raises(ClaimFailed, match="got 41.0%"), self_check("the curves"):
        expect_between("long strings right", 0.41, 0.8, 1)
    with pytest.raises(AssertionError, match="one should beat two"), self_check("ordering"):
        assert 1 > 2, "one should beat two"
    assert "◇" not in capsys.readouterr().out


def test_other_errors_are_never_hidden(monkeypatch):
    monkeypatch.delenv("COURSE_STRICT", raising=False)
    with pytest.raises(KeyError), self_check("typo"):
        {}["missing"]


def test_pytest_runs_are_strict():
    """conftest.py sets the variable, so nbval's kernels run every self-check strictly."""
    assert strict()
