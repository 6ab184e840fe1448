"""Plain Vietnamese questions become a structured query before anything is looked up.

A question is read in three passes, all on normalised text (no diacritics, lower case) made
canonical with :mod:`bot.lexicon` (abbreviations, typing slips, particles):

1. the **subject** (duty, schedule, drills, tasks, results, ranking, units, news, readiness,
   directives, help, small talk, out of scope) from the ordered patterns of the lexicon;
2. the **filters** (:class:`handlers.context.Slots`): unit(s), commune, person or "tôi", duty role,
   a day, a span, a weekday with này/tới/sau/trước, a week named by a date, "cuối tuần", a month,
   a time of day, a review period, a criterion, a grade, a task by code or topic, a kind of event;
3. the **operation**: show, who, when, count, compare, top/bottom/rank of, threshold of a grade,
   not done / not reported, due / due soon, exists.

Buttons carry explicit tokens (``u:12``, ``s:20220620-20220626``, ``p:2022q2``, ``m:7``) that are
read before any guessing. Nothing here touches the database: units and people come in as snapshots.
"""

from __future__ import annotations

import re
import re._constants as _c
import re._parser as _parser
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from rapidfuzz import fuzz, process

from bot import lexicon
from bot.services.units import PersonRef, UnitDirectory, UnitMatch, UnitRef
from bot.textnorm import normalize
from bot.vntime import PeriodSpec, fmt_date_range, parse_date_range, parse_period, parse_time, week_bounds
from handlers.context import Slots

_WORD = re.compile(r"\w+")


class Rules:
    """Named patterns tried in order, each run only when the text has a word its matches can begin
    with. Those words are read from the patterns themselves (:func:`_starts`); a pattern whose
    beginnings cannot be told (a match not at the start of a word, a character class first) is
    always run. Most questions have the first word of only a few of the patterns."""

    def __init__(self, sources: list[tuple[str, str]]) -> None:
        self.rules = [(name, re.compile(source)) for name, source in sources]
        self._always: list[int] = []
        by_word: dict[str, set[int]] = {}  # a whole first word -> the patterns it may begin
        by_beginning: dict[str, set[int]] = {}  # the beginning of a first word ("ft" of "ft ?\d+")
        for index, (_, pattern) in enumerate(self.rules):
            starts = None if pattern.flags & ~re.UNICODE else _starts(list(_parser.parse(pattern.pattern)), False, "")
            if starts is None:
                self._always.append(index)
            for start in starts or ():
                if start.endswith("-"):
                    by_beginning.setdefault(start[:-1], set()).add(index)
                else:
                    by_word.setdefault(start, set()).add(index)
        self._by_word = by_word
        self._words = frozenset(by_word)
        # A word beginning with "gab" begins with "g" and "ga" too: the longest beginning found at a
        # word's start stands for all the shorter ones inside it.
        self._by_beginning = {
            found: set().union(*(rules for begun, rules in by_beginning.items() if found.startswith(begun)))
            for found in by_beginning
        }
        longest_first = sorted(by_beginning, key=len, reverse=True)
        self._beginning = re.compile(rf"\b(?:{'|'.join(map(re.escape, longest_first))})") if by_beginning else None

    def tried(self, text: str) -> list[tuple[str, re.Pattern[str]]]:
        """The rules that may match ``text``, in order."""
        found = set(self._always)
        # Text of letters, digits and spaces only (most questions) is its words split at the spaces.
        words = text.split() if text.replace(" ", "").isalnum() else _WORD.findall(text)
        for word in self._words.intersection(words):
            found |= self._by_word[word]
        if self._beginning is not None:
            for begun in self._beginning.findall(text):
                found |= self._by_beginning[begun]
        return [self.rules[index] for index in sorted(found)]


def _starts(items: list[tuple[Any, Any]], anchored: bool, prefix: str) -> set[str] | None:
    """Every way a match of ``items`` (a parsed pattern) can begin, when every match begins at the
    start of a word: its first word when the pattern ends the word, else "ab-" for a word that begins
    with "ab"; None when that cannot be told."""
    for index, (op, av) in enumerate(items):
        rest = items[index + 1 :]
        if op is _c.AT:  # takes no text: says where the match begins, or that the word ends
            if not prefix:
                anchored = anchored or av in (_c.AT_BOUNDARY, _c.AT_BEGINNING, _c.AT_BEGINNING_STRING)
            elif av is _c.AT_BOUNDARY:  # after a word character: the word ends here
                return {prefix} if anchored else None
            else:
                break
        elif op in (_c.ASSERT, _c.ASSERT_NOT):  # takes no text either; leaving it out only widens
            continue
        elif op is _c.LITERAL:
            char = chr(av)
            if not (char.isalnum() or char == "_"):  # not what re calls a word character
                if prefix:  # the word ends here
                    return {prefix} if anchored else None
                break
            if not anchored:
                return None
            prefix += char
        elif op is _c.SUBPATTERN:
            _, add_flags, del_flags, inner = av
            if add_flags or del_flags:
                return None
            return _starts(list(inner) + rest, anchored, prefix)
        elif op is _c.BRANCH or (op is _c.IN and all(o is _c.LITERAL for o, _ in av)):
            choices = av[1] if op is _c.BRANCH else [[item] for item in av]
            found: set[str] = set()
            for choice in choices:
                starts = _starts(list(choice) + rest, anchored, prefix)
                if starts is None:
                    return None
                found |= starts
            return found
        else:
            break
    return {prefix + "-"} if prefix and anchored else None


SUBJECT_RULES = Rules(lexicon.SUBJECT_PATTERNS)
# A task named by code or "nhiệm vụ" wins over the duty and drill words inside its title.
_STRONG_TASK = re.compile(r"\b(ft ?\d{1,2}|nhiem vu)\b")
OPERATION_RULES = Rules(lexicon.OPERATION_PATTERNS)
_ABBREVIATION = {k: v for k, v in lexicon.ABBREVIATIONS.items() if " " not in k}
_ABBREVIATION_PHRASES = [
    (phrase, re.compile(rf"\b{re.escape(phrase)}\b"), spelled)
    for phrase, spelled in lexicon.ABBREVIATIONS.items()
    if " " in phrase
]

# The words canonical() may change: typing slips and shorthand, and words ending in a doubled letter.
_RESPELT = frozenset(lexicon.TYPOS) | frozenset(_ABBREVIATION)
_DOUBLED_END = re.compile(r"(\S)\1(?!\S)")

_TOKEN = re.compile(r"(?<!\S)([usdpm]):(\S+)")
# Period phrases, removed before looking for dates so "quý 2/2022" is not read as a day.
_PERIOD_TEXT = re.compile(
    r"\b(quy|q)\s*([1-4]|i{1,3}|iv)(\s*/\s*\d{4}|\s+nam\s+\d{4})?\b"
    r"|\b(6|sau) thang (dau|cuoi) nam(\s+\d{4})?\b|\bnua (dau|cuoi) nam(\s+\d{4})?\b"
    r"|(?<!thu )\b(ca )?nam (nay|\d{4})\b"  # "thứ năm này" is a weekday, not this year
)
_NUMBER = re.compile(r"\b(\d{1,4})\b")
_AI = re.compile(r"\bai\b")
_ROLE_TEXT = re.compile(r"\b(" + "|".join(sorted(lexicon.ROLE_WORDS, key=len, reverse=True)) + r")\b")
_ROLE_PHRASES = [(words, re.compile(rf"\b{words}\b")) for words in lexicon.ROLE_WORDS]
_WEEKDAY = r"(thu (hai|ba|tu|nam|sau|bay|[2-7])|t[2-7]|chu nhat|cn)"
# "thứ 6 này" typed without diacritics is "thu 6 nay": a weekday then "nay" means this week's.
_WEEKDAY_NAY = re.compile(rf"\b{_WEEKDAY} nay\b")
_WEEKDAY_TOI = re.compile(rf"\b{_WEEKDAY} toi\b(?! nay)")
_WEEK_OF = re.compile(r"\btuan (?:tu |bat dau |ngay )*(\d{1,2}[/.\-]\d{1,2}(?:[/.\-]\d{2,4})?)\b")
_WEEKEND = re.compile(r"\bcuoi tuan( (nay|sau|toi|truoc))?\b")
_DAYPART_AFTER_CLOCK = re.compile(r"\d{1,2} ?(?:h|g|gio)(?: ?\d{2})? ?(?:phut )?(sang|trua|chieu|toi|dem|khuya)\b")
_CLOCK = re.compile(r"\b\d{1,2} ?(h|g|gio)( ?\d{2})?\b|\b\d{1,2}:\d{2}\b")
# Words that name days, times and the like, plus common filler, removed when looking for leftovers.
_KNOWN_WORDS = re.compile(
    r"\b(hom nay|ngay mai|ngay kia|hom qua|tuan (nay|sau|toi|truoc)|thang (nay|sau|toi|truoc)|cuoi tuan"
    r"|thang \d{1,2}(/\d{4})?|thu (hai|ba|tu|nam|sau|bay|[2-7])|t[2-7]|chu nhat|cn|nay|mai|mot"
    r"|sang|chieu|toi|trua|dem|ngay|tu|den|luc|nam|tuan|\d{1,2} ?(h|g|gio)( ?\d{2})?|\d{1,2}:\d{2}"
    r"|\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.\-]\d{1,2}([/.\-]\d{2,4})?|\d+|lan|luot|nguoi|admin|quan tri"
    r"|cua|cho|xem|va|o|la|don vi|lich|ket qua|diem|cum|ai|truc)\b"
)
# Phrases with "tôi" that are not about the asker ("cho tôi hỏi ai trực").
_NOT_SELF = re.compile(r"\b(cho|giup|voi|hoi|bao) (toi|minh|em)\b|\b(toi|minh|em) (muon|can|hoi|xin)\b")
# Given names that are also everyday words ("năm", "hai", "an"): a person only after a title.
_COMMON_WORDS = frozenset(
    [
        "nam",
        "an",
        "binh",
        "hai",
        "ba",
        "tu",
        "sau",
        "bay",
        "tam",
        "chin",
        "muoi",
        "mot",
        "hoa",
        "son",
        "tan",
        "phu",
        "ly",
        "thanh",
        "kim",
        "lien",
        "quy",
        "hoang",
        "dong",
        "tien",
        "duy",
        "luc",
        "nhan",
        "bang",
        "truc",
        "lich",
        "tuan",
        "thang",
        "ngay",
    ]
)
_VOCABULARY: frozenset[str] = frozenset(
    w
    for pattern in [
        *lexicon.ABBREVIATIONS.values(),
        *lexicon.ROLE_WORDS,
        *lexicon.CRITERION_WORDS,
        *lexicon.GRADE_WORDS,
    ]
    for w in pattern.split()
) | frozenset(
    [
        "lich",
        "truc",
        "ai",
        "hom",
        "nay",
        "mai",
        "tuan",
        "thang",
        "nam",
        "diem",
        "ket",
        "qua",
        "xep",
        "hang",
        "nhiem",
        "vu",
        "dien",
        "tap",
        "hoi",
        "nghi",
        "so",
        "ket",
        "tong",
        "ket",
        "don",
        "vi",
        "cum",
        "truong",
        "pho",
        "tin",
        "tuc",
        "chi",
        "thi",
        "tang",
        "cuong",
        "khi",
        "nao",
        "bao",
        "gio",
        "nao",
        "may",
        "bao",
        "nhieu",
        "loai",
        "thu",
        "hang",
    ]
)


@dataclass
class Query:
    """A question as the bot understood it: what it is about, what it names, how it asks."""

    subject: str | None
    operation: str
    slots: Slots
    # Other subjects that fit the question as well: a reason to ask rather than guess.
    alternatives: tuple[str, ...] = ()


def canonical(text: str) -> str:
    """Normalised text with abbreviations spelled out and common slips fixed:
    'nv nao sap den han ko' -> 'nhiem vu nao sap den han khong'."""
    return _canonical(text)[1]


def _canonical(text: str) -> tuple[str, str]:
    """normalize(text) and :func:`canonical` of ``text``, which starts from it. Both are normalised
    text: canonical() only splits, joins and swaps in lexicon words, all normalised
    (tests/test_nlu_shortcuts.py), so normalize(canonical(text)) == canonical(text)."""
    normalized = normalize(text)
    norm = normalized.replace("–", " ")
    for phrase, pattern, spelled in _ABBREVIATION_PHRASES:
        if phrase in norm:  # the pattern cannot match otherwise (and most questions have none)
            norm = pattern.sub(spelled, norm)
    if _RESPELT.isdisjoint(norm.split()) and _DOUBLED_END.search(norm) is None:
        return normalized, " ".join(norm.split())  # no word to spell out or mend (most questions)
    capitals = {normalize(t) for t in lexicon.INITIALS.findall(text)} & lexicon.LOWERCASE_ONLY
    words = []
    for word in norm.split():
        word = lexicon.TYPOS.get(word, word)
        doubled = len(word) > 3 and word[-1] == word[-2] and word[-1].isalpha()
        if doubled and word not in _VOCABULARY and word[:-1] in _VOCABULARY:  # "hangg", "diemm"
            word = word[:-1]
        words.append(word if word in capitals else _ABBREVIATION.get(word, word))
    return normalized, " ".join(words)


@dataclass(frozen=True)
class Reading:
    """What the router reads of a plain question to route it (:func:`read`), handed on to
    :func:`parse_query` so that the question is not made canonical and matched to a subject twice."""

    text: str
    canon: str  # canonical(text)
    subject: tuple[str | None, tuple[str, ...]]  # detect_subject(canon)
    asker: bool  # canonical_mentions_asker(canon)
    norm: str = field(default="", repr=False)  # normalize(text), which canon starts from


def read(text: str) -> Reading:
    """The canonical form of a question, its subject and whether it names the asker."""
    norm, canon = _canonical(text)
    return Reading(text, canon, detect_subject(canon), canonical_mentions_asker(canon), norm)


def detect_intent(text: str) -> str | None:
    """The subject of a question (as typed: capitals matter for "DT"), or None."""
    return detect_subject(canonical(text))[0]


def mentions_asker(text: str) -> bool:
    """Whether a question is about the asker's own shifts ("khi nào tôi trực")."""
    return canonical_mentions_asker(canonical(text))


def canonical_mentions_asker(canon: str) -> bool:
    """:func:`mentions_asker` of a text already made :func:`canonical`."""
    toi, minh, em, tui = lexicon.SELF_PRONOUNS
    if not (toi in canon or minh in canon or em in canon or tui in canon):  # SELF_WORDS needs one
        return False
    return bool(lexicon.SELF_WORDS.search(_NOT_SELF.sub(" ", canon)))


def detect_subject(canon: str) -> tuple[str | None, tuple[str, ...]]:
    """The first subject whose pattern matches, and the other subjects that match too."""
    matched = [subject for subject, pattern in SUBJECT_RULES.tried(canon) if pattern.search(canon)]
    if _STRONG_TASK.search(canon) and not {"smalltalk", "out_of_scope", "help"} & set(matched[:1]):
        matched.insert(0, "tasks")
    matched = list(dict.fromkeys(matched))
    if not matched:
        return None, ()
    return matched[0], tuple(matched[1:])


def detect_operation(canon: str) -> str:
    for operation, pattern in OPERATION_RULES.tried(canon):
        if pattern.search(canon):
            return operation
    return "show"


def _period_token(value: str) -> PeriodSpec | None:
    match = re.fullmatch(r"(\d{4})(q[1-4]|h[12]|y)", value)
    if not match:
        return None
    year, part = int(match.group(1)), match.group(2)
    if part == "y":
        return PeriodSpec(year, "year", 0)
    return PeriodSpec(year, "quarter" if part[0] == "q" else "half", int(part[1]))


def period_token(spec: PeriodSpec) -> str:
    """The button token for a period: 'p:2022q2'."""
    part = {"quarter": f"q{spec.number}", "half": f"h{spec.number}"}.get(spec.kind, "y")
    return f"p:{spec.year}{part}"


def _day(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()


def _span(dateless: str, today: date) -> tuple[date, date, str] | None:
    """A day or a span named in the (canonical, period-free) text."""
    week = _WEEK_OF.search(dateless)
    if week:
        named = parse_date_range(week.group(1), today)
        if named is not None:
            start, end = week_bounds(named[0])
            return start, end, "tuần"
    weekend = _WEEKEND.search(dateless)
    if weekend:
        shift = {"sau": 1, "toi": 1, "truoc": -1}.get(weekend.group(2) or "", 0)
        monday = week_bounds(today)[0] + timedelta(days=7 * shift)
        return monday + timedelta(days=5), monday + timedelta(days=6), "cuối tuần"
    # Each pattern needs its last word ("nay", "toi") in the text: most questions have neither.
    text = _WEEKDAY_NAY.sub(lambda m: f"{m.group(1)} tuan nay", dateless) if "nay" in dateless else dateless
    # "thu 2 toi" is "thứ 2 tới" (the next Monday), not Monday evening: give the date reader the accent.
    text = _WEEKDAY_TOI.sub(lambda m: f"{m.group(1)} tới", text) if "toi" in text else text
    # Canonical text with words swapped for normalised ones: normalised once its spaces are single,
    # unless "tới" was put back.
    found = parse_date_range(text, today, norm=" ".join(text.split()) if text.isascii() else None)
    if found is None:
        return None
    start, end, label = found
    if any(ch.isdigit() for ch in label):
        label = ""  # the dates say it all: "29/08–04/09/2022", never twice
    return start, end, label


def _moment(canon: str) -> time | None:
    """A clock time in the question ("5h sáng mai", "22h", "2 giờ đêm"), as the 24-hour clock."""
    if not _CLOCK.search(canon):
        return None
    found = parse_time(canon)
    if found is None:
        return None
    part = _DAYPART_AFTER_CLOCK.search(canon)
    if part and part.group(1) in ("chieu", "toi") and found.hour < 12:
        found = found.replace(hour=found.hour + 12)
    return found


@dataclass(frozen=True)
class _PeopleIndex:
    """What :func:`find_people` needs of a people snapshot, worked out once per snapshot."""

    people: list[PersonRef]
    named: list[tuple[PersonRef, re.Pattern[str], int]]  # full names of two words or more, word count
    sizes: dict[int, list[int]]  # word count -> indexes into ``named``
    names: dict[int, list[str]]  # word count -> the names of ``sizes``
    accented: list[str]  # each person's given name as written, lower case
    by_given: dict[str, list[PersonRef]]
    given_at: dict[str, list[int]]  # given name -> indexes into ``people``
    spelled: dict[int, str]  # person id -> canonical position
    spelled_patterns: dict[int, re.Pattern[str]]
    positioned: list[PersonRef]  # the people with a position, in order

    @classmethod
    def of(cls, people: list[PersonRef]) -> _PeopleIndex:
        named = [
            (p, re.compile(rf"\b{re.escape(p.norm_name)}\b"), len(p.norm_name.split()))
            for p in people
            if " " in p.norm_name  # a one-word name is a given name
        ]
        sizes: dict[int, list[int]] = {}
        for index, (_, _, size) in enumerate(named):
            sizes.setdefault(size, []).append(index)
        by_given: dict[str, list[PersonRef]] = {}
        for person in people:
            by_given.setdefault(person.given, []).append(person)
        given_at: dict[str, list[int]] = {}
        for index, person in enumerate(people):
            given_at.setdefault(person.given, []).append(index)
        spelled = {p.id: canonical(p.position) for p in people if p.position}
        return cls(
            people,
            named,
            sizes,
            {size: [named[i][0].norm_name for i in members] for size, members in sizes.items()},
            [unicodedata.normalize("NFC", p.full_name.split()[-1]).lower() for p in people],
            by_given,
            given_at,
            spelled,
            {pid: re.compile(rf"\b{re.escape(text)}\b") for pid, text in spelled.items()},
            [p for p in people if p.id in spelled],
        )


_people_indexes: dict[int, _PeopleIndex] = {}


def _people_index(people: list[PersonRef]) -> _PeopleIndex:
    """The index of a snapshot (kept while the snapshot is: it holds the list, so its id stays its own)."""
    found = _people_indexes.get(id(people))
    if found is None or found.people is not people:
        if len(_people_indexes) >= 8:
            _people_indexes.clear()
        found = _people_indexes[id(people)] = _PeopleIndex.of(people)
    return found


# One dict for good: lexicon.phrases_in compiles a word list's patterns once per dict.
_POSITION_PHRASES = {w: w for w in lexicon.POSITION_WORDS}


def find_people(canon: str, raw: str, people: list[PersonRef]) -> list[PersonRef]:
    """The people a question names: by full name (exact or a close spelling), or by the given name
    alone ("Phúc", "anh Hải", "đ/c Quang"). Several equally good matches are all returned."""
    if not people:
        return []
    known = _people_index(people)
    words = canon.split()
    full = [p for p, pattern, _ in known.named if p.norm_name in canon and pattern.search(canon)]
    if full:
        return full
    scored: dict[int, float] = {}  # index into named -> best score of a window
    for size, members in known.sizes.items():
        names = known.names[size]
        for start in range(max(0, len(words) - size + 1)):
            window = " ".join(words[start : start + size])
            for _, score, position in process.extract(window, names, scorer=fuzz.ratio, score_cutoff=88, limit=None):
                number = members[position]
                scored[number] = max(score, scored.get(number, 0.0))
    if scored:
        best = max(scored.values())
        return list(dict.fromkeys(known.named[i][0] for i in sorted(scored) if scored[i] == best))
    given: list[PersonRef] = []
    left = set(words)  # what a unit's name did not take ("Bảng" of "Kim Bảng" is no one)
    if left.isdisjoint(known.by_given):  # no given name at all: none of what follows can find one
        return _by_position(canon, known)
    # A given name typed with its diacritics is a name even when, without them, it is an everyday word
    # ("Hải" is a person, "hai" is two).
    # So is one written with a capital inside the sentence ("tuan nay Hai truc may ngay").
    raw_words = [w.strip(".,:;!?()") for w in unicodedata.normalize("NFC", raw).split()]
    typed = {w.lower() for w in raw_words}
    capitalised = {normalize(w) for w in raw_words[1:] if w[:1].isupper() and not w.isupper()}
    for index in sorted(i for name in left.intersection(known.given_at) for i in known.given_at[name]):
        person, accented = people[index], known.accented[index]
        if (accented != person.given and accented in typed) or person.given in capitalised:
            given.append(person)
    for index, word in enumerate(words):
        after_title = index > 0 and (
            words[index - 1] in lexicon.PERSON_TITLES
            or " ".join(words[max(0, index - 2) : index]) in lexicon.PERSON_TITLES
        )
        if word in _COMMON_WORDS and not after_title:
            continue
        if len(word) < 2:
            continue
        given.extend(known.by_given.get(word, ()))
    if given:
        return list(dict.fromkeys(given))
    return _by_position(canon, known)


def _by_position(canon: str, known: _PeopleIndex) -> list[PersonRef]:
    """The people of :func:`find_people` named by their position ("CHT", "TMT")."""
    spelled = known.spelled
    positions = [p for p in known.positioned if spelled[p.id] in canon and known.spelled_patterns[p.id].search(canon)]
    if positions:
        longest = max(len(spelled[p.id]) for p in positions)
        return [p for p in positions if len(spelled[p.id]) == longest]
    # A part of a position ("TMT" of "Phó CHT–TMT"), when only one person holds it.
    asked = lexicon.first_phrase(canon, _POSITION_PHRASES)
    holders = [p for p in known.positioned if asked and re.search(rf"\b{asked}\b", spelled[p.id])]
    return holders if len(holders) == 1 else []


_units_by_initials: dict[int, tuple[UnitDirectory, dict[str, UnitRef]]] = {}


def _by_initials(directory: UnitDirectory) -> dict[str, UnitRef]:
    """The initials of each command unit's short name -> the first unit with them, worked out once per
    directory snapshot (kept while the snapshot is: it holds the directory, so its id stays its own)."""
    found = _units_by_initials.get(id(directory))
    if found is None or found[0] is not directory:
        index: dict[str, UnitRef] = {}
        for unit in directory.commands():
            index.setdefault("".join(w[0] for w in normalize(unit.short_name).split()), unit)
        if len(_units_by_initials) >= 8:
            _units_by_initials.clear()
        found = _units_by_initials[id(directory)] = (directory, index)
    return found[1]


def _initials(raw: str, directory: UnitDirectory) -> UnitMatch | None:
    """'DT' typed in capitals: the unit whose short name has those initials (Duy Tiên)."""
    for letters in lexicon.INITIALS.findall(raw):
        wanted = normalize(letters)
        unit = _by_initials(directory).get(wanted)
        if unit is not None:
            return UnitMatch(unit, matched=wanted)
    return None


def _criterion(canon: str, tokens: list[str] | None = None) -> str | None:
    code = lexicon.CRITERION_CODE.search(canon)
    if code:
        return code.group(1).replace(" ", "").upper()
    return lexicon.first_phrase(canon, lexicon.CRITERION_WORDS, tokens)


def _grade(canon: str) -> str | None:
    match = lexicon.GRADE_CONTEXT.search(canon)
    if not match:
        return None
    words = match.group(2) or match.group(3)
    return lexicon.GRADE_WORDS.get(words)


def extract(
    text: str,
    *,
    today: date,
    directory: UnitDirectory,
    home_district: int | None = None,
    people: list[PersonRef] | None = None,
    reading: Reading | None = None,
) -> Slots:
    """Read everything a question or a command's arguments name. Raises DateParseError (with a
    Vietnamese message) for an impossible date such as 31/02. ``reading``: :func:`read` of ``text``,
    when the router has it."""
    slots = Slots(text=text)
    buttons = _TOKEN.findall(text) if ":" in text else ()  # a token has a colon
    for kind, value in buttons:
        if kind == "u" and value.isdigit() and int(value) in directory.by_id:
            unit = directory.by_id[int(value)]
            if unit.kind == "commune":
                slots.area = UnitMatch(unit)
            elif slots.unit is None:
                slots.unit = UnitMatch(unit)
            else:
                slots.unit2 = UnitMatch(unit)
        elif kind == "s" and re.fullmatch(r"\d{8}-\d{8}", value):
            start, end = (_day(v) for v in value.split("-"))
            slots.span = (start, end, "tuần" if (end - start).days == 6 else "")
        elif kind == "d" and re.fullmatch(r"\d{8}", value):
            day = _day(value)
            slots.span = (day, day, "")
        elif kind == "p":
            slots.period = _period_token(value)
        elif kind == "m" and value.isdigit() and people:
            slots.people = [p for p in people if p.id == int(value)]
    rest = _TOKEN.sub(" ", text) if buttons else text
    initials = _initials(rest, directory)
    if initials is not None and initials.matched:
        # "DT" in capitals is Duy Tiên, not "dt" (diễn tập): spell the unit out before anything else.
        rest = re.sub(rf"(?<![\w/]){re.escape(initials.matched.upper())}(?![\w/])", initials.unit.short_name, rest)
    # The router's reading holds for the text as it came, without buttons' tokens or initials.
    same = reading is not None and reading.text == rest and bool(reading.norm)
    rest_norm, canon = (reading.norm, reading.canon) if reading is not None and same else _canonical(rest)
    slots.norm = canon
    if slots.period is None:
        # canon is normalised text already (see _canonical).
        slots.period = parse_period(rest, today, norm=rest_norm) or parse_period(canon, today, norm=canon)
    # Every period phrase has "q" or "nam" in it.
    dateless = _PERIOD_TEXT.sub(" ", canon) if "q" in canon or "nam" in canon else canon
    if slots.span is None:
        # Role words go first: "trực ban thứ 6" is not a "bàn" of anything.
        slots.span = _span(_ROLE_TEXT.sub(" ", dateless), today)
    slots.moment = _moment(dateless)
    # canon is normalised text (see _canonical), and so is what is left of it once a name is taken out.
    if slots.unit is None:
        slots.unit = directory.find_in_text(canon, communes=False, normalized=True)
    if slots.unit is not None and slots.unit2 is None and slots.unit.matched:
        others = " ".join(_whole(slots.unit.matched).sub(" ", canon).split())
        second = directory.find_in_text(others, communes=False, normalized=True)
        if second is not None and second.unit.id != slots.unit.unit.id:
            slots.unit2 = second
            if second.matched and canon.find(second.matched) < canon.find(slots.unit.matched):
                slots.unit, slots.unit2 = second, slots.unit  # in the order the question names them
    if slots.area is None:
        slots.area = directory.find_in_text(canon, communes=True, prefer_parent=home_district, normalized=True)
        if slots.area and slots.unit and normalize(slots.area.unit.short_name) in normalize(slots.unit.unit.name):
            slots.area = None  # "Kim Bảng" named the district, not a commune inside it
    tokens = _WORD.findall(canon)  # the words of canon, for the word lists' shortcut
    slots.role = lexicon.first_phrase(canon, lexicon.ROLE_WORDS, tokens)
    numbers = _NUMBER.findall(dateless)
    slots.number = numbers[0] if numbers else None
    task = lexicon.TASK_CODE.search(canon)
    slots.task_code = f"FT{int(task.group(2))}" if task else None
    slots.task_topic = lexicon.first_phrase(canon, lexicon.TASK_TOPICS, tokens)
    slots.criterion = _criterion(canon, tokens)
    slots.grade = _grade(canon)
    slots.event_kind = lexicon.first_phrase(canon, lexicon.EVENT_KIND_WORDS, tokens)
    leftover = dateless
    named = [_whole(match.matched) for match in (slots.unit, slots.unit2, slots.area) if match and match.matched]
    for pattern in named:
        leftover = pattern.sub(" ", leftover)
    if not slots.people and people:
        names = canon
        for pattern in named:
            names = pattern.sub(" ", names)
        slots.people = find_people(names, rest, people)
    for person in slots.people:
        for word in person.norm_name.split():
            leftover = re.sub(rf"\b{word}\b", " ", leftover)
    asker = reading.asker if reading is not None and same else canonical_mentions_asker(canon)
    slots.self_ref = asker and not _AI.search(canon)
    for words, pattern in _ROLE_PHRASES:
        if words in leftover:  # the pattern cannot match otherwise
            leftover = pattern.sub(" ", leftover)
    slots.leftover = " ".join(_KNOWN_WORDS.sub(" ", leftover).split())
    return slots


def _whole(words: str) -> re.Pattern[str]:
    """``words`` as a whole-word pattern (re keeps the compiled patterns of the names it saw)."""
    return re.compile(rf"\b{re.escape(words)}\b")


def parse_query(
    text: str,
    *,
    today: date,
    directory: UnitDirectory,
    home_district: int | None = None,
    people: list[PersonRef] | None = None,
    reading: Reading | None = None,
) -> Query:
    """The whole structured query of a plain question (``reading``: :func:`read` of ``text``, if made)."""
    slots = extract(text, today=today, directory=directory, home_district=home_district, people=people, reading=reading)
    known = reading is not None and reading.canon == slots.norm
    subject, alternatives = reading.subject if reading is not None and known else detect_subject(slots.norm)
    operation = detect_operation(slots.norm)
    if subject is None:
        if slots.task_code:
            subject = "tasks"
        elif slots.criterion or slots.grade:
            subject = "results"
        elif slots.people and (slots.span or operation == "when"):
            subject = "duty"
        elif slots.period is not None:
            subject = "results"
        elif slots.unit is not None and slots.unit2 is not None:
            subject = "ranking"
        elif slots.span is not None:
            alternatives = ("duty", "schedule")  # "Kim Bảng tuần sau": the roster or the meetings? ask
        elif slots.unit is not None or slots.area is not None:
            subject = "units"
    if subject in ("help", "smalltalk", "out_of_scope", "start"):
        operation = "show"
    if subject == "duty" and (slots.people or slots.self_ref) and operation in ("show", "exists", "count"):
        operation = "when"
    if subject in ("results", "ranking") and slots.unit2 is not None:
        operation = "compare"
    slots.subject, slots.operation = subject, operation
    return Query(subject, operation, slots, alternatives)


def span_text(span: tuple[date, date, str]) -> str:
    """How a span reads in a title: 'tuần 29/08–04/09/2022', '29/08–04/09/2022'."""
    start, end, label = span
    return " ".join(part for part in (label, fmt_date_range(start, end)) if part)


def guess_subject(text: str) -> str | None:
    """For a question no pattern understood: the subject whose keyword is closest to a pair of its
    words or one long word ("lcih trcu" ~ "lich truc"), if close enough to ask about, else None."""
    words = canonical(text).split()
    windows = [" ".join(words[i : i + 2]) for i in range(len(words) - 1)]
    best, subject = 0.0, None
    for window in windows:
        for keyword, name in lexicon.SUBJECT_KEYWORDS.items():
            score = fuzz.ratio(window, keyword)
            if score > best:
                best, subject = score, name
    return subject if best >= 75 else None
