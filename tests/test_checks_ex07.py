"""Exercise 07's checks: correct answers written differently pass, wrong ones fail."""

import math

import pytest
import torch

from course_lib import checks
from course_lib.checks import CheckFailed
from course_lib.transformer import (
    causal_mask,
    merge_heads,
    scaled_dot_product_attention,
    sinusoidal_encoding,
    split_heads,
)


def _sdpa_library(q, k, v, mask):
    return scaled_dot_product_attention(q, k, v, mask[:, None, :])


def _sdpa_loops(q, k, v, mask):
    batch, q_len, _ = q.shape
    weights = torch.zeros(batch, q_len, k.shape[1], dtype=q.dtype)
    for b in range(batch):
        for t in range(q_len):
            row = torch.stack([q[b, t] @ k[b, j] for j in range(k.shape[1])]) / math.sqrt(
                q.shape[-1]
            )
            weights[b, t] = row.masked_fill(~mask[b], float("-inf")).softmax(0)
    return torch.einsum("bqk,bkd->bqd", weights, v), weights


def _sdpa_torch(q, k, v, mask):
    keep = mask[:, None, :].expand(-1, q.shape[1], -1)
    out = torch.nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
    scores = (q @ k.transpose(1, 2)) * q.shape[-1] ** -0.5
    return out, scores.masked_fill(~keep, float("-inf")).softmax(-1)


def _pe_loops(length, d_model):
    pe = torch.zeros(length, d_model)
    for p in range(length):
        for i in range(0, d_model, 2):
            pe[p, i] = math.sin(p / 10000 ** (i / d_model))
            pe[p, i + 1] = math.cos(p / 10000 ** (i / d_model))
    return pe


CORRECT = [
    (checks.check_scaled_attention, _sdpa_library),
    (checks.check_scaled_attention, _sdpa_loops),
    (checks.check_scaled_attention, _sdpa_torch),
    (checks.check_split_heads, split_heads),
    (checks.check_split_heads, lambda x, h: torch.stack(x.chunk(h, dim=-1), dim=1)),
    (checks.check_merge_heads, merge_heads),
    (checks.check_merge_heads, lambda x: torch.cat(x.unbind(1), dim=-1)),
    (checks.check_causal_mask, causal_mask),
    (checks.check_causal_mask, lambda n: torch.arange(n)[None, :] <= torch.arange(n)[:, None]),
    (checks.check_positional_encoding, sinusoidal_encoding),
    (checks.check_positional_encoding, _pe_loops),
]


@pytest.mark.parametrize(("check", "answer"), CORRECT)
def test_correct_answers_written_differently_pass(check, answer, capsys):
    check(answer)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("check", "answer"),
    [
        (checks.check_causal_mask, lambda n: torch.ones(n, n).tril()),  # floats, not bools
        (checks.check_split_heads, lambda x, h: x),
        (checks.check_positional_encoding, lambda n, d: torch.zeros(n, d)),
    ],
)
def test_wrong_answers_fail(check, answer):
    with pytest.raises(CheckFailed):
        check(answer)


def test_every_lesson_07_part_has_stress_cases_that_its_reference_passes():
    gen = torch.Generator().manual_seed(0)
    references = {
        "scaled_attention": _sdpa_library,
        "split_heads": split_heads,
        "merge_heads": merge_heads,
        "causal_mask": causal_mask,
        "positional_encoding": sinusoidal_encoding,
    }
    for name, fn in references.items():
        part = checks.PARTS[name]
        cases = list(part.stress(gen))
        assert len(cases) >= 3
        for args in cases:
            part.judge(args, fn(*args))
