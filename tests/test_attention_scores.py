"""Score functions against hand-computed values, a naive loop, torch's SDPA, and gradcheck."""

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.attention import (
    additive_score,
    additive_score_projected,
    attend,
    bilinear_score,
    dot_score,
    scaled_dot_score,
)
from course_lib.attention import scores as scores_module
from course_lib.attention.scores import additive_reference

D64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


# Tiny integer tensors, dims all different: batch 2, tgt 3, src 5, d 4.
KEYS = torch.tensor(
    [
        [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [1, 1, 1, 1]],
        [[1, -1, 0, 0], [0, 0, 2, 0], [1, 1, 0, 1], [0, 0, 0, 0], [-1, 0, 0, 1]],
    ],
    dtype=D64,
)  # (2, 5, 4)
QUERY = torch.tensor(
    [[[1, 2, 3, 4], [0, 1, 0, -1], [2, 0, 0, 0]], [[1, 0, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]]],
    dtype=D64,
)  # (2, 3, 4)
# Worked out on paper: row t of batch b holds query[b, t] · keys[b, s] for s = 0..4.
DOT_BY_HAND = torch.tensor(
    [
        [[1, 2, 3, 4, 10], [0, 1, 0, -1, 0], [2, 0, 0, 0, 2]],
        [[1, 2, 1, 0, -1], [0, 0, 0, 0, 0], [0, 2, 3, 0, 0]],
    ],
    dtype=D64,
)
# Bilinear with d_q = 2 != d_k = 4: W picks s_0 for h_0 and s_2 + s_3 for h_1.
W_BILINEAR = torch.tensor([[1, 0, 0, 0], [0, 0, 1, 1]], dtype=D64)  # (2, 4)
QUERY_2 = torch.tensor([[[1, 0], [0, 1], [2, -1]], [[1, 1], [0, 2], [-1, 0]]], dtype=D64)
BILINEAR_BY_HAND = torch.tensor(
    [
        [[1, 0, 0, 0, 1], [0, 0, 1, 1, 2], [2, 0, -1, -1, 0]],
        [[1, 2, 2, 0, 0], [0, 4, 2, 0, 2], [-1, 0, -1, 0, 1]],
    ],
    dtype=D64,
)
# Additive with d_q 2, d_k 4, d_attn 3: pre-activation (h_0, h_1 + s_0, s_2), v = (1, 2, -1),
# so score = tanh(h_0) + 2 tanh(h_1 + s_0) - tanh(s_2).
W_Q = torch.tensor([[1, 0], [0, 1], [0, 0]], dtype=D64)  # (3, 2)
W_K = torch.tensor([[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0]], dtype=D64)  # (3, 4)
V = torch.tensor([1, 2, -1], dtype=D64)
STEP_2 = torch.tensor([[1, 0], [0, -1]], dtype=D64)  # one decoder step, (batch 2, d_q 2)
T1, T2 = math.tanh(1), math.tanh(2)
ADDITIVE_BY_HAND = torch.tensor(
    [[3 * T1, T1, 0, T1, 2 * T1], [0, -2 * T1 - T2, 0, -2 * T1, -2 * T2]], dtype=D64
)


def test_dot_and_scaled_dot_by_hand_both_call_shapes():
    torch.testing.assert_close(dot_score(QUERY, KEYS), DOT_BY_HAND, rtol=0, atol=1e-12)
    torch.testing.assert_close(scaled_dot_score(QUERY, KEYS), DOT_BY_HAND / 2, rtol=0, atol=1e-12)
    for t in range(3):  # one decoder step at a time gives the same rows
        torch.testing.assert_close(dot_score(QUERY[:, t], KEYS), DOT_BY_HAND[:, t], rtol=0, atol=0)
        torch.testing.assert_close(
            scaled_dot_score(QUERY[:, t], KEYS), DOT_BY_HAND[:, t] / 2, rtol=0, atol=1e-12
        )


def test_bilinear_by_hand_both_call_shapes():
    got = bilinear_score(QUERY_2, KEYS, W_BILINEAR)
    torch.testing.assert_close(got, BILINEAR_BY_HAND, rtol=0, atol=1e-12)
    for t in range(3):
        got_t = bilinear_score(QUERY_2[:, t], KEYS, W_BILINEAR)
        torch.testing.assert_close(got_t, BILINEAR_BY_HAND[:, t], rtol=0, atol=1e-12)


def test_additive_by_hand_both_call_shapes():
    got = additive_score(STEP_2, KEYS, W_Q, W_K, V)
    torch.testing.assert_close(got, ADDITIVE_BY_HAND, rtol=0, atol=1e-12)
    steps = torch.stack([QUERY_2[:, 0], STEP_2, QUERY_2[:, 2]], dim=1)  # (2, 3, 2)
    got_all = additive_score(steps, KEYS, W_Q, W_K, V, chunk_size=2)
    torch.testing.assert_close(got_all[:, 1], ADDITIVE_BY_HAND, rtol=0, atol=1e-12)


# ---- against a naive loop over batch, target step and source position, random inputs -------


def make_inputs(d_q=4, d_k=4, seed=0):
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(2, 3, d_q, generator=gen, dtype=D64)
    keys = torch.randn(2, 5, d_k, generator=gen, dtype=D64)
    params = {
        "weight": torch.randn(d_q, d_k, generator=gen, dtype=D64),
        "w_query": torch.randn(7, d_q, generator=gen, dtype=D64),
        "w_key": torch.randn(7, d_k, generator=gen, dtype=D64),
        "v": torch.randn(7, generator=gen, dtype=D64),
    }
    return query, keys, params


def naive_score(name, h, s, p):
    """One (query vector, key vector) pair, written as the formula reads."""
    if name == "dot":
        return torch.dot(h, s)
    if name == "scaled_dot":
        return torch.dot(h, s) / math.sqrt(h.shape[0])
    if name == "bilinear":
        return torch.dot(h, p["weight"] @ s)
    return torch.dot(p["v"], torch.tanh(p["w_query"] @ h + p["w_key"] @ s))


def naive_scores(name, query, keys, p):
    batch, tgt_len, src_len = query.shape[0], query.shape[1], keys.shape[1]
    out = torch.zeros(batch, tgt_len, src_len, dtype=query.dtype)
    for b in range(batch):
        for t in range(tgt_len):
            for s in range(src_len):
                out[b, t, s] = naive_score(name, query[b, t], keys[b, s], p)
    return out


def call_score(name, query, keys, p, chunk_size=None):
    if name == "dot":
        return dot_score(query, keys)
    if name == "scaled_dot":
        return scaled_dot_score(query, keys)
    if name == "bilinear":
        return bilinear_score(query, keys, p["weight"])
    return additive_score(query, keys, p["w_query"], p["w_key"], p["v"], chunk_size)


ALL_SCORES = ["dot", "scaled_dot", "bilinear", "additive"]


@pytest.mark.parametrize(
    ("name", "d_k"),
    [
        ("dot", 4),
        ("scaled_dot", 4),
        ("bilinear", 4),
        ("bilinear", 6),
        ("additive", 4),
        ("additive", 6),
    ],
)
def test_scores_match_naive_loop(name, d_k):
    query, keys, p = make_inputs(d_q=4, d_k=d_k)
    expected = naive_scores(name, query, keys, p)
    got_all = call_score(name, query, keys, p)
    assert got_all.shape == (2, 3, 5)
    torch.testing.assert_close(got_all, expected, rtol=0, atol=1e-12)
    for t in range(3):
        got_step = call_score(name, query[:, t], keys, p)
        assert got_step.shape == (2, 5)
        torch.testing.assert_close(got_step, expected[:, t], rtol=0, atol=1e-12)


def test_bilinear_projects_either_side_consistently():
    # More target steps than source positions makes bilinear_score project the keys instead.
    gen = torch.Generator().manual_seed(1)
    query = torch.randn(2, 7, 4, generator=gen, dtype=D64)
    keys = torch.randn(2, 3, 6, generator=gen, dtype=D64)
    weight = torch.randn(4, 6, generator=gen, dtype=D64)
    p = {"weight": weight}
    torch.testing.assert_close(
        bilinear_score(query, keys, weight),
        naive_scores("bilinear", query, keys, p),
        atol=1e-12,
        rtol=0,
    )


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 50, None])
def test_additive_chunking_gives_same_scores_and_gradients(chunk_size):
    query, keys, p = make_inputs(d_q=4, d_k=6)
    leaves = [query, keys, p["w_query"], p["w_key"], p["v"]]
    for x in leaves:
        x.requires_grad_(True)
    # Reference: the whole (batch, tgt, src, d_attn) tanh tensor through plain autograd.
    q, k = query @ p["w_query"].T, keys @ p["w_key"].T
    expected = torch.tanh(q[:, :, None, :] + k[:, None, :, :]) @ p["v"]
    got = additive_score(query, keys, p["w_query"], p["w_key"], p["v"], chunk_size=chunk_size)
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-12)
    grad_out = torch.randn_like(got)
    want = torch.autograd.grad(expected, leaves, grad_out)
    have = torch.autograd.grad(got, leaves, grad_out)
    for w, h in zip(want, have, strict=True):
        torch.testing.assert_close(h, w, rtol=0, atol=1e-12)


def test_additive_projected_matches_additive():
    query, keys, p = make_inputs(d_q=4, d_k=6)
    full = additive_score(query, keys, p["w_query"], p["w_key"], p["v"])
    keys_proj = keys @ p["w_key"].T  # a decoder does this once per sequence
    for t in range(3):
        step = additive_score_projected(query[:, t] @ p["w_query"].T, keys_proj, p["v"])
        torch.testing.assert_close(step, full[:, t], rtol=0, atol=1e-12)


# ---- the fast additive path (2 sigmoid(2z) - 1, chunked) against the formula as written ------


@pytest.mark.parametrize(
    ("batch", "tgt_len", "src_len", "d_attn", "chunk_size"),
    [
        (1, 1, 1, 1, None),  # every size 1
        (4, 4, 4, 4, 4),  # equal sizes, one chunk
        (4, 4, 4, 4, 3),  # equal sizes, a short last chunk
        (3, 7, 5, 16, 2),  # all different
        (2, 9, 1, 8, 1),  # one source position, one step per chunk
    ],
)
@pytest.mark.parametrize("with_grad", [False, True])
def test_additive_fast_path_matches_reference_in_float32(
    batch, tgt_len, src_len, d_attn, chunk_size, with_grad
):
    gen = torch.Generator().manual_seed(batch * 100 + tgt_len)
    q = 2 * torch.randn(batch, tgt_len, d_attn, generator=gen)  # pre-activations up to about 8
    k = 2 * torch.randn(batch, src_len, d_attn, generator=gen)
    v = torch.randn(d_attn, generator=gen)
    exact = additive_reference(q.double(), k.double(), v.double())
    with torch.set_grad_enabled(with_grad):  # with grad: the autograd.Function; without: direct
        got = additive_score_projected(q.requires_grad_(with_grad), k, v, chunk_size)
    # float32 rounding of d_attn terms of size |v_d|: well inside 1e-5 for these sizes.
    torch.testing.assert_close(got.double(), exact, rtol=0, atol=1e-5)
    plain = additive_reference(q.detach(), k, v)  # float32, tanh as written
    torch.testing.assert_close(got.detach(), plain, rtol=0, atol=1e-5)


@pytest.mark.parametrize("largest", [40.0, 41.0])  # the exponential form, then torch.sigmoid
def test_additive_fast_path_near_the_exponential_forms_bound(largest):
    gen = torch.Generator().manual_seed(4)
    q = (torch.rand(3, 6, 8, generator=gen) * 2 - 1) * largest  # up to +-largest
    k = (torch.rand(3, 5, 8, generator=gen) * 2 - 1) * largest
    q[0, 0, 0], k[0, 0, 0] = -largest, largest  # the extremes themselves, summing to 0
    v = torch.randn(8, generator=gen)
    exact = additive_reference(q.double(), k.double(), v.double())
    got = additive_score_projected(q, k, v, chunk_size=4)
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got.double(), exact, rtol=0, atol=1e-5)


def test_additive_fast_path_saturates_without_nan():
    # Pre-activations of +-1e4: sigmoid gives exactly 0 or 1, so tanh is exactly -1 or +1.
    q = torch.tensor([[[1e4, -1e4, 0.5]]])  # (1, 1, 3)
    k = torch.tensor([[[1e4, 1e4, 0.0], [-1e4, -1e4, -0.5]]])  # (1, 2, 3)
    v = torch.tensor([1.0, 2.0, 3.0])
    got = additive_score_projected(q, k, v)
    # pre-activations (2e4, 0, 0.5) and (0, -2e4, 0)
    expected = torch.tensor([[[1 + 0 + 3 * math.tanh(0.5), 0 - 2 + 0]]])
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


# ---- the Transformer bridge: against torch's fused implementation --------------------------


@pytest.mark.parametrize("mask_kind", ["none", "lengths", "per_step"])
def test_scaled_dot_attention_matches_torch_sdpa(mask_kind):
    gen = torch.Generator().manual_seed(2)
    query = torch.randn(2, 3, 4, generator=gen, dtype=D64)
    keys = torch.randn(2, 5, 4, generator=gen, dtype=D64)
    values = torch.randn(2, 5, 6, generator=gen, dtype=D64)
    mask = None
    if mask_kind == "lengths":
        mask = torch.tensor([[True] * 5, [True] * 2 + [False] * 3])  # (batch, src_len)
    elif mask_kind == "per_step":
        mask = torch.rand(2, 3, 5, generator=gen) > 0.5
        mask[..., 0] = True  # every row keeps a position, as SDPA needs
    sdpa_mask = mask[:, None, :] if mask is not None and mask.dim() == 2 else mask
    expected = F.scaled_dot_product_attention(query, keys, values, attn_mask=sdpa_mask)
    context, _ = attend(query, keys, values, score="scaled_dot", mask=mask)
    torch.testing.assert_close(context, expected, rtol=0, atol=1e-10)
    # The unscaled dot product is SDPA with scale 1.
    expected_dot = F.scaled_dot_product_attention(query, keys, values, sdpa_mask, scale=1.0)
    context_dot, _ = attend(query, keys, values, score="dot", mask=mask)
    torch.testing.assert_close(context_dot, expected_dot, rtol=0, atol=1e-10)


# ---- gradcheck in float64 -------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_SCORES)
@pytest.mark.parametrize("one_step", [False, True])
def test_gradcheck_scores(name, one_step):
    d_k = 4 if name in ("dot", "scaled_dot") else 6
    query, keys, p = make_inputs(d_q=4, d_k=d_k)
    query = query[:, 1] if one_step else query
    names = {"bilinear": ["weight"], "additive": ["w_query", "w_key", "v"]}.get(name, [])
    leaves = [query, keys] + [p[n] for n in names]
    for x in leaves:
        x.requires_grad_(True)

    def fn(q, k, *params):
        return call_score(name, q, k, dict(zip(names, params, strict=True)), chunk_size=2)

    assert torch.autograd.gradcheck(fn, leaves)


@pytest.mark.parametrize("budget_pairs", [1, 3, 7, 1000])  # one pair ... everything in one block
def test_additive_blocks_over_batch_rows_give_the_same_bits(monkeypatch, budget_pairs):
    # The default splits the batch into blocks of rows (all their steps at once); the explicit
    # chunk_size=1 takes one step of the whole batch at a time. The elementwise passes are the
    # same; the sum over d_attn may round differently for a different number of rows.
    gen = torch.Generator().manual_seed(7)
    q = torch.randn(5, 4, 6, generator=gen)  # (batch, tgt_len, d_attn): 5 rows, 4 steps
    k = torch.randn(5, 3, 6, generator=gen)
    v = torch.randn(6, generator=gen)
    pair_bytes = 3 * 6 * 4  # one (row, step): src_len x d_attn float32
    monkeypatch.setattr(scores_module, "ADDITIVE_CHUNK_BYTES", budget_pairs * pair_bytes)
    rows, steps = scores_module._blocks(q, k, None).forward
    assert rows * steps <= max(budget_pairs, 1)
    if budget_pairs == 7:
        assert (rows, steps) == (1, 4)  # all steps of one row: a row's keys stay in the cache
    if budget_pairs == 1000:
        assert (rows, steps) == (5, 4)
    blocked = additive_score_projected(q, k, v)
    by_step = additive_score_projected(q, k, v, chunk_size=1)
    torch.testing.assert_close(blocked, by_step, rtol=0, atol=2e-6)
    torch.testing.assert_close(
        blocked.double(), additive_reference(q, k, v).double(), rtol=0, atol=1e-5
    )


def test_additive_fast_path_bound_counts_large_negative_values():
    # q = -45 overflows exp(-2q) to inf, so the exponential form would give sigmoid(2(q + k)) = 0
    # where q + k = -5 needs 4.5e-5: the bound is on |q| and |k|, not on their largest values.
    q = torch.zeros(1, 2, 3)
    k = torch.zeros(1, 2, 3)
    q[0, 0, 0], k[0, 0, 0] = -45.0, 40.0
    v = torch.tensor([1e3, 1.0, 1.0])  # magnifies the first unit's error
    exact = additive_reference(q.double(), k.double(), v.double())
    got = additive_score_projected(q, k, v)
    torch.testing.assert_close(got.double(), exact, rtol=0, atol=1e-3)
