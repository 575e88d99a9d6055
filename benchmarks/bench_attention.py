"""Time course_lib's attention (score + masked softmax + context) against torch's fused SDPA.

Run: ``OMP_NUM_THREADS=2 python benchmarks/bench_attention.py`` (``make bench-attention``).

All target steps at once, on the CPU, float32, with a padding mask from random source lengths
(the course always pads): query (batch, tgt_len, hidden), keys and values (batch, src_len,
hidden). Each candidate and ``torch.nn.functional.scaled_dot_product_attention`` run side by side
in every round (interleaved, so a slow spell of the shared machine hits both); the figures are
medians. "forward" runs without autograd; "fwd+bwd" includes the backward pass to the inputs and
the score's parameters. Peak memory is read from torch.profiler's allocator events: the highest
running total of bytes allocated minus bytes freed during one call (outputs included).

The last line is machine-readable: ``attention_ratio dot=... scaled=... bilinear=...
additive=... additive_peak_mb=...`` (forward time ratios to SDPA, forward peak of additive).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from course_lib.attention import AdditiveScore, BilinearScore, attend
from course_lib.repro import course_threads

TARGETS = {"dot": 1.0, "scaled_dot": 1.0, "bilinear": 1.5, "additive": 50.0}
ADDITIVE_PEAK_TARGET_MB = 64.0


def make_inputs(batch: int, src_len: int, tgt_len: int, hidden: int, seed: int = 0):
    """Random query/keys/values, a padding mask, and the parameters of the learned scores."""
    gen = torch.Generator().manual_seed(seed)
    query = torch.randn(batch, tgt_len, hidden, generator=gen)
    keys = torch.randn(batch, src_len, hidden, generator=gen)
    values = torch.randn(batch, src_len, hidden, generator=gen)
    lengths = torch.randint(src_len // 2 + 1, src_len + 1, (batch,), generator=gen)
    lengths[0] = src_len
    mask = torch.arange(src_len)[None, :] < lengths[:, None]  # (batch, src_len)
    torch.manual_seed(seed)
    bilinear = BilinearScore(hidden, hidden)
    additive = AdditiveScore(hidden, hidden, hidden)
    params = {
        "bilinear": {"weight": bilinear.weight.detach()},
        "additive": {
            "w_query": additive.w_query.weight.detach(),
            "w_key": additive.w_key.weight.detach(),
            "v": additive.v.detach(),
        },
    }
    return query, keys, values, mask, params


def candidates(query, keys, values, mask, params):
    """name -> (tensors that get gradients, function returning the attention output)."""
    sdpa_mask = mask[:, None, :]  # (batch, 1, src_len), broadcast over target steps
    runs = {
        "sdpa": ([], lambda: F.scaled_dot_product_attention(query, keys, values, sdpa_mask)),
    }
    for name in ("dot", "scaled_dot", "bilinear", "additive"):
        p = params.get(name)

        def run(name=name, p=p):
            return attend(query, keys, values, score=name, params=p, mask=mask)[0]

        runs[name] = (list(p.values()) if p else [], run)
    return runs


def time_rounds(runs, inputs, repeats: int, backward: bool) -> dict[str, float]:
    """Median seconds per call of every run, interleaved round by round."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    grad_out = torch.randn_like(runs["sdpa"][1]()) if backward else None
    for i in range(repeats + 2):  # the first two rounds warm up and are dropped
        for name, (params, fn) in runs.items():
            tensors = list(inputs) + params
            for t in tensors:
                t.requires_grad_(backward)
                t.grad = None
            start = time.perf_counter()
            if backward:
                fn().backward(grad_out)
            else:
                with torch.no_grad():
                    fn()
            elapsed = time.perf_counter() - start
            if i >= 2:
                times[name].append(elapsed)
    for t in list(inputs) + [p for params, _ in runs.values() for p in params]:
        t.requires_grad_(False)
        t.grad = None
    return {name: statistics.median(ts) for name, ts in times.items()}


@contextlib.contextmanager
def without_kineto_usdt_lines():
    """Drop the `USDT: ... profiler_start` / `profiler_stop` lines torch's profiler writes.

    kineto (the profiler's C++ library) writes two of them straight to file descriptor 2 for
    every profile() block, so they cannot be caught in Python: fd 2 goes to a temp file for the
    block, and every other line is passed on to stderr afterwards. (KINETO_LOG_LEVEL=6 would
    also hide them, but hides kineto's errors too and must be set before torch is imported.)
    """
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not line.startswith("USDT:")))


def peak_mb(fn, backward: bool, tensors) -> float:
    """Highest running total of allocated minus freed bytes during one call, in MiB."""
    for t in tensors:
        t.requires_grad_(backward)
        t.grad = None
    profiler = profile(activities=[ProfilerActivity.CPU], profile_memory=True)
    with without_kineto_usdt_lines(), profiler as prof:
        if backward:
            out = fn()
            out.backward(torch.ones_like(out))
            del out
        else:
            with torch.no_grad():
                fn()
    for t in tensors:
        t.requires_grad_(False)
        t.grad = None
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    total = peak = 0
    for e in sorted(events, key=lambda e: e.start_ns()):
        total += e.nbytes()
        peak = max(peak, total)
    return peak / 2**20


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--src-len", type=int, default=50)
    parser.add_argument("--tgt-len", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args(argv)

    threads = course_threads()
    torch.set_num_threads(threads)
    query, keys, values, mask, params = make_inputs(
        args.batch, args.src_len, args.tgt_len, args.hidden
    )
    inputs = (query, keys, values)
    runs = candidates(query, keys, values, mask, params)
    print(
        f"attention benchmark: batch {args.batch}, src_len {args.src_len}, tgt_len "
        f"{args.tgt_len}, hidden {args.hidden} (d_attn {args.hidden}), float32, CPU, "
        f"torch {torch.__version__}, {threads} threads (torch.get_num_threads()="
        f"{torch.get_num_threads()}), padding mask, all target steps at once, "
        f"median of {args.repeats} interleaved rounds"
    )
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    print(f"machine: {cores} CPUs, 1-minute load average {load:.1f} at start")
    if load > cores:
        print("WARNING: the machine is busier than its CPU count; the times below are unreliable")
    forward = time_rounds(runs, inputs, args.repeats, backward=False)
    both = time_rounds(runs, inputs, max(args.repeats // 2, 3), backward=True)

    peaks = {}
    for name in ("sdpa", "dot", "bilinear", "additive"):
        grads = list(inputs) + runs[name][0]
        peaks[name] = (peak_mb(runs[name][1], False, grads), peak_mb(runs[name][1], True, grads))

    print(f"{'':12}{'forward ms':>12}{'ratio':>8}{'target':>8}{'fwd+bwd ms':>12}{'ratio':>8}")
    ratios = {}
    for name in runs:
        ratios[name] = forward[name] / forward["sdpa"]
        target = f"<={TARGETS[name]:g}x" if name in TARGETS else ""
        print(
            f"{name:12}{forward[name] * 1e3:12.3f}{ratios[name]:8.2f}{target:>8}"
            f"{both[name] * 1e3:12.3f}{both[name] / both['sdpa']:8.2f}"
        )
    print("extra peak memory (torch.profiler allocator events, outputs included):")
    for name, (fwd_mb, bwd_mb) in peaks.items():
        print(f"  {name:10} forward {fwd_mb:8.1f} MiB   fwd+bwd {bwd_mb:8.1f} MiB")
    # The same measurement without chunking shows that it sees the tanh tensor it should.
    unchunked = {**params["additive"], "chunk_size": args.tgt_len}
    whole = peak_mb(
        lambda: attend(query, keys, values, score="additive", params=unchunked, mask=mask)[0],
        False,
        list(inputs),
    )
    print(
        f"  additive forward without chunking (chunk_size=tgt_len), for comparison: {whole:.1f} MiB"
    )
    print(f"  additive target: forward <= {ADDITIVE_PEAK_TARGET_MB:g} MiB")

    missed = [n for n in TARGETS if ratios[n] > TARGETS[n]]
    if peaks["additive"][0] > ADDITIVE_PEAK_TARGET_MB:
        missed.append("additive_peak")
    print("targets missed: " + (", ".join(missed) if missed else "none"))
    load_end = os.getloadavg()[0]
    if load_end > cores:
        print(f"WARNING: load average {load_end:.1f} > {cores} CPUs at the end; rerun when idle")
    summary = {
        "dot": ratios["dot"],
        "scaled": ratios["scaled_dot"],
        "bilinear": ratios["bilinear"],
        "additive": ratios["additive"],
        "additive_peak_mb": peaks["additive"][0],
    }
    print("attention_ratio " + " ".join(f"{k}={v:.2f}" for k, v in summary.items()))
    return summary


if __name__ == "__main__":
    main()
