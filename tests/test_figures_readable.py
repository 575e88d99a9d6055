"""Figures a learner can read: colour-blind-safe colours, upright ticks, explained highlights.

The colour checks simulate the two common red-green deficiencies (protanopia, deuteranopia)
with the Viénot, Brettel & Mollon (1999) matrices in linear RGB and measure CIELAB distances.
"""

import itertools
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgb
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.text import Text

import course_lib
from course_lib import diagrams, head_explorer, plots, widgets

PROTAN = np.array([[0.11238, 0.88762, 0.0], [0.11238, 0.88762, 0.0], [0.00401, -0.00401, 1.0]])
DEUTAN = np.array([[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]])
SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
WHITE = np.array([0.95047, 1.0, 1.08883])
MIN_DELTA_E = 15.0  # tab:red vs tab:green measure 8 for a deuteranope, the Okabe-Ito curves >= 19


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def seen_as_lab(color, deficiency: np.ndarray) -> np.ndarray:
    """CIELAB of ``color`` as someone with ``deficiency`` (a linear-RGB matrix) sees it."""
    c = np.asarray(to_rgb(color))
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = SRGB_TO_XYZ @ np.clip(deficiency @ linear, 0, 1) / WHITE
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair(colors) -> float:
    """The smallest colour distance between two of ``colors``, over normal and both deficiencies."""
    return min(
        float(np.linalg.norm(seen_as_lab(a, m) - seen_as_lab(b, m)))
        for m in (np.eye(3), PROTAN, DEUTAN)
        for a, b in itertools.combinations(colors, 2)
    )


def test_the_simulation_catches_a_red_green_pair():
    assert closest_pair(["tab:red", "tab:green"]) < MIN_DELTA_E
    assert closest_pair(["tab:blue", "tab:orange", "tab:green"]) < MIN_DELTA_E  # the default cycle


@pytest.mark.parametrize(
    "colors",
    [
        plots.CURVE_COLORS,
        [plots.BAR_COLOR, plots.PEAK_COLOR, plots.MASKED_COLOR],
        [plots.STATE_COLOR, plots.CONTEXT_COLOR],
        [diagrams.ENCODER, diagrams.DECODER, diagrams.ATTENTION, diagrams.TOKEN, diagrams.OUTPUT],
    ],
    ids=["curves", "bars", "context", "diagram boxes"],
)
def test_colours_that_must_differ_stay_apart_for_colour_blind_readers(colors):
    assert closest_pair(colors) >= MIN_DELTA_E


def test_figure_modules_name_no_colour_outside_the_palette():
    root = Path(course_lib.__file__).parent
    for name in ("plots.py", "diagrams.py", "widgets.py", "head_explorer.py"):
        source = re.sub(r"OKABE_ITO = \{.*?\n\}", "", (root / name).read_text(), flags=re.S)
        assert not re.search(r"tab:\w+|\"#[0-9a-fA-F]{6}\"", source), (
            f"{name} names a colour directly: take it from plots.OKABE_ITO"
        )


def test_curves_differ_by_marker_and_dash_not_only_colour():
    results = {f"model {i}": {"1-5": 0.9 - 0.1 * i, "6-10": 0.5} for i in range(4)}
    ax = plots.plot_accuracy_by_length(results)
    lines = [line for line in ax.get_lines() if line.get_label().startswith("model")]
    assert len({line.get_marker() for line in lines}) == 4
    assert len({str(line.get_linestyle()) for line in lines}) == 4
    history = plots.plot_history({"a": [3.0, 2.0, 1.0] * 10, "b": [2.0, 1.5, 1.0] * 10})
    a, b = (line for line in history.get_lines() if line.get_label() in "ab")
    assert a.get_marker() != b.get_marker() and a.get_linestyle() != b.get_linestyle()


def test_loss_legend_says_what_smoothed_means():
    ax = plots.plot_history({"run": [3.0, 2.0, 1.0, 0.5]}, smooth=0.8)
    texts = " ".join(t.get_text() for t in ax.get_legend().get_texts())
    assert "exponential moving average" in texts and "0.8 × previous" in texts
    assert "faint" in texts and ax.get_ylabel() == "loss"
    raw_only = plots.plot_history({"run": [3.0, 2.0]}, smooth=0)
    assert "moving average" not in " ".join(t.get_text() for t in raw_only.get_legend().get_texts())


@pytest.mark.parametrize(
    ("labels", "slot_pt", "expected"),
    [
        (list("attention"), 20.0, [False] * 9),  # letters fit a 20 pt slot
        (["␣", "a", "␣"], 12.0, [False] * 3),  # the blank stays a blank, not a sideways "ʋ"
        (["<eos>", "a", "september"], 20.0, [True, False, True]),  # only the long ones turn
        (["<pad>", "cats"], 80.0, [False, False]),  # long labels, wide slots: flat
    ],
)
def test_labels_turn_only_when_they_would_overlap(labels, slot_pt, expected):
    assert plots.labels_to_rotate(labels, slot_pt, 10.0) == expected


def rotations(ax):
    return [label.get_rotation() for label in ax.get_xticklabels()]


def test_heatmap_ticks_stay_upright_for_letters_and_turn_for_crowded_words():
    w = np.full((2, 17), 1 / 17)
    ax = plots.plot_attention(w, list("13. Januar 1997  "), ["a", "b"])
    assert rotations(ax) == [0.0] * 17  # more than 12 letters used to turn them all
    assert "␣" in [t.get_text() for t in ax.get_xticklabels()]
    words = ["septembre", "<eos>", "novembre", "aujourd'hui"] * 5
    fig, ax = plt.subplots(figsize=(4, 3))
    plots.plot_attention(np.full((2, 20), 0.05), words, ["a", "b"], ax=ax)
    assert set(rotations(ax)) == {90.0}


def test_largest_weights_are_marked_with_ties_and_a_legend():
    assert plots.largest([0.1, 0.45, 0.45]).tolist() == [False, True, True]
    assert plots.largest([0.25] * 4).tolist() == [False] * 4  # all equal: nothing stands out
    assert plots.largest([0.5, 0.5, 0.0], keep=[True, True, False]).tolist() == [False] * 3
    assert plots.largest([0.2, 0.7, 0.9], keep=[True, True, False]).tolist() == [False, True, False]

    ax = plots.plot_weights_bar([0.05, 0.45, 0.45, 0.05], list("abcd"))
    assert [b.get_gid() for b in ax.patches] == ["bar", "largest", "largest", "bar"]
    assert ax.patches[1].get_facecolor() == ax.patches[2].get_facecolor()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["largest weight (2-way tie)"]
    uniform = plots.plot_weights_bar([0.25] * 4, list("abcd"))
    assert uniform.get_legend() is None
    assert len({b.get_facecolor() for b in uniform.patches}) == 1
    one = plots.plot_weights_bar([0.1, 0.8, 0.1], list("abc"))
    assert [t.get_text() for t in one.get_legend().get_texts()] == ["largest weight"]


def test_gold_boxes_are_white_with_a_dark_rim():
    ax = plots.plot_attention(np.eye(3), list("abc"), list("xyz"), gold=[0, 1, (1, 3)])
    boxes = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == "gold"]
    assert len(boxes) == 3
    for box in boxes:
        assert box.get_edgecolor()[:3] == (1.0, 1.0, 1.0)
        (stroke,) = box.get_path_effects()
        assert stroke._gc["foreground"] == "black"  # the rim that keeps white readable on yellow


def test_context_map_names_only_heavy_states_and_can_leave_the_legend_out():
    states = np.array([[0.0, 0.0], [0.1, 0.0], [3.0, 1.0], [0.0, 2.0]])
    ax = plots.plot_context_2d(states, [0.7, 0.02, 0.18, 0.1], list("abcd"), label_min=0.1,
                               legend=False)  # fmt: skip
    named = [t.get_text() for t in ax.texts if t.get_gid() == "state-label"]
    assert named == ["a (0.70)", "c (0.18)", "d (0.10)"]
    assert ax.get_legend() is None
    labels = ax.get_legend_handles_labels()[1]
    assert "encoder states (size = weight, named if weight ≥ 0.1)" in labels


def arrows_into(ax, gid):
    return [p for p in ax.patches if isinstance(p, FancyArrowPatch) and p.patchB is not None
            and p.patchB.get_gid() == gid]  # fmt: skip


@pytest.mark.parametrize("kind", ["bahdanau", "luong"])
def test_diagram_draws_the_values_path_from_encoder_states_to_the_context(kind):
    ax = diagrams.draw_architecture(kind)
    (values,) = [p for p in ax.patches if p.get_gid() == "values"]
    boxes = {p.get_gid(): p for p in ax.patches if p.get_gid() in ("enc", "ctx")}
    (x0, y0), (x1, y1) = values._posA_posB
    assert y0 == pytest.approx(boxes["enc"].get_y() + boxes["enc"].get_height() / 2)
    assert y1 == pytest.approx(boxes["ctx"].get_y() + boxes["ctx"].get_height() / 2)
    assert x0 == x1 < boxes["enc"].get_x()  # drawn outside, left of the score box
    assert {"keys", "values"} <= {t.get_text() for t in ax.texts}


def test_bahdanau_prediction_gets_an_arrow_from_each_input_it_names():
    ax = diagrams.draw_architecture("bahdanau")
    sources = sorted(p.patchA.get_gid() for p in arrows_into(ax, "out"))
    assert sources == ["ctx", "rnn", "tok"]  # h_t (from the RNN step), c_t, y_{t-1}


@pytest.fixture
def captured(monkeypatch):
    """The matplotlib Figures the widgets render, kept instead of only their PNG."""
    figures = []
    real = widgets.figure_output

    def keep(fig, alt):
        figures.append(fig)
        return real(fig, alt)

    monkeypatch.setattr(widgets, "figure_output", keep)
    monkeypatch.setattr(head_explorer, "figure_output", keep)
    return figures


def texts_of(fig):
    fig.canvas.draw()  # tick labels and bar labels exist once drawn
    return [t.get_text() for t in fig.findobj(Text) if t.get_visible() and t.get_text()]


def test_decoder_step_figure_names_attention_weight_once(captured):
    w = np.eye(3, 4) * 0.97 + 0.01
    widgets.decoder_step_explorer(list("abcd"), list("xyz"), w, topk=[[("x", 1.0)]] * 3)
    assert texts_of(captured[-1]).count("attention weight") == 1


def test_head_explorer_figure_names_attention_weight_once(captured):
    maps = np.full((1, 2, 3, 4), 0.25)
    head_explorer.head_explorer(list("abcd"), list("xyz"), maps)
    assert texts_of(captured[-1]).count("attention weight") == 1


def test_top_k_panel_prints_every_candidate_even_a_tiny_one(captured):
    topk = [[("x", 0.9996), ("y", 3e-4), ("z", 1e-4), ("w", 2e-6)]] * 2
    box = widgets.decoder_step_explorer(list("ab"), list("xy"), np.eye(2), topk=topk)
    (ax,) = [a for a in captured[-1].axes if a.get_title().endswith("next tokens")]
    bars = [p for p in ax.patches if p.get_gid() == "candidate"]
    assert len(bars) == 4
    assert ax.get_xscale() == "log" and ax.get_xlim()[0] <= 2e-6  # the smallest bar shows
    shown = [t.get_text() for t in ax.texts]
    assert shown == ["2.0e-06", "1.0e-04", "3.0e-04", "1.00"]  # bottom to top
    text = "".join(o["text"] for o in box.children[1].outputs if o["output_type"] == "stream")
    assert "'x' 1.00, 'y' 3.0e-04, 'z' 1.0e-04, 'w' 2.0e-06" in text  # the text line agrees


def test_probability_labels_never_round_a_candidate_to_zero():
    assert widgets.probability_label(0.9996) == "1.00"
    assert widgets.probability_label(0.25) == "0.25"
    assert widgets.probability_label(0.0004) == "4.0e-04"
    assert widgets.probability_label(0.0) == "0.00"
