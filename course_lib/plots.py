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
from matplotlib import patheffects
from matplotlib.colors import to_rgb
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.textpath import text_to_path

from course_lib.attention import masked_softmax

# Okabe & Ito's "Color Universal Design" palette: eight colours that stay distinct for the common
# colour-vision deficiencies (no red/green pair). Every colour in the course's figures comes from it.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
# Curves get a colour, a marker and a dash pattern each, so they differ in print and in grey too.
CURVE_COLORS = tuple(OKABE_ITO[c] for c in ("blue", "orange", "bluish green", "reddish purple",
                                            "vermillion", "sky blue", "black"))  # fmt: skip
CURVE_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
CURVE_DASHES = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)), (0, (1, 1)))
BAR_COLOR = OKABE_ITO["sky blue"]
PEAK_COLOR = OKABE_ITO["orange"]
MASKED_COLOR = "0.85"
CONTEXT_COLOR = OKABE_ITO["vermillion"]
STATE_COLOR = OKABE_ITO["blue"]
# Outlines drawn on viridis (dark purple to bright yellow): white with a black rim reads on both.
OUTLINE_STYLE = {"edgecolor": "white", "lw": 1.8,
                 "path_effects": [patheffects.withStroke(linewidth=4.0, foreground="black")]}  # fmt: skip


def curve_style(i: int) -> dict:
    """Colour, marker and dash pattern of the i-th curve of a figure (``ax.plot(..., **style)``)."""
    return {
        "color": CURVE_COLORS[i % len(CURVE_COLORS)],
        "marker": CURVE_MARKERS[i % len(CURVE_MARKERS)],
        "linestyle": CURVE_DASHES[i % len(CURVE_DASHES)],
    }


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


def text_width_pt(text: str, fontsize) -> float:
    """Width of ``text`` in points at ``fontsize`` (points or a name like "small"), no renderer."""
    prop = FontProperties(size=fontsize)
    width, _, _ = text_to_path.get_text_width_height_descent(text, prop, ismath=False)
    return float(width)


def labels_to_rotate(labels: Sequence[str], slot_pt: float, fontsize) -> list[bool]:
    """Which tick labels must stand up so that no two overlap, with ``slot_pt`` between ticks.

    A label turns only when, lying flat, it is wider than its slot less a small gap; labels that
    fit (a single letter, "␣") stay upright even if a long neighbour turns.
    """
    gap = 0.4 * FontProperties(size=fontsize).get_size_in_points()
    return [text_width_pt(label, fontsize) + gap > slot_pt for label in labels]


def _x_slot_pt(ax) -> float:
    """Distance in points between neighbouring integer x positions, from the Axes' current size."""
    width_in = ax.get_position().width * ax.figure.get_figwidth()
    lo, hi = ax.get_xlim()
    return 72.0 * width_in / max(abs(hi - lo), 1e-9)


def _set_token_ticks(ax, axis: str, tokens: Sequence) -> None:
    labels = [display_token(t) for t in tokens]
    if axis == "y":
        ax.set_yticks(range(len(labels)), labels)
        return
    ax.set_xticks(range(len(labels)), labels)
    fontsize = plt.rcParams["xtick.labelsize"]
    turn = labels_to_rotate([t.get_text() for t in ax.get_xticklabels()], _x_slot_pt(ax), fontsize)
    for label, up in zip(ax.get_xticklabels(), turn, strict=True):
        label.set_rotation(90 if up else 0)


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
    colorbar_label="attention weight",
):
    """Heatmap of who attends to what: one row per output token, one column per source token.

    ``weights`` is ``(tgt_len, src_len)``. ``gold`` (optional), one entry per output token: None,
    a source index, or a half-open ``(start, end)`` span of source positions; drawn as outlines.
    ``vmax=None`` scales the colours to the largest weight instead of 1; ``src_label`` and
    ``tgt_label`` name the axes (e.g. "letter" and "phoneme"); ``colorbar_label=None`` leaves
    the colour bar unnamed (when a panel beside it already says "attention weight").
    """
    w = as_array(weights, "weights (tgt_len, src_len)", 2)
    _check_len(src_tokens, w.shape[1], "src_tokens", "columns (src_len)")
    _check_len(tgt_tokens, w.shape[0], "tgt_tokens", "rows (tgt_len)")
    ax = new_axes(ax, 2.5 + 0.38 * w.shape[1], 1.6 + 0.34 * w.shape[0])
    top = float(w.max()) if vmax is None and w.size else (vmax or 1.0)
    image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=top, aspect="auto", interpolation="nearest")
    ax.figure.colorbar(image, ax=ax, label=colorbar_label or "", fraction=0.05, pad=0.02)
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
        rect = Rectangle((start - 0.5, row - 0.5), end - start, 1, fill=False, gid="gold",
                         **OUTLINE_STYLE)  # fmt: skip
        ax.add_patch(rect)
    handle = Patch(fill=False, label="gold alignment", **OUTLINE_STYLE)
    ax.legend(handles=[handle], loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False,
              fontsize="small", borderaxespad=0.1)  # fmt: skip


def largest(weights, keep=None, decimals: int = 2) -> np.ndarray:
    """Bool mask of the largest kept weights, ties included (equal when printed to ``decimals``).

    All False when every kept weight ties (e.g. uniform weights): no bar is special then.
    """
    w = np.asarray(weights, dtype=float)
    keep = np.ones(len(w), bool) if keep is None else np.asarray(keep, dtype=bool)
    if not keep.any():
        return np.zeros(len(w), bool)
    shown = np.round(w, decimals)
    top = keep & (shown == shown[keep].max())
    return top if top.sum() < keep.sum() else np.zeros(len(w), bool)


def plot_weights_bar(weights, src_tokens, ax=None, title=None, highlight=True, mask=None):
    """Bar per source token showing its attention weight at one decoder step.

    ``highlight`` colours the largest weight (every one of them on a tie, none when all are
    equal) and says so in a legend. ``mask`` (optional bool ``(src_len,)``, True = keep) greys
    out the masked positions.
    """
    w = as_array(weights, "weights (src_len,)", 1)
    _check_len(src_tokens, w.shape[0], "src_tokens", "length (src_len)")
    keep = np.ones(len(w), bool) if mask is None else np.asarray(mask, dtype=bool).reshape(-1)
    _check_len(keep, w.shape[0], "mask", "length (src_len)")
    ax = new_axes(ax, 2.0 + 0.4 * len(w), 3.0)
    peak = largest(w, keep) if highlight else np.zeros(len(w), bool)
    colors = np.where(peak, PEAK_COLOR, np.where(keep, BAR_COLOR, MASKED_COLOR)).tolist()
    bars = ax.bar(range(len(w)), w, color=colors, edgecolor="black", linewidth=0.5)
    for bar, p in zip(bars, peak, strict=True):
        bar.set_gid("largest" if p else "bar")
    if len(w) <= 20:
        labels = [f"{v:.2f}" if k else "masked" for v, k in zip(w, keep, strict=True)]
        ax.bar_label(bars, labels=labels, fontsize="x-small", padding=1)
    top = max(1.0, float(w.max(initial=0.0)))
    ax.set_ylim(0.0, top * (1.3 if peak.any() else 1.1))  # the top strip holds the legend
    if top == 1.0:
        ax.set_yticks(np.linspace(0.0, 1.0, 6))
    _set_token_ticks(ax, "x", src_tokens)
    for label, k in zip(ax.get_xticklabels(), keep, strict=True):
        if not k:
            label.set_color("0.55")
    if peak.any():
        name = "largest weight" if peak.sum() == 1 else f"largest weight ({peak.sum()}-way tie)"
        handle = Patch(facecolor=PEAK_COLOR, edgecolor="black", linewidth=0.5, label=name)
        ax.legend(handles=[handle], loc="upper left", fontsize="x-small", frameon=False,
                  borderaxespad=0.2, handlelength=1.2)  # fmt: skip
    ax.set_xlabel("source token")
    ax.set_ylabel("attention weight")
    if title:
        ax.set_title(title)
    return ax


def plot_context_2d(
    states_2d, weights, labels, ax=None, arrows=False, title=None, label_min=0.0, legend=True
):
    """Encoder states as points sized by their weight, and the context vector (their weighted sum).

    ``label_min`` names only the states whose weight is at least that (crowded maps stay
    readable); ``legend=False`` leaves the legend to the caller (one for a row of panels:
    ``fig.legend(*ax.get_legend_handles_labels())``).
    """
    s = as_array(states_2d, "states_2d (src_len, 2)", 2)
    w = as_array(weights, "weights (src_len,)", 1)
    if s.shape[1] != 2 or s.shape[0] != w.shape[0]:
        raise ValueError(f"states_2d must be ({w.shape[0]}, 2) to match weights, got {s.shape}")
    _check_len(labels, w.shape[0], "labels", "length (src_len)")
    context = w @ s  # (2,)
    ax = new_axes(ax, 5.0, 4.5)
    share = w / w.max() if w.size and w.max() > 0 else np.zeros_like(w)
    colors = np.zeros((len(w), 4))
    colors[:, :3] = to_rgb(STATE_COLOR)
    colors[:, 3] = 0.25 + 0.75 * share
    named = "" if label_min <= 0 else f", named if weight ≥ {label_min:g}"
    sizes = 40 + 400 * share  # marker areas in points²
    ax.scatter(s[:, 0], s[:, 1], s=sizes, c=colors, edgecolors="black", linewidths=0.5,
               label=f"encoder states (size = weight{named})", gid="states")  # fmt: skip
    middle = (s[:, 0].min() + s[:, 0].max()) / 2
    for (x, y), label, wi, area in zip(s, labels, w, sizes, strict=True):
        if wi < label_min:
            continue
        # Just outside the marker: above or below, away from the context star (often close by);
        # running toward the middle of the map, so it stays inside the axes.
        right, up = x <= middle, y >= context[1]
        gap = 0.75 * np.sqrt(area) / 2 + 2  # the marker's radius in points, less a little
        ax.annotate(f"{display_token(label)} ({wi:.2f})", (x, y),
                    xytext=(gap if right else -gap, gap if up else -gap), textcoords="offset points",
                    ha="left" if right else "right", va="bottom" if up else "top",
                    fontsize="small", gid="state-label",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.7})  # fmt: skip
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
    if legend:
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
    for i, (name, curve) in enumerate(results.items()):
        points = sorted((*_bucket_x(k), float(v)) for k, v in curve.items())
        ticks.update({x: label for x, label, _ in points})
        ax.plot([p[0] for p in points], [p[2] * scale for p in points], label=name,
                **curve_style(i))  # fmt: skip
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
    ``smooth``: the weight an exponential moving average keeps on the past (0 = raw only); the
    legend says so.
    """
    if not histories:
        raise ValueError("histories is empty: expected {run name: list of losses}")
    ax = new_axes(ax, 6.0, 4.0)
    for i, (name, hist) in enumerate(histories.items()):
        steps = None
        if isinstance(hist, Mapping):
            if key not in hist:
                raise ValueError(f"history {name!r} has no {key!r} entry (keys: {sorted(hist)})")
            steps, hist = hist.get("step"), hist[key]
        y = as_array(hist, f"history {name!r}", 1)
        x = np.asarray(steps) if steps is not None and len(steps) == len(y) else np.arange(len(y))
        style = curve_style(i)
        every = max(1, len(y) // 8)  # a few markers per curve, enough to tell the curves apart
        every = (i * every // len(histories), every)  # staggered, so curves do not hide them
        if smooth:
            ax.plot(x, y, color=style["color"], alpha=0.25, lw=1, gid="raw")
            ax.plot(x, smooth_curve(y, smooth), lw=2, label=name, markevery=every, **style)
        else:
            ax.plot(x, y, lw=1.5, label=name, markevery=every, **style)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(key)
    ax.grid(alpha=0.3)
    handles, _ = ax.get_legend_handles_labels()
    if smooth:
        handles += [
            Line2D([], [], color="0.4", alpha=0.35, lw=1, label=f"faint: {key} at each step"),
            Line2D([], [], color="0.4", lw=2, label=f"bold: smoothed, exponential moving average"
                   f"\n(new = {smooth:g} × previous + {1 - smooth:.2g} × this step)"),
        ]  # fmt: skip
    ax.legend(handles=handles, fontsize="small")
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
    cmap = plt.get_cmap("cividis")  # ordered like the temperatures, readable without hue
    row = torch.as_tensor(s, dtype=torch.float64)[None]  # (1, src_len)
    for i, t in enumerate(temps):
        w = masked_softmax(row, temperature=t)[0].numpy()
        shade = cmap(0.1 + 0.85 * i / max(1, len(temps) - 1))
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
    "CURVE_COLORS",
    "OKABE_ITO",
    "as_array",
    "curve_style",
    "display_token",
    "labels_to_rotate",
    "largest",
    "new_axes",
    "plot_accuracy_by_length",
    "plot_attention",
    "plot_context_2d",
    "plot_history",
    "plot_softmax_temperature",
    "plot_weights_bar",
    "smooth_curve",
    "text_width_pt",
]
