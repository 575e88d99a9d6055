"""The explorers redraw text and picture on every change, explain bad input, and leak no figures."""

import html

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from course_lib import widgets

SRC = ["a", "b", "c", "d", "e"]  # src_len 5
OUT = ["x", "y", "z"]  # out_len 3


def find(root, css_class):
    """The one widget under ``root`` (itself included) carrying ``css_class``."""
    found, todo = [], [root]
    while todo:
        w = todo.pop()
        if css_class in getattr(w, "_dom_classes", ()):
            found.append(w)
        todo.extend(getattr(w, "children", ()))
    assert len(found) == 1, f"expected one widget with class {css_class!r}, found {len(found)}"
    return found[0]


def parts(output):
    """(text, png) shown by an Output widget; either may be None."""
    text = "".join(o["text"] for o in output.outputs if o["output_type"] == "stream") or None
    pngs = [o["data"]["image/png"] for o in output.outputs if o["output_type"] == "display_data"]
    return text, (pngs[0] if pngs else None)


def test_class_table_matches_the_widgets():
    made = {
        "temperature_explorer": widgets.temperature_explorer([1.0, 2.0], ["p", "q"]),
        "decoder_step_explorer": widgets.decoder_step_explorer(["p"], ["q"], [[1.0]]),
        "g2p_explorer": widgets.g2p_explorer(lambda w: (["K"], [[1.0]], ["k"]), "k"),
    }
    for name, classes in widgets.CLASSES.items():
        assert classes["root"] in made[name]._dom_classes
        for key, css in classes.items():
            if key != "root":
                assert css == f"{classes['root']}-{key}"
                find(made[name], css)


def test_temperature_explorer_redraws_on_slider_moves():
    scores = torch.tensor([2.0, 1.0, 0.5, -1.0, 3.0])
    box = widgets.temperature_explorer(scores, SRC, mask=[True, True, True, True, False])
    slider = find(box, "temperature-explorer-slider")
    out = find(box, "temperature-explorer-output")
    assert slider.description == "temperature" and slider.value == 1.0 and slider.readout
    assert slider.style.description_width == "initial"  # the label is never cut
    assert slider.step == 0.05  # an arrow key moves T by a visible amount
    text0, png0 = parts(out)
    assert text0.startswith("T = 1.00") and png0
    expected = torch.softmax(scores[:4], -1)
    assert f"max weight = {expected.max():.3f} on 'a'" in text0
    assert "e: 0.000" in text0  # the masked position gets no weight despite the top score
    slider.value = 0.2
    text1, png1 = parts(out)
    assert text1 != text0 and png1 != png0
    entropy = -(expected.log() * expected).sum()
    assert f"entropy = {entropy:.3f} nats" in text0


def test_temperature_slider_starts_at_zero_and_holds_at_the_lowest_temperature():
    """The track starts at 0 so that the browser announces 1.05, not 1.0500000000000003 (the
    e2e test test_learner.py checks aria-valuetext); temperatures under the lowest are held."""
    box = widgets.temperature_explorer([2.0, 1.0, 0.5], ["p", "q", "r"], temperatures=(0.1, 5.0))
    slider = find(box, "temperature-explorer-slider")
    out = find(box, "temperature-explorer-output")
    assert (slider.min, slider.max, slider.step) == (0.0, 5.0, 0.05)
    slider.value = 0.0  # the Home key
    assert slider.value == 0.1
    text, png = parts(out)
    assert text.startswith("T = 0.10") and png and "Could not draw" not in text


def test_temperature_explorer_rejects_bad_arguments():
    with pytest.raises(ValueError, match="0 < low < high"):
        widgets.temperature_explorer([1.0, 2.0], ["p", "q"], temperatures=(2.0, 1.0))
    with pytest.raises(ValueError, match="expected 2 tokens"):
        widgets.temperature_explorer([1.0, 2.0], ["p"])
    with pytest.raises(ValueError, match="mask must have shape"):
        widgets.temperature_explorer([1.0, 2.0], ["p", "q"], mask=[True])


def test_sliders_do_not_leak_figures():
    before = len(plt.get_fignums())
    box = widgets.temperature_explorer(np.arange(5.0), SRC)
    slider = find(box, "temperature-explorer-slider")
    for t in np.linspace(0.1, 5.0, 6):
        slider.value = float(t)
    assert len(plt.get_fignums()) == before


@pytest.fixture
def step_weights():
    w = np.full((3, 5), 0.05)
    w[0, 0] = w[1, 4] = w[2, 2] = 0.8  # (out_len, src_len), each row sums to 1
    return w


def test_decoder_step_explorer_shows_each_step(step_weights):
    topk = [[("x", 0.7), ("y", 0.2)], [("y", 0.9)], [("z", 0.6), ("x", 0.3)]]
    nearest = [[(0, "a", 0.1)], [(4, "e", 0.2)], [(2, "c", 0.3), (1, "b", 0.9)]]
    queries = np.array([[3.0, 4.0], [0.0, 1.0], [1.0, 0.0]])
    box = widgets.decoder_step_explorer(
        SRC, OUT, step_weights, topk=topk, queries=queries, nearest=nearest, title="toy"
    )
    assert "decoder-step-explorer" in box._dom_classes
    slider = find(box, "decoder-step-explorer-slider")
    out = find(box, "decoder-step-explorer-output")
    assert (slider.min, slider.max, slider.value) == (0, 2, 0)
    text0, png0 = parts(out)
    assert text0.splitlines()[0] == "step 0: emitted 'x' — top source: 'a' (0.80)"
    assert "norm 5.000" in text0 and "'x' 0.70" in text0 and "'a' (#0, d=0.10)" in text0
    slider.value = 2
    text2, png2 = parts(out)
    assert text2.splitlines()[0] == "step 2: emitted 'z' — top source: 'c' (0.80)"
    assert "'c' (#2, d=0.30), 'b' (#1, d=0.90)" in text2
    assert png2 and png2 != png0


def test_decoder_step_explorer_works_without_extras_and_checks_lengths(step_weights):
    box = widgets.decoder_step_explorer(SRC, OUT, torch.tensor(step_weights))
    text, png = parts(find(box, "decoder-step-explorer-output"))
    assert text == "step 0: emitted 'x' — top source: 'a' (0.80)\n" and png
    with pytest.raises(ValueError, match=r"weights have shape \(3, 5\)"):
        widgets.decoder_step_explorer(SRC, OUT[:2], step_weights)
    with pytest.raises(ValueError, match=r"topk: expected one entry per decoder step \(3\)"):
        widgets.decoder_step_explorer(SRC, OUT, step_weights, topk=[[("x", 1.0)]])


def fake_g2p(word):
    """Pretend model: one phoneme per letter, attending mostly to its own letter."""
    letters = list(word)
    weights = np.eye(len(letters)) * 0.9 + 0.1 / len(letters)
    return [c.upper() + "1" for c in letters], weights / weights.sum(1, keepdims=True), letters


def test_g2p_explorer_pronounces_typed_words():
    calls = []
    box = widgets.g2p_explorer(lambda w: calls.append(w) or fake_g2p(w), initial_word="Cat")
    text_box = find(box, "g2p-explorer-text")
    out = find(box, "g2p-explorer-output")
    assert text_box.continuous_update is False
    text0, png0 = parts(out)
    assert calls == ["cat"] and text0 == "cat → C1 A1 T1\n" and png0
    text_box.value = "o'neil"
    text1, png1 = parts(out)
    assert text1 == "o'neil → O1 '1 N1 E1 I1 L1\n" and png1 != png0


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type a word"),
        ("   ", "Type a word"),
        ("c4t", "letters and apostrophes only (found '4')"),
    ],
)
def test_g2p_explorer_explains_bad_input(typed, message):
    calls = []
    box = widgets.g2p_explorer(lambda w: calls.append(w) or fake_g2p(w), initial_word=typed)
    text, png = parts(find(box, "g2p-explorer-output"))
    assert message in text and png is None and calls == []


def test_g2p_explorer_turns_model_errors_into_messages():
    def broken(word):
        raise KeyError("unknown letter")

    box = widgets.g2p_explorer(broken, initial_word="cat")
    text, png = parts(find(box, "g2p-explorer-output"))
    assert text.startswith("Could not pronounce 'cat': KeyError") and png is None
    box = widgets.g2p_explorer(lambda w: (["K"], np.ones((2, 3)), list(w)), initial_word="cat")
    text, _ = parts(find(box, "g2p-explorer-output"))
    assert "weights have shape (2, 3), expected (1 phonemes, 3 letters)" in text


def test_g2p_explorer_does_not_leak_figures():
    before = len(plt.get_fignums())
    box = widgets.g2p_explorer(fake_g2p)
    text_box = find(box, "g2p-explorer-text")
    for word in ["cat", "dog", "attend", "", "x1", "query"]:
        text_box.value = word
    assert len(plt.get_fignums()) == before
    with pytest.raises(TypeError, match="predict_fn must be callable"):
        widgets.g2p_explorer("not a function")


def _figures(box) -> list[dict]:
    return [o["data"] for o in box.children[-1].outputs if o["output_type"] == "display_data"]


def test_every_picture_has_alt_text_that_follows_the_view(step_weights):
    # JupyterLab shows an image/png without alt text (axe: image-alt, critical); the HTML <img>
    # carries the description, and the same picture stays as image/png for other front ends.
    box = widgets.decoder_step_explorer(SRC, OUT, step_weights)
    seen = set()
    for t in range(len(OUT)):
        find(box, "decoder-step-explorer-slider").value = t
        (data,) = _figures(box)
        alt = data["text/plain"]
        top = SRC[int(np.argmax(step_weights[t]))]
        assert f"step {t} outlined" in alt and repr(str(top)) in alt, alt
        assert data["text/html"] == (
            f'<img src="data:image/png;base64,{data["image/png"]}" alt="{html.escape(alt)}">'
        )
        seen.add(alt)
    assert len(seen) == len(OUT)  # the description changes with the step
    g2p = widgets.g2p_explorer(lambda word: (["K", "AH0"], [[1.0, 0.0], [0.0, 1.0]], list(word)),
                               "ka")  # fmt: skip
    assert "'ka'" in _figures(g2p)[0]["text/plain"]
    temperature = widgets.temperature_explorer([1.0, 3.0], ["p", "q"])
    assert "on 'q'" in _figures(temperature)[0]["text/plain"]


def test_alt_text_is_escaped_for_html():
    box = widgets.temperature_explorer([1.0, 3.0], ["a", '"><script>'])
    (data,) = _figures(box)
    assert "<script>" not in data["text/html"] and "&quot;&gt;&lt;script&gt;" in data["text/html"]
