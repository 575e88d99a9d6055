"""Human-readable dates in English, French and German, to normalise into ISO ``YYYY-MM-DD``.

Every example carries a gold alignment: for each of the 10 target characters, the half-open
span ``(start, end)`` of source characters it comes from, or ``None``. The conventions:

* year, 4 digits: each target digit aligns to the one source digit it copies;
* year, 2 digits (``yy``): the century digits ``19``/``20`` both align to the whole 2-digit span
  (the century is read off both digits: 00-49 -> 20xx, 50-99 -> 19xx, so two-digit years are
  only generated for 1950-2049 and the mapping stays a function), the last two digits align to
  their own source digit;
* month or day as a number: each target digit aligns to its source digit; a one-digit source
  (``3``) makes the padding ``0`` and the digit both align to that one character;
* month as a name (``March``, ``févr.``, ``Dez.``): both month digits align to the whole name,
  abbreviation dot included;
* the two ``-`` separators align to ``None``; weekday names, ordinal suffixes (``rd``, ``er``),
  articles and punctuation are never aligned to.

Day, month and year swap places between formats, so the alignment is not monotonic. Names of
months and weekdays are written out below (no locale is consulted); the weekday always matches
the date.
"""

from __future__ import annotations

import datetime as dt
import random
import re
from collections.abc import Callable, Container, Sequence
from dataclasses import dataclass

Span = tuple[int, int]

LANGUAGES = ("en", "fr", "de")
DEFAULT_YEARS = (1900, 2099)
TWO_DIGIT_YEARS = (1950, 2049)

MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
           "September", "Oktober", "November", "Dezember"),
}  # fmt: skip
MONTHS_ABBR = {
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    "fr": ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
           "nov.", "déc."),
    "de": ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.",
           "Nov.", "Dez."),
}  # fmt: skip
WEEKDAYS = {  # Monday first, as in datetime.date.weekday()
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
}
WEEKDAYS_ABBR = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "fr": ("lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."),
    "de": ("Mo.", "Di.", "Mi.", "Do.", "Fr.", "Sa.", "So."),
}

_NUMERIC = {lang: None for lang in LANGUAGES}  # marker: same template in every language

# format name -> {language: template}; a placeholder in braces is one field of the date.
# d/dd day (dd zero-padded), do day with the language's ordinal mark (3rd; 1er), m/mm month,
# MMM/MMMM month name short/full, yy/yyyy year, EEE/EEEE weekday short/full.
_TEMPLATES: dict[str, dict[str, str | None]] = {
    "d MMMM yyyy": {"en": "{d} {MMMM} {yyyy}", "fr": "{do} {MMMM} {yyyy}",
                    "de": "{d}. {MMMM} {yyyy}"},
    "d MMM yyyy": {"en": "{d} {MMM} {yyyy}", "fr": "{do} {MMM} {yyyy}", "de": "{d}. {MMM} {yyyy}"},
    "EEE d MMM yyyy": {"en": "{EEE} {d} {MMM} {yyyy}", "fr": "{EEE} {do} {MMM} {yyyy}",
                       "de": "{EEE}, {d}. {MMM} {yyyy}"},
    "EEEE d MMMM yyyy": {"en": "{EEEE}, {d} {MMMM} {yyyy}", "fr": "{EEEE} {do} {MMMM} {yyyy}",
                         "de": "{EEEE}, {d}. {MMMM} {yyyy}"},
    "the do of MMMM yyyy": {"en": "the {do} of {MMMM} {yyyy}", "fr": "le {do} {MMMM} {yyyy}",
                            "de": "am {d}. {MMMM} {yyyy}"},
    "MMMM d, yyyy": {"en": "{MMMM} {d}, {yyyy}"},
    "MMMM do, yyyy": {"en": "{MMMM} {do}, {yyyy}"},
    "MMM d, yyyy": {"en": "{MMM} {d}, {yyyy}"},
    "EEEE, MMMM d, yyyy": {"en": "{EEEE}, {MMMM} {d}, {yyyy}"},
    "dd-MMM-yyyy": {"en": "{dd}-{MMM}-{yyyy}"},
    "dd/mm/yyyy": _NUMERIC,
    "dd/mm/yy": _NUMERIC,
    "d/m/yyyy": _NUMERIC,
    "dd.mm.yyyy": _NUMERIC,
    "d.m.yyyy": _NUMERIC,
    "dd.mm.yy": _NUMERIC,
    "yyyy.mm.dd": _NUMERIC,
    "yyyy/mm/dd": _NUMERIC,
    "yyyymmdd": _NUMERIC,
}  # fmt: skip
FORMATS: tuple[str, ...] = tuple(_TEMPLATES)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_FIELD_OF = {"d": "day", "dd": "day", "do": "day", "m": "month", "mm": "month", "MMM": "month",
             "MMMM": "month", "yy": "year", "yyyy": "year"}  # fmt: skip


@dataclass
class DateExample:
    """One date: source characters, the 10 ISO target characters, and their gold source spans."""

    src: list[str]
    tgt: list[str]
    alignment: list[Span | None]
    fmt: str
    lang: str
    date: dt.date

    @property
    def src_text(self) -> str:
        return "".join(self.src)

    @property
    def tgt_text(self) -> str:
        return "".join(self.tgt)


def formats_for(lang: str) -> tuple[str, ...]:
    """The format names available in ``lang`` (numeric formats exist in every language): what
    the generator draws from, and what the coverage test checks it draws."""
    _check_languages([lang])
    return tuple(name for name, per_lang in _TEMPLATES.items() if lang in per_lang)


def template(fmt: str, lang: str) -> str:
    """The template string that renders ``fmt`` in ``lang`` (numeric formats: the name itself)."""
    if fmt not in _TEMPLATES:
        raise ValueError(f"unknown date format {fmt!r}; expected one of {FORMATS}")
    if lang not in _TEMPLATES[fmt]:
        raise ValueError(f"format {fmt!r} has no {lang!r} version; it has {list(_TEMPLATES[fmt])}")
    text = _TEMPLATES[fmt][lang]
    if text is None:  # numeric: turn the name into a template, longest field names first
        text = re.sub(r"yyyy|yy|dd|d|mm|m", lambda mo: "{" + mo.group(0) + "}", fmt)
    return text


def _ordinal(day: int, lang: str) -> tuple[str, str]:
    """(digits, suffix) of the day written as an ordinal in ``lang``."""
    if lang == "en":
        suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    elif lang == "fr":
        suffix = "er" if day == 1 else ""
    else:
        raise ValueError(f"ordinal days are not defined for {lang!r}")
    return str(day), suffix


def render_date(date: dt.date, fmt: str, lang: str) -> DateExample:
    """Write ``date`` in format ``fmt`` and language ``lang``, with its gold alignment."""
    text = template(fmt, lang)
    if "{yy}" in text and not TWO_DIGIT_YEARS[0] <= date.year <= TWO_DIGIT_YEARS[1]:
        raise ValueError(
            f"format {fmt!r} writes a two-digit year, defined only for years "
            f"{TWO_DIGIT_YEARS[0]}-{TWO_DIGIT_YEARS[1]}; got {date.year}"
        )
    values = {
        "d": str(date.day),
        "dd": f"{date.day:02d}",
        "m": str(date.month),
        "mm": f"{date.month:02d}",
        "MMM": MONTHS_ABBR[lang][date.month - 1],
        "MMMM": MONTHS[lang][date.month - 1],
        "yy": f"{date.year % 100:02d}",
        "yyyy": f"{date.year:04d}",
        "EEE": WEEKDAYS_ABBR[lang][date.weekday()],
        "EEEE": WEEKDAYS[lang][date.weekday()],
    }
    src: list[str] = []
    spans: dict[str, Span] = {}
    for i, piece in enumerate(_PLACEHOLDER.split(text)):
        if i % 2 == 0:  # literal text between fields
            src.extend(piece)
            continue
        field, suffix = _ordinal(date.day, lang) if piece == "do" else (values[piece], "")
        if piece in _FIELD_OF:
            spans[_FIELD_OF[piece]] = (len(src), len(src) + len(field))
        src.extend(field + suffix)
    tgt = list(date.isoformat())
    (ys, ye), (ms, me), (ds, de) = spans["year"], spans["month"], spans["day"]
    if ye - ys == 4:
        year_al = [(ys + k, ys + k + 1) for k in range(4)]
    else:
        year_al = [(ys, ye), (ys, ye), (ys, ys + 1), (ys + 1, ys + 2)]
    if "{MMM}" in text or "{MMMM}" in text:
        month_al = [(ms, me), (ms, me)]  # a name: both digits come from the whole word
    else:
        month_al = _number_spans(ms, me)
    alignment = year_al + [None] + month_al + [None] + _number_spans(ds, de)
    return DateExample(src=src, tgt=tgt, alignment=alignment, fmt=fmt, lang=lang, date=date)


def _number_spans(start: int, end: int) -> list[Span]:
    """Spans of a 2-digit target field written with 2 source digits (one to one) or with 1."""
    if end - start == 2:
        return [(start, start + 1), (start + 1, end)]
    return [(start, end), (start, end)]  # the padding '0' comes from the lone digit too


def _check_languages(languages: Sequence[str]) -> None:
    bad = [lang for lang in languages if lang not in LANGUAGES]
    if bad or not languages:
        raise ValueError(f"languages must be a non-empty subset of {LANGUAGES}, got {languages!r}")


def _generate(
    n: int,
    rng: random.Random,
    languages: Sequence[str],
    formats: Sequence[str] | None,
    years: tuple[int, int],
    reject: Callable[[DateExample], bool],
) -> list[DateExample]:
    if not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    languages = tuple(languages)
    _check_languages(languages)
    formats = FORMATS if formats is None else tuple(formats)
    unknown = [f for f in formats if f not in _TEMPLATES]
    if unknown:
        raise ValueError(f"unknown date formats {unknown}; expected names from {FORMATS}")
    lo, hi = years
    if not DEFAULT_YEARS[0] <= lo <= hi <= DEFAULT_YEARS[1]:
        raise ValueError(f"years must satisfy 1900 <= lo <= hi <= 2099, got {years!r}")
    # format -> (languages that have it, first and last ordinal of the allowed dates)
    plans = {}
    for fmt in formats:
        langs = [lang for lang in languages if lang in _TEMPLATES[fmt]]
        y0, y1 = lo, hi
        if any("{yy}" in template(fmt, lang) for lang in langs):
            y0, y1 = max(lo, TWO_DIGIT_YEARS[0]), min(hi, TWO_DIGIT_YEARS[1])
        if langs and y0 <= y1:
            plans[fmt] = (langs, dt.date(y0, 1, 1).toordinal(), dt.date(y1, 12, 31).toordinal())
    if not plans:
        raise ValueError(
            f"no format in {formats} is available for languages {languages} and years {years}"
        )
    names = list(plans)
    out: list[DateExample] = []
    attempts = 0
    while len(out) < n:
        attempts += 1
        if attempts > 100 * n + 1000:
            raise ValueError(f"could only make {len(out)} of {n} dates not excluded; ask for fewer")
        fmt = rng.choice(names)
        langs, first, last = plans[fmt]
        lang = rng.choice(langs)
        ex = render_date(dt.date.fromordinal(rng.randint(first, last)), fmt, lang)
        if not reject(ex):
            out.append(ex)
    return out


def make_dates(
    n: int,
    seed: int = 0,
    languages: Sequence[str] = LANGUAGES,
    formats: Sequence[str] | None = None,
    years: tuple[int, int] = DEFAULT_YEARS,
    exclude: Container[str] | None = None,
    unique: bool = False,
) -> list[DateExample]:
    """``n`` random dates: a format drawn uniformly, then a language that has it, then a day.

    Days are uniform over ``years`` (inclusive; 1950-2049 for two-digit-year formats). Sources
    in ``exclude`` (strings) are skipped; ``unique`` also skips repeats within the result.
    Deterministic for a given seed, on any machine.
    """
    seen: set[str] = set()

    def reject(ex: DateExample) -> bool:
        text = ex.src_text
        if (exclude is not None and text in exclude) or (unique and text in seen):
            return True
        seen.add(text)
        return False

    return _generate(n, random.Random(f"dates-{seed}"), languages, formats, years, reject)


def split_dates(
    n_train: int,
    n_test: int,
    seed: int = 0,
    languages: Sequence[str] = LANGUAGES,
    formats: Sequence[str] | None = None,
    years: tuple[int, int] = DEFAULT_YEARS,
    by: str = "src",
) -> tuple[list[DateExample], list[DateExample]]:
    """A training and a held-out set that share no source string (``by="src"``) or no day at all
    (``by="date"``: a test date never appears in training, in any format). Test has no repeats.
    """
    if by not in ("src", "date"):
        raise ValueError(f"by must be 'src' or 'date', got {by!r}")
    test = make_dates(n_test, seed, languages, formats, years, unique=True)
    held = {ex.src_text for ex in test} if by == "src" else {ex.date for ex in test}

    def reject(ex: DateExample) -> bool:
        return (ex.src_text if by == "src" else ex.date) in held

    rng = random.Random(f"dates-train-{seed}")
    return _generate(n_train, rng, languages, formats, years, reject), test
