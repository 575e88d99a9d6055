"""A widget for lesson 07: pick a decoder layer, a head and a decoder step of a Transformer's
cross-attention. Same pattern as ``course_lib.widgets``: drawn at once, PNG stored in the Output
widget, so a notebook saved with its widget state shows the first view without a kernel.
"""

from __future__ import annotations

import ipywidgets as W
import numpy as np

from course_lib.plots import plot_attention, plot_weights_bar
from course_lib.static_views import ExplorerBox, head_grid, png_base64
from course_lib.widgets import (
    STATIC_ALTS,
    _new_figure,
    _render,
    _row_outline,
    _styled,
    figure_output,
    text_output,
)

ROOT = "head-explorer"
CLASSES = {
    "root": ROOT,
    "layer": f"{ROOT}-layer",
    "head": f"{ROOT}-head",
    "step": f"{ROOT}-step",
    "output": f"{ROOT}-output",
}


def head_explorer(src_tokens, out_tokens, cross, title: str = "") -> W.VBox:
    """Sliders for layer, head and step over ``cross (layers, heads, out_len, src_len)``."""
    w = np.asarray(cross, dtype=float)
    if w.ndim != 4 or w.shape[2:] != (len(out_tokens), len(src_tokens)):
        raise ValueError(
            f"cross must be (layers, heads, out_len={len(out_tokens)}, src_len={len(src_tokens)}),"
            f" got shape {w.shape}"
        )
    sliders = {
        name: W.IntSlider(value=0, min=0, max=n - 1, description=name, continuous_update=False)
        for name, n in (("layer", w.shape[0]), ("head", w.shape[1]), ("step", w.shape[2]))
    }
    out = _styled(W.Output(), ROOT, "output")

    def draw() -> list[dict]:
        layer, head, t = (int(s.value) for s in sliders.values())
        row = w[layer, head, t]
        top = int(np.argmax(row))
        text = (
            f"layer {layer}, head {head}, step {t} (output {str(out_tokens[t])!r}): most attended "
            f"source {str(src_tokens[top])!r} ({row[top]:.2f})"
        )
        fig = _new_figure(6.0 + 0.8 * w.shape[3], 2.0 + 0.3 * w.shape[2])
        axes = fig.subplots(1, 2, width_ratios=[1.3, 1.0])
        name = f"{title}: " if title else ""
        plot_attention(w[layer, head], src_tokens, out_tokens, ax=axes[0],
                       title=f"{name}layer {layer}, head {head}", colorbar_label=None)  # fmt: skip
        axes[0].add_patch(_row_outline(t, w.shape[3]))
        plot_weights_bar(row, src_tokens, ax=axes[1], title=f"step {t}: weights")
        alt = (
            f"Heat map of layer {layer}, head {head}'s cross-attention, with step {t} outlined, "
            f"and a bar chart of step {t}'s weights: the largest, {row[top]:.2f}, is on "
            f"{str(src_tokens[top])!r}."
        )
        return [text_output(text), figure_output(fig, alt)]

    for slider in sliders.values():
        slider.observe(lambda _: _render(out, draw), names="value")
    _render(out, draw)
    box = ExplorerBox(
        [*(_styled(s, ROOT, name) for name, s in sliders.items()), out],
        static_view=lambda: png_base64(head_grid(w, src_tokens, out_tokens, title)),
        static_alt=STATIC_ALTS[ROOT],
    )
    box.add_class(ROOT)
    return box
