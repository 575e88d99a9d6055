"""Does course_lib run on another torch device (a GPU) and agree with the CPU there?

Nothing in the course needs a GPU; this is the check that a learner with one can use it. For the
attention functions (every score, masked, fast paths included), every seq2seq decoder and the
tiny Transformer: the same weights and inputs on the CPU and on the device, outputs and gradients
compared (float32, TF32 off, so both sides do the same arithmetic up to summation order); a few
optimiser steps on the device lower the loss; greedy and beam search run there.

Usage: python scripts/check_device.py [--device cuda]   (exit 1 on any mismatch; prints a table)
"""

from __future__ import annotations

import argparse
import sys

import torch

from course_lib.attention import AdditiveScore, BilinearScore, attend
from course_lib.models import build_model
from course_lib.search import beam_search, greedy_decode
from course_lib.training import sequence_loss
from course_lib.transformer import build_transformer

RTOL, ATOL = 1e-4, 1e-5  # float32, different summation orders on the two devices
VOCAB = 13
MODELS = {
    "none": dict(kind="none"),
    "bahdanau": dict(kind="bahdanau"),
    "luong general": dict(kind="luong", score="general"),
    "luong dot": dict(kind="luong", score="dot"),
    "luong concat": dict(kind="luong", score="concat"),
}


def _inputs(batch=5, src_len=9, tgt_len=7, seed=0):
    gen = torch.Generator().manual_seed(seed)
    src = torch.randint(4, VOCAB, (batch, src_len), generator=gen)
    lengths = torch.tensor([src_len, 4, 1, src_len - 1, 6][:batch])
    for row, n in enumerate(lengths.tolist()):
        src[row, n:] = 0  # PAD
    tgt_in = torch.randint(4, VOCAB, (batch, tgt_len), generator=gen)
    tgt_out = torch.randint(4, VOCAB, (batch, tgt_len), generator=gen)
    return src, lengths, tgt_in, tgt_out


def _max_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    return (a.detach().cpu() - b.detach().cpu()).abs().max().item()


def _close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a.detach().cpu(), b.detach().cpu(), rtol=RTOL, atol=ATOL)


def check_attention(device: str) -> list[tuple[str, bool, str]]:
    """attend() with every score, CPU against device, values and gradients."""
    torch.manual_seed(0)
    batch, tgt_len, src_len, d = 3, 4, 6, 8
    q, k, v = (torch.randn(batch, n, d) for n in (tgt_len, src_len, src_len))
    mask = torch.arange(src_len)[None, :] < torch.tensor([6, 2, 5])[:, None]
    bilinear, additive = BilinearScore(d, d), AdditiveScore(d, d, 5)
    params = {
        "dot": None,
        "scaled_dot": None,
        "bilinear": {"weight": bilinear.weight.detach()},
        "additive": {
            "w_query": additive.w_query.weight.detach(),
            "w_key": additive.w_key.weight.detach(),
            "v": additive.v.detach(),
        },
    }
    rows = []
    for score, p in params.items():
        outs = {}
        for dev in ("cpu", device):
            tensors = [t.to(dev).requires_grad_() for t in (q, k, v)]
            moved = {n: t.to(dev) for n, t in p.items()} if p else None
            context, weights = attend(*tensors, score=score, params=moved, mask=mask.to(dev))
            (context.square().sum() + weights.sum()).backward()
            outs[dev] = (context, weights, *(t.grad for t in tensors))
        gaps = [_max_gap(a, b) for a, b in zip(outs["cpu"], outs[device], strict=True)]
        ok = all(_close(a, b) for a, b in zip(outs["cpu"], outs[device], strict=True))
        rows.append((f"attend score={score}", ok, f"max gap {max(gaps):.1e}"))
    return rows


def _model_rows(name: str, make, device: str) -> list[tuple[str, bool, str]]:
    src, lengths, tgt_in, tgt_out = _inputs()
    results = {}
    for dev in ("cpu", device):
        model = make().to(dev)
        logits, _ = model(src.to(dev), lengths, tgt_in.to(dev))
        loss = sequence_loss(logits, tgt_out.to(dev))
        loss.backward()
        grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}
        results[dev] = (model, logits, grads)
    _, cpu_logits, cpu_grads = results["cpu"]
    model, dev_logits, dev_grads = results[device]
    grad_gap = max(_max_gap(cpu_grads[n], dev_grads[n]) for n in cpu_grads)
    grads_ok = cpu_grads.keys() == dev_grads.keys() and all(
        _close(cpu_grads[n], dev_grads[n]) for n in cpu_grads
    )
    rows = [
        (f"{name}: logits", _close(cpu_logits, dev_logits), f"max gap {_max_gap(cpu_logits, dev_logits):.1e}"),
        (f"{name}: gradients", grads_ok, f"max gap {grad_gap:.1e}"),
    ]  # fmt: skip
    # 20 Adam steps on the device on one batch: the loss must fall by a fifth at least.
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(20):
        optimiser.zero_grad()
        logits, _ = model(src.to(device), lengths, tgt_in.to(device))
        loss = sequence_loss(logits, tgt_out.to(device))
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    rows.append((f"{name}: 20 steps on {device}", losses[-1] < 0.8 * losses[0],
                 f"loss {losses[0]:.2f} -> {losses[-1]:.2f}"))  # fmt: skip
    return rows


def check_models(device: str) -> list[tuple[str, bool, str]]:
    rows = []
    for name, spec in MODELS.items():
        rows += _model_rows(
            name, lambda spec=spec: build_model(src_vocab_size=VOCAB, tgt_vocab_size=VOCAB,
                                                emb=8, hidden=12, seed=0, **spec), device,
        )  # fmt: skip
    rows += _model_rows(
        "transformer",
        lambda: build_transformer(VOCAB, VOCAB, seed=0, d_model=16, heads=4, layers=2, d_ff=24),
        device,
    )
    return rows


def check_search(device: str) -> list[tuple[str, bool, str]]:
    src, lengths, _, _ = _inputs()
    rows = []
    for name in ("bahdanau", "luong general"):
        model = build_model(src_vocab_size=VOCAB, tgt_vocab_size=VOCAB, emb=8, hidden=12, seed=0,
                            **MODELS[name]).to(device)  # fmt: skip
        tokens, weights = greedy_decode(model, src.to(device), lengths, max_len=6)
        beams = beam_search(model, src.to(device), lengths, max_len=6, beam_size=3)
        ok = tokens.device.type == torch.device(device).type and tokens.shape[0] == src.shape[0]
        rows.append((f"{name}: greedy and beam search on {device}", ok and beams is not None,
                     f"tokens {tuple(tokens.shape)}"))  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("no CUDA device here: nothing to check")
        return 2
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else args.device
    print(f"torch {torch.__version__} on {name}, compared with the CPU (rtol {RTOL}, atol {ATOL})")
    rows = check_attention(args.device) + check_models(args.device) + check_search(args.device)
    width = max(len(r[0]) for r in rows)
    for label, ok, detail in rows:
        print(f"{'ok  ' if ok else 'FAIL'} {label:<{width}}  {detail}")
    failed = sum(not ok for _, ok, _ in rows)
    print(f"{len(rows) - failed} of {len(rows)} checks agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
