"""Learner checks for the exercise notebooks: each `check_*` tests one answer on seeded inputs.

A check prints "✓ <part> passed", or raises CheckFailed (an AssertionError) whose message says
in a sentence or two what is wrong and where to look; NotImplementedYet when the answer cell
still raises NotImplementedError. The catalogue of recognised mistakes is in `mistakes.MISTAKES`.

One module per exercise (`ex01_bottleneck` ... `ex07_transformer`). Each part is a `Part`: the
learner's seeded examples, the grader's stress inputs, and one judge with its own reference
answer. The references are written here on purpose, independently of `course_lib.attention`, so
that a bug in the library cannot make a wrong answer pass. `PARTS` maps a part's name to it;
the grader (`course_lib.grade`) uses it to judge answers outside the learner's kernel.
"""

from ._core import CheckFailed, NotImplementedYet
from ._part import Part
from ._progress import progress
from .ex01_bottleneck import (
    LAST_VALID_STATE,
    REVERSE_VALID,
    TIME_LAGS,
    check_last_valid_state,
    check_reverse_valid,
    check_time_lags,
)
from .ex02_score_functions import (
    BILINEAR_SCORE,
    DOT_SCORE,
    MLP_SCORE,
    SCALED_DOT_SCORE,
    check_bilinear_score,
    check_dot_score,
    check_mlp_score,
    check_scaled_dot_score,
)
from .ex03_softmax_weights import (
    ATTENTION_WEIGHTS,
    EMPTY_ROW_SOFTMAX,
    LENGTHS_TO_MASK,
    MASKED_SOFTMAX,
    TEMPERATURE_WEIGHTS,
    WEIGHTS_ENTROPY,
    check_attention_weights,
    check_empty_row_softmax,
    check_lengths_to_mask,
    check_masked_softmax,
    check_temperature_weights,
    check_weights_entropy,
)
from .ex04_context_vector import ATTEND, CONTEXT_VECTOR, check_attend, check_context_vector
from .ex05_full_model import (
    BAHDANAU_STEP,
    BEAM_STEP,
    DECODE,
    LUONG_STEP,
    MASKED_LOSS,
    TRAINING_LOSS,
    check_bahdanau_step,
    check_beam_step,
    check_decode,
    check_luong_step,
    check_masked_loss,
    check_training_loss,
)
from .ex06_alignment import (
    ALIGNMENT_ACCURACY,
    HARD_ALIGNMENT,
    MAP_READING,
    check_alignment_accuracy,
    check_hard_alignment,
    check_map_reading,
    example_map,
)
from .ex07_transformer import (
    CAUSAL_MASK,
    MERGE_HEADS,
    POSITIONAL_ENCODING,
    SCALED_ATTENTION,
    SPLIT_HEADS,
    check_causal_mask,
    check_merge_heads,
    check_positional_encoding,
    check_scaled_attention,
    check_split_heads,
)
from .mistakes import CLASSIC, MISTAKES

PARTS: dict[str, Part] = {
    part.name: part
    for part in (
        LAST_VALID_STATE,
        REVERSE_VALID,
        TIME_LAGS,
        DOT_SCORE,
        SCALED_DOT_SCORE,
        BILINEAR_SCORE,
        MLP_SCORE,
        ATTENTION_WEIGHTS,
        LENGTHS_TO_MASK,
        MASKED_SOFTMAX,
        TEMPERATURE_WEIGHTS,
        WEIGHTS_ENTROPY,
        EMPTY_ROW_SOFTMAX,
        CONTEXT_VECTOR,
        ATTEND,
        BAHDANAU_STEP,
        LUONG_STEP,
        DECODE,
        BEAM_STEP,
        MASKED_LOSS,
        TRAINING_LOSS,
        HARD_ALIGNMENT,
        ALIGNMENT_ACCURACY,
        MAP_READING,
        SCALED_ATTENTION,
        SPLIT_HEADS,
        MERGE_HEADS,
        CAUSAL_MASK,
        POSITIONAL_ENCODING,
    )
}

__all__ = [
    "CLASSIC",
    "MISTAKES",
    "CheckFailed",
    "NotImplementedYet",
    "PARTS",
    "Part",
    "check_alignment_accuracy",
    "check_attend",
    "check_attention_weights",
    "check_bahdanau_step",
    "check_beam_step",
    "check_bilinear_score",
    "check_causal_mask",
    "check_context_vector",
    "check_decode",
    "check_dot_score",
    "check_empty_row_softmax",
    "check_hard_alignment",
    "check_last_valid_state",
    "check_lengths_to_mask",
    "check_luong_step",
    "check_masked_loss",
    "check_map_reading",
    "check_masked_softmax",
    "check_merge_heads",
    "check_mlp_score",
    "check_positional_encoding",
    "check_reverse_valid",
    "check_scaled_attention",
    "check_scaled_dot_score",
    "check_split_heads",
    "check_temperature_weights",
    "check_time_lags",
    "check_training_loss",
    "check_weights_entropy",
    "example_map",
    "progress",
]
