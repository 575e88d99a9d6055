"""expect_between: prints the claim (never the measured value) and fails outside its range."""

import math

import pytest

from course_lib.claims import ClaimFailed, expect_between


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
    with pytest.raises(ClaimFailed, match=r"exact match: measured .* between 93% and 99%"):
        expect_between("exact match", value, 0.93, 0.99)
    assert capsys.readouterr().out == ""


def test_plain_numbers_without_percent(capsys):
    expect_between("perplexity", 1.02, 1.0, 1.05, percent=False)
    assert capsys.readouterr().out == "✓ perplexity: between 1 and 1.05\n"
    with pytest.raises(ClaimFailed, match="measured 1.2,"):
        expect_between("perplexity", 1.2, 1.0, 1.05, percent=False)


def test_a_reversed_range_is_a_programming_error():
    with pytest.raises(ValueError, match="low=0.9 must not exceed high=0.1"):
        expect_between("x", 0.5, 0.9, 0.1)


def test_claim_failed_is_an_assertion_error():
    assert issubclass(ClaimFailed, AssertionError)
