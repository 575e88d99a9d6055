"""The catalogue of classic mistakes the checks recognise, each with the hint a learner sees.

A check recognises a mistake by computing what the mistaken code would have returned on the same
inputs and finding the learner's output equal to it (or, for in-place edits, by comparing the
inputs before and after the call). Keys are stable ids used by the checks and the tests.
"""

from __future__ import annotations

MISTAKES: dict[str, str] = {
    # the twelve classics
    "softmax_wrong_axis": (
        "the softmax runs over the wrong axis. Normalise over the source positions, the last "
        "dimension (dim=-1), so that each row of weights sums to one."
    ),
    "mask_after_softmax": (
        "the padding was zeroed after the softmax, so the remaining weights no longer sum to "
        "one. Fill the padded scores with -inf before the softmax instead."
    ),
    "padding_not_masked": (
        "padding positions receive attention weight. Use the mask: set the scores of padded "
        "positions to -inf before the softmax so their weight is exactly 0."
    ),
    "bilinear_transposed": (
        "W is used transposed. The score is h^T W s with W of shape (d_q, d_k): multiply the "
        "query by W (query @ W), then take the dot product with each key."
    ),
    "mlp_missing_tanh": (
        "the tanh between the two layers is missing. The MLP score is w2^T tanh(W1 [h; s]); "
        "without the tanh it is just a linear function of h and s."
    ),
    "missing_scale": (
        "the scores are not scaled. This task asks for the scaled dot product: divide every "
        "dot product by sqrt(d), where d is the size of the query and key vectors."
    ),
    "bahdanau_query_h_t": (
        "you attended with the new state h_t. In Bahdanau's decoder attention comes first: "
        "query with h_prev (h_{t-1}), feed the context to the GRU cell, and return that context "
        "and those weights."
    ),
    "luong_predicts_from_h_t": (
        "the logits come from h_t. Luong predicts from the attentional state "
        "h~_t = tanh(W_c [h_t; c_t]): pass h~_t, not h_t, to the output layer."
    ),
    "weights_not_normalised": (
        "the weights do not sum to one over the source positions. Use a softmax (exponentiate, "
        "then divide by the row sum); exponentiating alone or dividing raw scores is not enough."
    ),
    "softmax_overflow": (
        "your weights are NaN for large scores: exp() of a score near 1000 overflows to inf, and "
        "inf / inf is NaN. Subtract each row's maximum from the scores before exp() (the max "
        "trick of lesson 03): the weights stay the same, and the largest exponent is exp(0) = 1."
    ),
    "temperature_multiplied": (
        "the scores were multiplied by T. Divide them by the temperature: T above 1 flattens "
        "the weights, T below 1 sharpens them."
    ),
    "temperature_after_softmax": (
        "the weights were divided by T after the softmax, so they no longer sum to one. Divide "
        "the scores by T before the softmax."
    ),
    "entropy_zero_weights_nan": (
        "the entropy is NaN where a weight is exactly 0 (padding): 0 * log(0) is 0 * -inf = NaN "
        "in floating point. Count those terms as 0, e.g. with torch.special.xlogy(w, w)."
    ),
    "entropy_sign": (
        "the entropy came out negative. H = -sum_k a_k log a_k: the log of a weight is at most "
        "0, so keep the minus sign in front of the sum."
    ),
    "empty_row_nan": (
        "a sentence of nothing but padding got NaN weights: a softmax over a row of -inf is "
        "0 / 0. Give such rows weights of exactly 0, e.g. torch.where over mask.any(-1)."
    ),
    "empty_row_uniform": (
        "a sentence of nothing but padding got nonzero weights (a large negative number instead "
        "of -inf spreads them evenly over the padding). Its weights must all be exactly 0."
    ),
    "beam_ignores_history": (
        "the hypotheses were ranked by the new token's log-probability alone. A hypothesis's "
        "score is the sum of the log-probabilities of all its tokens: add beam_scores[i] to row i "
        "of log_probs before choosing the k best."
    ),
    "beam_greedy_per_hypothesis": (
        "each hypothesis kept only its own best next token. Beam search compares all "
        "beams x vocab expansions together: a strong hypothesis may keep two of its expansions "
        "and a weak one none."
    ),
    "training_feeds_prediction": (
        "you fed back the model's own predictions. Training uses teacher forcing: step t gets the "
        "gold token tgt_in[:, t], whatever the model predicted at the step before."
    ),
    "loss_counts_padding": (
        "padding positions count in the loss. Average the cross-entropy over the target tokens "
        "that are not pad_id only (mask = targets != pad_id)."
    ),
    "loss_sentence_average": (
        "you averaged per sentence, then over sentences, so a short sentence's tokens weigh more. "
        "Sum the loss over all real tokens of the batch and divide by their number."
    ),
    "context_wrong_axis": (
        "the context is summed over the wrong axis. Weight each value vector by its attention "
        "weight and sum over the source positions (src_len), keeping the feature axis."
    ),
    "greedy_feeds_gold": (
        "in greedy mode you fed the gold tokens from tgt_in. Greedy decoding feeds back the "
        "model's own prediction (the argmax of the logits); gold tokens are for teacher forcing."
    ),
    "in_place_edit": (
        "your code changed one of its input tensors in place (masked_fill_, +=, or writing into "
        "a slice). Work on new tensors instead (masked_fill without the underscore, or clone())."
    ),
    # more mistakes seen often enough to deserve their own hint
    "unwanted_scale": (
        "the scores are scaled. The plain dot score is just h · s, with no division by sqrt(d)."
    ),
    "scaled_by_d": (
        "the dot products are divided by d. The scaled dot product divides by sqrt(d), the "
        "square root of the vector size."
    ),
    "mask_inverted": (
        "the mask is used the wrong way round: True in `mask` marks a real token to keep, False "
        "marks padding to drop."
    ),
    "mask_off_by_one": (
        "the mask is off by one: a sequence of length L has real tokens at positions "
        "0 .. L-1, so keep positions strictly less than the length (<, not <=)."
    ),
    "mlp_concat_order": (
        "this exercise's W1 expects the query first, [h; s]: its first columns multiply the "
        "decoder state, the rest the key. Stacked as [s; h], each half meets the other's columns. "
        "Either order makes a valid model when the weights are learned for it."
    ),
    "context_mean": (
        "the context is divided by the number of positions. The weights already sum to one: "
        "the context is their weighted sum, with no extra averaging."
    ),
    "context_from_keys": (
        "the context is a weighted sum of the keys. Score with the keys, but sum the values."
    ),
    "bahdanau_input_order": (
        "this exercise's GRU expects its input as [y; c_t], the previous token's embedding "
        "first, then the context; you stacked [c_t; y]. Either order makes a valid model when "
        "the weights are learned for it."
    ),
    "luong_query_h_prev": (
        "you attended with h_prev. In Luong's decoder the RNN steps first and the new state h_t "
        "is the query."
    ),
    "luong_missing_tanh": (
        "the tanh is missing from the attentional state: h~_t = tanh(W_c [h_t; c_t])."
    ),
    "luong_concat_order": (
        "this exercise's W_c expects [h_t; c_t], the decoder state first; you stacked "
        "[c_t; h_t]. That is the order of Luong et al.'s equation 5, and with a learned W_c "
        "both are the same model, but this W_c was built for the decoder state first."
    ),
    "teacher_forcing_feeds_prediction": (
        "with greedy=False you fed back the predictions. Teacher forcing feeds the gold token: "
        "after step t, the next input is tgt_in[:, t + 1], whatever the model predicted."
    ),
    "last_column_is_padding": (
        "you took the state at the last column, which is padding for every shorter sequence. "
        "Take position lengths[b] - 1 of each sequence b."
    ),
    "length_off_by_one": (
        "you took position lengths[b], the first padding slot. The last real token of a "
        "sequence of length L sits at position L - 1."
    ),
    "reversed_padding": (
        "the padding was reversed too, so it moved to the front. Reverse only the first "
        "lengths[b] tokens of each row and leave the padding at the end."
    ),
    "flipped_batch": (
        "the batch order was reversed instead of the tokens: flip along the time axis "
        "(dim=1), one row at a time."
    ),
    "argmax_wrong_axis": (
        "the argmax runs over the target axis. For each target step, pick the source position "
        "with the largest weight: argmax over the last dimension."
    ),
    "alignment_counts_unaligned": (
        "target tokens without a gold alignment (gold == -1) were counted. Leave them out of "
        "both the numerator and the denominator."
    ),
    "alignment_macro_average": (
        "you averaged per sentence and then over sentences. Count correct tokens over the whole "
        "batch and divide by the number of aligned tokens in the whole batch."
    ),
    "span_end_inclusive": (
        "a hard alignment at position `end` was counted as inside its span. Spans are "
        "half-open, like Python slices: [start, end) holds start .. end - 1."
    ),
    "span_start_only": (
        "you compared the hard alignment with the span's first position only. A hit is any "
        "position inside the span: start <= position < end."
    ),
    "one_based_index": (
        "the position is counted from 1. Python positions start at 0: the first token is "
        "position 0."
    ),
    "map_wrong_axis": (
        "the heatmap was read along the wrong axis. Rows are target steps and columns are "
        "source positions: a target step's weights run along its row."
    ),
    # lesson 07: the Transformer's attention
    "split_without_transpose": (
        "the heads were cut along the sequence, not along each vector: x.view(batch, heads, "
        "length, d_head) mixes positions. View as (batch, length, heads, d_head), then swap "
        "axes 1 and 2."
    ),
    "merge_without_transpose": (
        "the heads were merged without moving the head axis back: reshape a (batch, heads, "
        "length, d_head) tensor only after transpose(1, 2) makes it (batch, length, heads, d_head)."
    ),
    "causal_hides_diagonal": (
        "the causal mask also hides the diagonal, so a position cannot see itself and the first "
        "one sees nothing. Keep key j <= query t: the lower triangle including the diagonal."
    ),
    "causal_upper_triangle": (
        "the causal mask points the wrong way: it lets a position see the future. Query t (the "
        "row) may see keys j <= t (the columns): use the lower triangle, tril."
    ),
    "pe_sin_cos_swapped": (
        "sin and cos are swapped. The even columns 2i hold the sine and the odd columns 2i+1 the "
        "cosine of the same angle."
    ),
    "pe_not_interleaved": (
        "all sines come first and all cosines after. Interleave them: column 2i is a sine and "
        "column 2i+1 the cosine of the same angle."
    ),
    "pe_wrong_frequency": (
        "the frequencies are wrong. The angle of pair i is p / 10000^(2i / d_model): base 10000, "
        "and the exponent uses 2i (the even column's index), not i."
    ),
}

CLASSIC = (
    "softmax_wrong_axis",
    "mask_after_softmax",
    "padding_not_masked",
    "bilinear_transposed",
    "mlp_missing_tanh",
    "missing_scale",
    "bahdanau_query_h_t",
    "luong_predicts_from_h_t",
    "weights_not_normalised",
    "context_wrong_axis",
    "greedy_feeds_gold",
    "in_place_edit",
)


def hint(mistake: str) -> str:
    """The learner-facing sentence for a catalogued mistake."""
    return MISTAKES[mistake]
