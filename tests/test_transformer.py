"""The Transformer's pieces against torch's own: SDPA, nn.MultiheadAttention, the encoder layer."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.data import build_vocabs, make_batch, split_dates
from course_lib.search import greedy_decode
from course_lib.transformer import (
    EncoderLayer,
    MultiHeadAttention,
    build_transformer,
    causal_mask,
    merge_heads,
    scaled_dot_product_attention,
    sinusoidal_encoding,
    split_heads,
)

TOL = {torch.float32: 1e-6, torch.float64: 1e-12}
# (batch, q_len, k_len, d): all different, size 1, all equal
SIZES = [(2, 3, 5, 4), (1, 1, 1, 1), (3, 3, 3, 3)]


def _padding(batch: int, k_len: int) -> torch.Tensor:
    """True = keep; the last row keeps only its first key."""
    mask = torch.ones(batch, k_len, dtype=torch.bool)
    mask[-1, 1:] = False
    return mask


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("masked", [False, True])
def test_sdpa_matches_torch(dtype, sizes, masked):
    batch, q_len, k_len, d = sizes
    gen = torch.Generator().manual_seed(0)
    q, k = (torch.randn(batch, n, d, generator=gen, dtype=dtype) for n in (q_len, k_len))
    v = torch.randn(batch, k_len, d + 2, generator=gen, dtype=dtype)
    mask = _padding(batch, k_len)[:, None, :] if masked else None
    out, weights = scaled_dot_product_attention(q, k, v, mask)
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert out.shape == (batch, q_len, d + 2) and weights.shape == (batch, q_len, k_len)
    torch.testing.assert_close(out, expected, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(batch, q_len, dtype=dtype))
    if masked:
        assert (weights[-1, :, 1:] == 0).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize(("batch", "q_len", "k_len", "d_model", "heads"),
                         [(2, 3, 5, 12, 4), (1, 1, 1, 2, 1), (3, 3, 3, 6, 3), (2, 4, 6, 8, 8)])  # fmt: skip
def test_multi_head_attention_matches_torch(dtype, masked, batch, q_len, k_len, d_model, heads):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(d_model, heads, batch_first=True, dtype=dtype).eval()
    mine = MultiHeadAttention(d_model, heads).to(dtype).copy_from_torch(ref)
    q = torch.randn(batch, q_len, d_model, dtype=dtype)
    kv = torch.randn(batch, k_len, d_model, dtype=dtype)
    keep = _padding(batch, k_len)
    out, weights = mine(q, kv, kv, keep[:, None, None, :] if masked else None)
    expected, expected_w = ref(
        q, kv, kv, key_padding_mask=~keep if masked else None, average_attn_weights=False
    )
    assert weights.shape == (batch, heads, q_len, k_len)
    torch.testing.assert_close(out, expected, atol=TOL[dtype], rtol=0)
    torch.testing.assert_close(weights, expected_w, atol=TOL[dtype], rtol=0)


def test_split_and_merge_heads_are_inverse_and_keep_features_together():
    x = torch.arange(2 * 3 * 8.0).view(2, 3, 8)  # (batch, len, d_model)
    heads = split_heads(x, 4)
    assert heads.shape == (2, 4, 3, 2)  # (batch, heads, len, d_head)
    assert torch.equal(heads[1, 2, 0], x[1, 0, 4:6])  # head 2 holds features 4..5
    assert torch.equal(merge_heads(heads), x)
    with pytest.raises(ValueError, match="divisible"):
        split_heads(x, 3)


def test_causal_mask_keeps_the_diagonal():
    m = causal_mask(4)
    assert m.dtype == torch.bool and m.diagonal().all()
    assert torch.equal(m, torch.ones(4, 4).tril().bool())
    assert causal_mask(1).tolist() == [[True]]


def test_sinusoidal_encoding_by_hand():
    pe = sinusoidal_encoding(5, 6)
    assert pe.shape == (5, 6)
    pos, i = 3, 1  # columns 2 and 3 share the angle pos / 10000^(2/6)
    angle = pos / 10000 ** (2 * i / 6)
    assert math.isclose(pe[pos, 2].item(), math.sin(angle), abs_tol=1e-6)
    assert math.isclose(pe[pos, 3].item(), math.cos(angle), abs_tol=1e-6)
    assert torch.equal(pe[0], torch.tensor([0.0, 1.0] * 3))
    with pytest.raises(ValueError, match="even"):
        sinusoidal_encoding(3, 5)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_encoder_layer_matches_torch(norm_first, dtype):
    torch.manual_seed(1)
    d_model, heads, d_ff, batch, length = 12, 3, 20, 2, 5
    ref = nn.TransformerEncoderLayer(
        d_model, heads, d_ff, dropout=0.0, batch_first=True, norm_first=norm_first, dtype=dtype
    ).eval()
    mine = EncoderLayer(d_model, heads, d_ff, norm_first=norm_first).to(dtype).copy_from_torch(ref)
    x = torch.randn(batch, length, d_model, dtype=dtype)
    keep = _padding(batch, length)
    with torch.no_grad():
        expected = ref(x, src_key_padding_mask=~keep)
        out = mine(x, keep[:, None, None, :])
    tol = {torch.float32: 1e-5, torch.float64: 1e-12}[dtype]
    real = keep[:, :, None].expand_as(out)  # torch's fast path may zero padded rows: compare real
    torch.testing.assert_close(out[real], expected[real], atol=tol, rtol=0)


def _date_model():
    train_set, _ = split_dates(50, 0, seed=0)
    src_vocab, tgt_vocab = build_vocabs(train_set)
    model = build_transformer(len(src_vocab), len(tgt_vocab), d_model=16, heads=2, d_ff=24)
    return model.eval(), make_batch(train_set[:3], src_vocab, tgt_vocab)


def test_output_t_ignores_later_target_tokens():
    model, batch = _date_model()
    changed = batch.tgt_in.clone()
    changed[:, 5:] = torch.randint(4, 8, changed[:, 5:].shape)
    with torch.no_grad():
        a, _ = model(batch.src, batch.src_lengths, batch.tgt_in)
        b, _ = model(batch.src, batch.src_lengths, changed)
    torch.testing.assert_close(a[:, :5], b[:, :5], atol=1e-6, rtol=0)
    assert not torch.allclose(a[:, 5:], b[:, 5:])


def test_step_by_step_equals_teacher_forced_and_padding_is_ignored():
    model, batch = _date_model()
    with torch.no_grad():
        logits, weights = model(batch.src, batch.src_lengths, batch.tgt_in)
        memory, state = model.encode(batch.src, batch.src_lengths)
        for t in range(batch.tgt_in.shape[1]):
            step_logits, state, step_w = model.step(batch.tgt_in[:, t], state, memory)
            torch.testing.assert_close(step_logits, logits[:, t], atol=1e-5, rtol=0)
            torch.testing.assert_close(step_w, weights[:, t], atol=1e-6, rtol=0)
    short = int(batch.src_lengths.min())
    row = int(batch.src_lengths.argmin())
    assert (weights[row, :, short:] == 0).all()
    cross = model.cross_attention(batch.src, batch.src_lengths, batch.tgt_in)
    assert cross.shape == (2, 3, 2, batch.tgt_in.shape[1], batch.src.shape[1])
    tokens, w = greedy_decode(model, batch.src, batch.src_lengths, max_len=4)
    assert tokens.shape[0] == 3 and w.shape[:2] == tokens.shape


def test_same_seed_same_model_and_too_long_inputs_refused():
    a, batch = _date_model()
    b, _ = _date_model()
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    with pytest.raises(ValueError, match="max_len"):
        a.encode(torch.ones(1, 200, dtype=torch.long), torch.tensor([200]))
