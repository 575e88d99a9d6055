"""Dates: every format and language appears, gold alignments say where each ISO char comes from."""

import datetime as dt
from collections import defaultdict

import pytest

from course_lib.data.dates import (
    FORMATS,
    LANGUAGES,
    formats_for,
    make_dates,
    render_date,
    split_dates,
)

# Independent reference: full month names; abbreviations must be a prefix once the dot goes.
MONTH_NAMES = {
    "en": "january february march april may june july august september october november december",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
}
EN_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@pytest.fixture(scope="module")
def sample():
    return make_dates(4000, seed=11)


def _month_of_name(text, lang):
    key = text.lower().rstrip(".")
    hits = [i + 1 for i, name in enumerate(MONTH_NAMES[lang].split()) if name.startswith(key)]
    assert len(hits) == 1, f"{text!r} is not one {lang} month name"
    return hits[0]


def _check_number(ex, slots, value, width):
    """Target digits in ``slots`` read ``value``; their spans hold the number's digits."""
    spans = [ex.alignment[i] for i in slots]
    start, end = min(s for s, _ in spans), max(e for _, e in spans)
    text = ex.src_text[start:end]
    assert text.isdigit(), (ex.src_text, text)
    if len(text) == 2 and width == 4:  # two-digit year: century read from both digits
        assert spans[0] == spans[1] == (start, end)
        assert (2000 if int(text) < 50 else 1900) + int(text) == value
        slots, spans = slots[2:], spans[2:]
    else:
        assert int(text) == value
    for i, (s, e) in zip(slots, spans, strict=True):
        if e - s == 1 and spans.count((s, e)) == 1:
            assert ex.tgt[i] == ex.src[s]  # one target digit copies one source digit
        else:  # a lone digit feeds the padding zero and itself
            assert (s, e) == (start, end) and len(text) == 1
            assert ex.tgt[i] in ("0", text)


def check_alignment(ex):
    assert ex.tgt_text == ex.date.isoformat() and len(ex.tgt) == len(ex.alignment) == 10
    assert ex.alignment[4] is None and ex.alignment[7] is None
    for span in ex.alignment[:4] + ex.alignment[5:7] + ex.alignment[8:]:
        assert span is not None and 0 <= span[0] < span[1] <= len(ex.src)
    _check_number(ex, [0, 1, 2, 3], ex.date.year, 4)
    _check_number(ex, [8, 9], ex.date.day, 2)
    month_span = ex.alignment[5]
    month_text = ex.src_text[month_span[0] : month_span[1]]
    if month_text.isdigit() or ex.alignment[5] != ex.alignment[6]:
        _check_number(ex, [5, 6], ex.date.month, 2)
    else:
        assert _month_of_name(month_text, ex.lang) == ex.date.month
        assert month_text[0].isalpha() and " " not in month_text


def test_known_renderings_and_alignments():
    ex = render_date(dt.date(1955, 9, 22), "EEEE d MMMM yyyy", "fr")
    assert ex.src_text == "jeudi 22 septembre 1955"
    assert ex.alignment[5] == ex.alignment[6] == (9, 18)
    assert render_date(dt.date(1996, 6, 13), "EEEE d MMMM yyyy", "de").src_text == (
        "Donnerstag, 13. Juni 1996"
    )
    assert render_date(dt.date(2021, 3, 3), "EEE d MMM yyyy", "en").src_text == "Wed 3 Mar 2021"
    assert render_date(dt.date(2021, 3, 1), "d MMMM yyyy", "fr").src_text == "1er mars 2021"
    assert render_date(dt.date(2021, 3, 22), "MMMM do, yyyy", "en").src_text == "March 22nd, 2021"
    ex = render_date(dt.date(2021, 3, 3), "dd/mm/yy", "en")
    assert ex.src_text == "03/03/21"
    assert ex.alignment == [(6, 8), (6, 8), (6, 7), (7, 8), None, (3, 4), (4, 5), None,
                            (0, 1), (1, 2)]  # fmt: skip
    ex = render_date(dt.date(2021, 3, 3), "d.m.yyyy", "de")
    assert ex.src_text == "3.3.2021"
    assert ex.alignment == [(4, 5), (5, 6), (6, 7), (7, 8), None, (2, 3), (2, 3), None,
                            (0, 1), (0, 1)]  # fmt: skip
    ex = render_date(dt.date(2021, 3, 3), "MMMM d, yyyy", "en")
    assert ex.src_text == "March 3, 2021"
    assert ex.alignment == [(9, 10), (10, 11), (11, 12), (12, 13), None, (0, 5), (0, 5), None,
                            (6, 7), (6, 7)]  # fmt: skip
    ex = render_date(dt.date(1999, 12, 31), "yyyy.mm.dd", "fr")
    assert ex.src_text == "1999.12.31" and ex.tgt_text == "1999-12-31"


def test_gold_alignments_are_right_for_every_example(sample):
    for ex in sample:
        check_alignment(ex)


def test_alignment_checker_catches_a_wrong_span(sample):
    ex = next(e for e in sample if e.fmt == "d.m.yyyy" and e.date.day < 10 < e.date.month)
    ex.alignment[8] = (ex.alignment[8][0] + 1, ex.alignment[8][1] + 1)
    with pytest.raises(AssertionError):
        check_alignment(ex)


def test_every_format_and_language_appears(sample):
    assert len(FORMATS) >= 12
    seen = {(ex.fmt, ex.lang) for ex in sample}
    expected = {(fmt, lang) for lang in LANGUAGES for fmt in formats_for(lang)}
    assert seen == expected
    assert {ex.lang for ex in sample} == set(LANGUAGES)
    assert len(formats_for("fr")) >= 12 and len(formats_for("de")) >= 12


def test_alignment_is_often_not_monotonic(sample):
    def monotonic(ex):
        starts = [s[0] for s in ex.alignment if s is not None]
        return starts == sorted(starts)

    share = sum(not monotonic(ex) for ex in sample) / len(sample)
    assert 0.5 < share < 0.95  # year-first formats stay monotonic
    assert not monotonic(render_date(dt.date(2021, 3, 3), "d MMMM yyyy", "en"))


def test_source_determines_target(sample):
    targets = defaultdict(set)
    for ex in make_dates(3000, seed=12, years=(2000, 2012)) + sample:
        targets[ex.src_text].add(ex.tgt_text)
    assert all(len(t) == 1 for t in targets.values())


def test_weekdays_match_the_date(sample):
    for ex in sample:
        if ex.lang == "en" and ex.fmt.startswith("EEEE"):
            assert ex.src_text.startswith(EN_WEEKDAYS[ex.date.weekday()] + ",")


def test_years_and_two_digit_window(sample):
    assert all(1900 <= ex.date.year <= 2099 for ex in sample)
    two_digit = [ex for ex in sample if ex.fmt.endswith(".yy") or ex.fmt.endswith("/yy")]
    assert two_digit and all(1950 <= ex.date.year <= 2049 for ex in two_digit)
    assert any(ex.date.year < 2000 for ex in two_digit)
    assert {ex.date.year for ex in make_dates(200, seed=2, years=(1990, 1991))} == {1990, 1991}
    with pytest.raises(ValueError, match="two-digit"):
        render_date(dt.date(1920, 1, 1), "dd/mm/yy", "en")


def test_seeds_reproduce_and_differ():
    assert make_dates(300, seed=5) == make_dates(300, seed=5)
    assert make_dates(300, seed=5) != make_dates(300, seed=6)
    assert [ex.src_text for ex in make_dates(3, seed=0)] == ["24/10/15", "23/02/19", "1975/10/17"]


def test_filters_exclude_and_unique():
    only = make_dates(200, seed=1, languages=("de",), formats=["d MMMM yyyy", "MMMM d, yyyy"])
    assert {(ex.fmt, ex.lang) for ex in only} == {("d MMMM yyyy", "de")}
    small = make_dates(300, seed=1, formats=["yyyymmdd"], years=(2000, 2000), unique=True)
    assert len({ex.src_text for ex in small}) == 300
    banned = {ex.src_text for ex in small[:100]}
    again = make_dates(300, seed=1, formats=["yyyymmdd"], years=(2000, 2000), exclude=banned)
    assert not banned & {ex.src_text for ex in again}
    with pytest.raises(ValueError, match="could only make"):
        make_dates(400, seed=1, formats=["yyyymmdd"], years=(2000, 2000), unique=True)
    with pytest.raises(ValueError, match="no format"):
        make_dates(5, languages=("fr",), formats=["MMMM d, yyyy"])
    with pytest.raises(ValueError, match="unknown date formats"):
        make_dates(5, formats=["yyyy-mm-dd"])
    with pytest.raises(ValueError, match="languages"):
        make_dates(5, languages=("es",))


@pytest.mark.parametrize("by", ["src", "date"])
def test_split_is_disjoint_and_reproducible(by):
    train, test = split_dates(3000, 600, seed=4, by=by)
    assert len(train) == 3000 and len(test) == 600
    assert len({ex.src_text for ex in test}) == 600
    key = (lambda ex: ex.src_text) if by == "src" else (lambda ex: ex.date)
    assert not {key(ex) for ex in train} & {key(ex) for ex in test}
    assert split_dates(3000, 600, seed=4, by=by) == (train, test)
    if by == "date":  # the same day in another format is held out too
        years = (2000, 2001)
        train, test = split_dates(500, 300, seed=4, years=years, by="date")
        assert not {ex.date for ex in train} & {ex.date for ex in test}
        assert len({ex.date for ex in test}) > 200


def test_split_on_a_tiny_space_really_excludes():
    train, test = split_dates(100, 200, seed=0, formats=["yyyymmdd"], years=(2000, 2000))
    assert not {ex.src_text for ex in train} & {ex.src_text for ex in test}
