"""Score modules, make_score, the additive score's memory bound, and the benchmark's output."""

import importlib.util
import os
import re

import pytest
import torch
from torch.profiler import ProfilerActivity, profile

import course_lib.attention.scores as scores_module
from course_lib.attention import (
    AdditiveScore,
    BilinearScore,
    DotScore,
    ScaledDotScore,
    additive_score,
    attend,
    bilinear_score,
    dot_score,
    make_score,
    scaled_dot_score,
)
from course_lib.paths import COURSE_ROOT

D64 = torch.float64


pytestmark = pytest.mark.usefixtures("one_thread")


def inputs(d_q=4, d_k=6):
    gen = torch.Generator().manual_seed(0)
    return torch.randn(2, 3, d_q, generator=gen), torch.randn(2, 5, d_k, generator=gen)


def test_parameter_free_modules_match_functions():
    query, keys = inputs(4, 4)
    assert torch.equal(DotScore()(query, keys), dot_score(query, keys))
    assert torch.equal(ScaledDotScore()(query[:, 0], keys), scaled_dot_score(query[:, 0], keys))
    assert list(DotScore().parameters()) == []


def test_bilinear_module():
    torch.manual_seed(0)
    module = BilinearScore(4, 6)
    query, keys = inputs()
    assert module.weight.shape == (4, 6)
    assert torch.equal(module(query, keys), bilinear_score(query, keys, module.weight))
    module(query, keys).sum().backward()
    assert module.weight.grad is not None and module.weight.grad.abs().sum() > 0


def test_additive_module_and_projected_keys():
    torch.manual_seed(0)
    module = AdditiveScore(4, 6, 7)
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {
        "v": (7,),
        "w_query.weight": (7, 4),
        "w_key.weight": (7, 6),
    }
    query, keys = inputs()
    expected = additive_score(query, keys, module.w_query.weight, module.w_key.weight, module.v)
    torch.testing.assert_close(module(query, keys), expected, rtol=0, atol=0)
    keys_proj = module.project_keys(keys)  # once per sequence
    assert keys_proj.shape == (2, 5, 7)
    for t in range(3):
        step = module.score_projected(query[:, t], keys_proj)
        torch.testing.assert_close(step, expected[:, t], rtol=0, atol=1e-6)
    module(query, keys).sum().backward()
    for p in module.parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("dot", DotScore),
        ("scaled_dot", ScaledDotScore),
        ("bilinear", BilinearScore),
        ("general", BilinearScore),
        ("additive", AdditiveScore),
        ("concat", AdditiveScore),
        ("mlp", AdditiveScore),
    ],
)
def test_make_score(name, cls):
    d_k = 4 if cls in (DotScore, ScaledDotScore) else 6
    module = make_score(name, 4, d_k, d_attn=7)
    assert type(module) is cls
    query, keys = inputs(4, d_k)
    assert module(query, keys).shape == (2, 3, 5)
    assert module(query[:, 0], keys).shape == (2, 5)


def test_make_score_default_attention_size_and_module_in_attend():
    module = make_score("additive", 4, 6)
    assert module.v.shape == (6,)
    query, keys = inputs()
    context, weights = attend(query, keys, score=module, lengths=[5, 2])
    assert context.shape == (2, 3, 6) and weights.shape == (2, 3, 5)
    torch.testing.assert_close(
        weights,
        torch.softmax(
            module(query, keys).masked_fill(
                torch.arange(5) >= torch.tensor([5, 2])[:, None, None], float("-inf")
            ),
            -1,
        ),
    )


def allocated_peak_mb(fn):
    """Highest running total of allocated minus freed bytes during fn(), from the profiler."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    total = peak = 0
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    for e in sorted(events, key=lambda e: e.start_ns()):
        total += e.nbytes()
        peak = max(peak, total)
    return peak / 2**20


def test_additive_chunks_bound_memory(monkeypatch):
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(4, 40, 64, generator=gen, requires_grad=True)  # (batch, tgt_len, d_attn)
    k = torch.randn(4, 200, 64, generator=gen, requires_grad=True)  # (batch, src_len, d_attn)
    v = torch.randn(64, generator=gen, requires_grad=True)
    per_step_mb = 4 * 200 * 64 * 4 / 2**20  # one target step's tanh activations, as big as k
    monkeypatch.setattr(scores_module, "ADDITIVE_CHUNK_BYTES", int(4 * per_step_mb * 2**20))

    def forward_backward(chunk_size):
        def run():
            scores_module.additive_score_projected(q, k, v, chunk_size).sum().backward()

        return run

    whole = allocated_peak_mb(forward_backward(40))  # everything at once: 40 steps
    chunked = allocated_peak_mb(forward_backward(None))  # the budget allows 4 steps
    assert whole > 30 * per_step_mb  # the measurement sees the big tensor ...
    # ... and chunking removes it, backward included (4 steps + k's gradient + temporaries).
    assert chunked < 10 * per_step_mb


def _load_benchmark():
    path = COURSE_ROOT / "benchmarks" / "bench_attention.py"
    spec = importlib.util.spec_from_file_location("bench_attention", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_benchmark_runs_and_prints_summary_lines(capsys):
    bench = _load_benchmark()
    threads = torch.get_num_threads()
    tiny = ["--batch", "2", "--src-len", "5", "--tgt-len", "3", "--hidden", "8"]
    try:
        summary = bench.main([*tiny, "--rounds", "2", "--repeats", "2", "--also", "avx2"])
    finally:
        torch.set_num_threads(threads)
    last = capsys.readouterr().out.strip().splitlines()[-2:]
    number = r"\d+\.\d+"
    names = ["dot", "scaled", "bilinear", "additive", "additive_peak_mb", "load"]
    figures = " ".join(f"{name}={number}" for name in names)
    native = torch.backends.cpu.get_cpu_capability()
    assert re.fullmatch(f"attention_ratio capability={native} {figures}", last[0]), last
    # The subprocess ran with ATEN_CPU_CAPABILITY=avx2 and says so.
    assert re.fullmatch(f"attention_ratio capability=AVX2 {figures}", last[1]), last
    assert set(summary) == set(names)


def test_benchmark_drops_only_the_profilers_usdt_lines(capfd):
    bench = _load_benchmark()
    with bench.without_kineto_usdt_lines():
        os.write(2, b"USDT:2026 1:1 SyncActivityProfilerHandler.cpp:52] profiler_start\n")
        os.write(2, b"a real error\n")
    assert capfd.readouterr().err == "a real error\n"
