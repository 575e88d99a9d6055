"""Learner checks for the exercise notebooks: each `check_*` tests one answer on seeded inputs.

A check prints "✓ <part> passed", or raises CheckFailed (an AssertionError) whose message says
in a sentence or two what is wrong and where to look; NotImplementedYet when the answer cell
still raises NotImplementedError. The catalogue of recognised mistakes is in `mistakes.MISTAKES`.
"""

from ._core import CheckFailed, NotImplementedYet
from .alignment import (
    check_alignment_accuracy,
    check_hard_alignment,
    check_map_reading,
    example_map,
)
from .bottleneck import check_last_valid_state, check_reverse_valid, check_time_lags
from .context import check_attend, check_context_vector
from .decoding import check_bahdanau_step, check_decode, check_luong_step
from .mistakes import CLASSIC, MISTAKES
from .scores import check_bilinear_score, check_dot_score, check_mlp_score, check_scaled_dot_score
from .weights import check_attention_weights, check_lengths_to_mask, check_masked_softmax

__all__ = [
    "CLASSIC",
    "MISTAKES",
    "CheckFailed",
    "NotImplementedYet",
    "check_alignment_accuracy",
    "check_attend",
    "check_attention_weights",
    "check_bahdanau_step",
    "check_bilinear_score",
    "check_context_vector",
    "check_decode",
    "check_dot_score",
    "check_hard_alignment",
    "check_last_valid_state",
    "check_lengths_to_mask",
    "check_luong_step",
    "check_map_reading",
    "check_masked_softmax",
    "check_mlp_score",
    "check_reverse_valid",
    "check_scaled_dot_score",
    "check_time_lags",
    "example_map",
]
