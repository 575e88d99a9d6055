"""course_lib.fused_recurrence: the exponential form of tanh and its fall-back to torch.tanh."""

import pytest
import torch

from course_lib import fused_recurrence
from course_lib.fused_recurrence import bahdanau_recurrence

BATCH, TGT_LEN, SRC_LEN, HID, ENC, D_ATTN = 3, 4, 5, 6, 7, 2


def _inputs(key_level: float, query_level: float):
    """Keys near key_level and every step's query equal to query_level (float32)."""
    g = torch.Generator().manual_seed(0)
    gi_emb = torch.randn(BATCH, TGT_LEN, 3 * HID, generator=g)
    h0 = torch.randn(BATCH, HID, generator=g)
    keys = key_level + 0.1 * torch.randn(BATCH, SRC_LEN, D_ATTN, generator=g)
    values = torch.randn(BATCH, SRC_LEN, ENC, generator=g)
    mask = torch.ones(BATCH, SRC_LEN, dtype=torch.bool)
    mask[0, -2:] = False
    w_hidden = 0.3 * torch.randn(3 * HID + D_ATTN, HID, generator=g)
    w_hidden[3 * HID :] = 0  # the query is its bias alone
    b_hidden = torch.zeros(3 * HID + D_ATTN)
    b_hidden[3 * HID :] = query_level
    w_ctx = 0.3 * torch.randn(3 * HID, ENC, generator=g)
    v = torch.randn(D_ATTN, generator=g)
    return gi_emb, h0, keys, values, mask, w_hidden, b_hidden, w_ctx, v


def _run(inputs):
    leaves = [t.clone().requires_grad_(t.is_floating_point()) for t in inputs]
    outputs = bahdanau_recurrence(*leaves)
    sum(o.sin().sum() for o in outputs).backward()
    grads = [t.grad for t in leaves if t.requires_grad]
    return [o.detach() for o in outputs], grads


@pytest.mark.parametrize(
    ("key_level", "query_level"),
    [(0.5, -0.3), (-39.8, 45.0), (39.8, -45.0), (-80.0, 81.0)],
    ids=["small", "query-past-bound", "negative-query-past-bound", "key-past-bound"],
)
def test_exponential_form_matches_tanh(monkeypatch, key_level, query_level):
    # k + q is near 5 in the cases past the bound, where tanh is 0.9999 but not 1: exp(2q)
    # overflowing to inf (q > 44) would round it to 1 if the query's bound were not checked.
    fast = _run(_inputs(key_level, query_level))
    monkeypatch.setattr(fused_recurrence, "EXP_FORM_MAX_ABS", -1.0)  # tanh everywhere
    reference = _run(_inputs(key_level, query_level))
    for got, want in zip(fast[0] + fast[1], reference[0] + reference[1], strict=True):
        torch.testing.assert_close(got, want, rtol=2e-5, atol=2e-6)
