"""Token <-> index tables, with the four special tokens every seq2seq model in the course shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

SPECIALS = ("<pad>", "<sos>", "<eos>", "<unk>")
PAD, SOS, EOS, UNK = 0, 1, 2, 3


class Vocab:
    """Map tokens to indices; the specials come first so PAD=0, SOS=1, EOS=2, UNK=3 everywhere.

    ``tokens`` keeps its order (first occurrence wins); duplicates and specials are skipped.
    Use :meth:`build` to make a vocabulary from sequences with a sorted, reproducible order.
    """

    PAD, SOS, EOS, UNK = PAD, SOS, EOS, UNK

    def __init__(self, tokens: Iterable[str] = (), specials: Sequence[str] = SPECIALS):
        specials = tuple(specials)
        if len(specials) != 4 or len(set(specials)) != 4:
            raise ValueError(
                f"specials must be 4 distinct tokens (pad, sos, eos, unk), got {specials!r}"
            )
        self.specials = specials
        self.itos: list[str] = list(specials)
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(specials)}
        for tok in tokens:
            if not isinstance(tok, str):
                raise TypeError(f"tokens must be str, got {type(tok).__name__}: {tok!r}")
            if tok not in self.stoi:
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)

    @classmethod
    def build(
        cls, sequences: Iterable[Iterable[str]], min_freq: int = 1, specials=SPECIALS
    ) -> Vocab:
        """Vocabulary of every token seen at least ``min_freq`` times, in sorted order."""
        counts = Counter(tok for seq in sequences for tok in seq)
        return cls(sorted(t for t, c in counts.items() if c >= min_freq), specials=specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.itos == other.itos

    def __repr__(self) -> str:
        preview = " ".join(self.itos[4:14])
        more = " ..." if len(self.itos) > 14 else ""
        return f"Vocab(size={len(self)}, tokens: {preview}{more})"

    def encode(self, seq: Iterable[str], add_eos: bool = True, add_sos: bool = False) -> list[int]:
        """Indices for ``seq`` (unknown tokens become UNK), optionally framed by SOS/EOS."""
        if isinstance(seq, str):
            seq = list(seq)  # a string is a sequence of characters
        ids = [self.stoi.get(tok, UNK) for tok in seq]
        if add_sos:
            ids.insert(0, SOS)
        if add_eos:
            ids.append(EOS)
        return ids

    def decode(self, ids: Iterable[int], strip: bool = True) -> list[str]:
        """Tokens for ``ids``; with ``strip`` stop at the first EOS and drop PAD and SOS."""
        if hasattr(ids, "tolist"):  # torch tensor or numpy array
            ids = ids.tolist()
        out = []
        for i in ids:
            if not isinstance(i, int) or isinstance(i, bool):
                raise TypeError(f"decode expects a 1-D sequence of ints, got element {i!r}")
            if not 0 <= i < len(self.itos):
                raise ValueError(f"index {i} out of range for a vocabulary of size {len(self)}")
            if strip:
                if i == EOS:
                    break
                if i in (PAD, SOS):
                    continue
            out.append(self.itos[i])
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for checkpoints."""
        return {"itos": list(self.itos), "specials": list(self.specials)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Vocab:
        """Inverse of :meth:`to_dict`: the same tokens at the same indices."""
        specials = tuple(data.get("specials", SPECIALS))
        itos = list(data["itos"])
        if tuple(itos[: len(specials)]) != specials:
            raise ValueError(f"itos must start with the specials {specials}, got {itos[:4]}")
        vocab = cls(itos[len(specials) :], specials=specials)
        if vocab.itos != itos:
            raise ValueError("itos holds duplicate tokens; cannot restore the same indices")
        return vocab


def build_vocabs(examples: Iterable[Any], min_freq: int = 1) -> tuple[Vocab, Vocab]:
    """Source and target vocabularies from examples with ``.src`` and ``.tgt`` token lists."""
    examples = list(examples)
    src = Vocab.build((ex.src for ex in examples), min_freq=min_freq)
    tgt = Vocab.build((ex.tgt for ex in examples), min_freq=min_freq)
    return src, tgt
