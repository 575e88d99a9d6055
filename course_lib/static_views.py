"""Static views of the explorers: every state a widget can show, in one picture.

A widget needs a running kernel. Where there is none (the course website, a notebook opened
untrusted, a code host's preview) the explorers still show something: their root box,
:class:`ExplorerBox`, adds the picture to its display bundle next to the live widget view, as
``image/png`` and as an HTML ``<img>`` with alt text (JupyterLab prefers the HTML, and draws an
``image/png`` without any alt). JupyterLab with a kernel shows the widget; anything that cannot
shows the picture. The explorers' cells are nbval-ignore-output (a widget's repr changes from run
to run); tests/test_notebook_hygiene.py checks that the stored pictures carry the current alt text.

The pictures are small multiples, the usual static stand-in for a slider: one panel per
temperature, per decoder step, or per layer and head.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Callable, Sequence

import ipywidgets as W
import numpy as np
from matplotlib.figure import Figure

from course_lib.plots import (
    BAR_COLOR,
    PEAK_COLOR,
    display_token,
    largest,
    plot_attention,
    plot_weights_bar,
)

NOTE = "static view: the live widget needs a running kernel"
# Pictures at most this wide (inches; 100 dpi) so that a web page's text column, about 750
# pixels, shows their labels at a readable size; they grow downwards instead.
MAX_WIDTH = 8.0


def png_base64(fig: Figure) -> str:
    """``fig`` as a base64 PNG, the form a display bundle's ``image/png`` takes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=fig.dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def img_html(png: str, alt: str) -> str:
    """An HTML <img> of a base64 PNG with ``alt`` text, for front ends that draw an ``image/png``
    without any (JupyterLab 4.6: axe's image-alt, critical)."""
    return f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt, quote=True)}">'


class ExplorerBox(W.VBox):
    """The root box of an explorer: the live widget in JupyterLab, a picture everywhere else.

    ``static_view()`` returns the picture as a base64 PNG, or None; it is called once, when the
    box is first displayed. A failure there never breaks the live widget: the picture is left out.
    ``static_alt`` says in words what the picture shows.
    """

    def __init__(
        self, children=(), *, static_view: Callable[[], str | None], static_alt: str, **kwargs
    ):
        super().__init__(children, **kwargs)
        self._static_view = static_view
        self._static_alt = static_alt
        self._static_png: str | None = None

    def static_png(self) -> str | None:
        if self._static_png is None:
            try:
                self._static_png = self._static_view()
            except Exception:  # noqa: BLE001 - the live widget must still show
                self._static_png = None
        return self._static_png

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        png = self.static_png()
        if bundle is not None and png is not None:
            bundle["image/png"] = png
            bundle["text/html"] = img_html(png, self._static_alt)
        return bundle


def _figure(width: float, height: float) -> Figure:
    return Figure(figsize=(min(width, MAX_WIDTH), min(height, 16.0)), layout="constrained")


def frame_temperatures(low: float, high: float) -> list[float]:
    """Five or so temperatures from ``low`` to ``high``: the ends and the round ones between."""
    inside = [t for t in (0.5, 1.0, 2.0) if low < t < high]
    if len(inside) < 2:
        inside = [float(t) for t in np.geomspace(low, high, 5)[1:-1]]
    return [low, *inside, high]


def temperature_frames(
    weights_at: Callable[[float], np.ndarray],
    src_tokens: Sequence,
    temperatures: Sequence[float],
    mask=None,
    entropy: Callable[[np.ndarray], float] | None = None,
) -> Figure:
    """One bar chart of the weights per temperature, in rows of as many as fit side by side."""
    n = len(temperatures)
    panel = 1.0 + 0.35 * len(src_tokens)
    cols = max(1, min(n, int(MAX_WIDTH // panel)))
    rows = -(-n // cols)
    fig = _figure(cols * panel, 0.4 + 3.0 * rows)
    grid = fig.subplots(rows, cols, sharey=True, squeeze=False)
    axes = list(grid.flat[:n])
    for spare in grid.flat[n:]:
        spare.set_visible(False)
    for ax, t in zip(axes, temperatures, strict=True):
        w = np.asarray(weights_at(t), dtype=float)
        title = f"T = {t:.2f}"
        if entropy is not None:
            title += f"\nentropy {entropy(w):.2f} nats"
        plot_weights_bar(w, src_tokens, ax=ax, title=title, mask=mask)
        if ax not in grid[:, 0]:
            ax.set_ylabel("")
    fig.suptitle(f"softmax(scores / T) at {n} temperatures\n({NOTE})", fontsize="medium")
    return fig


def decoder_step_frames(
    weights, src_tokens, out_tokens, *, topk=None, nearest=None, title=None
) -> Figure:
    """One row per decoder step: where it looked (bars over the source) and what it emitted.

    The tallest bar of each step is orange (every one of them on a tie; none for equal weights). ``topk`` (the next-token candidates) or ``nearest``
    (the source states nearest to the context vector), one entry per step, are written at the
    right of their row, as the explorer prints them.
    """
    w = np.asarray(weights, dtype=float)  # (out_len, src_len)
    out_len, src_len = w.shape
    notes = None
    if topk is not None:
        notes = [_candidates(step) for step in topk]
    elif nearest is not None:
        notes = [
            "context nearest: " + ", ".join(f"{display_token(tok)} (#{i})" for i, tok, _ in step)
            for step in nearest
        ]
    width = 1.5 + 0.3 * src_len + (3.3 if notes else 0.0)
    fig = _figure(width, 1.2 + 0.5 * out_len)
    axes = fig.subplots(out_len, 1, sharex=True, squeeze=False)[:, 0]
    x = np.arange(src_len)
    for t, ax in enumerate(axes):
        colors = np.where(largest(w[t]), PEAK_COLOR, BAR_COLOR).tolist()  # every peak on a tie
        ax.bar(x, w[t], color=colors, edgecolor="black", linewidth=0.3, width=0.8)
        ax.set_ylim(0, 1.05)
        ax.set_yticks([])
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
        label = f"t={t}  {display_token(out_tokens[t])}"
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize="small")
        if notes:
            ax.text(1.02, 0.5, notes[t], transform=ax.transAxes, va="center", fontsize="small")
    axes[-1].set_xticks(x, [display_token(tok) for tok in src_tokens])
    axes[-1].set_xlabel("source token (orange: the largest weight of the step, ties included)")
    head = f"{title}: " if title else ""
    fig.suptitle(f"{head}attention weights at every decoder step\n({NOTE})", fontsize="medium")
    return fig


def _candidates(step, floor: float = 0.01) -> str:
    """The next-token candidates of one step worth reading: the first, then any of ``floor`` or more."""
    shown = [pair for i, pair in enumerate(step) if i == 0 or float(pair[1]) >= floor]
    text = "next: " + ", ".join(f"{display_token(tok)} {float(p):.2f}" for tok, p in shown)
    return text + (f" (others < {floor})" if len(shown) < len(step) else "")


def head_grid(cross, src_tokens, out_tokens, title: str = "") -> Figure:
    """One heatmap per layer and head of ``cross (layers, heads, out_len, src_len)``: a column
    per layer, a row per head (a model has more heads than layers, and pages grow downwards)."""
    w = np.asarray(cross, dtype=float)
    layers, heads, out_len, src_len = w.shape
    fig = _figure(1.5 + layers * (1.0 + 0.26 * src_len), 1.0 + heads * (0.8 + 0.2 * out_len))
    axes = fig.subplots(heads, layers, squeeze=False)
    image = None
    for layer in range(layers):
        for head in range(heads):
            ax = axes[head, layer]
            image = ax.imshow(w[layer, head], cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto",
                              interpolation="nearest")  # fmt: skip
            ax.set_title(f"layer {layer}, head {head}", fontsize="medium")
            ax.set_xticks(range(src_len), [display_token(t) for t in src_tokens])
            ax.set_yticks(range(out_len), [display_token(t) for t in out_tokens])
            ax.tick_params(labelleft=layer == 0, labelbottom=head == heads - 1)
    for ax in axes[:, 0]:
        ax.set_ylabel("output token")
    for ax in axes[-1]:
        ax.set_xlabel("source token")
    fig.colorbar(image, ax=axes, label="attention weight", fraction=0.02, pad=0.01, shrink=0.8)
    head = f"{title}: " if title else ""
    fig.suptitle(f"{head}cross-attention of every layer and head\n({NOTE})", fontsize="medium")
    return fig


def g2p_word_frames(pronounced) -> Figure:
    """One attention map per word, stacked: what the type-a-word box shows for each of them.

    ``pronounced``: ``(word, phonemes, weights (len(phonemes), len(letters)), letters)`` tuples.
    """
    if not pronounced:
        raise ValueError("pronounced: expected at least one (word, phonemes, weights, letters)")
    longest = max(len(letters) for *_, letters in pronounced)
    heights = [0.9 + 0.24 * max(len(phonemes), 1) for _, phonemes, _, _ in pronounced]
    fig = _figure(2.6 + 0.4 * longest, 0.6 + sum(heights))
    axes = fig.subplots(len(pronounced), 1, squeeze=False, height_ratios=heights)[:, 0]
    for ax, (word, phonemes, weights, letters) in zip(axes, pronounced, strict=True):
        said = " ".join(phonemes) if phonemes else "(no phonemes)"
        plot_attention(weights, letters, phonemes, ax=ax, title=f"{word} → {said}",
                       src_label="letter", tgt_label="phoneme", colorbar_label=None)  # fmt: skip
    n = len(pronounced)
    fig.suptitle(f"the model's pronunciation of {n} words, and where each phoneme looked\n({NOTE})",
                 fontsize="medium")  # fmt: skip
    return fig


__all__ = [
    "NOTE",
    "ExplorerBox",
    "decoder_step_frames",
    "frame_temperatures",
    "g2p_word_frames",
    "head_grid",
    "img_html",
    "png_base64",
    "temperature_frames",
]
