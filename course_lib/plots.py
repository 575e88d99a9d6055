"""Figures for the course: attention heatmaps, weight bars, context vectors, curves.

Every function takes plain data (token lists, weight arrays or tensors, numbers), draws on ``ax``
when given (or on a new figure sized to the data), and returns the Axes (``ax.figure`` is the
Figure). Nothing here calls ``plt.show()`` or changes matplotlib's global settings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Patch, Rectangle

from course_lib.attention import masked_softmax

GOLD_COLOR = "tab:red"
CONTEXT_COLOR = "tab:red"
_BIN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*$")


def as_array(x, name: str, ndim: int) -> np.ndarray:
    """Plain float numpy copy of a tensor/array/list, so every plot accepts all three."""
    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float64).numpy()
    arr = np.asarray(x, dtype=float)
    while arr.ndim > ndim and arr.shape[0] == 1:  # a batch of one is fine
        arr = arr[0]
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(arr.shape)}")
    return arr


def display_token(token) -> str:
    """Make blanks visible and keep '$' from switching matplotlib into maths mode."""
    text = str(token)
    if text == "":
        return "∅"
    return text.replace(" ", "␣").replace("$", r"\$")


def _check_len(tokens: Sequence, n: int, what: str, axis: str) -> None:
    if len(tokens) != n:
        raise ValueError(
            f"{what}: expected {n} tokens to match the weights' {axis}, got {len(tokens)}"
        )


def new_axes(ax, width: float, height: float):
    """``ax`` if given, else the Axes of a new figure of about width x height inches (capped)."""
    if ax is not None:
        return ax
    _, ax = plt.subplots(figsize=(min(width, 16.0), min(height, 12.0)), layout="constrained")
    return ax


def _set_token_ticks(ax, axis: str, tokens: Sequence) -> None:
    labels = [display_token(t) for t in tokens]
    rotate = axis == "x" and (len(labels) > 12 or max((len(s) for s in labels), default=0) > 3)
    if axis == "x":
        ax.set_xticks(range(len(labels)), labels, rotation=90 if rotate else 0)
    else:
        ax.set_yticks(range(len(labels)), labels)


def plot_attention(
    weights,
    src_tokens,
    tgt_tokens,
    ax=None,
    title=None,
    gold=None,
    vmax=1.0,
    src_label="source token (attended to)",
    tgt_label="output token (decoder step)",
):
    """Heatmap of who attends to what: one row per output token, one column per source token.

    ``weights`` is ``(tgt_len, src_len)``. ``gold`` (optional), one entry per output token: None,
    a source index, or a half-open ``(start, end)`` span of source positions; drawn as outlines.
    ``vmax=None`` scales the colours to the largest weight instead of 1; ``src_label`` and
    ``tgt_label`` name the axes (e.g. "letter" and "phoneme").
    """
    w = as_array(weights, "weights (tgt_len, src_len)", 2)
    _check_len(src_tokens, w.shape[1], "src_tokens", "columns (src_len)")
    _check_len(tgt_tokens, w.shape[0], "tgt_tokens", "rows (tgt_len)")
    ax = new_axes(ax, 2.5 + 0.38 * w.shape[1], 1.6 + 0.34 * w.shape[0])
    top = float(w.max()) if vmax is None and w.size else (vmax or 1.0)
    image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=top, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label="attention weight", fraction=0.05, pad=0.02)
    _set_token_ticks(ax, "x", src_tokens)
    _set_token_ticks(ax, "y", tgt_tokens)
    ax.set_xlabel(src_label)
    ax.set_ylabel(tgt_label)
    if title:
        ax.set_title(title)
    if gold is not None:
        _draw_gold(ax, gold, w.shape)
    return ax


def _draw_gold(ax, gold, shape) -> None:
    if len(gold) != shape[0]:
        raise ValueError(f"gold: expected one span per output token ({shape[0]}), got {len(gold)}")
    for row, span in enumerate(gold):
        if span is None:
            continue
        start, end = (int(span), int(span) + 1) if np.isscalar(span) else map(int, span)
        if not 0 <= start < end <= shape[1]:
            raise ValueError(f"gold span {span!r} of row {row} is outside 0..{shape[1]}")
        rect = Rectangle((start - 0.5, row - 0.5), end - start, 1, fill=False, lw=2,
                         edgecolor=GOLD_COLOR, gid="gold")  # fmt: skip
        ax.add_patch(rect)
    handle = Patch(fill=False, edgecolor=GOLD_COLOR, lw=2, label="gold alignment")
    ax.legend(handles=[handle], loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False,
              fontsize="small", borderaxespad=0.1)  # fmt: skip


def plot_weights_bar(weights, src_tokens, ax=None, title=None, highlight=True, mask=None):
    """Bar per source token showing its attention weight at one decoder step.

    ``mask`` (optional bool ``(src_len,)``, True = keep) greys out the masked positions.
    """
    w = as_array(weights, "weights (src_len,)", 1)
    _check_len(src_tokens, w.shape[0], "src_tokens", "length (src_len)")
    keep = np.ones(len(w), bool) if mask is None else np.asarray(mask, dtype=bool).reshape(-1)
    _check_len(keep, w.shape[0], "mask", "length (src_len)")
    ax = new_axes(ax, 2.0 + 0.4 * len(w), 3.0)
    colors = ["tab:blue" if k else "0.8" for k in keep]
    if highlight and len(w):
        colors[int(np.argmax(w))] = "tab:orange"
    bars = ax.bar(range(len(w)), w, color=colors, edgecolor="black", linewidth=0.5)
    if len(w) <= 20:
        labels = [f"{v:.2f}" if k else "masked" for v, k in zip(w, keep, strict=True)]
        ax.bar_label(bars, labels=labels, fontsize="x-small", padding=1)
    _set_token_ticks(ax, "x", src_tokens)
    for label, k in zip(ax.get_xticklabels(), keep, strict=True):
        if not k:
            label.set_color("0.55")
    ax.set_ylim(0.0, max(1.0, float(w.max(initial=0.0))) * 1.1)
    ax.set_xlabel("source token")
    ax.set_ylabel("attention weight")
    if title:
        ax.set_title(title)
    return ax


def plot_context_2d(states_2d, weights, labels, ax=None, arrows=False, title=None):
    """Encoder states as points sized by their weight, and the context vector (their weighted sum)."""
    s = as_array(states_2d, "states_2d (src_len, 2)", 2)
    w = as_array(weights, "weights (src_len,)", 1)
    if s.shape[1] != 2 or s.shape[0] != w.shape[0]:
        raise ValueError(f"states_2d must be ({w.shape[0]}, 2) to match weights, got {s.shape}")
    _check_len(labels, w.shape[0], "labels", "length (src_len)")
    context = w @ s  # (2,)
    ax = new_axes(ax, 5.0, 4.5)
    share = w / w.max() if w.size and w.max() > 0 else np.zeros_like(w)
    colors = np.zeros((len(w), 4))
    colors[:, :3] = (0.12, 0.47, 0.71)  # tab:blue
    colors[:, 3] = 0.25 + 0.75 * share
    ax.scatter(s[:, 0], s[:, 1], s=40 + 400 * share, c=colors, edgecolors="black",
               linewidths=0.5, label="encoder states (size = weight)", gid="states")  # fmt: skip
    for (x, y), label, wi in zip(s, labels, w, strict=True):
        ax.annotate(f"{display_token(label)} ({wi:.2f})", (x, y), xytext=(6, 6),
                    textcoords="offset points", fontsize="small")  # fmt: skip
    ax.scatter([context[0]], [context[1]], s=260, marker="*", color=CONTEXT_COLOR,
               edgecolors="black", zorder=3, label="context = Σ weight·state", gid="context")  # fmt: skip
    if arrows:
        for x, y in s:
            ax.annotate("", (x, y), (0, 0), arrowprops={"arrowstyle": "->", "color": "0.6"})
        ax.annotate("", tuple(context), (0, 0),
                    arrowprops={"arrowstyle": "->", "color": CONTEXT_COLOR, "lw": 2})  # fmt: skip
        ax.plot([0], [0], "k+")
    ax.set_xlabel("dimension 1")
    ax.set_ylabel("dimension 2")
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.15)
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def _bucket_x(key) -> tuple[float, str]:
    """Where a length bucket sits on the x axis, and its tick label: 7, (5, 9) or "5-9"."""
    if isinstance(key, int | float | np.integer | np.floating):
        return float(key), f"{key:g}"
    if isinstance(key, tuple | list) and len(key) == 2:
        lo, hi = key
    else:
        match = _BIN.match(str(key))
        if not match:
            raise ValueError(f"length bucket {key!r}: expected a number, (lo, hi) or 'lo-hi'")
        lo, hi = float(match[1]), float(match[2])
    return (float(lo) + float(hi)) / 2, f"{lo:g}-{hi:g}"


def plot_accuracy_by_length(results, ax=None, percent=None, train_lengths=None, title=None):
    """Exact match against source length, one line per model (the classic 'long inputs' plot).

    ``results``: ``{model name: {length bucket: accuracy}}`` with buckets as numbers, ``(lo, hi)``
    or ``"lo-hi"`` strings (as ``metrics.accuracy_by_length`` returns). Accuracies in 0-1 are
    shown as percentages (``percent=None`` decides from the data). ``train_lengths=(lo, hi)``
    shades the lengths seen in training.
    """
    if not results:
        raise ValueError("results is empty: expected {model name: {length bucket: accuracy}}")
    values = [float(v) for curve in results.values() for v in curve.values()]
    scale = 100.0 if (percent if percent is not None else max(values, default=0) <= 1.0) else 1.0
    ax = new_axes(ax, 6.0, 4.0)
    ticks = {}
    for name, curve in results.items():
        points = sorted((*_bucket_x(k), float(v)) for k, v in curve.items())
        ticks.update({x: label for x, label, _ in points})
        ax.plot([p[0] for p in points], [p[2] * scale for p in points], marker="o", label=name)
    if ticks and len(ticks) <= 15:
        ax.set_xticks(list(ticks), list(ticks.values()))
    if train_lengths is not None:
        lo, hi = train_lengths
        ax.axvspan(lo, hi, color="0.9", zorder=0, label="lengths seen in training")
    if scale == 100:
        ax.set_ylim(-3, 105)
    ax.set_xlabel("source length")
    ax.set_ylabel("exact match (%)" if scale == 100 else "exact match")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def smooth_curve(values, smooth: float) -> np.ndarray:
    """Debiased exponential moving average (0 = raw): the first points are not dragged to 0."""
    if not 0.0 <= smooth < 1.0:
        raise ValueError(f"smooth must be in [0, 1), got {smooth}")
    out, avg = np.empty(len(values)), 0.0
    for i, v in enumerate(values):
        avg = smooth * avg + (1 - smooth) * v
        out[i] = avg / (1 - smooth ** (i + 1))
    return out


def plot_history(histories, ax=None, smooth=0.8, key="loss", logy=False, title=None):
    """Training curves, one per run: the raw values faint, the smoothed ones on top.

    ``histories``: ``{run name: list of losses}`` or ``{run name: history dict}`` as returned by
    ``training.train`` (its ``"step"`` list becomes the x axis, ``key`` picks the curve).
    """
    if not histories:
        raise ValueError("histories is empty: expected {run name: list of losses}")
    ax = new_axes(ax, 6.0, 4.0)
    for name, hist in histories.items():
        steps = None
        if isinstance(hist, Mapping):
            if key not in hist:
                raise ValueError(f"history {name!r} has no {key!r} entry (keys: {sorted(hist)})")
            steps, hist = hist.get("step"), hist[key]
        y = as_array(hist, f"history {name!r}", 1)
        x = np.asarray(steps) if steps is not None and len(steps) == len(y) else np.arange(len(y))
        line = ax.plot(x, y, alpha=0.25 if smooth else 1.0, lw=1)[0]
        if smooth:
            ax.plot(x, smooth_curve(y, smooth), color=line.get_color(), lw=2, label=name)
        else:
            line.set_label(name)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(key if smooth == 0 else f"{key} (smoothed {smooth:g})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax


def plot_softmax_temperature(scores, temperatures, ax=None, labels=None, title=None):
    """Grouped bars of softmax(scores / T) for several T: low T sharpens, high T flattens."""
    s = as_array(scores, "scores (src_len,)", 1)
    temps = [float(t) for t in temperatures]
    if not temps:
        raise ValueError("temperatures is empty: give at least one positive temperature")
    labels = list(range(len(s))) if labels is None else labels
    _check_len(labels, len(s), "labels", "length (src_len)")
    ax = new_axes(ax, 2.5 + 0.25 * len(s) * max(2, len(temps)), 3.5)
    width = 0.8 / len(temps)
    cmap = plt.get_cmap("coolwarm")
    row = torch.as_tensor(s, dtype=torch.float64)[None]  # (1, src_len)
    for i, t in enumerate(temps):
        w = masked_softmax(row, temperature=t)[0].numpy()
        shade = cmap(i / max(1, len(temps) - 1))
        x = np.arange(len(s)) - 0.4 + width * (i + 0.5)
        ax.bar(x, w, width=width, color=shade, edgecolor="black", lw=0.4, label=f"T = {t:g}")
    _set_token_ticks(ax, "x", labels)
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("source position")
    ax.set_ylabel("softmax weight")
    ax.legend(fontsize="small", title="temperature")
    if title:
        ax.set_title(title)
    return ax


__all__ = [
    "as_array",
    "display_token",
    "new_axes",
    "plot_accuracy_by_length",
    "plot_attention",
    "plot_context_2d",
    "plot_history",
    "plot_softmax_temperature",
    "plot_weights_bar",
    "smooth_curve",
]
