"""Three decoders behind one protocol: no attention (the bottleneck), Bahdanau, Luong (lesson 05).

The protocol, the one place it is written down:

- ``prepare(states, final, mask) -> (memory, state)``: per-sequence work done once (``memory``,
  a dict of batch-first tensors, e.g. projected keys) and the decoder's first ``state`` (a tuple
  of batch-first tensors), so beam search can repeat and reorder both without knowing the decoder;
- ``forward(tgt_in, memory, state) -> (logits, weights)``: all target steps, teacher forced;
- ``step(tokens, state, memory) -> (logits, state, weights)``: one step, for decoding;
- two class attributes that say what the decoder is: ``has_attention`` (False: ``weights`` is
  None) and ``attends_before_step`` (True: the query is the previous state h_{t-1}, as in
  Bahdanau's; False: the query is the new state h_t, as in Luong's).
"""

from __future__ import annotations

import torch
from torch import nn

from course_lib.attention import AdditiveScore, context_vector, make_score, masked_softmax
from course_lib.data.vocab import PAD
from course_lib.fused_recurrence import bahdanau_recurrence

LUONG_SCORES = {"general": "bilinear", "dot": "dot", "concat": "additive"}


def gru_update(gi: torch.Tensor, gh: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """The GRU's gates from the input part ``gi`` and hidden part ``gh`` (both (batch, 3*hidden)).

    Same equations and gate order (reset, update, new) as ``torch.nn.GRU``; split out so that the
    input part can be computed for all steps at once.
    """
    hidden = h.shape[-1]
    rz = torch.sigmoid(gi[:, : 2 * hidden] + gh[:, : 2 * hidden])  # (batch, 2*hidden)
    r, z = rz[:, :hidden], rz[:, hidden:]
    n = torch.tanh(gi[:, 2 * hidden :] + r * gh[:, 2 * hidden :])  # (batch, hidden)
    return n + z * (h - n)  # = (1 - z) * n + z * h


class Bridge(nn.Module):
    """The decoder's first state from the encoder's final state (identity when sizes agree)."""

    def __init__(self, enc_dim: int, hidden: int, always: bool = False):
        super().__init__()
        self.proj = nn.Linear(enc_dim, hidden) if always or enc_dim != hidden else None

    def forward(self, final: torch.Tensor) -> torch.Tensor:
        return final if self.proj is None else torch.tanh(self.proj(final))


class NoAttentionDecoder(nn.Module):
    """GRU decoder that sees the source only through its first state: the bottleneck."""

    has_attention = False
    attends_before_step = False

    def __init__(self, vocab_size: int, emb: int, hidden: int, enc_dim: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, emb, padding_idx=PAD)
        self.bridge = Bridge(enc_dim, hidden)
        self.rnn = nn.GRU(emb, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab_size)

    def prepare(self, states, final, mask):
        return {"mask": mask}, (self.bridge(final),)

    def forward(self, tgt_in, memory, state):
        emb = self.embedding(tgt_in)  # (batch, tgt_len, emb)
        out, _ = self.rnn(emb, state[0][None].contiguous())  # (batch, tgt_len, hidden)
        return self.out(out), None

    def step(self, tokens, state, memory):
        emb = self.embedding(tokens)[:, None]  # (batch, 1, emb)
        out, h = self.rnn(emb, state[0][None].contiguous())
        return self.out(out[:, 0]), (h[0],), None


class BahdanauDecoder(nn.Module):
    """Attention between steps: h_{t-1} queries the source; [y_{t-1}; c_t] feeds the GRU at t.

    Speed: the decoder must loop over steps, so everything that does not depend on the step is
    done once: keys are projected once per sequence, all target embeddings and their share of
    the GRU's input gates are computed in one matmul, and the output layer runs after the loop.
    ``fused=True`` runs the teacher-forced loop with a hand-written backward pass (about twice as
    fast to train); ``fused=False`` runs ``_advance`` under plain autograd: same numbers.
    """

    has_attention = True
    attends_before_step = True

    def __init__(
        self,
        vocab_size: int,
        emb: int,
        hidden: int,
        enc_dim: int,
        attn_dim: int | None = None,
        fused: bool = True,
        first_state: str = "both",
    ):
        super().__init__()
        if first_state not in ("both", "backward"):
            raise ValueError(f"first_state must be 'both' or 'backward', got {first_state!r}")
        attn_dim = attn_dim or hidden
        self.hidden = hidden
        self.fused = fused
        self.embedding = nn.Embedding(vocab_size, emb, padding_idx=PAD)
        # The first state. "both" (the course's): tanh(W [forward final; backward final]); both
        # directions have read the whole source, and W can learn to ignore one. "backward" (the
        # paper's): tanh(W_s h<-_1), the backward pass's state at the first word, which is its
        # final state; the encoder's final is [forward; backward], so it is the second half.
        self.first_state = first_state
        self.bridge = Bridge(enc_dim // 2 if first_state == "backward" else enc_dim, hidden, True)
        self.attention = AdditiveScore(hidden, enc_dim, attn_dim)  # w_2^T tanh(W_q h + W_k s)
        # The GRU's input is [y_{t-1}; c_t]; its input matmul is split into the two parts.
        self.gates_emb = nn.Linear(emb, 3 * hidden)  # all steps at once
        self.gates_ctx = nn.Linear(enc_dim, 3 * hidden, bias=False)  # per step
        self.gates_hidden = nn.Linear(hidden, 3 * hidden)  # per step, from h_{t-1}
        self.pre_output = nn.Linear(hidden + enc_dim + emb, hidden)
        self.out = nn.Linear(hidden, vocab_size)

    def prepare(self, states, final, mask):
        keys = self.attention.project_keys(states)  # (batch, src_len, attn_dim), once
        if self.first_state == "backward":
            final = final[:, final.shape[-1] // 2 :]  # h<-_1: (batch, enc_dim / 2)
        return {"keys": keys, "values": states, "mask": mask}, (self.bridge(final),)

    def _advance(self, gi_emb, h_prev, memory):
        """One step: attend with h_{t-1}, then update the GRU with the context."""
        scores = self.attention.score_projected(h_prev, memory["keys"])  # (batch, src_len)
        weights = masked_softmax(scores, memory["mask"])  # (batch, src_len)
        context = context_vector(weights, memory["values"])  # (batch, enc_dim)
        gi = gi_emb + self.gates_ctx(context)  # (batch, 3*hidden)
        h = gru_update(gi, self.gates_hidden(h_prev), h_prev)  # (batch, hidden)
        return h, context, weights

    def _logits(self, h, context, emb):
        return self.out(torch.tanh(self.pre_output(torch.cat([h, context, emb], dim=-1))))

    def forward(self, tgt_in, memory, state):
        emb = self.embedding(tgt_in)  # (batch, tgt_len, emb)
        gi_emb = self.gates_emb(emb)  # (batch, tgt_len, 3*hidden)
        if self.fused:
            hs, contexts, weights = self._fused_loop(gi_emb, state[0], memory)
        else:
            h, hs, contexts, weights = state[0], [], [], []
            for gi_t in gi_emb.unbind(1):
                h, context, w = self._advance(gi_t, h, memory)
                hs.append(h)
                contexts.append(context)
                weights.append(w)
            hs, contexts = torch.stack(hs, 1), torch.stack(contexts, 1)  # (batch, tgt_len, ..)
            weights = torch.stack(weights, 1)  # (batch, tgt_len, src_len)
        return self._logits(hs, contexts, emb), weights

    def _fused_loop(self, gi_emb, h0, memory):
        """The same loop as ``_advance`` with a hand-written backward (see fused_recurrence)."""
        w_query = self.attention.w_query.weight  # (d_attn, hidden)
        w_hidden = torch.cat([self.gates_hidden.weight, w_query])  # one matmul per step for both
        b_hidden = torch.cat([self.gates_hidden.bias, w_query.new_zeros(w_query.shape[0])])
        return bahdanau_recurrence(
            gi_emb,
            h0,
            memory["keys"],
            memory["values"],
            memory["mask"],
            w_hidden,
            b_hidden,
            self.gates_ctx.weight,
            self.attention.v,
        )

    def step(self, tokens, state, memory):
        emb = self.embedding(tokens)  # (batch, emb)
        h, context, weights = self._advance(self.gates_emb(emb), state[0], memory)
        return self._logits(h, context, emb), (h,), weights


class LuongDecoder(nn.Module):
    """Attention after the step: h_t queries the source, h~_t = tanh(W_c [h_t; c_t]) predicts.

    Without input feeding the GRU never sees the context, so all steps run in one ``nn.GRU`` call
    and attention is one batched matrix product. With ``input_feeding`` h~_{t-1} joins the GRU's
    input at step t, which forces a loop over steps.
    """

    has_attention = True
    attends_before_step = False

    def __init__(
        self,
        vocab_size: int,
        emb: int,
        hidden: int,
        enc_dim: int,
        score: str = "general",
        input_feeding: bool = False,
        attn_dim: int | None = None,
        dropout: float = 0.0,
    ):
        super().__init__()
        if score not in LUONG_SCORES:
            raise ValueError(f"score must be one of {tuple(LUONG_SCORES)}, got {score!r}")
        if score == "dot" and enc_dim != hidden:
            raise ValueError(
                f"the dot score needs encoder states as wide as the decoder's ({hidden}), "
                f"got {enc_dim}; use score='general'"
            )
        self.input_feeding = input_feeding
        self.hidden = hidden
        self.embedding = nn.Embedding(vocab_size, emb, padding_idx=PAD)
        self.bridge = Bridge(enc_dim, hidden)
        self.rnn = nn.GRU(emb + (hidden if input_feeding else 0), hidden, batch_first=True)
        self.score = make_score(LUONG_SCORES[score], hidden, enc_dim, attn_dim or hidden)
        self.combine = nn.Linear(hidden + enc_dim, hidden, bias=False)  # W_c
        self.out = nn.Linear(hidden, vocab_size)
        self.dropout = nn.Dropout(dropout)  # on embeddings and h~; off in eval()

    def prepare(self, states, final, mask):
        h0 = self.bridge(final)  # (batch, hidden)
        keys = self.score.project_keys(states) if self.score.projects_keys else states
        memory = {"keys": keys, "values": states, "mask": mask}
        feed = h0.new_zeros(h0.shape)  # h~_0 = 0 for input feeding
        return memory, (h0, feed)

    def _attend(self, h, memory):
        """Weights and attentional state h~ for decoder states ``h`` of shape (batch, [tgt,] hid)."""
        if self.score.projects_keys:
            scores = self.score.score_projected(h, memory["keys"])
        else:
            scores = self.score(h, memory["keys"])  # (batch, [tgt_len,] src_len)
        weights = masked_softmax(scores, memory["mask"])
        context = context_vector(weights, memory["values"])  # (batch, [tgt_len,] enc_dim)
        # The paper writes [c_t; h_t] (eq. 5); with a learned W_c the order of the two halves only
        # swaps W_c's columns, so [h_t; c_t] is the same model.
        h_tilde = torch.tanh(self.combine(torch.cat([h, context], dim=-1)))
        return weights, h_tilde

    def _rnn_step(self, emb_t, state):
        h_prev, feed = state
        x = torch.cat([emb_t, feed], dim=-1) if self.input_feeding else emb_t
        out, _ = self.rnn(x[:, None], h_prev[None].contiguous())
        return out[:, 0]  # (batch, hidden)

    def forward(self, tgt_in, memory, state):
        emb = self.dropout(self.embedding(tgt_in))  # (batch, tgt_len, emb)
        if not self.input_feeding:
            hs, _ = self.rnn(emb, state[0][None].contiguous())  # (batch, tgt_len, hidden)
            weights, h_tilde = self._attend(hs, memory)  # all steps in one go
            return self.out(self.dropout(h_tilde)), weights
        all_weights, tildes = [], []
        for t in range(tgt_in.shape[1]):
            h = self._rnn_step(emb[:, t], state)
            weights, h_tilde = self._attend(h, memory)
            state = (h, h_tilde)
            all_weights.append(weights)
            tildes.append(h_tilde)
        return self.out(self.dropout(torch.stack(tildes, dim=1))), torch.stack(all_weights, dim=1)

    def step(self, tokens, state, memory):
        h = self._rnn_step(self.dropout(self.embedding(tokens)), state)
        weights, h_tilde = self._attend(h, memory)
        return self.out(self.dropout(h_tilde)), (h, h_tilde), weights
