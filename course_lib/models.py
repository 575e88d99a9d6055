"""The encoder, the seq2seq model around any of the three decoders, and its config (lesson 05).

``ModelConfig`` says once what fixes a model's shape (checkpoints store it as ``config.json``'s
"model"); ``Seq2Seq(config, seed)`` builds the encoder and the decoder it names;
``build_model(kind, src_vocab_size, tgt_vocab_size, emb=..., ...)`` does both in one call. The
decoders share one protocol (``course_lib.decoders``), so training, search, plots and widgets
never ask which model they hold.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from course_lib.attention import lengths_to_mask
from course_lib.data.vocab import PAD
from course_lib.decoders import BahdanauDecoder, LuongDecoder, NoAttentionDecoder

__all__ = [
    "BahdanauDecoder",
    "Encoder",
    "LuongDecoder",
    "ModelConfig",
    "NoAttentionDecoder",
    "Seq2Seq",
    "build_model",
    "check_lengths",
]

KINDS = ("none", "bahdanau", "luong")
FIRST_STATES = ("both", "backward")


@dataclass
class ModelConfig:
    """What fixes a seq2seq model's shape: ``kind`` "none", "bahdanau" or "luong", and sizes.

    Bahdanau uses a two-directional encoder, Luong and the baseline a one-directional one (change
    with ``bidirectional``). ``enc_hidden`` is the encoder's size per direction; by default the
    encoder's states are ``hidden`` wide in total (``hidden // 2`` per direction when it reads
    both ways), so all three models compare at equal state sizes. Both defaults are resolved
    here, so a stored config says what was built. ``enc_layers`` stacks GRU layers in the
    encoder (Luong et al. 2015 stack theirs); attention reads the top layer's states and the
    decoder starts from the top layer's final state. ``dropout`` (training only) drops encoder
    embeddings and states, and in the Luong decoder its embeddings and h~ before the output
    layer. ``score``, ``input_feeding`` are Luong's; ``attn_dim`` sizes the additive score.
    ``first_state`` is Bahdanau's decoder start: "both" (the course's: tanh(W [forward final;
    backward final])) or "backward" (the paper's: tanh(W_s h<-_1), the backward pass's last state,
    read at the first word).
    """

    kind: str = "bahdanau"
    src_vocab_size: int = 0
    tgt_vocab_size: int = 0
    emb: int = 64
    hidden: int = 128
    _: KW_ONLY
    enc_hidden: int | None = None
    attn_dim: int | None = None
    score: str = "general"
    input_feeding: bool = False
    bidirectional: bool | None = None
    reverse_source: bool = False
    enc_layers: int = 1
    dropout: float = 0.0
    first_state: str = "both"

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if self.first_state not in FIRST_STATES:
            raise ValueError(f"first_state must be one of {FIRST_STATES}, got {self.first_state!r}")
        if self.src_vocab_size < 5 or self.tgt_vocab_size < 5:
            raise ValueError(
                "src_vocab_size and tgt_vocab_size must count the 4 specials plus at least one "
                f"token, got {self.src_vocab_size} and {self.tgt_vocab_size}"
            )
        if self.bidirectional is None:
            self.bidirectional = self.kind == "bahdanau"
        if self.enc_hidden is None:
            self.enc_hidden = self.hidden // 2 if self.bidirectional else self.hidden
        if self.first_state == "backward" and (self.kind != "bahdanau" or not self.bidirectional):
            raise ValueError(
                "first_state='backward' (the paper's s_0 = tanh(W_s h<-_1)) needs kind='bahdanau' "
                f"with a two-directional encoder, got kind={self.kind!r}, "
                f"bidirectional={self.bidirectional}"
            )


def check_lengths(src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Validate ``lengths`` against ``src`` and return them as a CPU long tensor."""
    if src.dim() != 2:
        raise ValueError(f"src must be (batch, src_len), got shape {tuple(src.shape)}")
    lengths = torch.as_tensor(lengths).to("cpu", torch.long)
    if lengths.shape != (src.shape[0],):
        raise ValueError(
            f"src_lengths must have shape ({src.shape[0]},) to match src, got {tuple(lengths.shape)}"
        )
    if len(lengths) and (lengths.min() < 1 or lengths.max() > src.shape[1]):
        raise ValueError(
            f"src_lengths must lie in [1, {src.shape[1]}] (src_len), "
            f"got min {int(lengths.min())}, max {int(lengths.max())}"
        )
    return lengths


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first ``lengths[b]`` positions of each row, leaving the padding where it is."""
    batch, src_len = x.shape[:2]
    pos = torch.arange(src_len).expand(batch, src_len)  # (batch, src_len)
    rev = lengths[:, None] - 1 - pos
    index = torch.where(rev >= 0, rev, pos).to(x.device)  # pads map to themselves
    if x.dim() == 3:
        index = index[:, :, None].expand_as(x)
    return x.gather(1, index)


class Encoder(nn.Module):
    """Embedding + GRU over packed sequences, so padding never touches a real token's state."""

    def __init__(
        self,
        vocab_size: int,
        emb: int,
        hidden: int,
        bidirectional: bool = False,
        reverse_source: bool = False,
        layers: int = 1,
        dropout: float = 0.0,
    ):
        super().__init__()
        if layers < 1:
            raise ValueError(f"layers must be at least 1, got {layers}")
        self.embedding = nn.Embedding(vocab_size, emb, padding_idx=PAD)
        self.rnn = nn.GRU(
            emb, hidden, num_layers=layers, batch_first=True, bidirectional=bidirectional
        )
        self.dropout = nn.Dropout(dropout)  # on the embeddings and the states; off in eval()
        self.bidirectional = bidirectional
        self.reverse_source = reverse_source
        self.out_dim = hidden * (2 if bidirectional else 1)

    def forward(
        self, src: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(states (batch, src_len, out_dim), final (batch, out_dim))``; padded states are 0.

        With ``reverse_source`` the GRU reads each sequence backwards (Sutskever et al. 2014),
        but ``states[:, j]`` still belongs to source token j, so attention maps stay readable.
        """
        lengths = check_lengths(src, lengths)
        if self.reverse_source:
            src = reverse_padded(src, lengths)
        emb = self.dropout(self.embedding(src))  # (batch, src_len, emb)
        packed = pack_padded_sequence(emb, lengths, batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)  # h_n: (layers * dirs, batch, hidden)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        dirs = 2 if self.bidirectional else 1
        # The top layer's final states, [forward; backward]: (batch, hidden * dirs)
        final = torch.cat(list(h_n[-dirs:]), dim=-1)
        if self.reverse_source:
            states = reverse_padded(states, lengths)
        return self.dropout(states), final


class Seq2Seq(nn.Module):
    """Encoder + decoder behind one interface: logits and attention weights for any decoder.

    The initial weights come from ``seed`` without touching the global random state
    (``seed=None`` uses it).
    """

    def __init__(self, config: ModelConfig, seed: int | None = 0):
        super().__init__()
        self.config = config
        c = config
        with torch.random.fork_rng(devices=[]):
            if seed is not None:
                torch.manual_seed(seed)
            self.encoder = Encoder(
                c.src_vocab_size, c.emb, c.enc_hidden, c.bidirectional, c.reverse_source,
                c.enc_layers, c.dropout,
            )  # fmt: skip
            enc_dim = self.encoder.out_dim
            if c.kind == "none":
                self.decoder = NoAttentionDecoder(c.tgt_vocab_size, c.emb, c.hidden, enc_dim)
            elif c.kind == "bahdanau":
                self.decoder = BahdanauDecoder(
                    c.tgt_vocab_size, c.emb, c.hidden, enc_dim, attn_dim=c.attn_dim,
                    first_state=c.first_state,
                )  # fmt: skip
            else:
                self.decoder = LuongDecoder(
                    c.tgt_vocab_size, c.emb, c.hidden, enc_dim, score=c.score,
                    input_feeding=c.input_feeding, attn_dim=c.attn_dim, dropout=c.dropout,
                )  # fmt: skip

    @property
    def has_attention(self) -> bool:
        return self.decoder.has_attention

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor) -> tuple[dict, tuple]:
        """Run the encoder and the decoder's once-per-sequence work: ``(memory, state)``."""
        lengths = check_lengths(src, src_lengths)
        states, final = self.encoder(src, lengths)
        mask = lengths_to_mask(lengths, src.shape[1]).to(src.device)  # (batch, src_len)
        return self.decoder.prepare(states, final, mask)

    def forward(
        self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Teacher-forced pass: logits ``(batch, tgt_len, vocab)``, weights ``(batch, tgt_len,
        src_len)`` (None without attention)."""
        if tgt_in.dim() != 2 or tgt_in.shape[0] != src.shape[0]:
            raise ValueError(
                f"tgt_in must be (batch={src.shape[0]}, tgt_len), got shape {tuple(tgt_in.shape)}"
            )
        memory, state = self.encode(src, src_lengths)
        return self.decoder(tgt_in, memory, state)

    def step(self, tokens: torch.Tensor, state: tuple, memory: dict):
        """One decoder step from the previous tokens ``(batch,)``: ``(logits, state, weights)``."""
        return self.decoder.step(tokens, state, memory)


def build_model(*args, seed: int | None = 0, **kwargs) -> Seq2Seq:
    """``Seq2Seq(ModelConfig(*args, **kwargs), seed)``: e.g. ``build_model("luong",
    len(src_vocab), len(tgt_vocab), emb=32, hidden=64)``; see ``ModelConfig`` for the options."""
    return Seq2Seq(ModelConfig(*args, **kwargs), seed)
