"""No bad surprise: a wrong answer that passes its notebook check also fails... nowhere else.

Over every wrong answer the tests hold (each catalogued mistake in test_checks_mistakes.py, and
the answers of test_grading_attacks.py that are right only on some inputs), this counts those
that pass the learner's check in the notebook and then fail on the grader's inputs. It runs the
grader's own code in this process (attempt.run_case for the call, verdict.judge_case for the
verdict), without a sandbox, on cases drawn as grading draws them. Only answers that memorise
the check's own inputs may pass the check and fail grading: no check can see through those.

    python tests/test_checks_vs_grader.py    # prints the count and the answers
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import sys
from pathlib import Path

import torch

from course_lib.checks import PARTS, CheckFailed
from course_lib.checks._part import run_check
from course_lib.grade import verdict
from course_lib.grade.attempt import run_case

HERE = Path(__file__).resolve().parent
SEEDS = range(5)  # grading seeds tried per answer
MEMORISERS = {"table_of_lags", "constant_accuracy"}  # answers that look up the check's inputs


def _module(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def wrong_answers() -> list[tuple[str, str, object]]:
    """(label, part name, function) for every wrong answer in the tests."""
    answers = []
    for index, (mistake, check, fn) in enumerate(_module("test_checks_mistakes").CASES):
        answers.append((f"{mistake}#{index}", check.__name__.removeprefix("check_"), fn))
    attacks = _module("test_grading_attacks").ATTACKS
    for label, (_, sources, target) in attacks.items():
        if target is None or len(sources) != 1 or not label_is_answer(label):
            continue
        ((cell, source),) = sources.items()
        namespace = {"torch": torch, "math": math}
        exec(compile(source, f"<{label}>", "exec"), namespace)  # a test's own wrong answer
        function = source.split("def ", 1)[1].split("(", 1)[0]
        answers.append((label, cell.removesuffix("_answer")[3:], namespace[function]))
    return answers


def label_is_answer(label: str) -> bool:
    """The attacks of group 1 (answers right on some inputs only), not the attacks on the grader."""
    return label in {
        "table_of_lags", "constant_accuracy", "squeeze_breaks_at_batch_1", "softmax_axis_by_size",
        "mask_with_minus_1e4", "gold_zero_ignored", "greedy_feeds_first_prediction",
        "attention_under_no_grad",
    }  # fmt: skip


def passes_check(part_name: str, fn) -> bool:
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            run_check(PARTS[part_name], fn)
        except CheckFailed:
            return False
    return True


def fails_grading(part_name: str, fn) -> bool:
    """True when the grader's judge rejects `fn` on the cases of any of SEEDS."""
    part = PARTS[part_name]
    for seed in SEEDS:
        for case in verdict.draw_cases(part, torch.Generator().manual_seed(seed)):
            job = verdict.job_part("p", part, "fn", [case])
            sent = run_case(fn, job["cases"][0], job, 10.0)
            if "error" in sent:
                return True
            try:
                verdict.judge_case(part, case, sent)
            except CheckFailed:
                return True
    return False


def surprises() -> tuple[int, list[str]]:
    """(wrong answers measured, labels of those that pass the check but fail grading)."""
    answers = wrong_answers()
    bad = [
        label for label, name, fn in answers if passes_check(name, fn) and fails_grading(name, fn)
    ]
    return len(answers), bad


def test_only_memorising_answers_pass_the_check_and_fail_grading():
    total, bad = surprises()
    assert total > 60
    assert set(bad) <= MEMORISERS, sorted(set(bad) - MEMORISERS)


if __name__ == "__main__":
    count, labels = surprises()
    print(f"{len(labels)} of {count} wrong answers pass the notebook check and fail grading:")
    print("\n".join(f"  {label}" for label in labels))
    sys.exit(0)
