"""Interactive explorers for the notebooks: temperature, decoder steps, and a live G2P model.

Each function takes data already computed in the notebook (or a ``predict_fn``), draws the
initial state at once, and returns the widget without displaying it. Pictures are rendered to PNG
on figures that pyplot never sees (so no figure piles up) and stored in the ``Output`` widget's
``outputs``; a notebook saved with its widget state therefore still shows the initial picture
and text without a kernel. Every root and inner widget carries a CSS class (see ``CLASSES``) so
browser tests can find it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import ipywidgets as W
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from course_lib.attention import masked_softmax
from course_lib.plots import (
    BAR_COLOR,
    OUTLINE_STYLE,
    as_array,
    display_token,
    plot_attention,
    plot_weights_bar,
)
from course_lib.static_views import (
    ExplorerBox,
    decoder_step_frames,
    frame_temperatures,
    g2p_word_frames,
    img_html,
    png_base64,
    temperature_frames,
)

CLASSES = {
    "temperature_explorer": {
        "root": "temperature-explorer",
        "slider": "temperature-explorer-slider",
        "output": "temperature-explorer-output",
    },
    "decoder_step_explorer": {
        "root": "decoder-step-explorer",
        "slider": "decoder-step-explorer-slider",
        "output": "decoder-step-explorer-output",
    },
    "g2p_explorer": {
        "root": "g2p-explorer",
        "text": "g2p-explorer-text",
        "output": "g2p-explorer-output",
    },
}
# What each explorer's static view (the picture shown without a kernel) shows, in words.
STATIC_ALTS = {
    "temperature-explorer": "The temperature explorer without a kernel: the weights as bar charts "
    "at several temperatures, each with its entropy. Run the notebook to use the slider.",
    "decoder-step-explorer": "The decoder-step explorer without a kernel: one row per decoding "
    "step, with that step's weights as bars over the source tokens and what it emitted. Run the "
    "notebook to use the slider.",
    "g2p-explorer": "The type-a-word box without a kernel: letter-to-phoneme attention maps of a "
    "few words, stacked. Run the notebook to type words of your own.",
    "head-explorer": "The head explorer without a kernel: one cross-attention heat map per layer "
    "and head. Run the notebook to use the sliders.",
}
WORD = re.compile(r"^[A-Za-z']+$")
MAX_WORD_LEN = 40


def figure_output(fig: Figure, alt: str) -> dict:
    """A display_data output holding ``fig`` as PNG, described by ``alt`` for screen readers.

    JupyterLab draws an ``image/png`` as an <img> without alt text (axe: image-alt, critical), so
    the bundle also holds an HTML <img> with ``alt``, which a widget's Output (trusted) prefers.
    Front ends that show no HTML fall back to the PNG, and then to ``alt`` as plain text.
    """
    png = png_base64(fig)
    return {
        "output_type": "display_data",
        "data": {"text/html": img_html(png, alt), "image/png": png, "text/plain": alt},
        "metadata": {},
    }


def text_output(text: str) -> dict:
    """A stdout stream output, the way ``print`` would show ``text``."""
    return {"output_type": "stream", "name": "stdout", "text": text.rstrip("\n") + "\n"}


def _render(out: W.Output, draw: Callable[[], list[dict]]) -> None:
    """Replace the outputs in one assignment (no flicker); a failure becomes a readable line."""
    try:
        outputs = draw()
    except Exception as err:  # noqa: BLE001 - the learner must see the problem, not a dead widget
        outputs = [text_output(f"Could not draw this view: {type(err).__name__}: {err}")]
    out.outputs = tuple(outputs)


def _styled(widget: W.DOMWidget, root: str, part: str) -> W.DOMWidget:
    widget.add_class(f"{root}-{part}")
    return widget


def _new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(min(width, 14.0), min(height, 10.0)), layout="constrained")


def entropy(weights: np.ndarray) -> float:
    """Shannon entropy in nats, with 0 log 0 = 0."""
    p = weights[weights > 0]
    return float(-(p * np.log(p)).sum())


TEMPERATURE_STEP = 0.05


def temperature_explorer(scores, src_tokens, temperatures=(0.1, 5.0), mask=None) -> W.VBox:
    """Slider over the softmax temperature showing how the attention weights sharpen or flatten.

    ``scores``: ``(src_len,)`` raw scores; ``mask``: optional bool ``(src_len,)``, True = keep.
    """
    s = as_array(scores, "scores (src_len,)", 1)
    if len(src_tokens) != len(s):
        raise ValueError(
            f"src_tokens: expected {len(s)} tokens (one per score), got {len(src_tokens)}"
        )
    if len(temperatures) != 2:
        raise ValueError(f"temperatures must be a (low, high) pair, got {temperatures!r}")
    lo, hi = (float(t) for t in temperatures)
    if not 0 < lo < hi < math.inf:
        raise ValueError(
            f"temperatures must be (low, high) with 0 < low < high, got {temperatures}"
        )
    row = torch.as_tensor(s, dtype=torch.float64)[None]  # (1, src_len)
    keep = None
    if mask is not None:
        keep = torch.as_tensor(np.asarray(mask, dtype=bool))[None]  # (1, src_len)
        if keep.shape != row.shape:
            raise ValueError(f"mask must have shape ({len(s)},), got {tuple(keep.shape[1:])}")
    root = "temperature-explorer"
    # 0.05 per arrow key (0.01 needed 90 presses from 1 to 2); the label's own width, not the
    # default that cut it to "temperat..."; the readout's format is the one the title shows.
    step = min(TEMPERATURE_STEP, (hi - lo) / 20)
    # The track starts at 0, not at `low`: the browser's slider (noUiSlider) tells screen readers
    # the value it computes, min + k * step through a percentage, and from a min of 0.1 that is
    # 1.0500000000000003; from 0 it is k * step, "1.05". Values under `low` are held at `low`.
    slider = W.FloatSlider(value=min(max(1.0, lo), hi), min=0.0, max=hi, step=step,
                           description="temperature", readout=True, readout_format=".2f",
                           style={"description_width": "initial"},
                           continuous_update=False)  # fmt: skip

    def hold_at_low(change) -> None:
        if change["new"] < lo:
            slider.value = lo

    slider.observe(hold_at_low, names="value")
    out = _styled(W.Output(), root, "output")

    def draw() -> list[dict]:
        t = max(float(slider.value), lo)
        w = masked_softmax(row, mask=keep, temperature=t)[0].numpy()
        valid = int(keep.sum()) if keep is not None else len(w)
        top = int(np.argmax(w))
        fig = _new_figure(2.5 + 0.45 * len(w), 3.2)
        plot_weights_bar(
            w,
            src_tokens,
            ax=fig.add_subplot(),
            title=f"softmax(scores / T), T = {t:.2f}",
            mask=None if keep is None else keep[0].numpy(),
        )
        pairs = ", ".join(
            f"{display_token(tok)}: {wi:.3f}" for tok, wi in zip(src_tokens, w, strict=True)
        )
        text = (
            f"T = {t:.2f} | weights: {pairs}\n"
            f"entropy = {entropy(w):.3f} nats (uniform: {math.log(max(valid, 1)):.3f}) | "
            f"max weight = {w[top]:.3f} on {str(src_tokens[top])!r}"
        )
        alt = (
            f"Bar chart of the attention weights at temperature {t:.2f}: the largest, "
            f"{w[top]:.3f}, is on {str(src_tokens[top])!r}."
        )
        return [text_output(text), figure_output(fig, alt)]

    def static_view() -> str:
        frames = temperature_frames(
            lambda t: masked_softmax(row, mask=keep, temperature=t)[0].numpy(),
            src_tokens,
            frame_temperatures(lo, hi),
            mask=None if keep is None else keep[0].numpy(),
            entropy=entropy,
        )
        return png_base64(frames)

    slider.observe(lambda _: _render(out, draw), names="value")
    _render(out, draw)
    box = ExplorerBox([_styled(slider, root, "slider"), out], static_view=static_view,
                      static_alt=STATIC_ALTS[root])  # fmt: skip
    box.add_class(root)
    return box


def _check_per_step(name: str, value, n: int) -> None:
    if value is not None and len(value) != n:
        raise ValueError(f"{name}: expected one entry per decoder step ({n}), got {len(value)}")


def decoder_step_explorer(
    src_tokens, out_tokens, weights, *, topk=None, queries=None, nearest=None, title=None
) -> W.VBox:
    """Step through decoding: where step t looked, what it emitted, and what it nearly emitted.

    ``weights``: ``(out_len, src_len)``. Optional, one entry per step: ``topk`` lists of
    ``(token, prob)``; ``queries`` an ``(out_len, d)`` array of decoder queries; ``nearest`` lists
    of ``(src_index, token, distance)`` from the context vector to the source states.
    """
    w = as_array(weights, "weights (out_len, src_len)", 2)
    if len(src_tokens) != w.shape[1] or len(out_tokens) != w.shape[0]:
        raise ValueError(
            f"weights have shape {tuple(w.shape)} but there are {len(out_tokens)} output and "
            f"{len(src_tokens)} source tokens (expected (out_len, src_len))"
        )
    if w.shape[0] == 0:
        raise ValueError("out_tokens is empty: nothing was decoded")
    for name, value in (("topk", topk), ("nearest", nearest)):
        _check_per_step(name, value, w.shape[0])
    q = None if queries is None else as_array(queries, "queries (out_len, d)", 2)
    _check_per_step("queries", q, w.shape[0])
    root = "decoder-step-explorer"
    slider = W.IntSlider(value=0, min=0, max=w.shape[0] - 1, description="step t",
                         continuous_update=False)  # fmt: skip
    out = _styled(W.Output(), root, "output")

    def draw() -> list[dict]:
        t = int(slider.value)
        top = int(np.argmax(w[t]))
        lines = [
            f"step {t}: emitted {str(out_tokens[t])!r} — top source: "
            f"{str(src_tokens[top])!r} ({w[t, top]:.2f})"
        ]
        if q is not None:
            head = ", ".join(f"{v:+.2f}" for v in q[t, :4])
            more = ", …" if q.shape[1] > 4 else ""
            lines.append(f"query: norm {np.linalg.norm(q[t]):.3f}, first values [{head}{more}]")
        if topk is not None:
            cands = ", ".join(f"{str(tok)!r} {probability_label(float(p))}" for tok, p in topk[t])
            lines.append(f"most likely next tokens: {cands}")
        if nearest is not None:
            near = ", ".join(f"{str(tok)!r} (#{i}, d={float(d):.2f})" for i, tok, d in nearest[t])
            lines.append(f"source states nearest to the context vector: {near}")
        alt = (
            f"Heat map of the attention weights of every output step over the source, with step "
            f"{t} outlined, and a bar chart of step {t}'s weights: the largest, {w[t, top]:.2f}, "
            f"is on {str(src_tokens[top])!r}"
            + (". A third panel shows the most likely next tokens." if topk is not None else ".")
        )
        return [text_output("\n".join(lines)), figure_output(_step_figure(t), alt)]

    def _step_figure(t: int) -> Figure:
        ncols = 3 if topk is not None else 2
        fig = _new_figure(3.0 + 0.5 * w.shape[1] + 3.0 * (ncols - 1), 1.8 + 0.3 * w.shape[0])
        axes = fig.subplots(1, ncols, width_ratios=[1.3, 1.0, 0.7][:ncols])
        # The weight-bar panel next to the colour bar names the quantity: one label, not two.
        plot_attention(w, src_tokens, out_tokens, ax=axes[0], title=title or "all steps",
                       colorbar_label=None)  # fmt: skip
        axes[0].add_patch(_row_outline(t, w.shape[1]))
        plot_weights_bar(w[t], src_tokens, ax=axes[1], title=f"step {t}: weights")
        if topk is not None:
            _plot_topk(axes[2], topk[t], t)
        return fig

    def static_view() -> str:
        frames = decoder_step_frames(
            w, src_tokens, out_tokens, topk=topk, nearest=nearest, title=title
        )
        return png_base64(frames)

    slider.observe(lambda _: _render(out, draw), names="value")
    _render(out, draw)
    box = ExplorerBox([_styled(slider, root, "slider"), out], static_view=static_view,
                      static_alt=STATIC_ALTS[root])  # fmt: skip
    box.add_class(root)
    return box


def _row_outline(t: int, src_len: int) -> Rectangle:
    return Rectangle((-0.5, t - 0.5), src_len, 1, fill=False, gid="current-step",
                     **OUTLINE_STYLE)  # fmt: skip


def probability_label(p: float) -> str:
    """Two decimals, or two significant digits below 0.01 (so 0.0003 does not read as 0.00)."""
    return f"{p:.2f}" if p >= 0.01 or p == 0 else f"{p:.1e}"


def _plot_topk(ax, pairs, t: int) -> None:
    """The candidates on a log axis: a confident model's runners-up (1e-4) stay visible."""
    tokens = [display_token(tok) for tok, _ in pairs][::-1]
    probs = np.array([float(p) for _, p in pairs][::-1])
    positive = probs[probs > 0]
    low = 10.0 ** np.floor(np.log10(min(positive.min(initial=1e-3), 1e-3)))
    low = max(low, 1e-9)
    bars = ax.barh(range(len(probs)), np.maximum(probs, low) - low, left=low, color=BAR_COLOR,
                   edgecolor="black", linewidth=0.5)  # fmt: skip
    for bar in bars:
        bar.set_gid("candidate")
    ax.bar_label(bars, labels=[probability_label(p) for p in probs], fontsize="x-small",
                 padding=2)  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlim(low, 8.0)  # room right of a bar at 1.0 for its number
    ax.set_xticks([10.0**k for k in range(round(np.log10(low)), 1)])  # no tick past 1
    ax.set_yticks(range(len(tokens)), tokens)
    ax.set_xlabel("probability (log scale)")
    ax.set_ylabel("candidate token")
    ax.set_title(f"step {t}: top {len(probs)} next tokens")


def _check_word(raw: str) -> str | None:
    """None when ``raw`` is usable, otherwise a message saying what to type instead."""
    word = raw.strip()
    if not word:
        return "Type a word (letters and apostrophes only), for example: attention"
    if not WORD.match(word):
        bad = sorted({c for c in word if not (c.isascii() and c.isalpha()) and c != "'"})
        shown = " ".join(repr(c) for c in bad)
        return f"{word!r} cannot be pronounced: use letters and apostrophes only (found {shown})"
    if len(word) > MAX_WORD_LEN:
        return f"{word[:20]!r}… is {len(word)} letters long: try a word of at most {MAX_WORD_LEN}"
    return None


G2P_STATIC_WORDS = ("knight", "phoneme", "queue")  # silent letters, "ph", a vowel run


def g2p_explorer(predict_fn, initial_word="attention", static_words=G2P_STATIC_WORDS) -> W.VBox:
    """Type a word, see the model's pronunciation and which letters each phoneme attended to.

    ``predict_fn(word) -> (phonemes, weights, letters)`` with ``weights`` ``(len(phonemes),
    len(letters))``; it receives the stripped, lower-cased word. The static view (a page without
    a kernel) shows ``initial_word`` and ``static_words``, as if each had been typed.
    """
    if not callable(predict_fn):
        raise TypeError(f"predict_fn must be callable, got {type(predict_fn).__name__}")
    root = "g2p-explorer"
    text = W.Text(value=initial_word, description="word", placeholder="type a word, then Enter",
                  continuous_update=False)  # fmt: skip
    out = _styled(W.Output(), root, "output")

    def draw() -> list[dict]:
        problem = _check_word(text.value)
        if problem:
            return [text_output(problem)]
        word = text.value.strip().lower()
        try:
            phonemes, weights, letters = predict_fn(word)
            phonemes, letters = [str(p) for p in phonemes], [str(c) for c in letters]
            w = as_array(weights, "weights", 2)
            if w.shape != (len(phonemes), len(letters)):
                raise ValueError(
                    f"weights have shape {tuple(w.shape)}, expected "
                    f"({len(phonemes)} phonemes, {len(letters)} letters)"
                )
        except Exception as err:  # noqa: BLE001 - shown to the learner instead of a traceback
            return [text_output(f"Could not pronounce {word!r}: {type(err).__name__}: {err}")]
        said = f"{word} → {' '.join(phonemes)}" if phonemes else f"{word} → (no phonemes predicted)"
        if not phonemes or not letters:
            return [text_output(said)]
        fig = _new_figure(2.8 + 0.4 * len(letters), 1.8 + 0.32 * max(len(phonemes), 1))
        plot_attention(
            w,
            letters,
            phonemes,
            ax=fig.add_subplot(),
            title=f"{word} → phonemes",
            src_label="letter",
            tgt_label="phoneme (output step)",
        )
        alt = (
            f"Heat map of which letters of {word!r} each predicted phoneme attended to, "
            f"{len(phonemes)} phonemes by {len(letters)} letters."
        )
        return [text_output(said), figure_output(fig, alt)]

    text.observe(lambda _: _render(out, draw), names="value")
    _render(out, draw)

    def static_view() -> str | None:
        pronounced = []
        words = dict.fromkeys(w.strip().lower() for w in [initial_word, *static_words])
        for word in (w for w in words if _check_word(w) is None):  # in order, once each
            phonemes, weights, letters = predict_fn(word)
            pronounced.append((word, [str(p) for p in phonemes], as_array(weights, "weights", 2),
                               [str(c) for c in letters]))  # fmt: skip
        return png_base64(g2p_word_frames(pronounced)) if pronounced else None

    box = ExplorerBox([_styled(text, root, "text"), out], static_view=static_view,
                      static_alt=STATIC_ALTS[root])  # fmt: skip
    box.add_class(root)
    return box


__all__ = [
    "CLASSES",
    "decoder_step_explorer",
    "entropy",
    "figure_output",
    "g2p_explorer",
    "temperature_explorer",
    "text_output",
]
