"""Static views: every explorer's display bundle carries a picture of all the states it can show."""

import base64
import io

import matplotlib.image as mpimg
import matplotlib.pyplot as plt
import numpy as np
import torch

from course_lib import static_views, widgets
from course_lib.head_explorer import head_explorer
from course_lib.static_views import ExplorerBox

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
SRC = ["a", "b", "c", "d", "e"]
OUT = ["x", "y", "z"]


def _picture(box) -> np.ndarray:
    """The static view of ``box`` as decoded pixels, after checking the rest of its bundle."""
    bundle = box._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle["text/plain"].startswith("ExplorerBox(")
    # the same picture as an <img> with alt text, which JupyterLab shows instead of the PNG
    alt = widgets.STATIC_ALTS[next(c for c in box._dom_classes if c in widgets.STATIC_ALTS)]
    assert bundle["text/html"] == static_views.img_html(bundle["image/png"], alt)
    assert 'alt="The ' in bundle["text/html"] and "without a kernel" in alt
    return mpimg.imread(io.BytesIO(base64.b64decode(bundle["image/png"])), format="png")


def _bar_heights(ax) -> list[float]:
    return [patch.get_height() for patch in ax.patches]


def test_frame_temperatures_keep_the_ends_and_the_round_values_between():
    assert static_views.frame_temperatures(0.1, 5.0) == [0.1, 0.5, 1.0, 2.0, 5.0]
    narrow = static_views.frame_temperatures(1.1, 1.9)
    assert narrow[0] == 1.1 and narrow[-1] == 1.9 and len(narrow) == 5
    assert narrow == sorted(narrow)


def test_temperature_frames_show_softmax_at_each_temperature():
    scores = torch.tensor([2.0, 1.0, 0.5, -1.0, 3.0])
    temps = [0.5, 1.0, 4.0]
    fig = static_views.temperature_frames(
        lambda t: torch.softmax(scores / t, -1).numpy(), SRC, temps, entropy=widgets.entropy
    )
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title().splitlines()[0] for ax in axes] == ["T = 0.50", "T = 1.00", "T = 4.00"]
    for ax, t in zip(axes, temps, strict=True):
        expected = torch.softmax(scores / t, -1).numpy()
        np.testing.assert_allclose(_bar_heights(ax), expected, rtol=1e-6)
        assert f"entropy {widgets.entropy(expected):.2f} nats" in ax.get_title()


def test_decoder_step_frames_have_one_row_per_step_and_mark_the_largest_weight():
    w = np.array([[0.1, 0.7, 0.2, 0.0, 0.0], [0.0, 0.0, 0.1, 0.1, 0.8], [0.5, 0.2, 0.1, 0.1, 0.1]])
    topk = [[("x", 0.9), ("y", 0.1)], [("y", 0.6), ("z", 0.4)], [("z", 0.995), ("x", 0.005)]]
    fig = static_views.decoder_step_frames(w, SRC, OUT, topk=topk, title="Luong")
    assert len(fig.axes) == len(OUT)
    for t, ax in enumerate(fig.axes):
        np.testing.assert_allclose(_bar_heights(ax), w[t])
        colors = [tuple(p.get_facecolor()) for p in ax.patches]
        orange = [i for i, c in enumerate(colors) if c == colors[int(np.argmax(w[t]))]]
        assert orange == [int(np.argmax(w[t]))]  # only the largest bar has its colour
        assert ax.get_ylabel() == f"t={t}  {OUT[t]}"
        notes = [text.get_text() for text in ax.texts]
        expected = ["next: x 0.90, y 0.10", "next: y 0.60, z 0.40", "next: z 0.99 (others < 0.01)"]
        assert notes == [expected[t]]
    assert fig._suptitle.get_text().startswith("Luong: ")


def test_head_grid_draws_every_layer_and_head():
    rng = np.random.default_rng(0)
    cross = rng.dirichlet(np.ones(len(SRC)), size=(2, 3, len(OUT)))  # (layers, heads, out, src)
    fig = static_views.head_grid(cross, SRC, OUT, title="demo")
    panels = [ax for ax in fig.axes if ax.images and ax.get_title()]
    pairs = [(layer, head) for head in range(3) for layer in range(2)]  # a row per head
    assert [ax.get_title() for ax in panels] == [f"layer {a}, head {b}" for a, b in pairs]
    for ax, (layer, head) in zip(panels, pairs, strict=True):
        np.testing.assert_allclose(ax.images[0].get_array(), cross[layer, head])


def test_every_explorer_carries_its_static_view():
    rng = np.random.default_rng(1)
    w = rng.dirichlet(np.ones(len(SRC)), size=len(OUT))
    made = {
        "temperature": widgets.temperature_explorer([2.0, 1.0, 0.5], ["p", "q", "r"]),
        "steps": widgets.decoder_step_explorer(SRC, OUT, w),
        "g2p": widgets.g2p_explorer(lambda word: (["K"], [[1.0]], ["k"]), "k"),
        "heads": head_explorer(SRC, OUT, rng.dirichlet(np.ones(5), size=(2, 2, 3))),
    }
    shapes = {name: _picture(box).shape for name, box in made.items()}
    for name, (height, width, _) in shapes.items():
        assert height > 50 and width > 50, f"{name}: a {height} x {width} picture"
        # at most as wide as a web page's text column, which then shows it unscaled
        assert width <= 100 * static_views.MAX_WIDTH, f"{name}: {width} pixels wide"
    assert shapes["steps"][0] > shapes["steps"][1] / 3  # one row per step


def _fake_g2p(word):
    """One phoneme per letter, each attending to its own letter."""
    return [c.upper() for c in word], np.eye(len(word)), list(word)


def test_the_g2p_static_view_pronounces_several_words_as_typed():
    calls = []
    box = widgets.g2p_explorer(
        lambda word: calls.append(word) or _fake_g2p(word),
        initial_word="Cat",
        static_words=("dog", " CAT ", "no way", "bird"),
    )
    out = next(c for c in box.children if "g2p-explorer-output" in c._dom_classes)
    calls.clear()
    out.outputs = ()  # a later word typed in the box does not change the static view
    picture = _picture(box)
    # each usable word once, lower-cased, in order; "no way" is not a word the box accepts
    assert calls == ["cat", "dog", "bird"]
    one_word = _picture(widgets.g2p_explorer(_fake_g2p, "cat", static_words=()))
    assert picture.shape[0] > 2 * one_word.shape[0]  # three maps stacked, not one


def test_g2p_word_frames_draw_one_map_per_word():
    pronounced = [(w, *_fake_g2p(w)) for w in ("cat", "queue")]
    fig = static_views.g2p_word_frames(pronounced)
    maps = [ax for ax in fig.axes if ax.images and ax.get_title()]
    assert [ax.get_title() for ax in maps] == ["cat → C A T", "queue → Q U E U E"]
    assert [ax.images[0].get_array().shape for ax in maps] == [(3, 3), (5, 5)]
    assert "pronunciation of 2 words" in fig.get_suptitle()


def test_a_failing_static_view_leaves_the_live_widget_intact():
    def broken():
        raise RuntimeError("no picture")

    box = ExplorerBox([], static_view=broken, static_alt="a picture")
    bundle = box._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and "image/png" not in bundle and "text/html" not in bundle


def test_static_views_leak_no_pyplot_figures():
    before = len(plt.get_fignums())
    box = widgets.decoder_step_explorer(SRC, OUT, np.full((3, 5), 0.2))
    box._repr_mimebundle_()
    assert len(plt.get_fignums()) == before
