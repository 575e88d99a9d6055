"""Schematic diagrams of where attention sits in the Bahdanau and Luong decoders (lesson 05)."""

from __future__ import annotations

from matplotlib.colors import to_rgb
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from course_lib.plots import OKABE_ITO, new_axes


def tint(name: str, amount: float = 0.3) -> tuple[float, float, float]:
    """A light box fill: the Okabe-Ito colour ``name`` mixed with white (``amount`` of colour)."""
    return tuple(1 - amount * (1 - c) for c in to_rgb(OKABE_ITO[name]))


# Box fills, told apart with any colour vision (tests/test_figures_readable.py measures them).
ENCODER, DECODER, ATTENTION, TOKEN = (
    tint("sky blue", 0.5),
    tint("orange", 0.5),
    tint("bluish green", 0.5),
    tint("yellow", 0.3),
)
OUTPUT = (0.95, 0.95, 0.95)

# Schematic boxes: name -> ((x, y) centre, label, colour) on a 13 x 7 canvas; arrows by name.
_ARCH = {
    "bahdanau": {
        "boxes": {
            "enc": ((2.2, 0.8), r"encoder states $s_1 \ldots s_m$", ENCODER),
            "prev": ((6.5, 0.8), r"previous state $h_{t-1}$ (query)", DECODER),
            "score": ((2.2, 2.6), "scores $e_{t,k} = \\mathrm{score}(h_{t-1}, s_k)$\n"
                      r"$\mathrm{softmax} \to a_{t,k}$", ATTENTION),
            "ctx": ((2.2, 4.4), r"context $c_t = \sum_k a_{t,k} s_k$", ATTENTION),
            "tok": ((10.8, 4.4), r"previous token $y_{t-1}$", TOKEN),
            "rnn": ((6.5, 4.4), "RNN step $t$\n$h_t = f(h_{t-1}, [y_{t-1}; c_t])$", DECODER),
            "out": ((6.5, 6.2), r"prediction $p(y_t)$ from $h_t, c_t, y_{t-1}$", OUTPUT),
        },
        # The prediction reads all three it names: h_t, c_t and y_{t-1} (decoders.py, _predict).
        "arrows": [("enc", "score"), ("prev", "score"), ("score", "ctx"), ("ctx", "rnn"),
                   ("prev", "rnn"), ("tok", "rnn"), ("rnn", "out"), ("ctx", "out"),
                   ("tok", "out")],
        "title": "Bahdanau: attend with $h_{t-1}$, then run the RNN step",
    },
    "luong": {
        "boxes": {
            "enc": ((2.2, 0.8), r"encoder states $s_1 \ldots s_m$", ENCODER),
            "prev": ((6.5, 0.8), r"previous state $h_{t-1}$", DECODER),
            "tok": ((10.8, 0.8), r"previous token $y_{t-1}$", TOKEN),
            "rnn": ((6.5, 2.6), r"RNN step $t$ $\to$ $h_t$ (query)", DECODER),
            "score": ((2.2, 2.6), r"scores $e_{t,k} = \mathrm{score}(h_t, s_k)$" "\n"
                      r"$\mathrm{softmax} \to a_{t,k}$", ATTENTION),
            "ctx": ((2.2, 4.4), r"context $c_t = \sum_k a_{t,k} s_k$", ATTENTION),
            "att": ((6.5, 4.4), r"$\tilde h_t = \tanh(W_c [c_t; h_t])$", OUTPUT),
            "out": ((6.5, 6.2), r"prediction $p(y_t) = \mathrm{softmax}(W_o \tilde h_t)$",
                    OUTPUT),
        },
        "arrows": [("prev", "rnn"), ("tok", "rnn"), ("rnn", "score"), ("enc", "score"),
                   ("score", "ctx"), ("ctx", "att"), ("rnn", "att"), ("att", "out")],
        "title": "Luong: run the RNN step, then attend with $h_t$",
    },
}  # fmt: skip
_BOX_W, _BOX_H = 3.8, 1.0


def _draw_keys_and_values(ax, boxes) -> None:
    """The encoder states feed the scores (as keys) and, weighted, the context (as values)."""
    (_, (x, y_enc)), (_, (_, y_score)), (_, (_, y_ctx)) = (
        boxes[k] for k in ("enc", "score", "ctx")
    )
    ax.text(x + 0.12, (y_enc + y_score) / 2, "keys", fontsize=7.5, style="italic", va="center")
    left = x - _BOX_W / 2 - 0.08
    ax.add_patch(FancyArrowPatch((left, y_enc), (left, y_ctx), arrowstyle="-|>",
                                 mutation_scale=12, color="0.2", gid="values",
                                 connectionstyle="bar,fraction=-0.16"))  # fmt: skip
    ax.text(left - 0.5, (y_enc + y_ctx) / 2, "values", fontsize=7.5, style="italic",
            rotation=90, ha="center", va="center")  # fmt: skip


def draw_architecture(kind="bahdanau", ax=None, input_feeding=False):
    """Box-and-arrow sketch of one decoder step showing where attention sits (and which query).

    ``input_feeding=True`` (Luong only) adds the dashed path that feeds h~_t into the
    next step's RNN input.
    """
    if kind not in _ARCH:
        raise ValueError(f"kind must be one of {sorted(_ARCH)}, got {kind!r}")
    spec = _ARCH[kind]
    ax = new_axes(ax, 8.5, 4.8)
    boxes = {}
    for name, ((x, y), text, color) in spec["boxes"].items():
        box = FancyBboxPatch((x - _BOX_W / 2, y - _BOX_H / 2), _BOX_W, _BOX_H,
                             boxstyle="round,pad=0.05", facecolor=color, edgecolor="0.3",
                             gid=name)  # fmt: skip
        ax.add_patch(box)
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5)
        boxes[name] = (box, (x, y))
    for src, dst in spec["arrows"]:
        (pa, ca), (pb, cb) = boxes[src], boxes[dst]
        ax.add_patch(FancyArrowPatch(ca, cb, patchA=pa, patchB=pb, arrowstyle="-|>",
                                     mutation_scale=12, color="0.2"))  # fmt: skip
    _draw_keys_and_values(ax, boxes)
    if input_feeding:
        if kind != "luong":
            raise ValueError("input_feeding only exists in the Luong decoder (kind='luong')")
        (x, y_top), y_bottom = boxes["att"][1], boxes["rnn"][1][1]
        right = x + _BOX_W / 2 + 0.1
        ax.add_patch(FancyArrowPatch((right, y_top), (right, y_bottom), arrowstyle="-|>",
                                     mutation_scale=12, color="0.35", linestyle="--",
                                     connectionstyle="arc3,rad=-0.5", gid="input-feeding"))  # fmt: skip
        ax.text(right + 0.7, (y_top + y_bottom) / 2, "input feeding:\n"
                r"$\tilde h_t$ joins the input of step $t{+}1$", fontsize=7.5, color="0.3",
                va="center")  # fmt: skip
    ax.set_xlim(-1.0, 13)
    ax.set_ylim(0, 7)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(spec["title"], fontsize=10)
    return ax


# The general scheme of lesson 02: (x, y) centre, label, lesson that builds it; left to right.
_SCHEME = {
    "query": ((1.6, 3.0), "query $h_t$\n(decoder state)", None),
    "keys": ((1.6, 1.0), "keys $s_1 \\ldots s_m$\n(encoder states)", None),
    "scores": ((5.2, 2.0), "scores\n$e_{t,k} = \\mathrm{score}(h_t, s_k)$", "lesson 02"),
    "weights": ((8.8, 2.0), "weights\n$a_{t,k} = \\mathrm{softmax}_k(e_{t,k})$", "lesson 03"),
    "values": ((8.8, 4.2), "values $s_1 \\ldots s_m$\n(the same encoder states)", None),
    "output": ((12.4, 2.0), "output: context\n$c_t = \\sum_k a_{t,k}\\, s_k$", "lesson 04"),
}
_SCHEME_ARROWS = [("query", "scores"), ("keys", "scores"), ("scores", "weights"),
                  ("weights", "output"), ("values", "output")]  # fmt: skip


def draw_attention_scheme(ax=None):
    """The whole computation of one attention step, inputs -> scores -> weights -> output.

    Each box that a lesson builds is labelled with that lesson; lesson 05 puts the output into
    a decoder. The same three steps return in lesson 07 with separate keys and values.
    """
    ax = new_axes(ax, 10.0, 3.6)
    width, height = 3.1, 1.2
    boxes = {}
    for name, ((x, y), text, lesson) in _SCHEME.items():
        built = lesson is not None
        box = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                             boxstyle="round,pad=0.05", gid=name,
                             facecolor=OKABE_ITO["orange"] if built else OKABE_ITO["sky blue"], alpha=0.35,
                             edgecolor="0.25", linestyle="-" if built else "--")  # fmt: skip
        ax.add_patch(box)
        ax.text(x, y, text, ha="center", va="center", fontsize=9)
        if built:
            ax.text(x, y - height / 2 - 0.3, lesson, ha="center", va="top", fontsize=8.5,
                    style="italic", color="0.25")  # fmt: skip
        boxes[name] = (box, (x, y))
    for src, dst in _SCHEME_ARROWS:
        (pa, ca), (pb, cb) = boxes[src], boxes[dst]
        ax.add_patch(FancyArrowPatch(ca, cb, patchA=pa, patchB=pb, arrowstyle="-|>",
                                     mutation_scale=14, color="0.2"))  # fmt: skip
    ax.set_xlim(0, 14.2)
    ax.set_ylim(0, 5.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("One attention step: inputs → scores → weights → output", fontsize=11)
    return ax
