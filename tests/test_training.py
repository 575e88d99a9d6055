"""The training loop: budgets, reproducibility, history, and that a tiny model can learn."""

from __future__ import annotations

import io
import math

import pytest
import torch

from course_lib.data.batching import make_batch
from course_lib.data.copy_reverse import make_copy_task
from course_lib.data.vocab import PAD, build_vocabs
from course_lib.evaluation import evaluate, exact_match_fn
from course_lib.models import build_model
from course_lib.training import REDRAWS_PER_BAR, progress_bar, sequence_loss, train


@pytest.fixture(scope="module")
def copy_data():
    examples = make_copy_task(24, 2, 4, n_symbols=4, seed=1)
    return examples, *build_vocabs(examples)


def small(kind, src_vocab, tgt_vocab):
    return build_model(kind, len(src_vocab), len(tgt_vocab), emb=16, hidden=32, seed=0)


def test_sequence_loss_ignores_padding():
    torch.manual_seed(0)
    logits = torch.randn(2, 3, 7)
    tgt_out = torch.tensor([[4, 5, 2], [6, 2, PAD]])
    log_p = torch.log_softmax(logits, -1)
    picked = [log_p[0, 0, 4], log_p[0, 1, 5], log_p[0, 2, 2], log_p[1, 0, 6], log_p[1, 1, 2]]
    expected = -torch.stack(picked).mean()  # 5 real tokens; the pad is not counted
    torch.testing.assert_close(sequence_loss(logits, tgt_out), expected)


@pytest.mark.parametrize("kind", ["bahdanau", "luong"])
def test_tiny_model_overfits_tiny_dataset(copy_data, kind):
    examples, src_vocab, tgt_vocab = copy_data
    model = small(kind, src_vocab, tgt_vocab)
    history = train(
        model, examples, src_vocab, tgt_vocab, steps=150, lr=1e-2, batch_size=8, progress=False
    )
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    result = evaluate(model, examples, src_vocab, tgt_vocab)
    assert result["exact_match"] == 1.0
    assert 0.0 <= result["alignment_accuracy"] <= 1.0  # measured: copy data carries alignments


def test_steps_budget_is_reproducible_and_history_is_plottable(copy_data):
    examples, src_vocab, tgt_vocab = copy_data
    runs = []
    for _ in range(2):
        model = small("luong", src_vocab, tgt_vocab)
        runs.append(
            train(model, examples, src_vocab, tgt_vocab, steps=7, batch_size=5, progress=False)
        )
    a, b = runs
    assert a["step"] == list(range(1, 8)) and a["steps"] == 7 and a["stopped_by"] == "steps"
    assert a["loss"] == b["loss"]  # same seed, same threads: same numbers
    assert a["epochs"] == pytest.approx(7 / 5)  # 24 examples in batches of 5: 5 per epoch
    other = train(
        small("luong", src_vocab, tgt_vocab),
        examples,
        src_vocab,
        tgt_vocab,
        steps=7,
        batch_size=5,
        seed=1,
        progress=False,
    )
    assert other["loss"] != a["loss"]


def test_epochs_seconds_and_target_budgets(copy_data):
    examples, src_vocab, tgt_vocab = copy_data
    h = train(
        small("none", src_vocab, tgt_vocab),
        examples,
        src_vocab,
        tgt_vocab,
        epochs=2,
        batch_size=10,
        progress=False,
    )
    assert h["steps"] == 6 and h["stopped_by"] == "epochs"  # 3 batches per epoch
    h = train(
        small("none", src_vocab, tgt_vocab),
        examples,
        src_vocab,
        tgt_vocab,
        seconds=0.3,
        batch_size=10,
        progress=False,
    )
    assert h["stopped_by"] == "seconds" and 0.3 <= h["train_seconds"] < 3
    calls = []

    def fake_eval(model):
        calls.append(1)
        return len(calls) / 2  # reaches 1.0 at the second evaluation

    h = train(
        small("none", src_vocab, tgt_vocab),
        examples,
        src_vocab,
        tgt_vocab,
        steps=50,
        eval_fn=fake_eval,
        eval_every=3,
        target=1.0,
        progress=False,
    )
    assert h["stopped_by"] == "target" and h["steps"] == 6
    assert h["eval_step"] == [3, 6] and h["eval"] == [0.5, 1.0]


def test_cosine_schedule_and_bucketing_run(copy_data):
    examples, src_vocab, tgt_vocab = copy_data
    model = small("bahdanau", src_vocab, tgt_vocab)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    h = train(
        model,
        examples,
        src_vocab,
        tgt_vocab,
        steps=4,
        batch_size=4,
        progress=False,
        optimizer=optimizer,
        lr_schedule="cosine",
        bucket=True,
    )
    assert h["steps"] == 4
    assert optimizer.param_groups[0]["lr"] < 0.01 * 0.2  # annealed near the end


def test_exact_match_fn_and_errors(copy_data):
    examples, src_vocab, tgt_vocab = copy_data
    model = small("luong", src_vocab, tgt_vocab)
    assert 0.0 <= exact_match_fn(examples, src_vocab, tgt_vocab)(model) <= 1.0
    with pytest.raises(ValueError, match="give a budget"):
        train(model, examples, src_vocab, tgt_vocab)
    batch = make_batch(examples[:2], src_vocab, tgt_vocab)
    assert batch.src.shape[0] == 2


class FakeClock:
    """A clock that moves one second each time it is read: every step looks slow."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self):
        self.now += 1.0
        return self.now


@pytest.mark.parametrize("total", [450, 20_000])
def test_progress_bar_redraws_are_bounded_however_slow_the_steps(total):
    # Each redraw of a notebook bar is a few kernel messages; thousands of them overflow the
    # output channel and nbval then misses the end of the cell. At one second a step the old
    # bar (tqdm's defaults) redrew at every step.
    out = io.StringIO()
    bar = progress_bar(total, file=out)
    bar._time = FakeClock(bar.last_print_t)
    for _ in range(total):
        bar.update(1)
    bar.close()
    redraws = out.getvalue().count("training:")
    assert 10 <= redraws <= REDRAWS_PER_BAR + 3, redraws
    # tqdm's monitor thread sets miniters to 1 on any bar not redrawn for maxinterval seconds.
    assert bar.maxinterval == math.inf


def test_threads_are_rechosen_only_where_no_count_is_fixed(copy_data, monkeypatch):
    """A busy machine mid-run: an unset count drops to one thread, a fixed one stays."""
    from course_lib import repro, training

    examples, src_vocab, tgt_vocab = copy_data
    before = torch.get_num_threads()
    monkeypatch.setattr(training, "RECHOOSE_THREADS_SECONDS", 0.0)  # re-choose at every step
    monkeypatch.setattr(repro, "free_cores", lambda: 0.5)
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    monkeypatch.delenv(repro.ENV_VAR, raising=False)
    try:
        fixed = train(small("luong", src_vocab, tgt_vocab), examples, src_vocab, tgt_vocab,
                      steps=3, batch_size=5, progress=False)  # fmt: skip
        assert fixed["threads"] == [(0, 2)]
        monkeypatch.delenv("OMP_NUM_THREADS")
        readings = iter([2.0])  # idle when training starts, busy from then on
        monkeypatch.setattr(repro, "free_cores", lambda: next(readings, 0.5))
        free = train(small("luong", src_vocab, tgt_vocab), examples, src_vocab, tgt_vocab,
                     steps=3, batch_size=5, progress=False)  # fmt: skip
        assert free["threads"] == [(0, 2), (0, 1)]
    finally:
        torch.set_num_threads(before)
