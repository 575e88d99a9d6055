"""Encoder, the three decoders and their shared interface, checked against hand-made references."""

from __future__ import annotations

import pytest
import torch

from course_lib.attention import context_vector, masked_softmax
from course_lib.data.vocab import PAD
from course_lib.models import Encoder, ModelConfig, Seq2Seq, build_model, reverse_padded

KINDS = ("none", "bahdanau", "luong")
SRC_V, TGT_V = 11, 9
# Toy sizes: every dimension different so a swapped axis fails loudly.
BATCH, SRC_LEN, TGT_LEN = 2, 5, 3


def toy_batch(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    src = torch.randint(4, SRC_V, (BATCH, SRC_LEN), generator=g)
    lengths = torch.tensor([SRC_LEN, 3])
    src[1, 3:] = PAD
    tgt_in = torch.randint(4, TGT_V, (BATCH, TGT_LEN), generator=g)
    return src, lengths, tgt_in


def model(kind: str, **kwargs):
    return build_model(kind, SRC_V, TGT_V, emb=4, hidden=6, seed=1, **kwargs)


@pytest.mark.parametrize("bidirectional,layers", [(False, 1), (True, 1), (False, 2), (True, 2)])
def test_encoder_padding_changes_nothing(bidirectional, layers):
    torch.manual_seed(0)
    enc = Encoder(SRC_V, 4, 6, bidirectional, layers=layers)
    src, lengths, _ = toy_batch()
    states, final = enc(src, lengths)
    padded = torch.cat([src, torch.full((BATCH, 4), PAD)], dim=1)  # 4 extra pads per row
    states_p, final_p = enc(padded, lengths)
    torch.testing.assert_close(states_p[:, :SRC_LEN], states, rtol=0, atol=1e-6)
    torch.testing.assert_close(final_p, final, rtol=0, atol=1e-6)
    assert states_p[:, SRC_LEN:].abs().max() == 0
    assert states[1, 3:].abs().max() == 0  # padded states are zero
    # The short row alone, without any padding, gives the same states and final state.
    alone_states, alone_final = enc(src[1:, :3], lengths[1:])
    torch.testing.assert_close(alone_states[0], states[1, :3], rtol=0, atol=1e-6)
    torch.testing.assert_close(alone_final[0], final[1], rtol=0, atol=1e-6)


def test_bidirectional_final_is_forward_then_backward():
    torch.manual_seed(0)
    enc = Encoder(SRC_V, 4, 6, bidirectional=True)
    src, lengths, _ = toy_batch()
    states, final = enc(src, lengths)
    assert final.shape == (BATCH, 12)
    # forward half: the state at the last real token; backward half: the state at position 0
    torch.testing.assert_close(final[1, :6], states[1, 2, :6])
    torch.testing.assert_close(final[1, 6:], states[1, 0, 6:])


@pytest.mark.parametrize("bidirectional", [False, True])
def test_stacked_encoder_final_state_is_the_top_layers(bidirectional):
    torch.manual_seed(0)
    enc = Encoder(SRC_V, 4, 6, bidirectional, layers=3)
    src, lengths, _ = toy_batch()
    states, final = enc(src, lengths)
    dirs = 2 if bidirectional else 1
    assert states.shape == (BATCH, SRC_LEN, 6 * dirs)
    assert final.shape == (BATCH, 6 * dirs)
    # The top layer's outputs are the states, so its last forward state closes row 1 (length 3).
    torch.testing.assert_close(final[1, :6], states[1, 2, :6])
    if bidirectional:
        torch.testing.assert_close(final[1, 6:], states[1, 0, 6:])
    with pytest.raises(ValueError, match="layers must be at least 1, got 0"):
        Encoder(SRC_V, 4, 6, layers=0)


def test_reverse_source_reads_backwards_but_keeps_positions():
    src, lengths, _ = toy_batch()
    torch.manual_seed(0)
    rev = Encoder(SRC_V, 4, 6, reverse_source=True)
    plain = Encoder(SRC_V, 4, 6)
    plain.load_state_dict(rev.state_dict())
    states_r, final_r = rev(src, lengths)
    states_p, final_p = plain(reverse_padded(src, lengths), lengths)
    torch.testing.assert_close(final_r, final_p)
    torch.testing.assert_close(states_r, reverse_padded(states_p, lengths))
    assert reverse_padded(src, lengths)[1].tolist() == [*src[1, :3].flip(0).tolist(), PAD, PAD]


@pytest.mark.parametrize("kind", KINDS)
def test_forward_shapes_and_weight_rows(kind):
    src, lengths, tgt_in = toy_batch()
    logits, weights = model(kind)(src, lengths, tgt_in)
    assert logits.shape == (BATCH, TGT_LEN, TGT_V)
    if kind == "none":
        assert weights is None
        return
    assert weights.shape == (BATCH, TGT_LEN, SRC_LEN)
    torch.testing.assert_close(weights.sum(-1), torch.ones(BATCH, TGT_LEN))
    assert weights[1, :, 3:].abs().max() == 0  # padding gets exactly zero


@pytest.mark.parametrize(
    "kind,kwargs",
    [
        ("none", {}),
        ("bahdanau", {}),
        ("bahdanau", {"reverse_source": True}),
        ("bahdanau", {"first_state": "backward"}),
        ("luong", {}),
        ("luong", {"score": "dot"}),
        ("luong", {"score": "concat"}),
        ("luong", {"input_feeding": True}),
        ("luong", {"enc_layers": 2, "reverse_source": True}),
    ],
)
def test_teacher_forced_forward_equals_step_by_step(kind, kwargs):
    m = model(kind, **kwargs)
    src, lengths, tgt_in = toy_batch()
    logits, weights = m(src, lengths, tgt_in)
    memory, state = m.encode(src, lengths)
    for t in range(TGT_LEN):
        step_logits, state, step_weights = m.step(tgt_in[:, t], state, memory)
        torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-5, atol=1e-6)
        if weights is not None:
            torch.testing.assert_close(step_weights, weights[:, t], rtol=1e-5, atol=1e-6)


def test_bahdanau_attends_with_the_previous_state():
    m = model("bahdanau")
    src, lengths, tgt_in = toy_batch()
    queries = []
    score = m.decoder.attention.score_projected

    def recording(query, keys_proj):
        queries.append(query.detach().clone())
        return score(query, keys_proj)

    m.decoder.attention.score_projected = recording
    memory, state = m.encode(src, lengths)
    states = [state[0]]
    for t in range(TGT_LEN):
        _, state, _ = m.step(tgt_in[:, t], state, memory)
        states.append(state[0])
    for t in range(TGT_LEN):
        torch.testing.assert_close(queries[t], states[t])  # step t+1 queries with h_t, not h_{t+1}
        assert not torch.allclose(queries[t], states[t + 1])


def test_bahdanau_fused_loop_matches_autograd_values_and_gradients():
    m = model("bahdanau", attn_dim=7).double()
    src, lengths, tgt_in = toy_batch()
    src_weights = torch.linspace(-1, 1, SRC_LEN, dtype=torch.float64)

    def run(fused: bool):
        m.decoder.fused = fused
        m.zero_grad()
        logits, weights = m(src, lengths, tgt_in)
        (logits.sin().sum() + (weights * src_weights).sum()).backward()
        grads = {n: p.grad.clone() for n, p in m.named_parameters()}
        return logits.detach(), weights.detach(), grads

    fused, plain = run(True), run(False)
    torch.testing.assert_close(fused[0], plain[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(fused[1], plain[1], rtol=1e-12, atol=1e-12)
    for name, grad in plain[2].items():
        torch.testing.assert_close(fused[2][name], grad, rtol=1e-10, atol=1e-12, msg=name)


@pytest.mark.parametrize(("key_scale", "query_scale"), [(1, 1), (200, 200), (1, 400)])
def test_bahdanau_fused_loop_matches_autograd_with_large_keys_too(key_scale, query_scale):
    # The fused loop takes tanh(k + q) as 1 - 2 / (1 + exp(2k) exp(2q)); past +-40 it must fall
    # back to tanh (in float32, exp(2k) exp(2q) would be inf * 0 = NaN), and match autograd.
    m = model("bahdanau", attn_dim=7)
    with torch.no_grad():
        m.decoder.attention.w_key.weight.mul_(key_scale)
        m.decoder.attention.w_query.weight.mul_(query_scale)
    src, lengths, tgt_in = toy_batch()

    def run(fused: bool):
        m.decoder.fused = fused
        m.zero_grad()
        logits, weights = m(src, lengths, tgt_in)
        logits.sin().sum().backward()
        return logits.detach(), {n: p.grad.clone() for n, p in m.named_parameters()}

    memory, _ = m.encode(src, lengths)
    assert (memory["keys"].abs().max() > 40) == (key_scale > 1)
    fused, plain = run(True), run(False)
    torch.testing.assert_close(fused[0], plain[0], rtol=1e-5, atol=1e-5)
    for name, grad in plain[1].items():
        torch.testing.assert_close(fused[1][name], grad, rtol=1e-4, atol=1e-4, msg=name)


def test_luong_predicts_from_the_attentional_state():
    m = model("luong")
    dec = m.decoder
    src, lengths, tgt_in = toy_batch()
    logits, weights = m(src, lengths, tgt_in)
    states, final = m.encoder(src, lengths)
    hs, _ = dec.rnn(dec.embedding(tgt_in), final[None])  # h_t: after the RNN step
    scores = hs @ dec.score.weight @ states.transpose(1, 2)  # h_t^T W s ("general")
    mask = torch.arange(SRC_LEN)[None] < lengths[:, None]
    ref_weights = masked_softmax(scores, mask)
    h_tilde = torch.tanh(dec.combine(torch.cat([hs, context_vector(ref_weights, states)], -1)))
    torch.testing.assert_close(weights, ref_weights, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(logits, dec.out(h_tilde), rtol=1e-5, atol=1e-6)


def test_luong_input_feeding_feeds_the_previous_attentional_state():
    m = model("luong", input_feeding=True)
    src, lengths, tgt_in = toy_batch()
    memory, (h0, feed0) = m.encode(src, lengths)
    _, (h1, feed1), _ = m.step(tgt_in[:, 0], (h0, feed0), memory)
    logits2, _, _ = m.step(tgt_in[:, 1], (h1, feed1), memory)
    other, _, _ = m.step(tgt_in[:, 1], (h1, torch.zeros_like(feed1)), memory)
    assert not torch.allclose(logits2, other)  # h~_1 reaches step 2
    assert m.decoder.rnn.input_size == 4 + 6  # [embedding; h~]


def test_no_attention_decoder_sees_only_the_final_state():
    m = model("none")
    src, lengths, tgt_in = toy_batch()
    logits, _ = m(src, lengths, tgt_in)
    # Changing an early source token changes the output only through the final state.
    memory, (h0,) = m.encode(src, lengths)
    torch.testing.assert_close(m.decoder(tgt_in, memory, (h0,))[0], logits)
    assert set(memory) == {"mask"}


def test_build_model_is_reproducible_and_keeps_the_global_rng():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = build_model("luong", SRC_V, TGT_V, 4, 6, seed=5)
    after = torch.rand(1)
    b = build_model("luong", SRC_V, TGT_V, 4, 6, seed=5)
    assert before == after
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_equal_sizes_by_default():
    bahdanau, luong = model("bahdanau"), model("luong")
    assert bahdanau.encoder.out_dim == luong.encoder.out_dim == 6
    assert bahdanau.encoder.bidirectional and not luong.encoder.bidirectional


def test_learner_errors_name_expected_and_actual():
    with pytest.raises(ValueError, match="kind must be one of"):
        build_model("transformer", SRC_V, TGT_V)
    with pytest.raises(ValueError, match="dot score needs"):
        build_model("luong", SRC_V, TGT_V, 4, 6, enc_hidden=5, score="dot")
    m = model("luong")
    src, lengths, tgt_in = toy_batch()
    with pytest.raises(ValueError, match="src_lengths must lie in"):
        m(src, torch.tensor([6, 3]), tgt_in)
    with pytest.raises(ValueError, match=r"src_lengths must have shape \(2,\)"):
        m(src, torch.tensor([5]), tgt_in)
    with pytest.raises(ValueError, match="tgt_in must be"):
        m(src, lengths, tgt_in[:1])


@pytest.mark.parametrize("kind", KINDS)
def test_dropout_acts_in_training_only(kind):
    src, lengths, tgt_in = toy_batch()
    plain = model(kind)
    dropped = model(kind, dropout=0.5)
    dropped.load_state_dict(plain.state_dict())  # same weights: only the dropout differs
    plain.eval()
    dropped.eval()
    torch.testing.assert_close(dropped(src, lengths, tgt_in)[0], plain(src, lengths, tgt_in)[0])
    dropped.train()
    torch.manual_seed(0)
    first = dropped(src, lengths, tgt_in)[0]
    assert not torch.allclose(first, plain(src, lengths, tgt_in)[0])
    torch.manual_seed(0)
    torch.testing.assert_close(dropped(src, lengths, tgt_in)[0], first)  # seeded: repeatable


@pytest.mark.parametrize(
    ("kind", "attends", "before"),
    [("none", False, False), ("bahdanau", True, True), ("luong", True, False)],
)
def test_decoders_declare_what_they_are(kind, attends, before):
    m = model(kind)
    assert m.has_attention is m.decoder.has_attention is attends
    assert m.decoder.attends_before_step is before


def test_build_model_is_seq2seq_of_its_config():
    config = ModelConfig("luong", SRC_V, TGT_V, 4, 6, score="concat", input_feeding=True)
    a, b = (
        Seq2Seq(config, seed=3),
        build_model("luong", SRC_V, TGT_V, 4, 6, score="concat", input_feeding=True, seed=3),
    )
    assert a.config == b.config == config and config.enc_hidden == 6 and not config.bidirectional
    for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    assert a.decoder.score.projects_keys  # the additive score projects keys once per sequence


def test_bahdanau_paper_first_state_reads_the_backward_state_at_the_first_word():
    """s_0 = tanh(W_s h<-_1): the backward direction's state at position 0, nothing else."""
    m = model("bahdanau", first_state="backward")
    src, lengths, _ = toy_batch()
    states, _ = m.encoder(src, lengths)  # (batch, src_len, 2 * enc_hidden)
    half = m.config.enc_hidden
    expected = torch.tanh(m.decoder.bridge.proj(states[:, 0, half:]))  # (batch, hidden)
    _, (s0,) = m.encode(src, lengths)
    torch.testing.assert_close(s0, expected, rtol=0, atol=1e-6)
    assert m.decoder.bridge.proj.in_features == half
    # The course's form reads both halves of the final state: a different W's input.
    assert model("bahdanau").decoder.bridge.proj.in_features == 2 * half


def test_bahdanau_paper_first_state_still_trains_both_loops_alike():
    m = model("bahdanau", first_state="backward")
    src, lengths, tgt_in = toy_batch()
    fused, _ = m(src, lengths, tgt_in)
    m.decoder.fused = False
    plain, _ = m(src, lengths, tgt_in)
    torch.testing.assert_close(fused, plain, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "kwargs", [{"kind": "luong"}, {"kind": "bahdanau", "bidirectional": False}]
)
def test_paper_first_state_needs_a_two_directional_bahdanau(kwargs):
    with pytest.raises(ValueError, match="first_state='backward'"):
        ModelConfig(src_vocab_size=SRC_V, tgt_vocab_size=TGT_V, first_state="backward", **kwargs)
    with pytest.raises(ValueError, match="first_state must be one of"):
        ModelConfig(src_vocab_size=SRC_V, tgt_vocab_size=TGT_V, first_state="forward")
