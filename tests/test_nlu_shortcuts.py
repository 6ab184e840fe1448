"""The parser's shortcuts (handlers/nlu.py, bot/vntime.py, bot/textnorm.py, UnitDirectory.find_in_text)
skip work that cannot find anything; each is checked here against the long way round, on the NLU
corpus and on phrases made of the words the patterns look for."""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import lexicon, vntime
from bot.services.units import UnitDirectory, UnitRef
from bot.textnorm import contains_phrase, normalize, strip_diacritics
from handlers.nlu import OPERATION_RULES, SUBJECT_RULES, Rules, canonical, canonical_mentions_asker
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
