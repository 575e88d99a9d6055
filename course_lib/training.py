"""The training loop: seeded, clipped, budgeted by epochs, steps or seconds.

``train`` returns a plain-dict history that a notebook plots directly: the loss of every step and,
when an ``eval_fn`` is given, its value every ``eval_every`` steps. Steps are deterministic for a
given seed and thread count; a seconds budget is not (it depends on the machine's speed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from course_lib.data.batching import Batch, batches, make_batch
from course_lib.data.vocab import PAD, Vocab
from course_lib.repro import adapt_threads, set_seed

MIN_LR_FACTOR = 0.02  # where the cosine schedule ends, as a share of the initial rate
BUCKET_BATCHES = 50  # bucketing sorts this many batches' worth of examples at a time
# A notebook progress bar is a widget: every redraw sends the kernel's output channel a few
# messages. At tqdm's default rate (ten a second) a cell that trains for minutes queues thousands
# of them while the test runner waits for the cell to finish, the channel overflows, drops the
# cell's final "idle" message and nbval fails with "Timeout ... waiting for output". So a bar
# redraws at most REDRAWS_PER_BAR times in all and at most once every REDRAW_SECONDS, and tqdm's
# monitor thread is kept from forcing extra redraws (by default, a bar idle for 10 s is switched
# to redrawing at every step).
REDRAWS_PER_BAR = 100
REDRAW_SECONDS = 0.5
# Where no thread count is fixed (course_lib.repro), training re-chooses it from the free cores
# this often, so load that arrives mid-run slows it down in proportion, not several times over.
RECHOOSE_THREADS_SECONDS = 5.0


def progress_bar(total: int | None, enabled: bool = True, desc: str = "training", file=None):
    """A tqdm bar (a widget in Jupyter, text elsewhere) whose number of redraws is bounded."""
    every = math.ceil(total / REDRAWS_PER_BAR) if total else None
    return tqdm(
        total=total,
        disable=not enabled,
        desc=desc,
        unit="step",
        leave=True,
        file=file,
        mininterval=REDRAW_SECONDS,
        miniters=every,
        maxinterval=math.inf,
    )


def _epoch(examples, batch_size, src_vocab, tgt_vocab, generator, bucket: bool):
    """One shuffled pass over ``examples`` as Batches (grouped by source length if ``bucket``)."""
    if not bucket:
        yield from batches(examples, batch_size, src_vocab, tgt_vocab, True, generator)
        return
    order = torch.randperm(len(examples), generator=generator).tolist()
    chunk = batch_size * BUCKET_BATCHES
    groups = []
    for start in range(0, len(order), chunk):
        part = sorted(order[start : start + chunk], key=lambda i: len(examples[i].src))
        groups += [part[i : i + batch_size] for i in range(0, len(part), batch_size)]
    for g in torch.randperm(len(groups), generator=generator).tolist():
        yield make_batch([examples[i] for i in groups[g]], src_vocab, tgt_vocab)


def sequence_loss(logits: torch.Tensor, tgt_out: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per real target token; padding positions are ignored."""
    # (batch, tgt_len, vocab) -> (batch * tgt_len, vocab) against (batch * tgt_len,)
    return F.cross_entropy(
        logits.reshape(-1, logits.shape[-1]), tgt_out.reshape(-1), ignore_index=PAD
    )


def train_step(model, optimizer, batch: Batch, clip: float | None) -> float:
    """One teacher-forced update; returns the batch loss."""
    logits, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
    loss = sequence_loss(logits, batch.tgt_out)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    optimizer.step()
    return loss.item()


def train(
    model,
    train_examples: Sequence[Any],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    *,
    epochs: float | None = None,
    steps: int | None = None,
    seconds: float | None = None,
    lr: float = 3e-3,
    batch_size: int = 64,
    clip: float | None = 1.0,
    seed: int = 0,
    progress: bool = True,
    eval_fn: Callable[[Any], float] | None = None,
    eval_every: int = 100,
    target: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
    lr_schedule: str = "constant",
    bucket: bool = False,
) -> dict[str, Any]:
    """Train ``model`` with Adam on shuffled batches until the first budget runs out.

    Budgets: ``epochs`` (may be fractional), ``steps``, ``seconds`` (training time, evaluation
    excluded); give at least one. ``eval_fn(model) -> float`` runs every ``eval_every`` steps and
    at the end; with ``target`` the loop stops as soon as it reaches ``target``. Returns a history
    dict: ``step``/``loss`` (every step), ``eval_step``/``eval``, ``train_seconds`` (the time
    spent in training steps), ``steps``, ``epochs`` and ``stopped_by`` ("epochs", "steps",
    "seconds" or "target") and ``threads`` (torch's thread count as ``(step, threads)`` pairs, one
    per change; it changes only where no count is fixed, see course_lib.repro).
    ``lr_schedule="cosine"`` lowers the learning rate along a half cosine over the budget (to
    MIN_LR_FACTOR of ``lr``); ``bucket=True`` batches examples of similar source length together
    (less padding, faster steps, batches still shuffled).
    """
    if epochs is None and steps is None and seconds is None:
        raise ValueError("give a budget: epochs=, steps= or seconds= (steps are reproducible)")
    if len(train_examples) == 0:
        raise ValueError("train_examples is empty")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    generator = set_seed(seed)
    per_epoch = math.ceil(len(train_examples) / batch_size)
    limits = [
        n
        for n in (steps, None if epochs is None else math.ceil(epochs * per_epoch))
        if n is not None
    ]
    max_steps = min(limits) if limits else None
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, Any] = {"step": [], "loss": [], "eval_step": [], "eval": []}
    bar = progress_bar(max_steps, enabled=progress)
    step, train_seconds, stopped_by = 0, 0.0, None
    history["threads"] = [(0, torch.get_num_threads())]
    last_choice = time.monotonic()

    def evaluate_now():
        value = float(eval_fn(model))
        history["eval_step"].append(step)
        history["eval"].append(value)
        return value

    base_lrs = [group["lr"] for group in optimizer.param_groups]

    def progress_fraction() -> float:
        done = [step / max_steps] if max_steps else []
        done += [train_seconds / seconds] if seconds else []
        return min(max(done), 1.0)

    model.train()
    while stopped_by is None:
        for batch in _epoch(train_examples, batch_size, src_vocab, tgt_vocab, generator, bucket):
            if lr_schedule == "cosine":
                factor = 0.5 * (1 + math.cos(math.pi * progress_fraction()))
                for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                    group["lr"] = base * (MIN_LR_FACTOR + (1 - MIN_LR_FACTOR) * factor)
            if time.monotonic() - last_choice > RECHOOSE_THREADS_SECONDS:
                last_choice = time.monotonic()
                if adapt_threads() != history["threads"][-1][1]:
                    history["threads"].append((step, torch.get_num_threads()))
            start = time.perf_counter()
            loss = train_step(model, optimizer, batch, clip)
            train_seconds += time.perf_counter() - start
            step += 1
            history["step"].append(step)
            history["loss"].append(loss)
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if eval_fn is not None and step % eval_every == 0:
                value = evaluate_now()
                model.train()
                if target is not None and value >= target:
                    stopped_by = "target"
            if stopped_by is None and max_steps is not None and step >= max_steps:
                stopped_by = "steps" if steps is not None and step >= steps else "epochs"
            if stopped_by is None and seconds is not None and train_seconds >= seconds:
                stopped_by = "seconds"
            if stopped_by is not None:
                break
    if eval_fn is not None and (not history["eval_step"] or history["eval_step"][-1] != step):
        evaluate_now()
    model.eval()
    bar.close()
    history.update(
        train_seconds=train_seconds, steps=step, epochs=step / per_epoch, stopped_by=stopped_by
    )
    return history
