"""Time course_lib's attention (score + masked softmax + context) against torch's SDPA.

Run: ``OMP_NUM_THREADS=2 python benchmarks/bench_attention.py`` (``make bench-attention``).

All target steps at once, on the CPU, float32, with a padding mask from random source lengths
(the course always pads): query (batch, tgt_len, hidden), keys and values (batch, src_len,
hidden). The figures are ratios to ``torch.nn.functional.scaled_dot_product_attention`` on the
same inputs. A shared machine makes single timings noisy, so the run is split into independent
rounds; inside a round every candidate and SDPA take turns call by call (the order rotates), so
a slow spell hits them alike, and the round's ratio is the ratio of its median times. The
figure reported is the median of the rounds' ratios, with their range; "quiet" is the ratio of
the fastest calls seen, a hint of the idle figure (on a busy machine even the fastest calls are
disturbed, so it can be far off). "forward" runs without
autograd; "fwd+bwd" includes the backward pass to the inputs and the score's parameters. Peak
memory is read from torch.profiler's allocator events: the highest running total of bytes
allocated minus bytes freed during one call (outputs included).

After its own figures the benchmark runs itself again in a subprocess for each capability in
``--also`` (default: avx2), with ``ATEN_CPU_CAPABILITY`` set, so torch's own kernels (softmax,
sigmoid, elementwise) are those of a CPU without AVX-512. MKL's matrix products do not follow
that variable; ``--also avx2+mkl`` sets ``MKL_ENABLE_INSTRUCTIONS=AVX2`` too, closer to a
laptop with AVX2 only.

The last lines are machine-readable, one per capability: ``attention_ratio capability=...
dot=... scaled=... bilinear=... additive=... additive_peak_mb=... load=...`` (median forward
time ratios to SDPA, forward peak of additive in MiB, 1-minute load average at the end).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from course_lib.attention import AdditiveScore, BilinearScore, attend
from course_lib.attention._threads import machine_busy
from course_lib.repro import course_threads

TARGETS = {"dot": 0.7, "scaled_dot": 0.7, "bilinear": 1.0, "additive": 10.0}
ADDITIVE_PEAK_TARGET_MB = 32.0
# What --also NAME sets in the subprocess's environment.
CAPABILITY_ENV = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "avx2+mkl": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "default": {"ATEN_CPU_CAPABILITY": "default"},
}


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


def time_round(runs, inputs, repeats: int, backward: bool) -> dict[str, list[float]]:
    """Seconds per call of every run, ``repeats`` calls each, taking turns in a rotating order."""
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    grad_out = torch.randn_like(runs["sdpa"][1]()) if backward else None
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            params, fn = runs[name]
            for t in list(inputs) + params:
                t.requires_grad_(backward)
                t.grad = None
            start = time.perf_counter()
            if backward:
                fn().backward(grad_out)
            else:
                with torch.no_grad():
                    fn()
            times[name].append(time.perf_counter() - start)
    for t in list(inputs) + [p for params, _ in runs.values() for p in params]:
        t.requires_grad_(False)
        t.grad = None
    return times


def time_rounds(runs, inputs, rounds: int, repeats: int, backward: bool, log=print):
    """Per run: median over rounds of (round median / SDPA's round median), their range, the
    ratio of the fastest calls, and the median milliseconds over all calls."""
    time_round(runs, inputs, 1, backward)  # warm-up: first calls allocate and pick kernels
    per_round, every = [], {name: [] for name in runs}
    for r in range(rounds):
        load = os.getloadavg()[0]
        times = time_round(runs, inputs, repeats, backward)
        sdpa = statistics.median(times["sdpa"])
        per_round.append({name: statistics.median(ts) / sdpa for name, ts in times.items()})
        for name, ts in times.items():
            every[name] += ts
        shown = " ".join(f"{n}={per_round[-1][n]:.2f}" for n in runs if n != "sdpa")
        one = "on" if machine_busy() else "off"
        log(
            f"  round {r + 1}: load {load:.1f} (one-thread passes {one}), SDPA {sdpa * 1e3:.1f} ms,"
        )
        log(f"    ratios {shown}")
    summary = {}
    for name in runs:
        ratios = [round_[name] for round_ in per_round]
        summary[name] = {
            "ratio": statistics.median(ratios),
            "low": min(ratios),
            "high": max(ratios),
            "quiet": min(every[name]) / min(every["sdpa"]),
            "ms": statistics.median(every[name]) * 1e3,
        }
    return summary


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


def capability_label() -> str:
    """torch's kernel capability, plus MKL's instruction set where one is forced."""
    mkl = os.environ.get("MKL_ENABLE_INSTRUCTIONS")
    label = torch.backends.cpu.get_cpu_capability()
    return f"{label}+MKL_{mkl}" if mkl else label


def measure(args) -> dict[str, float]:
    """Print this process's figures (one capability) and return its summary."""
    threads = course_threads()
    torch.set_num_threads(threads)
    query, keys, values, mask, params = make_inputs(
        args.batch, args.src_len, args.tgt_len, args.hidden
    )
    inputs = (query, keys, values)
    runs = candidates(query, keys, values, mask, params)
    capability = torch.backends.cpu.get_cpu_capability()
    print(
        f"== capability {capability} (ATEN_CPU_CAPABILITY="
        f"{os.environ.get('ATEN_CPU_CAPABILITY', 'unset')}, MKL_ENABLE_INSTRUCTIONS="
        f"{os.environ.get('MKL_ENABLE_INSTRUCTIONS', 'unset')}): batch {args.batch}, src_len "
        f"{args.src_len}, tgt_len {args.tgt_len}, hidden {args.hidden} (d_attn {args.hidden}), "
        f"float32, CPU, torch {torch.__version__}, {threads} threads (torch.get_num_threads()="
        f"{torch.get_num_threads()}), padding mask, all target steps at once"
    )
    cores = os.cpu_count() or 1
    print(f"machine: {cores} CPUs, 1-minute load average {os.getloadavg()[0]:.1f} at start")
    print(f"forward: {args.rounds} rounds of {args.repeats} calls each")
    forward = time_rounds(runs, inputs, args.rounds, args.repeats, backward=False)
    # Not a target, and slow for the additive score: fewer rounds and calls.
    bwd_rounds, bwd_repeats = max(args.rounds // 2, 1), max(args.repeats // 3, 1)
    print(f"fwd+bwd: {bwd_rounds} rounds of {bwd_repeats} calls each")
    both = time_rounds(runs, inputs, bwd_rounds, bwd_repeats, backward=True)

    peaks = {}
    for name in ("sdpa", "dot", "bilinear", "additive"):
        grads = list(inputs) + runs[name][0]
        peaks[name] = (peak_mb(runs[name][1], False, grads), peak_mb(runs[name][1], True, grads))

    print(
        f"{'':12}{'fwd ms':>9}{'ratio':>7}{'range':>12}{'quiet':>7}{'target':>8}"
        f"{'fwd+bwd ms':>12}{'ratio':>7}{'quiet':>7}"
    )
    for name in runs:
        f, b = forward[name], both[name]
        target = f"<={TARGETS[name]:g}x" if name in TARGETS else ""
        span = f"{f['low']:.2f}-{f['high']:.2f}"
        print(
            f"{name:12}{f['ms']:9.2f}{f['ratio']:7.2f}{span:>12}{f['quiet']:7.2f}{target:>8}"
            f"{b['ms']:12.2f}{b['ratio']:7.2f}{b['quiet']:7.2f}"
        )
    print("extra peak memory (torch.profiler allocator events, outputs included):")
    for name, (fwd_mb, bwd_mb) in peaks.items():
        print(f"  {name:10} forward {fwd_mb:8.1f} MiB   fwd+bwd {bwd_mb:8.1f} MiB")
    # The same measurement without chunking shows that it sees the activations it should.
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

    missed = [n for n in TARGETS if forward[n]["ratio"] > TARGETS[n]]
    if peaks["additive"][0] > ADDITIVE_PEAK_TARGET_MB:
        missed.append("additive_peak")
    print(f"targets missed ({capability}): " + (", ".join(missed) if missed else "none"))
    load_end = os.getloadavg()[0]
    print(f"1-minute load average {load_end:.1f} at the end ({cores} CPUs)")
    summary = {
        "dot": forward["dot"]["ratio"],
        "scaled": forward["scaled_dot"]["ratio"],
        "bilinear": forward["bilinear"]["ratio"],
        "additive": forward["additive"]["ratio"],
        "additive_peak_mb": peaks["additive"][0],
        "load": load_end,
    }
    line = f"attention_ratio capability={capability_label()} "
    print(line + " ".join(f"{k}={v:.2f}" for k, v in summary.items()), flush=True)
    return summary


def rerun(argv: list[str], name: str) -> str:
    """Run this benchmark again with the environment of capability ``name``; its summary line."""
    env = {**os.environ, **CAPABILITY_ENV[name]}
    cmd = [sys.executable, os.path.abspath(__file__), *argv, "--also"]
    print(f"\n-- again in a subprocess with {CAPABILITY_ENV[name]}", flush=True)
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    print(out, end="", flush=True)
    return [ln for ln in out.splitlines() if ln.startswith("attention_ratio ")][-1]


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--src-len", type=int, default=50)
    parser.add_argument("--tgt-len", type=int, default=50)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5, help="independent rounds")
    parser.add_argument("--repeats", type=int, default=10, help="calls per candidate per round")
    parser.add_argument(
        "--also",
        nargs="*",
        default=["avx2"],
        choices=sorted(CAPABILITY_ENV),
        help="capabilities to rerun in a subprocess (none: --also with no names)",
    )
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    summary = measure(args)
    lines = [
        f"attention_ratio capability={capability_label()} "
        + " ".join(f"{k}={v:.2f}" for k, v in summary.items())
    ]
    if args.also:
        own = [a for a in argv if not a.startswith("--also")]  # --also's names follow it
        own = [a for a in own if a not in CAPABILITY_ENV]
        lines += [rerun(own, name) for name in args.also]
        print("\n" + "\n".join(lines))
    return summary


if __name__ == "__main__":
    main()
