"""Masked softmax, context vector and attend: padding, empty rows, large scores, gradients."""

import math

import pytest
import torch

from course_lib.attention import _threads as threads_module
from course_lib.attention import attend, context_vector, lengths_to_mask, masked_softmax
from course_lib.attention._threads import ONE_THREAD_MAX_ELEMENTS, one_thread_if_small

D64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def test_lengths_to_mask():
    mask = lengths_to_mask(torch.tensor([3, 0, 5]), 5)
    expected = torch.tensor([[1, 1, 1, 0, 0], [0, 0, 0, 0, 0], [1, 1, 1, 1, 1]], dtype=torch.bool)
    assert mask.dtype == torch.bool
    assert torch.equal(mask, expected)
    assert torch.equal(lengths_to_mask([3, 0, 5], 5), expected)  # a plain list works too


def test_masked_softmax_by_hand():
    # exp(log k) = k, so the weights are k / (sum of the kept k).
    scores = torch.log(torch.tensor([[1.0, 2, 3, 4, 5], [1, 2, 3, 4, 5]], dtype=D64))
    weights = masked_softmax(scores, lengths=torch.tensor([3, 5]))
    expected = torch.tensor(
        [[1 / 6, 2 / 6, 3 / 6, 0, 0], [1 / 15, 2 / 15, 3 / 15, 4 / 15, 5 / 15]], dtype=D64
    )
    torch.testing.assert_close(weights, expected, rtol=0, atol=1e-15)
    # Temperature 1/2 squares the odds: k^2 / sum k^2.
    sharp = masked_softmax(scores, lengths=torch.tensor([3, 5]), temperature=0.5)
    torch.testing.assert_close(sharp[0], torch.tensor([1, 4, 9, 0, 0], dtype=D64) / 14)
    torch.testing.assert_close(sharp[1], torch.tensor([1, 4, 9, 16, 25], dtype=D64) / 55)


def test_masked_softmax_without_mask_is_softmax_and_temperature_divides():
    scores = torch.randn(2, 3, 5, dtype=D64)
    torch.testing.assert_close(masked_softmax(scores), torch.softmax(scores, -1), rtol=0, atol=0)
    torch.testing.assert_close(
        masked_softmax(scores, temperature=3.0), torch.softmax(scores / 3, -1), rtol=0, atol=1e-15
    )


def test_mask_forms_agree_and_padding_is_exactly_zero():
    gen = torch.Generator().manual_seed(0)
    scores = torch.randn(2, 3, 5, generator=gen)
    lengths = torch.tensor([5, 2])
    by_lengths = masked_softmax(scores, lengths=lengths)
    by_mask = masked_softmax(scores, mask=lengths_to_mask(lengths, 5))
    by_full_mask = masked_softmax(scores, mask=lengths_to_mask(lengths, 5)[:, None].expand(2, 3, 5))
    assert torch.equal(by_lengths, by_mask) and torch.equal(by_mask, by_full_mask)
    assert torch.all(by_lengths[1, :, 2:] == 0)
    torch.testing.assert_close(by_lengths.sum(-1), torch.ones(2, 3), rtol=0, atol=1e-6)
    # A per-step mask: a different set of kept positions per target step.
    step_mask = torch.rand(2, 3, 5, generator=gen) > 0.5
    step_mask[..., 1] = True
    w = masked_softmax(scores, mask=step_mask)
    assert torch.all(w[~step_mask] == 0)
    expected = torch.softmax(scores.masked_fill(~step_mask, -math.inf), -1)
    torch.testing.assert_close(w, expected, rtol=0, atol=1e-7)


def test_one_step_scores():
    scores = torch.tensor([[0.0, 1.0, 2.0], [5.0, 5.0, 5.0]])
    w = masked_softmax(scores, lengths=[2, 3])
    torch.testing.assert_close(w[0], torch.tensor([1, math.e, 0]) / (1 + math.e))
    torch.testing.assert_close(w[1], torch.full((3,), 1 / 3))


@pytest.mark.parametrize("magnitude", [1e4, 1e10, 1e30, 3e38])
def test_large_scores_stay_finite(magnitude):
    scores = torch.tensor([[1.0, -1.0, 0.5, 0.9], [-1.0, -0.5, -0.9, 1.0]]) * magnitude
    for temperature in (1.0, 0.5, 10.0):
        w = masked_softmax(scores, lengths=[3, 4], temperature=temperature)
        assert torch.isfinite(w).all()
        torch.testing.assert_close(w.sum(-1), torch.ones(2), rtol=0, atol=1e-6)
        assert w[0, 3] == 0
        assert w[0].argmax() == 0 and w[1].argmax() == 3


def test_large_scores_through_attend_give_finite_gradients():
    gen = torch.Generator().manual_seed(3)
    query = (torch.randn(2, 3, 4, generator=gen) * 1e4).requires_grad_()
    keys = (torch.randn(2, 5, 4, generator=gen) * 1e2).requires_grad_()
    context, weights = attend(query, keys, score="dot", lengths=[5, 2])
    (context.sum() + weights.sum()).backward()
    assert torch.isfinite(context).all() and torch.isfinite(weights).all()
    assert torch.isfinite(query.grad).all() and torch.isfinite(keys.grad).all()


@pytest.mark.parametrize("score", ["dot", "scaled_dot", "bilinear", "additive"])
def test_fully_masked_rows_give_zeros_and_finite_gradients(score):
    gen = torch.Generator().manual_seed(4)
    query = torch.randn(2, 3, 4, generator=gen, requires_grad=True)
    keys = torch.randn(2, 5, 4, generator=gen, requires_grad=True)
    values = torch.randn(2, 5, 6, generator=gen, requires_grad=True)
    params = {
        "bilinear": {"weight": torch.randn(4, 4, generator=gen, requires_grad=True)},
        "additive": {
            "w_query": torch.randn(7, 4, generator=gen, requires_grad=True),
            "w_key": torch.randn(7, 4, generator=gen, requires_grad=True),
            "v": torch.randn(7, generator=gen, requires_grad=True),
        },
    }.get(score)
    mask = torch.ones(2, 3, 5, dtype=torch.bool)
    mask[0] = False  # the whole first sequence is padding
    mask[1, 2] = False  # and the last step of the second one sees nothing
    context, weights = attend(query, keys, values, score=score, params=params, mask=mask)
    assert torch.equal(weights[0], torch.zeros(3, 5)) and torch.equal(weights[1, 2], torch.zeros(5))
    assert torch.equal(context[0], torch.zeros(3, 6)) and torch.equal(context[1, 2], torch.zeros(6))
    torch.testing.assert_close(weights[1, :2].sum(-1), torch.ones(2), rtol=0, atol=1e-6)
    (context.sum() + (weights**2).sum()).backward()
    leaves = [query, keys, values] + (list(params.values()) if params else [])
    for x in leaves:
        assert x.grad is not None and torch.isfinite(x.grad).all()
    assert torch.equal(query.grad[0], torch.zeros(3, 4))
    assert torch.equal(values.grad[0], torch.zeros(5, 6))


def test_context_vector_by_hand_both_shapes():
    values = torch.tensor([[[1.0, 2], [3, 4], [5, 6]]])  # (batch 1, src 3, d_v 2)
    w_step = torch.tensor([[0.5, 0.5, 0.0]])  # (1, 3)
    torch.testing.assert_close(context_vector(w_step, values), torch.tensor([[2.0, 3.0]]))
    w_all = torch.tensor([[[0.5, 0.5, 0.0], [0.0, 0.25, 0.75], [1.0, 0.0, 0.0]]])  # (1, 2, 3)
    expected = torch.tensor([[[2.0, 3.0], [4.5, 5.5], [1.0, 2.0]]])
    torch.testing.assert_close(context_vector(w_all, values), expected)


def test_attend_matches_naive_loop_and_both_shapes():
    gen = torch.Generator().manual_seed(5)
    query = torch.randn(2, 3, 4, generator=gen, dtype=D64)
    keys = torch.randn(2, 5, 4, generator=gen, dtype=D64)
    values = torch.randn(2, 5, 6, generator=gen, dtype=D64)
    lengths = [5, 3]
    context, weights = attend(query, keys, values, score="dot", lengths=lengths)
    for b in range(2):
        n = lengths[b]
        for t in range(3):
            raw = torch.stack([torch.dot(query[b, t], keys[b, s]) for s in range(n)])
            w = torch.exp(raw - raw.max())
            w = w / w.sum()
            torch.testing.assert_close(weights[b, t, :n], w, rtol=0, atol=1e-12)
            ctx = sum(w[s] * values[b, s] for s in range(n))
            torch.testing.assert_close(context[b, t], ctx, rtol=0, atol=1e-12)
            step_ctx, step_w = attend(query[:, t], keys, values, score="dot", lengths=lengths)
            torch.testing.assert_close(step_w[b], weights[b, t], rtol=0, atol=1e-12)
            torch.testing.assert_close(step_ctx[b], context[b, t], rtol=0, atol=1e-12)
    # values default to the keys.
    ctx_keys, _ = attend(query, keys, score="dot", lengths=lengths)
    torch.testing.assert_close(ctx_keys, attend(query, keys, keys, lengths=lengths)[0])


SCORE_PARAMS = {
    "dot": lambda g: None,
    "scaled_dot": lambda g: None,
    "bilinear": lambda g: {"weight": torch.randn(4, 4, generator=g) / 2},
    "general": lambda g: torch.randn(4, 4, generator=g) / 2,  # a bare weight tensor works too
    "additive": lambda g: {
        "w_query": torch.randn(7, 4, generator=g),
        "w_key": torch.randn(7, 4, generator=g),
        "v": torch.randn(7, generator=g),
    },
    "concat": lambda g: (
        torch.randn(7, 4, generator=g),
        torch.randn(7, 4, generator=g),
        torch.randn(7, generator=g),
    ),
}


@pytest.mark.parametrize("score", list(SCORE_PARAMS))
@pytest.mark.parametrize("one_step", [False, True])
def test_padding_invariance(score, one_step):
    gen = torch.Generator().manual_seed(6)
    params = SCORE_PARAMS[score](gen)
    query = torch.randn(2, 3, 4, generator=gen)
    query = query[:, 0] if one_step else query
    keys = torch.randn(2, 5, 4, generator=gen)
    values = torch.randn(2, 5, 6, generator=gen)
    lengths = torch.tensor([5, 3])
    keys[1, 3:] = torch.randn(2, 4, generator=gen) * 100  # garbage where there is padding
    context, weights = attend(query, keys, values, score=score, params=params, lengths=lengths)
    # Append three more padded positions full of large garbage.
    more_keys = torch.cat([keys, torch.randn(2, 3, 4, generator=gen) * 1e3], dim=1)
    more_values = torch.cat([values, torch.randn(2, 3, 6, generator=gen) * 1e3], dim=1)
    context2, weights2 = attend(
        query, more_keys, more_values, score=score, params=params, lengths=lengths
    )
    assert (context2 - context).abs().max() < 1e-6
    assert (weights2[..., :5] - weights).abs().max() < 1e-6
    assert torch.all(weights2[..., 5:] == 0) and torch.all(weights[1, ..., 3:] == 0)


@pytest.mark.parametrize("score", ["dot", "scaled_dot", "bilinear", "additive"])
def test_gradcheck_attend(score):
    gen = torch.Generator().manual_seed(7)
    query = torch.randn(2, 3, 4, generator=gen, dtype=D64, requires_grad=True)
    keys = torch.randn(2, 5, 4, generator=gen, dtype=D64, requires_grad=True)
    values = torch.randn(2, 5, 6, generator=gen, dtype=D64, requires_grad=True)
    names = {"bilinear": ["weight"], "additive": ["w_query", "w_key", "v"]}.get(score, [])
    shapes = {"weight": (4, 4), "w_query": (7, 4), "w_key": (7, 4), "v": (7,)}
    params = [torch.randn(*shapes[n], generator=gen, dtype=D64, requires_grad=True) for n in names]
    lengths = torch.tensor([5, 0])  # includes a sequence with nothing to attend to

    def fn(q, k, v, *p):
        kwargs = dict(zip(names, p, strict=True))
        if score == "additive":
            kwargs["chunk_size"] = 2
        return attend(q, k, v, score=score, params=kwargs or None, lengths=lengths, temperature=0.7)

    assert torch.autograd.gradcheck(fn, [query, keys, values, *params])


# ---- small passes on one thread (course_lib/attention/_threads.py) --------------------------


def test_small_passes_run_on_one_thread_and_the_count_comes_back(monkeypatch):
    monkeypatch.setattr(threads_module, "machine_busy", lambda: True)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with one_thread_if_small(ONE_THREAD_MAX_ELEMENTS):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with one_thread_if_small(ONE_THREAD_MAX_ELEMENTS + 1):
            assert torch.get_num_threads() == 2  # big passes keep both threads
        monkeypatch.setattr(threads_module, "machine_busy", lambda: False)
        with one_thread_if_small(ONE_THREAD_MAX_ELEMENTS):
            assert torch.get_num_threads() == 2  # and so does an idle machine
        monkeypatch.setattr(threads_module, "machine_busy", lambda: True)
        with pytest.raises(RuntimeError), one_thread_if_small(ONE_THREAD_MAX_ELEMENTS):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
        with one_thread_if_small(1000):
            assert torch.get_num_threads() == 2  # torch keeps tiny passes on one thread itself
        assert torch.get_num_threads() == 2  # restored after an error too
    finally:
        torch.set_num_threads(before)


def test_machine_busy_reads_the_load_average(monkeypatch):
    monkeypatch.setattr(threads_module, "_last_check", {"at": float("-inf"), "busy": False})
    monkeypatch.setattr(threads_module.os, "getloadavg", lambda: (5.0, 0.0, 0.0))
    monkeypatch.setattr(threads_module.os, "cpu_count", lambda: 4)
    assert threads_module.machine_busy()
    monkeypatch.setattr(threads_module, "_last_check", {"at": float("-inf"), "busy": True})
    monkeypatch.setattr(threads_module.os, "getloadavg", lambda: (3.0, 0.0, 0.0))
    assert not threads_module.machine_busy()


def test_masked_softmax_gives_the_same_bits_on_one_or_two_threads(monkeypatch):
    gen = torch.Generator().manual_seed(3)
    scores = torch.randn(64, 50, 50, generator=gen)  # 160,000 scores
    mask = torch.rand(64, 50, generator=gen) > 0.3
    monkeypatch.setattr(threads_module, "machine_busy", lambda: True)  # so: one thread
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        one = masked_softmax(scores, mask=mask)
        monkeypatch.setattr(threads_module, "machine_busy", lambda: False)  # now two threads
        two = masked_softmax(scores, mask=mask)
    finally:
        torch.set_num_threads(before)
    assert torch.equal(one, two)
