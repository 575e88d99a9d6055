"""The learner checks accept every correct answer, however written, and fail helpfully otherwise."""

from __future__ import annotations

import math
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

from course_lib import checks
from course_lib.checks import CheckFailed

ROOT = Path(__file__).resolve().parents[1]
ALL_CHECKS = sorted(name for name in checks.__all__ if name.startswith("check_"))
NEG = float("-inf")


def _run_cells(path: Path) -> dict[str, BaseException | None]:
    """Run a notebook's setup, answer and check cells in-process; outcome per check cell id."""
    nb = nbformat.read(path, as_version=4)
    namespace: dict = {}
    outcomes = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or "plt." in cell.source:
            continue
        if not meta.get("grade"):
            exec(cell.source, namespace)
            continue
        try:
            exec(cell.source, namespace)
            outcomes[cell.id] = None
        except AssertionError as err:
            outcomes[cell.id] = err
    return outcomes


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=lambda p: p.stem)
def test_solution_answers_pass_their_checks(path, capsys):
    outcomes = _run_cells(path)
    assert outcomes and all(error is None for error in outcomes.values()), outcomes
    out = capsys.readouterr().out
    assert len(re.findall(r"^✓ \w+ passed$", out, re.M)) == len(outcomes)
    assert re.search(r"^  total +(\d+)/\1$", out, re.M)  # the progress cell: full points


@pytest.mark.parametrize("path", sorted((ROOT / "exercises").glob("*.ipynb")), ids=lambda p: p.stem)
def test_untouched_exercise_checks_say_not_implemented_without_raising(path, capsys):
    outcomes = _run_cells(path)
    assert outcomes and all(error is None for error in outcomes.values()), outcomes
    out = capsys.readouterr().out
    assert len(re.findall(r"^◻ \w+: not implemented yet", out, re.M)) == len(outcomes)
    assert "✓" not in out and re.search(r"^  total +0/\d+$", out, re.M)


def _not_yet(*args):
    raise NotImplementedError()


@pytest.mark.parametrize("name", ALL_CHECKS)
def test_every_check_reports_not_implemented_in_one_line(name, capsys):
    getattr(checks, name)(_not_yet)  # no exception: "Run All" goes on to the next part
    (line,) = capsys.readouterr().out.splitlines()
    assert line.startswith("◻ ") and "not implemented yet" in line


# ---- correct answers written differently from the solutions --------------------------------


def _loop_dot(query, keys):
    return torch.stack([keys[b] @ query[b] for b in range(query.shape[0])])


def _mlp_split(query, keys, w1, w2):
    d_q = query.shape[-1]
    w_query, w_key = w1[:, :d_q], w1[:, d_q:]  # W1 [h; s] = W_q h + W_k s
    return torch.tanh((query @ w_query.T)[:, None] + keys @ w_key.T) @ w2


def _mlp_loop(query, keys, w1, w2):
    rows = []
    for b in range(query.shape[0]):
        rows.append(torch.stack([w2 @ torch.tanh(w1 @ torch.cat([query[b], s])) for s in keys[b]]))
    return torch.stack(rows)


def _manual_softmax(scores):
    shifted = scores - scores.max(-1, keepdim=True).values
    return shifted.exp() / shifted.exp().sum(-1, keepdim=True)


def _masked_by_multiplying(scores, mask):
    exp = (scores - scores.max(-1, keepdim=True).values).exp() * mask[:, None, :]
    return exp / exp.sum(-1, keepdim=True)


def _context_einsum(weights, values):
    return torch.einsum("b...s,bsd->b...d", weights, values)


def _attend_loop(query, keys, values, mask):
    contexts, all_weights = [], []
    for b in range(query.shape[0]):
        scores = torch.where(mask[b], query[b] @ keys[b].T, torch.tensor(-1e9))
        weights = torch.nn.functional.softmax(scores, dim=-1)
        contexts.append(weights @ values[b])
        all_weights.append(weights)
    return torch.stack(contexts), torch.stack(all_weights)


def _bahdanau_bmm(y, h_prev, enc, mask, score, cell):
    weights = torch.softmax(score(h_prev, enc).masked_fill(mask.logical_not(), -1e9), dim=1)
    context = torch.bmm(weights.unsqueeze(1), enc).squeeze(1)
    return cell(torch.cat((y, context), dim=1), h_prev), context, weights


def _luong_bmm(y, h_prev, enc, mask, cell, w, combine, out):
    h_t = cell(y, h_prev)
    scores = torch.bmm(enc, (h_t @ w).unsqueeze(-1)).squeeze(-1)
    weights = scores.masked_fill(~mask, NEG).softmax(-1)
    context = (weights.unsqueeze(-1) * enc).sum(1)
    return out(torch.tanh(combine(torch.cat([h_t, context], 1)))), h_t, weights


def _decode_preallocated(step, h0, tgt_in, greedy):
    batch, tgt_len = tgt_in.shape
    tokens = torch.zeros(batch, tgt_len, dtype=torch.long)
    weights, h, inputs = None, h0, tgt_in[:, 0]
    for t in range(tgt_len):
        logits, h, w = step(inputs, h)
        if weights is None:
            weights = torch.zeros(batch, tgt_len, w.shape[-1])
        tokens[:, t] = logits.argmax(-1)
        weights[:, t] = w
        inputs = tokens[:, t] if greedy else tgt_in[:, min(t + 1, tgt_len - 1)]
    return tokens, weights


def _reverse_gather(src, lengths):
    positions = torch.arange(src.shape[1])[None]
    index = torch.where(positions < lengths[:, None], lengths[:, None] - 1 - positions, positions)
    return src.gather(1, index)


def _accuracy_loop(weights, spans):
    hits = total = 0
    for b in range(spans.shape[0]):
        for t in range(spans.shape[1]):
            start, end = spans[b, t].tolist()
            if start >= 0:
                total += 1
                hits += int(int(weights[b, t].argmax()) in range(start, end))
    return torch.tensor(hits / total)


def _beam_by_sorting(beam_scores, log_probs, k):
    totals = [
        (float(beam_scores[b] + log_probs[b, v]), b, v)
        for b in range(log_probs.shape[0])
        for v in range(log_probs.shape[1])
    ]
    best = sorted(totals, reverse=True)[:k]
    return (
        torch.tensor([s for s, _, _ in best]),
        torch.tensor([b for _, b, _ in best]),
        torch.tensor([v for _, _, v in best]),
    )


def _loss_by_gather(logits, targets, pad_id):
    picked = logits.log_softmax(-1).gather(-1, targets[..., None])[..., 0]
    keep = targets != pad_id
    return -(picked * keep).sum() / keep.sum()


def _training_loss_all_at_once(step, h0, tgt_in, tgt_out, pad_id):
    logits, h = [], h0
    for t in range(tgt_in.shape[1]):
        out, h, _ = step(tgt_in[:, t], h)
        logits.append(out)
    return torch.nn.functional.cross_entropy(
        torch.stack(logits, 1).flatten(0, 1), tgt_out.flatten(), ignore_index=pad_id
    )


def _empty_rows_by_nan_to_num(scores, mask):
    weights = scores.masked_fill(~mask[:, None, :], NEG).softmax(-1)
    return torch.nan_to_num(weights, nan=0.0)


EQUIVALENT = [
    (
        "check_last_valid_state",
        lambda s, lengths: torch.stack([s[b, n - 1] for b, n in enumerate(lengths.tolist())]),
    ),
    (
        "check_last_valid_state",
        lambda s, lengths: s.gather(
            1, (lengths - 1)[:, None, None].expand(-1, 1, s.shape[-1])
        ).squeeze(1),
    ),
    ("check_reverse_valid", _reverse_gather),
    ("check_time_lags", lambda m, rev: [2 * j + 1 if rev else m for j in range(m)]),
    ("check_dot_score", _loop_dot),
    ("check_dot_score", lambda q, k: torch.bmm(k, q.unsqueeze(-1)).squeeze(-1)),
    ("check_scaled_dot_score", lambda q, k: _loop_dot(q, k) * q.shape[-1] ** -0.5),
    ("check_bilinear_score", lambda q, k, w: torch.einsum("bi,ij,bsj->bs", q, w, k)),
    ("check_bilinear_score", lambda q, k, w: (k @ w.T @ q.unsqueeze(-1)).squeeze(-1)),
    ("check_mlp_score", _mlp_split),
    ("check_mlp_score", _mlp_loop),
    ("check_attention_weights", _manual_softmax),
    ("check_attention_weights", lambda s: torch.nn.functional.softmax(s, dim=2)),
    (
        "check_lengths_to_mask",
        lambda lengths, n: torch.tensor([[i < length for i in range(n)] for length in lengths]),
    ),
    ("check_masked_softmax", lambda s, m: s.masked_fill(~m.unsqueeze(1), -1e9).softmax(-1)),
    ("check_masked_softmax", _masked_by_multiplying),
    ("check_temperature_weights", lambda s, t: _manual_softmax(s * (1 / t))),
    ("check_weights_entropy", lambda w: -(w * w.clamp_min(1e-30).log()).sum(-1)),
    ("check_weights_entropy", lambda w: -torch.where(w > 0, w * w.log(), 0.0).sum(-1)),
    ("check_empty_row_softmax", _empty_rows_by_nan_to_num),
    ("check_beam_step", _beam_by_sorting),
    ("check_masked_loss", _loss_by_gather),
    ("check_training_loss", _training_loss_all_at_once),
    ("check_context_vector", _context_einsum),
    ("check_context_vector", lambda w, v: torch.stack([w[b] @ v[b] for b in range(len(w))])),
    ("check_attend", _attend_loop),
    ("check_bahdanau_step", _bahdanau_bmm),
    ("check_luong_step", _luong_bmm),
    ("check_decode", _decode_preallocated),
    ("check_hard_alignment", lambda w: w.max(dim=-1).indices),
    ("check_alignment_accuracy", _accuracy_loop),
    ("check_map_reading", lambda: (torch.tensor(4), 4)),
    (
        "check_scaled_attention",
        lambda q, k, v, m: (lambda w: (torch.einsum("bqk,bkd->bqd", w, v), w))(
            torch.where(m[:, None], torch.einsum("bqd,bkd->bqk", q, k), -torch.inf)
            .div(q.shape[-1] ** 0.5)
            .softmax(-1)
        ),
    ),
    ("check_split_heads", lambda x, h: torch.stack(x.chunk(h, dim=-1), dim=1)),
    ("check_merge_heads", lambda x: torch.cat(x.unbind(1), dim=-1)),
    ("check_causal_mask", lambda n: ~torch.ones(n, n, dtype=torch.bool).triu(1)),
    (
        "check_positional_encoding",
        lambda n, d: torch.stack(
            [
                f(torch.arange(n)[:, None] * torch.exp(-math.log(1e4) * torch.arange(0, d, 2) / d))
                for f in (torch.sin, torch.cos)
            ],
            dim=-1,
        ).reshape(n, d),
    ),
]


@pytest.mark.parametrize(
    ("name", "answer"), EQUIVALENT, ids=[f"{n[6:]}-{i}" for i, (n, _) in enumerate(EQUIVALENT)]
)
def test_equivalent_answers_pass(name, answer, capsys):
    getattr(checks, name)(answer)
    assert "passed" in capsys.readouterr().out


def test_every_check_has_an_alternative_answer():
    assert {name for name, _ in EQUIVALENT} == set(ALL_CHECKS)


# ---- how failures are reported -------------------------------------------------------------


def test_wrong_shape_names_expected_and_actual():
    with pytest.raises(CheckFailed, match=r"shape \(2, 5, 1\), expected \(2, 5\)"):
        checks.check_dot_score(lambda q, k: (q[:, None] * k).sum(-1, keepdim=True))


def test_non_tensor_result_is_named():
    with pytest.raises(CheckFailed, match="should be a torch.Tensor, got ndarray"):
        checks.check_dot_score(lambda q, k: np.zeros((2, 5)))


def test_learner_exception_is_reported_in_one_line():
    with pytest.raises(CheckFailed, match="raised RuntimeError") as info:
        checks.check_mlp_score(lambda q, k, w1, w2: torch.tanh(torch.cat([q, k], -1) @ w1.T) @ w2)
    assert "w1 is (d_attn, d_q + d_k)" in str(info.value)


def test_wrong_values_without_known_mistake_give_a_pointer():
    with pytest.raises(CheckFailed, match="right shape but wrong values") as info:
        checks.check_dot_score(lambda q, k: torch.einsum("bd,bsd->bs", q, k) + 1)
    assert "(batch, src_len)" in str(info.value)


def test_tiny_nonzero_padding_weight_is_rejected():
    with pytest.raises(CheckFailed, match="exactly 0"):
        checks.check_masked_softmax(lambda s, m: (s - 30.0 * ~m[:, None, :]).softmax(-1))


def test_wrong_mask_dtype_is_named():
    with pytest.raises(CheckFailed, match="bool tensor"):
        checks.check_lengths_to_mask(
            lambda lengths, n: (torch.arange(n)[None] < lengths[:, None]).long()
        )


def test_tuple_results_are_checked():
    with pytest.raises(CheckFailed, match=r"return a tuple \(context, weights\)"):
        checks.check_attend(lambda q, k, v, m: q)


def test_endless_loop_is_stopped(monkeypatch):
    monkeypatch.setenv("COURSE_CHECK_TIME_LIMIT", "0.2")

    def forever(scores):
        total = 0
        while True:
            total += 1

    with pytest.raises(CheckFailed, match=r"more than 0.2 s"):
        checks.check_attention_weights(forever)


def test_learner_cannot_swallow_the_time_limit(monkeypatch):
    monkeypatch.setenv("COURSE_CHECK_TIME_LIMIT", "0.2")

    def stubborn(scores):
        while True:
            try:
                while True:
                    pass
            except Exception:
                continue

    with pytest.raises(CheckFailed, match="never ends"):
        checks.check_attention_weights(stubborn)


def test_checks_leave_the_global_random_state_alone():
    torch.manual_seed(5)
    state = torch.get_rng_state()
    checks.check_bahdanau_step(_bahdanau_bmm)
    checks.check_decode(_decode_preallocated)
    assert torch.equal(state, torch.get_rng_state())


def test_recognised_mistakes_differ_from_the_right_answer():
    # a candidate equal to the right answer would make a correct answer look mistaken
    from course_lib.checks.ex05_full_model import _run, make_step

    step, h0 = make_step()
    tgt_in = torch.tensor([[1, 4, 7, 3], [1, 8, 2, 6]])
    forced, free = _run(step, h0, tgt_in, False), _run(step, h0, tgt_in, True)
    assert not torch.equal(forced[0], free[0])
    assert math.isfinite(free[1].sum().item())


def _decode_reading_past_the_end(step, h0, tgt_in, greedy):
    tokens, weights, inputs, h = [], [], tgt_in[:, 0], h0
    for t in range(tgt_in.shape[1]):
        logits, h, w = step(inputs, h)
        tokens.append(logits.argmax(-1))
        weights.append(w)
        inputs = tokens[-1] if greedy else tgt_in[:, t + 1]  # IndexError at the last step
    return torch.stack(tokens, 1), torch.stack(weights, 1)


def test_decode_index_error_at_the_last_step_has_its_own_hint():
    with pytest.raises(CheckFailed, match="raised IndexError") as info:
        checks.check_decode(_decode_reading_past_the_end)
    assert "no next gold token" in str(info.value)
    assert "stack the tokens" not in str(info.value)  # not the generic hint


def test_grader_gives_the_same_index_error_hint():
    from course_lib.grade.grader import Limits
    from course_lib.grade.outcome import _error_message

    error = {"type": "IndexError", "message": "index 4 is out of bounds for dimension 1"}
    status, message = _error_message(checks.PARTS["decode"], None, error, {}, Limits())
    assert status == "failed" and "no next gold token" in message
    other = {"type": "RuntimeError", "message": "shape mismatch"}
    assert (
        "stack the tokens" in _error_message(checks.PARTS["decode"], None, other, {}, Limits())[1]
    )


def test_masked_loss_accepts_a_right_loss_near_zero_from_large_logits():
    # Each kept target's logit is 30 above the others: the loss is about 1e-12-1e-5, and float32
    # rounds the reference and a right answer differently by up to ~1e-7 absolute, far above a
    # purely relative tolerance (a solution once failed the grader by 2.6e-9 on such a case).
    from course_lib.checks.ex05_full_model import MASKED_LOSS

    gen = torch.Generator().manual_seed(3)
    targets = torch.tensor([[1, 2, 0], [2, 1, 1]])
    logits = torch.randn(2, 3, 4, generator=gen)
    logits += 30 * torch.nn.functional.one_hot(targets, 4)
    exact = torch.nn.functional.cross_entropy(
        logits.double().transpose(1, 2), targets, reduction="none"
    )[targets != 0].mean()
    right = exact.float()  # a right answer, rounded once instead of along the way
    assert not torch.isclose(right.double(), MASKED_LOSS.reference(logits, targets, 0).double(),
                             rtol=1e-4, atol=0)  # fmt: skip
    MASKED_LOSS.judge((logits, targets, 0), right)
    with pytest.raises(CheckFailed):  # the allowance is float32 rounding, not more
        MASKED_LOSS.judge((logits, targets, 0), right + 1e-3)


# --- The grader judges float32 answers against float64 references -----------------------------
# Each case below cancels one output entry to nearly 0 (a batch of 1 and one output column), so a
# right float32 answer keeps an absolute error of about eps * sum |products|: far more than RTOL
# of the tiny result (`size` below: that sum). Judged like the grader (float64 copies of the float32 inputs), every one
# failed before the checks allowed for float32 rounding (200 of 200 such draws per part).


def _cancel_last(terms: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """The last factor that makes sum(terms * factors) nearly 0 (float32 leaves a remainder)."""
    return -(terms[:-1] @ factors[:-1]) / terms[-1]


def _dot_case(gen):
    query, keys = torch.randn(1, 5, generator=gen) * 1e3, torch.randn(1, 1, 5, generator=gen)
    keys[0, 0, -1] = _cancel_last(query[0], keys[0, 0])
    size = query.abs() @ keys[0, 0].abs()
    return (query, keys), torch.einsum("bd,bsd->bs", query, keys), size


def _scaled_dot_case(gen):
    (query, keys), dot, size = _dot_case(gen)
    return (query, keys), dot / math.sqrt(5), size / math.sqrt(5)


def _bilinear_case(gen):
    query, keys = torch.randn(1, 3, generator=gen), torch.randn(1, 1, 4, generator=gen) * 1e3
    weight = torch.randn(3, 4, generator=gen)
    keys[0, 0, -1] = _cancel_last(query[0] @ weight, keys[0, 0])
    size = query.abs() @ weight.abs() @ keys[0, 0].abs()
    return (query, keys, weight), (query @ weight)[:, None, :].mul(keys).sum(-1), size


def _mlp_case(gen):
    query, keys = torch.randn(1, 3, generator=gen) * 10, torch.randn(1, 1, 4, generator=gen)
    w1, w2 = torch.randn(1, 7, generator=gen), torch.randn(1, generator=gen)
    pair = torch.cat([query[0], keys[0, 0]])  # (d_q + d_k,)
    w1[0, -1] = _cancel_last(pair, w1[0])
    size = pair.abs() @ w1[0].abs() * w2.abs()
    return (query, keys, w1, w2), (torch.tanh(pair @ w1.T) @ w2).reshape(1, 1), size


def _context_case(gen):
    weights = torch.randn(1, 5, generator=gen).softmax(-1)
    values = torch.randn(1, 5, 1, generator=gen) * 1e3
    values[0, -1, 0] = _cancel_last(weights[0], values[0, :, 0])
    size = weights.abs() @ values[0].abs()
    return (weights, values), weights[:, None, :].bmm(values)[:, 0], size


def _attention_case(gen, scale):
    query = torch.randn(1, 1, 4, generator=gen) * 3
    keys, values = torch.randn(1, 5, 4, generator=gen), torch.randn(1, 5, 1, generator=gen)
    weights = (query @ keys.transpose(1, 2) * scale).softmax(-1)  # (1, 1, 5)
    values[0, -1, 0] = _cancel_last(weights[0, 0], values[0, :, 0])
    mask = torch.ones(1, 5, dtype=torch.bool)
    size = weights.abs() @ values.abs()
    return (query, keys, values, mask), (weights @ values, weights), size


CANCELLING = {
    "dot_score": _dot_case,
    "scaled_dot_score": _scaled_dot_case,
    "bilinear_score": _bilinear_case,
    "mlp_score": _mlp_case,
    "context_vector": _context_case,
    "attend": lambda gen: _attention_case(gen, 1.0),
    "scaled_attention": lambda gen: _attention_case(gen, 0.5),
}


@pytest.mark.parametrize("name", sorted(CANCELLING))
def test_the_grader_accepts_right_float32_answers_whose_sums_cancel(name):
    from course_lib.grade import verdict, wire

    part = verdict.part_named(name)
    gen = torch.Generator().manual_seed(11)
    for _ in range(20):
        args, right, size = CANCELLING[name](gen)
        case = verdict.Case(args, None)
        verdict.judge_case(part, case, {"result": wire.encode(right)})
        # the allowance is float32 rounding, not more: 1e-4 of the sum of |products| still fails
        first = right[0] if isinstance(right, tuple) else right
        nudged = first + 1e-4 * size.max()
        wrong = (nudged, *right[1:]) if isinstance(right, tuple) else nudged
        with pytest.raises(CheckFailed):
            verdict.judge_case(part, case, {"result": wire.encode(wrong)})


def test_the_grader_accepts_a_right_float32_loss_near_zero():
    # masked_loss sized its allowance by the judged dtype: 0 for the grader's float64 copies
    from course_lib.checks.ex05_full_model import MASKED_LOSS
    from course_lib.grade import verdict, wire

    gen = torch.Generator().manual_seed(3)
    targets = torch.tensor([[1, 2, 0], [2, 1, 1]])
    logits = torch.randn(2, 3, 4, generator=gen) + 30 * torch.nn.functional.one_hot(targets, 4)
    kept = targets != 0
    right = torch.nn.functional.cross_entropy(logits[kept], targets[kept])  # float32
    case = verdict.Case((logits, targets, 0), None)
    verdict.judge_case(MASKED_LOSS, case, {"result": wire.encode(right)})
    with pytest.raises(CheckFailed):
        verdict.judge_case(MASKED_LOSS, case, {"result": wire.encode(right + 1e-3)})
