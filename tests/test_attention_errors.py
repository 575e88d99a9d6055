"""Mistakes a learner can make get a message naming what was expected and what was given."""

import re

import pytest
import torch

from course_lib.attention import (
    AdditiveScore,
    additive_score,
    additive_score_projected,
    attend,
    bilinear_score,
    context_vector,
    dot_score,
    lengths_to_mask,
    make_score,
    masked_softmax,
    scaled_dot_score,
)

pytestmark = pytest.mark.usefixtures("one_thread")


Q = torch.randn(2, 3, 4)  # (batch, tgt_len, d_q)
K = torch.randn(2, 5, 4)  # (batch, src_len, d_k)
K6 = torch.randn(2, 5, 6)
S = torch.randn(2, 3, 5)  # scores
W_Q, W_K, V = torch.randn(7, 4), torch.randn(7, 6), torch.randn(7)

CASES = {
    "dot size mismatch": (
        lambda: dot_score(Q, K6),
        ValueError,
        r"d_q=4 must equal key size d_k=6 \(query \(2, 3, 4\), keys \(2, 5, 6\)\)",
    ),
    "scaled dot size mismatch": (
        lambda: scaled_dot_score(Q[:, 0], K6),
        ValueError,
        r"d_q=4.*d_k=6",
    ),
    "integer query": (
        lambda: dot_score(torch.ones(2, 3, 4, dtype=torch.long), K),
        TypeError,
        r"query must be a floating-point tensor.*got torch\.int64",
    ),
    "integer keys": (
        lambda: dot_score(Q, K.int()),
        TypeError,
        r"keys must be a floating-point.*torch\.int32",
    ),
    "mixed dtypes": (
        lambda: dot_score(Q, K.double()),
        TypeError,
        r"keys has dtype torch\.float64 but query has dtype torch\.float32",
    ),
    "not a tensor": (
        lambda: dot_score([[1.0]], K),
        TypeError,
        r"query must be a torch\.Tensor, got list",
    ),
    "query rank": (
        lambda: dot_score(torch.randn(4), K),
        ValueError,
        r"query must be \(batch, d_q\) or \(batch, tgt_len, d_q\), got 1 dims with shape \(4,\)",
    ),
    "keys rank": (
        lambda: dot_score(Q, K[0]),
        ValueError,
        r"keys must be \(batch, src_len, d_k\).*\(5, 4\)",
    ),
    "batch mismatch": (
        lambda: dot_score(Q, torch.randn(3, 5, 4)),
        ValueError,
        r"query batch 2 \(2, 3, 4\) and keys batch 3 \(3, 5, 4\)",
    ),
    "bilinear weight transposed": (
        lambda: bilinear_score(Q, K6, torch.randn(6, 4)),
        ValueError,
        r"weight must have shape \(4, 6\), got \(6, 4\)",
    ),
    "bilinear integer weight": (
        lambda: bilinear_score(Q, K6, torch.ones(4, 6, dtype=torch.long)),
        TypeError,
        r"weight must be a floating-point tensor.*torch\.int64",
    ),
    "additive w_query": (
        lambda: additive_score(Q, K6, torch.randn(4, 7), W_K, V),
        ValueError,
        r"w_query must have shape \(7, 4\), got \(4, 7\)",
    ),
    "additive w_key": (
        lambda: additive_score(Q, K6, W_Q, torch.randn(7, 4), V),
        ValueError,
        r"w_key must have shape \(7, 6\), got \(7, 4\)",
    ),
    "additive v": (
        lambda: additive_score(Q, K6, W_Q, W_K, torch.randn(7, 1)),
        ValueError,
        r"v must have shape \(d_attn,\), got \(7, 1\)",
    ),
    "additive chunk": (
        lambda: additive_score(Q, K6, W_Q, W_K, V, chunk_size=0),
        ValueError,
        r"chunk_size must be a positive int or None, got 0",
    ),
    "projected size mismatch": (
        lambda: additive_score_projected(
            torch.randn(2, 3, 7), torch.randn(2, 5, 8), torch.randn(8)
        ),
        ValueError,
        r"d_q=7 must equal key size d_k=8",
    ),
    "mask wrong size": (
        lambda: masked_softmax(S, mask=torch.ones(2, 4, dtype=torch.bool)),
        ValueError,
        r"mask must have shape \(2, 5\) or \(2, 3, 5\) to match scores \(2, 3, 5\), got \(2, 4\)",
    ),
    "mask not bool": (
        lambda: masked_softmax(S, mask=torch.ones(2, 5)),
        TypeError,
        r"mask must have dtype torch\.bool.*got torch\.float32",
    ),
    "lengths too long": (
        lambda: masked_softmax(S, lengths=torch.tensor([5, 7])),
        ValueError,
        r"a length of 7 is longer than src_len=5 \(lengths \[5, 7\]\)",
    ),
    "lengths negative": (
        lambda: lengths_to_mask([2, -1], 5),
        ValueError,
        r"lengths must be >= 0, got \[2, -1\]",
    ),
    "lengths float": (
        lambda: lengths_to_mask(torch.tensor([2.0, 3.0]), 5),
        TypeError,
        r"lengths must be an integer tensor.*got torch\.float32",
    ),
    "lengths count": (
        lambda: masked_softmax(S, lengths=[5, 4, 3]),
        ValueError,
        r"got 3 lengths for a batch of 2 \(scores \(2, 3, 5\)\)",
    ),
    "mask and lengths": (
        lambda: masked_softmax(S, mask=torch.ones(2, 5, dtype=torch.bool), lengths=[5, 5]),
        ValueError,
        r"either mask or lengths, not both",
    ),
    "temperature zero": (
        lambda: masked_softmax(S, temperature=0),
        ValueError,
        r"positive and finite, got 0",
    ),
    "integer scores": (
        lambda: masked_softmax(S.long()),
        TypeError,
        r"scores must be a floating-point tensor.*torch\.int64",
    ),
    "context mismatch": (
        lambda: context_vector(torch.rand(2, 3, 5), torch.randn(2, 6, 4)),
        ValueError,
        r"weights \(2, 3, 5\) need values of shape \(2, 5, d_v\), got \(2, 6, 4\)",
    ),
    "attend values mismatch": (
        lambda: attend(Q, K, torch.randn(2, 6, 3)),
        ValueError,
        r"values must be \(batch, src_len, d_v\) = \(2, 5, d_v\) like keys \(2, 5, 4\), "
        r"got \(2, 6, 3\)",
    ),
    "attend unknown score": (
        lambda: attend(Q, K, score="cosine"),
        ValueError,
        r"unknown score 'cosine'; expected one of \[.*'additive'.*\]",
    ),
    "attend missing params": (
        lambda: attend(Q, K6, score="additive", params={"w_query": W_Q}),
        ValueError,
        r"needs params=\{'w_query': \(d_attn, d_q\).*got \['w_query'\]",
    ),
    "attend params for dot": (
        lambda: attend(Q, K, score="dot", params=torch.eye(4)),
        ValueError,
        r"takes no params, got Tensor",
    ),
    "attend callable wrong shape": (
        lambda: attend(Q, K, score=lambda q, k: q.sum(-1)),
        ValueError,
        r"must return shape \(2, 3, 5\), got \(2, 3\)",
    ),
    "make_score dot sizes": (
        lambda: make_score("dot", 4, 6),
        ValueError,
        r"needs d_q == d_k, got d_q=4, d_k=6",
    ),
    "module keys size": (
        lambda: AdditiveScore(4, 6, 7).project_keys(K),
        ValueError,
        r"keys must be \(batch, src_len, 6\), got \(2, 5, 4\)",
    ),
    "module query size": (
        lambda: AdditiveScore(4, 6, 7).score_projected(K6, torch.randn(2, 5, 7)),
        ValueError,
        r"query must be \(batch, \[tgt_len,\] 4\), got \(2, 5, 6\)",
    ),
    "module keys_proj batch": (
        lambda: AdditiveScore(4, 6, 7).score_projected(torch.randn(3, 4), torch.randn(2, 5, 7)),
        ValueError,
        r"with the batch of keys_proj \(2, 5, 7\), got \(3, 4\)",
    ),
    "module keys_proj size": (
        lambda: AdditiveScore(4, 6, 7).score_projected(torch.randn(2, 4), torch.randn(2, 5, 6)),
        ValueError,
        r"keys_proj must be \(batch, src_len, 7\), got \(2, 5, 6\)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_learner_errors_name_expected_and_actual(case):
    call, error, pattern = CASES[case]
    with pytest.raises(error) as info:
        call()
    assert re.search(pattern, str(info.value)), str(info.value)
