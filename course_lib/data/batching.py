"""Turn lists of examples into padded, batch-first tensors, and back into readable text."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from .vocab import EOS, PAD, SOS, UNK, Vocab

Span = tuple[int, int]


@dataclass
class Example:
    """One source/target pair of tokens; ``alignment`` gives, per target token, its source span."""

    src: list[str]
    tgt: list[str]
    alignment: list[Span | None] | None = None


@dataclass
class Batch:
    """Padded tensors for one batch; ``tgt_in`` = SOS + target, ``tgt_out`` = target + EOS.

    ``alignments`` (bool, ``(batch, tgt_len, src_len)``) marks the gold source positions of each
    ``tgt_out`` step, when every example carries an ``alignment``; the EOS row is all False.
    """

    src: torch.Tensor  # (batch, src_len) long, PAD-padded
    src_lengths: torch.Tensor  # (batch,) long, on CPU for pack_padded_sequence
    tgt_in: torch.Tensor  # (batch, tgt_len) long, starts with SOS
    tgt_out: torch.Tensor  # (batch, tgt_len) long, ends with EOS
    tgt_lengths: torch.Tensor  # (batch,) long, counts the EOS
    alignments: torch.Tensor | None = None  # (batch, tgt_len, src_len) bool
    examples: list[Any] = field(default_factory=list)

    def __len__(self) -> int:
        return self.src.shape[0]

    def to(self, device: torch.device | str) -> Batch:
        """A copy on ``device``; lengths stay on the CPU, where packing wants them."""
        moved = {
            name: getattr(self, name).to(device)
            for name in ("src", "tgt_in", "tgt_out", "alignments")
            if getattr(self, name) is not None
        }
        return replace(self, **moved)


def alignment_matrix(alignment: Sequence[Span | None], tgt_len: int, src_len: int) -> torch.Tensor:
    """Bool matrix ``(tgt_len, src_len)`` with True on each target step's half-open source span."""
    if len(alignment) > tgt_len:
        raise ValueError(f"alignment has {len(alignment)} steps, more than tgt_len={tgt_len}")
    mat = torch.zeros(tgt_len, src_len, dtype=torch.bool)
    for t, span in enumerate(alignment):
        if span is None:
            continue
        start, end = span
        if not 0 <= start < end <= src_len:
            raise ValueError(f"span {span} at target step {t} does not fit src_len={src_len}")
        mat[t, start:end] = True
    return mat


def pad(rows: list[list[int]]) -> torch.Tensor:
    """Token id rows as one (rows, longest) long tensor, PAD after each row's end."""
    width = max(len(r) for r in rows)
    return torch.tensor([r + [PAD] * (width - len(r)) for r in rows], dtype=torch.long)


def make_batch(
    examples: Sequence[Any],
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    sort: bool = False,
    src_eos: bool = False,
) -> Batch:
    """Encode and pad ``examples`` (objects with ``.src``/``.tgt`` token lists) into a Batch.

    ``sort=True`` orders the rows by decreasing source length (``examples`` follow the same order);
    ``src_eos=True`` appends EOS to each source sequence.
    """
    examples = list(examples)
    if not examples:
        raise ValueError("make_batch needs at least one example, got 0")
    for i, ex in enumerate(examples):
        if len(ex.src) == 0 or len(ex.tgt) == 0:
            raise ValueError(
                f"example {i} has an empty sequence (src length {len(ex.src)}, "
                f"tgt length {len(ex.tgt)}); both must be >= 1"
            )
    if sort:
        examples.sort(key=lambda ex: len(ex.src), reverse=True)
    src_rows = [src_vocab.encode(ex.src, add_eos=src_eos) for ex in examples]
    tgt_ids = [tgt_vocab.encode(ex.tgt, add_eos=False) for ex in examples]
    src = pad(src_rows)  # (batch, src_len)
    tgt_in = pad([[SOS] + ids for ids in tgt_ids])  # (batch, tgt_len)
    tgt_out = pad([ids + [EOS] for ids in tgt_ids])  # (batch, tgt_len)
    alignments = None
    if all(getattr(ex, "alignment", None) is not None for ex in examples):
        alignments = torch.stack(
            [alignment_matrix(ex.alignment, tgt_out.shape[1], src.shape[1]) for ex in examples]
        )  # (batch, tgt_len, src_len)
    return Batch(
        src=src,
        src_lengths=torch.tensor([len(r) for r in src_rows], dtype=torch.long),
        tgt_in=tgt_in,
        tgt_out=tgt_out,
        tgt_lengths=torch.tensor([len(ids) + 1 for ids in tgt_ids], dtype=torch.long),
        alignments=alignments,
        examples=examples,
    )


def batches(
    examples: Sequence[Any],
    batch_size: int,
    src_vocab: Vocab,
    tgt_vocab: Vocab,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    sort: bool = False,
    drop_last: bool = False,
    src_eos: bool = False,
) -> Iterator[Batch]:
    """Yield Batches of ``batch_size`` examples, shuffled with ``generator`` when asked.

    ``sort`` orders rows inside each batch by decreasing source length (see :func:`make_batch`).
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    examples = list(examples)
    if shuffle:
        order = torch.randperm(len(examples), generator=generator).tolist()
    else:
        order = list(range(len(examples)))
    for start in range(0, len(order), batch_size):
        chunk = [examples[i] for i in order[start : start + batch_size]]
        if drop_last and len(chunk) < batch_size:
            break
        yield make_batch(chunk, src_vocab, tgt_vocab, sort=sort, src_eos=src_eos)


GLYPHS = {PAD: "·", SOS: "▶", EOS: "■", UNK: "?"}


def _cells(ids: torch.Tensor, vocab: Vocab) -> list[list[str]]:
    """Printable token per position of a (batch, len) tensor; specials and space as glyphs."""
    rows = []
    for row in ids.tolist():
        toks = [GLYPHS.get(i, vocab.itos[i]) for i in row]
        rows.append(["␣" if tok == " " else tok for tok in toks])
    return rows


def _join(cells: list[str], width: int) -> str:
    return " ".join(c.ljust(width) for c in cells).rstrip()


def show_batch(batch: Batch, src_vocab: Vocab, tgt_vocab: Vocab, max_rows: int = 8) -> str:
    """A batch as text, one line per tensor row; specials shown as glyphs (see the legend line)."""
    lines = [
        f"Batch of {len(batch)}: src {tuple(batch.src.shape)}, "
        f"tgt_in/tgt_out {tuple(batch.tgt_in.shape)}   "
        "legend: · pad, ▶ sos, ■ eos, ? unk, ␣ space"
    ]
    src = _cells(batch.src, src_vocab)
    tgt_in, tgt_out = _cells(batch.tgt_in, tgt_vocab), _cells(batch.tgt_out, tgt_vocab)
    src_w = max(len(c) for row in src for c in row)  # one width per tensor: columns line up
    tgt_w = max(len(c) for row in tgt_in + tgt_out for c in row)
    for row in range(min(len(batch), max_rows)):
        n_src, n_tgt = int(batch.src_lengths[row]), int(batch.tgt_lengths[row])
        lines.append(f"[{row}] src     (len {n_src:>3}): " + _join(src[row], src_w))
        lines.append(f"    tgt_in  (len {n_tgt:>3}): " + _join(tgt_in[row], tgt_w))
        lines.append(f"    tgt_out (len {n_tgt:>3}): " + _join(tgt_out[row], tgt_w))
    if len(batch) > max_rows:
        lines.append(f"... {len(batch) - max_rows} more rows")
    return "\n".join(lines)
