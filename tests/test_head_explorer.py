"""The lesson 07 widget: layer, head and step sliders over cross-attention maps."""

import numpy as np
import pytest

from course_lib.head_explorer import CLASSES, head_explorer


def _maps(layers=2, heads=3, out_len=4, src_len=5):
    rng = np.random.default_rng(0)
    w = rng.random((layers, heads, out_len, src_len))
    return w / w.sum(-1, keepdims=True)


def _text(box) -> str:
    return box.children[-1].outputs[0]["text"]


def test_initial_view_is_stored_and_sliders_redraw():
    maps = _maps()
    maps[1, 2, 3] = [0, 0, 1, 0, 0]  # layer 1, head 2, step 3 looks at source "c"
    box = head_explorer(list("abcde"), list("wxyz"), maps, title="demo")
    assert CLASSES["root"] in box._dom_classes
    layer, head, step, out = box.children
    assert [s.max for s in (layer, head, step)] == [1, 2, 3]
    assert _text(box).startswith("layer 0, head 0, step 0 (output 'w')")
    assert out.outputs[1]["data"]["image/png"]
    layer.value, head.value, step.value = 1, 2, 3
    assert _text(box) == "layer 1, head 2, step 3 (output 'z'): most attended source 'c' (1.00)\n"


def test_wrong_shapes_are_refused_with_the_expected_shape():
    with pytest.raises(ValueError, match="out_len=3"):
        head_explorer(list("abcde"), list("xyz"), _maps())
