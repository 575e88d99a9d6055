"""The course figures show the data they are given, with readable labels and no leaked figures."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.collections import PathCollection
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle

from course_lib import diagrams, plots

SRC = ["le", "chat", " ", "noir", "<eos>"]  # src_len 5, one blank to check it stays visible
TGT = ["the", "black", "cat"]  # tgt_len 3


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture
def weights():
    gen = torch.Generator().manual_seed(0)
    return torch.softmax(torch.randn(3, 5, generator=gen), dim=-1)  # (tgt_len, src_len)


def tick_texts(labels):
    return [t.get_text() for t in labels]


def test_plot_attention_shows_the_weights_with_token_ticks(weights):
    ax = plots.plot_attention(weights, SRC, TGT, title="toy")
    np.testing.assert_allclose(np.asarray(ax.images[0].get_array()), weights.numpy(), atol=1e-7)
    assert tick_texts(ax.get_xticklabels()) == ["le", "chat", "␣", "noir", "<eos>"]
    assert tick_texts(ax.get_yticklabels()) == TGT
    assert ax.get_xlabel() and ax.get_ylabel() and ax.get_title() == "toy"
    assert len(ax.figure.axes) == 2  # the heatmap and its colourbar
    assert ax.figure.axes[1].get_ylabel() == "attention weight"


def test_plot_attention_accepts_a_batch_of_one_and_an_existing_axes(weights):
    fig, ax = plt.subplots()
    assert plots.plot_attention(weights[None], SRC, TGT, ax=ax) is ax
    assert np.asarray(ax.images[0].get_array()).shape == (3, 5)


def test_plot_attention_outlines_the_gold_spans(weights):
    ax = plots.plot_attention(weights, SRC, TGT, gold=[(0, 1), None, (1, 4)])
    boxes = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == "gold"]
    got = sorted((b.get_x(), b.get_y(), b.get_width(), b.get_height()) for b in boxes)
    assert got == [(-0.5, -0.5, 1, 1), (0.5, 1.5, 3, 1)]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["gold alignment"]


@pytest.mark.parametrize(
    ("src", "tgt", "gold", "message"),
    [
        (SRC[:4], TGT, None, "expected 5 tokens"),
        (SRC, TGT[:2], None, "expected 3 tokens"),
        (SRC, TGT, [(0, 1)], "one span per output token"),
        (SRC, TGT, [(0, 1), None, (4, 9)], "outside"),
    ],
)
def test_plot_attention_rejects_mismatched_inputs(weights, src, tgt, gold, message):
    with pytest.raises(ValueError, match=message):
        plots.plot_attention(weights, src, tgt, gold=gold)


def test_plot_weights_bar_heights_ticks_highlight_and_mask():
    w = np.array([0.1, 0.6, 0.2, 0.1, 0.0])
    mask = [True, True, True, True, False]
    ax = plots.plot_weights_bar(w, SRC, mask=mask)
    bars = ax.patches
    np.testing.assert_allclose([b.get_height() for b in bars], w)
    assert tick_texts(ax.get_xticklabels())[1] == "chat"
    assert bars[1].get_facecolor() != bars[0].get_facecolor()  # the largest weight stands out
    assert ax.get_xticklabels()[4].get_color() != ax.get_xticklabels()[0].get_color()
    assert ax.get_ylabel() == "attention weight" and ax.get_xlabel()


def test_plot_context_2d_puts_the_context_at_the_weighted_sum():
    states = np.array([[1.0, 0.0], [0.0, 2.0], [-1.0, -1.0], [3.0, 1.0], [0.5, 0.5]])
    w = np.array([0.1, 0.5, 0.2, 0.15, 0.05])
    ax = plots.plot_context_2d(torch.tensor(states), torch.tensor(w), SRC, arrows=True)
    by_gid = {c.get_gid(): c for c in ax.collections if isinstance(c, PathCollection)}
    np.testing.assert_allclose(by_gid["context"].get_offsets()[0], w @ states, atol=1e-12)
    sizes = by_gid["states"].get_sizes()
    assert np.argmax(sizes) == 1 and np.argmin(sizes) == 4  # point size follows the weight
    assert ax.get_xlabel() and ax.get_ylabel()
    assert any("context" in t.get_text() for t in ax.get_legend().get_texts())


def test_plot_context_2d_rejects_states_that_are_not_2d():
    with pytest.raises(ValueError, match=r"states_2d must be \(5, 2\)"):
        plots.plot_context_2d(np.zeros((5, 3)), np.ones(5) / 5, SRC)


def test_plot_accuracy_by_length_draws_one_line_per_model_in_percent():
    results = {
        "no attention": {"1-5": 0.9, "6-10": 0.5, "11-20": 0.1},
        "bahdanau": {"6-10": 0.92, "1-5": 0.95, "11-20": 0.8},  # order of keys does not matter
    }
    ax = plots.plot_accuracy_by_length(results, train_lengths=(1, 10))
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["bahdanau"].get_xdata(), [3, 8, 15.5])
    np.testing.assert_allclose(lines["bahdanau"].get_ydata(), [95, 92, 80])
    assert tick_texts(ax.get_xticklabels()) == ["1-5", "6-10", "11-20"]
    legend = tick_texts(ax.get_legend().get_texts())
    assert legend[:2] == ["no attention", "bahdanau"]
    assert ax.get_xlabel() == "source length" and "%" in ax.get_ylabel()


def test_plot_accuracy_by_length_keeps_numeric_buckets_and_percentages():
    ax = plots.plot_accuracy_by_length({"m": {4: 50.0, 2: 75.0}})
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_xdata(), [2, 4])
    np.testing.assert_allclose(line.get_ydata(), [75, 50])
    with pytest.raises(ValueError, match="length bucket"):
        plots.plot_accuracy_by_length({"m": {"short": 0.5}})


def test_smooth_curve_is_debiased_and_plot_history_uses_steps():
    np.testing.assert_allclose(plots.smooth_curve([2.0] * 5, 0.9), [2.0] * 5)
    np.testing.assert_allclose(plots.smooth_curve([1.0, 3.0], 0.0), [1.0, 3.0])
    history = {"step": [10, 20, 30], "loss": [3.0, 2.0, 1.0]}
    ax = plots.plot_history({"bahdanau": history, "none": [4.0, 3.5]}, smooth=0.5)
    labelled = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(labelled["bahdanau"].get_xdata(), [10, 20, 30])
    np.testing.assert_allclose(labelled["none"].get_xdata(), [0, 1])
    assert ax.get_xlabel() and "loss" in ax.get_ylabel()
    with pytest.raises(ValueError, match="no 'loss' entry"):
        plots.plot_history({"x": {"eval": [1.0]}})
    with pytest.raises(ValueError, match=r"smooth must be in \[0, 1\)"):
        plots.plot_history({"x": [1.0]}, smooth=1.0)


def test_plot_softmax_temperature_bars_match_softmax_of_scaled_scores():
    scores = torch.tensor([2.0, 1.0, 0.5, -1.0, 0.3])
    temps = [0.5, 1.0, 4.0]
    ax = plots.plot_softmax_temperature(scores, temps, labels=SRC)
    heights = np.array([b.get_height() for b in ax.patches]).reshape(len(temps), 5)
    for row, t in zip(heights, temps, strict=True):
        np.testing.assert_allclose(row, torch.softmax(scores / t, -1).numpy(), atol=1e-6)
    assert tick_texts(ax.get_legend().get_texts()) == ["T = 0.5", "T = 1", "T = 4"]
    assert ax.get_ylabel() == "softmax weight"


@pytest.mark.parametrize(
    ("kind", "query", "extra"),
    [("bahdanau", "previous state $h_{t-1}$ (query)", "context"), ("luong", "(query)", "tanh")],
)
def test_draw_architecture_labels_the_query_and_connects_the_boxes(kind, query, extra):
    ax = diagrams.draw_architecture(kind, input_feeding=kind == "luong")
    texts = [t.get_text() for t in ax.texts]
    assert any(query in t for t in texts)
    assert any(extra in t for t in texts)
    assert sum(isinstance(p, FancyBboxPatch) for p in ax.patches) >= 6
    assert sum(isinstance(p, FancyArrowPatch) for p in ax.patches) >= 7
    assert not ax.axison
    ax.figure.canvas.draw()  # the maths in the labels must parse


def test_draw_architecture_rejects_unknown_kinds():
    with pytest.raises(ValueError, match="kind must be one of"):
        diagrams.draw_architecture("transformer")
    with pytest.raises(ValueError, match="input_feeding"):
        diagrams.draw_architecture("bahdanau", input_feeding=True)
