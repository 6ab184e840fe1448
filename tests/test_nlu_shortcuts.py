"""The parser's shortcuts (handlers/nlu.py, bot/vntime.py, bot/textnorm.py, UnitDirectory.find_in_text)
skip work that cannot find anything; each is checked here against the long way round, on the NLU
corpus and on phrases made of the words the patterns look for."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import lexicon, vntime
from bot.services.units import PersonRef, UnitDirectory, UnitRef
from bot.textnorm import contains_phrase, normalize, strip_diacritics
from handlers import nlu
from handlers.context import Slots
from handlers.nlu import (
    OPERATION_RULES,
    SUBJECT_RULES,
    Rules,
    _canonical,
    canonical,
    canonical_mentions_asker,
    extract,
    read,
)
from tests.nlu_corpus import CORPUS

TODAY = date(2022, 6, 22)
QUICK = settings(max_examples=300, deadline=None)
# Words the subject, operation, period and date patterns look for, and some that only look like them.
_PATTERN_WORDS = {
    w for _, pattern in (*lexicon.SUBJECT_PATTERNS, *lexicon.OPERATION_PATTERNS) for w in re.findall(r"[a-z]+", pattern)
}
_OTHER_WORDS = """quy q2 q5 iv ii 6 sau thang dau cuoi nua nam ca nay truoc ngoai toi 2022 22 3/4 20-26/6 2022-06-01
thu t5 cn chu nhat mai mot kia qua hom tuan ngay 24 9 ft1 ft g3 chenh lech tui minh em ha viet
# / . , : - – _ xft gq nhiemvu hangg diemm ko kb dt tl"""
WORDS = sorted(_PATTERN_WORDS | set(_OTHER_WORDS.split()))
phrases = st.lists(st.sampled_from(WORDS), min_size=1, max_size=8).map(" ".join)
CANONS = [canonical(phrasing.question) for phrasing in CORPUS]


def _all_rules(rules: Rules, text: str) -> list[str]:
    return [name for name, pattern in rules.rules if pattern.search(text)]


def _tried_rules(rules: Rules, text: str) -> list[str]:
    return [name for name, pattern in rules.tried(text) if pattern.search(text)]


@pytest.mark.parametrize("rules", [SUBJECT_RULES, OPERATION_RULES], ids=["subjects", "operations"])
def test_rules_skip_only_patterns_that_cannot_match(rules: Rules) -> None:
    for text in CANONS:
        assert _tried_rules(rules, text) == _all_rules(rules, text), text


@QUICK
@given(phrases)
def test_rules_skip_only_patterns_that_cannot_match_any_phrase(text: str) -> None:
    for rules in (SUBJECT_RULES, OPERATION_RULES):
        assert _tried_rules(rules, text) == _all_rules(rules, text)


def test_rules_read_the_first_words_of_patterns() -> None:
    rules = Rules(
        [
            ("words", r"\b(lich truc|ai (nhan|truc))\b"),
            ("beginning", r"\b(ft ?\d+|g[1-9])\b"),
            ("not at a word's start", r"truc\b"),
            ("class first", r"\b[a-z]+ truc\b"),
            ("case", r"(?i)\btruc\b"),
        ]
    )
    always = ["not at a word's start", "class first", "case"]
    assert [name for name, _ in rules.tried("xin chao")] == always
    assert [name for name, _ in rules.tried("ai truc")] == ["words", *always]
    assert [name for name, _ in rules.tried("gia ft12")] == ["beginning", *always]
    assert [name for name, _ in rules.tried("truc nhan")] == always  # no first word of "words"


def _normalize_long_way(text: str) -> str:
    text = strip_diacritics(unicodedata.normalize("NFC", text)).lower()
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s/:.,+\-–]", " ", text)).strip()


@QUICK
@given(st.one_of(st.text(max_size=30), phrases))
def test_normalize_is_the_long_way_round(text: str) -> None:
    assert normalize(text) == _normalize_long_way(text)


def _canonical_long_way(text: str) -> str:
    capitals = {normalize(t) for t in lexicon.INITIALS.findall(text)} & lexicon.LOWERCASE_ONLY
    norm = normalize(text).replace("–", " ")
    for phrase, spelled in lexicon.ABBREVIATIONS.items():
        if " " in phrase:
            norm = re.sub(rf"\b{re.escape(phrase)}\b", spelled, norm)
    from handlers.nlu import _ABBREVIATION, _VOCABULARY

    words = []
    for word in norm.split():
        word = lexicon.TYPOS.get(word, word)
        doubled = len(word) > 3 and word[-1] == word[-2] and word[-1].isalpha()
        if doubled and word not in _VOCABULARY and word[:-1] in _VOCABULARY:
            word = word[:-1]
        words.append(word if word in capitals else _ABBREVIATION.get(word, word))
    return " ".join(words)


@QUICK
@given(st.one_of(phrases, st.sampled_from([p.question for p in CORPUS])))
def test_canonical_and_the_asker_are_the_long_way_round(text: str) -> None:
    assert canonical(text) == _canonical_long_way(text)
    canon = canonical(text)
    not_self = re.sub(r"\b(cho|giup|voi|hoi|bao) (toi|minh|em)\b|\b(toi|minh|em) (muon|can|hoi|xin)\b", " ", canon)
    assert canonical_mentions_asker(canon) == bool(lexicon.SELF_WORDS.search(not_self))


def _period_long_way(text: str) -> bool:
    """Whether a period pattern matches the text with its dates masked (what parse_period reads)."""
    ctx = vntime._Ctx(text)
    masked = list(ctx.norm)
    for hit in vntime._find_hits(ctx):
        masked[hit.start : hit.end] = "#" * (hit.end - hit.start)
    norm = "".join(masked)
    years = (m for m in vntime._YEAR_RE.finditer(norm) if m["ca"] or m["y"] or m["rel"])
    patterns = (vntime._QUARTER_RE, vntime._QUARTER_REL_RE, vntime._HALF_RE)
    return any(p.search(norm) for p in patterns) or next(years, None) is not None


def _span_long_way(text: str) -> bool:
    ctx = vntime._Ctx(text)
    hits = vntime._find_hits(ctx)
    return bool(hits) or vntime._span_words(ctx, hits, TODAY) is not None


_DATE_WORDS = [*_OTHER_WORDS.split(), "năm", "này", "tới", "sáu", "cả", "đầu", "quý", "một", "tư", "thứ", "tháng"]
date_phrases = st.lists(st.sampled_from(_DATE_WORDS), min_size=1, max_size=6).map(" ".join)


@pytest.mark.parametrize("text", ["nam 2022", "ca nam", "nam2022", "6 thang cuoi nam", "quy 2", "thang 7", "thu 5"])
def test_period_and_span_hints_examples(text: str) -> None:
    _check_hints(text)


def test_period_and_span_hints_on_the_corpus() -> None:
    for phrasing in CORPUS:
        _check_hints(phrasing.question)


@settings(max_examples=1000, deadline=None)
@given(date_phrases)
def test_period_and_span_hints_miss_nothing(text: str) -> None:
    _check_hints(text)


def _check_hints(text: str) -> None:
    norm = normalize(text)
    try:
        if _period_long_way(text):
            assert vntime._may_name_period(norm)
        if _span_long_way(text):
            assert vntime._SPAN_HINT.search(norm)
    except vntime.DateParseError:
        pass


def _unit(uid: int, name: str, short: str, kind: str = "district", parent: int | None = None) -> UnitRef:
    return UnitRef(uid, f"u{uid}", name, short, kind, "xa" if kind == "commune" else None, None, parent, ())


DIRECTORY = UnitDirectory(
    [
        _unit(1, "Ban CHQS huyện Kim Bảng", "Kim Bảng"),
        _unit(2, "Ban CHQS thành phố Phủ Lý", "Phủ Lý"),
        _unit(3, "Xã Ba Sao", "Ba Sao", "commune", 1),
        _unit(4, "Xã Kim Bình", "Kim Bình", "commune", 2),
        _unit(5, "Thị trấn Ba Sao", "Ba Sao", "commune", 2),
        _unit(6, "Trung đoàn 151", "Trung đoàn 151"),
    ]
)
UNIT_WORDS = sorted({w for u in DIRECTORY.units for w in normalize(f"{u.name} {u.short_name}").split()})


def _find_long_way(text: str, communes: bool | None, prefer_parent: int | None) -> tuple[int, str] | None:
    words = [w.strip(".,:;!?") for w in normalize(text).split()]
    best: list[tuple[str, UnitRef]] = []
    for size in range(len(words), 0, -1):
        for start in range(len(words) - size + 1):
            alias = " ".join(words[start : start + size])
            for unit in DIRECTORY._index.get(alias, ()):
                if communes is not None and (unit.kind == "commune") != communes:
                    continue
                if not best or len(alias) > len(best[0][0]):
                    best = [(alias, unit)]
                elif len(alias) == len(best[0][0]):
                    best.append((alias, unit))
    if not best:
        return None
    best.sort(key=lambda pair: (pair[1].parent_id != prefer_parent, pair[1].kind == "commune"))
    return best[0][1].id, best[0][0]


@QUICK
@given(st.lists(st.sampled_from([*UNIT_WORDS, "xa", "cua", "va", "ba.", "sao,", "kim:"]), max_size=8).map(" ".join))
def test_find_in_text_is_the_long_way_round(text: str) -> None:
    for communes in (None, True, False):
        found = DIRECTORY.find_in_text(text, communes=communes, prefer_parent=2)
        assert (None if found is None else (found.unit.id, found.matched)) == _find_long_way(text, communes, 2)


@QUICK
@given(phrases, st.one_of(st.sampled_from(WORDS), phrases, st.just("")))
def test_contains_phrase_is_the_long_way_round(haystack: str, phrase: str) -> None:
    long_way = bool(phrase) and re.search(rf"(?<![\w]){re.escape(phrase)}(?![\w])", haystack) is not None
    assert contains_phrase(haystack, phrase) == long_way


def test_lexicon_words_canonical_swaps_in_are_normalised() -> None:
    # What _canonical() relies on to call its result normalised text.
    for spelled in [*lexicon.TYPOS.values(), *lexicon.ABBREVIATIONS.values()]:
        assert normalize(spelled) == spelled, spelled


@QUICK
@given(st.one_of(st.text(max_size=30), phrases, st.sampled_from([p.question for p in CORPUS])))
def test_canonical_text_is_normalised(text: str) -> None:
    norm, canon = _canonical(text)
    assert norm == normalize(text)
    assert canon == canonical(text)
    assert normalize(canon) == canon  # parse_period(canon, norm=canon), find_in_text(normalized=True)
    assert read(text).norm == norm


def test_find_in_text_normalises_what_it_is_not_told_is_normalised() -> None:
    found = DIRECTORY.find_in_text("Xã BA SAO của Kim Bảng", communes=True, prefer_parent=1)
    assert found is not None and (found.unit.id, found.matched) == (3, "xa ba sao")


@QUICK
@given(
    st.lists(
        st.sampled_from([*UNIT_WORDS, "xa", "cua", "va", "ba.", "sao,", "kim:", "Bảng", "KIM", "Phủ", "Xã", "Sao?"]),
        max_size=8,
    ).map(" ".join)
)
def test_find_in_text_of_normalised_text_is_the_same(text: str) -> None:
    norm = normalize(text)
    for communes in (None, True, False):
        assert DIRECTORY.find_in_text(norm, communes=communes, prefer_parent=2, normalized=True) == (
            DIRECTORY.find_in_text(text, communes=communes, prefer_parent=2)
        )


def _slots_long_way(text: str) -> Slots:
    """extract() without the router's reading: everything made from the text once more."""
    return extract(text, today=TODAY, directory=PEOPLE_DIRECTORY, people=PEOPLE)


PEOPLE_DIRECTORY = UnitDirectory([*DIRECTORY.units, _unit(7, "Ban CHQS huyện Duy Tiên", "Duy Tiên")])
PEOPLE = [
    PersonRef(1, "Nguyễn Văn Phúc", "Đại úy", "CHT", 1, "nguyen van phuc", "phuc", "cht"),
    PersonRef(2, "Trần Thị Hải", None, "CTV", 2, "tran thi hai", "hai", "ctv"),
    PersonRef(3, "Lê Quang", None, None, 7, "le quang", "quang", None),
]


@pytest.mark.parametrize(
    "text",
    [
        *[p.question for p in CORPUS],
        "Kim Bảng và Phủ Lý tuần này",
        "thu 6 nay Kim Bang truc ban",
        "quý 2/2022 Duy Tiên so với Phủ Lý",
        "DT thu 2 toi ai truc",
        "u:1 tuan nay",
        "nam nay Phuc truc may lan",
    ],
)
def test_extract_with_the_routers_reading_is_the_long_way_round(text: str) -> None:
    # The reading hands on normalize(text) and canonical(text); the unit search skips normalising
    # canonical text; the weekday rewrites are skipped without "nay" / "toi".
    try:
        expected = _slots_long_way(text)
    except vntime.DateParseError:
        return
    assert extract(text, today=TODAY, directory=PEOPLE_DIRECTORY, people=PEOPLE, reading=read(text)) == expected


@QUICK
@given(date_phrases)
def test_span_skips_the_weekday_rewrites_only_when_they_cannot_match(text: str) -> None:
    canon = canonical(text)
    if "nay" not in canon:
        assert nlu._WEEKDAY_NAY.search(canon) is None
    if "toi" not in canon:
        assert nlu._WEEKDAY_TOI.search(canon) is None
    try:
        long_way = nlu._WEEKDAY_TOI.sub(
            lambda m: f"{m.group(1)} tới", nlu._WEEKDAY_NAY.sub(lambda m: f"{m.group(1)} tuan nay", canon)
        )
        expected = vntime.parse_date_range(long_way, TODAY)
    except vntime.DateParseError:
        return
    if nlu._WEEK_OF.search(canon) is None and nlu._WEEKEND.search(canon) is None:
        found = nlu._span(canon, TODAY)
        if expected is not None and any(ch.isdigit() for ch in expected[2]):
            expected = (expected[0], expected[1], "")
        assert found == expected


_HIT_WORDS = [*_DATE_WORDS, "23/6", "20-26/6", "2022-06-01", "20–26/6", "23.6.2022", "92.5", "1-15", "ngay 3", "mung 2"]
hit_phrases = st.lists(
    st.sampled_from([*_HIT_WORDS, "23", "6", "-", "–", "/", ".", "thang", "ngay", "mong", "tuan", "sang"]), max_size=8
)


class _HasEverything(str):
    """Text that says it has every character and word: every guard of _find_hits lets its pattern run."""

    def __contains__(self, _: object) -> bool:
        return True


_HIT_EXAMPLES = [
    "23 thang 6",
    "thang 7",
    "thang sau",
    "tuan nay",
    "sang tuan",
    "ngay 23 thang 6 nam 2022",
    "mung 2 thang 9",
    "20-26/6",
    "20/6 – 26/6/2022",
    "2022-06-01",
    "23.6.2022",
    "diem 92.5",
    "ngay 3",
    "mong 2",
    "23/6 den 25/6",
    "1-15",
    "thu 5 tuan sau",
]


@pytest.mark.parametrize("text", _HIT_EXAMPLES)
def test_find_hits_skips_only_patterns_that_cannot_match_examples(text: str) -> None:
    _check_find_hits(text)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(hit_phrases.map(" ".join), hit_phrases.map("".join)))
def test_find_hits_skips_only_patterns_that_cannot_match(text: str) -> None:
    _check_find_hits(text)


def _check_find_hits(text: str) -> None:
    # _find_hits runs each pattern only when the text has a character or word it needs.
    ctx = vntime._Ctx(text)
    long_way = vntime._Ctx(text)
    long_way.norm = _HasEverything(long_way.norm)
    try:
        expected = vntime._find_hits(long_way)
    except vntime.DateParseError:
        return
    assert vntime._find_hits(ctx) == expected
    # _span_words runs its week and month patterns only with "tuan" / "thang" in the text.
    try:
        expected_span = vntime._span_words(long_way, expected, TODAY)
    except vntime.DateParseError:
        return
    assert vntime._span_words(ctx, expected, TODAY) == expected_span


_SPAN_WORDS = [*_DATE_WORDS, "truc ban", "truc chi huy", "20-26/6", "23/6", "toi"]


@pytest.mark.parametrize("text", ["thu 2 truc ban tuan sau", "t6 truc chi huy tuan toi", "23/6 truc ban den 25/6"])
def test_span_hands_on_the_normalised_text_examples(text: str) -> None:
    _check_span(text)


@QUICK
@given(
    st.one_of(
        st.lists(st.sampled_from(_SPAN_WORDS), min_size=1, max_size=7).map(" ".join),
        st.sampled_from([p.question for p in CORPUS]),
    )
)
def test_span_hands_on_the_normalised_text(text: str) -> None:
    _check_span(text)


def _check_span(text: str) -> None:
    # _span gives parse_date_range " ".join(text.split()) as normalize(text) for ASCII text.
    canon = canonical(text)
    dateless = nlu._ROLE_TEXT.sub(" ", nlu._PERIOD_TEXT.sub(" ", canon))

    def span() -> object:
        try:
            return nlu._span(dateless, TODAY)
        except vntime.DateParseError as error:
            return str(error)

    with mock.patch.object(
        nlu, "parse_date_range", lambda text, today, norm=None: vntime.parse_date_range(text, today)
    ):
        expected = span()
    assert span() == expected


def _glued(words: list[str], separators: list[str]) -> str:
    return "".join(w + s for w, s in zip(words, separators, strict=False))


@QUICK
@given(
    st.lists(st.sampled_from(WORDS), min_size=1, max_size=6),
    st.lists(st.sampled_from([" ", " ", "/", ",", ".", ":", "-", "_"]), min_size=6, max_size=6),
)
def test_rules_skip_only_patterns_that_cannot_match_glued_words(words: list[str], separators: list[str]) -> None:
    # Rules.tried splits text of letters, digits and spaces at its spaces instead of running _WORD.
    text = _glued(words, separators)
    for rules in (SUBJECT_RULES, OPERATION_RULES):
        assert _tried_rules(rules, text) == _all_rules(rules, text)


def test_button_tokens_are_read_and_taken_out() -> None:
    # extract() looks for tokens only in text with a colon.
    slots = extract("u:1 d:20220623 tuan nay", today=TODAY, directory=PEOPLE_DIRECTORY, people=PEOPLE)
    assert slots.unit is not None and slots.unit.unit.id == 1
    assert slots.span == (date(2022, 6, 23), date(2022, 6, 23), "")
    assert slots.norm == "tuan nay"


_WORD_LISTS = [
    lexicon.ROLE_WORDS,
    lexicon.TASK_TOPICS,
    lexicon.CRITERION_WORDS,
    lexicon.EVENT_KIND_WORDS,
    lexicon.GRADE_WORDS,
    {"d/c": "x", "/c": "y", "ba sao": "z"},
]
_LIST_WORDS = sorted({w for words in _WORD_LISTS for phrase in words for w in phrase.split()} | {"d/c", "xd/c", "/"})


@QUICK
@given(
    st.lists(st.sampled_from(_LIST_WORDS), min_size=0, max_size=7),
    st.lists(st.sampled_from([" ", " ", "/", ",", "-"]), min_size=7, max_size=7),
)
def test_phrases_in_skips_only_lists_that_cannot_match(words: list[str], separators: list[str]) -> None:
    # phrases_in() given the text's words looks at a list only when one of its first words is there.
    norm = _glued(words, separators)
    for word_list in _WORD_LISTS:
        assert lexicon.phrases_in(norm, word_list, nlu._WORD.findall(norm)) == lexicon.phrases_in(norm, word_list)
