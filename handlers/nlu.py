"""Plain Vietnamese questions: which command they mean, and what they name (unit, day, period...).

Matching works on normalised text (no diacritics, lower case), so "lịch trực tuần này", "lich truc
tuan nay" and "LỊCH TRỰC TUẦN NÀY" are the same question. Buttons carry explicit tokens (``u:12``,
``s:20220620-20220626``, ``p:2022q2``) that are read before any guessing.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from bot.services.duty import ROLE_WORDS
from bot.services.units import UnitDirectory, UnitMatch
from bot.textnorm import normalize
from bot.vntime import PeriodSpec, parse_date_range, parse_period
from handlers.context import Slots

# (intent, pattern on normalised text), first match wins; the order settles overlaps such as
# "tăng cường trực" (readiness, not duty) or "lịch diễn tập" (drills, not schedule).
INTENTS: list[tuple[str, re.Pattern[str]]] = [
    (intent, re.compile(pattern))
    for intent, pattern in [
        ("help", r"\b(tro giup|huong dan|help|lam duoc gi|co the hoi gi|menu)\b"),
        ("directives", r"\b(chi thi|cuoc van dong)\b"),
        ("readiness", r"\b(tang cuong truc|truc tang cuong|dot tang cuong|tang cuong)\b"),
        ("duty", r"\b(lich truc|ai truc|truc chi huy|truc ban|truc chien|ca truc|phien truc|ai chi huy)\b"),
        ("drills", r"\b(dien tap|dtcdpt|thuc binh)\b"),
        ("ranking", r"\b(xep hang|bang xep hang|bxh|bang diem)\b"),
        ("results", r"\b(ket qua|cham diem|(?<!dia )diem|xep thu|xep loai|dung thu|thu hang)\b"),
        ("tasks", r"\b(nhiem vu|cong viec)\b"),
        ("duty", r"\btruc\b"),
        (
            "units",
            r"\b(gom (nhung )?(don vi|ai)|don vi nao|cum truong|cum pho|thanh vien|danh sach don vi"
            r"|bao nhieu don vi|co may don vi|nhung don vi)\b",
        ),
        ("schedule", r"\b(hoi nghi|lich hop|cuoc hop|hop|so ket|tong ket|lich|su kien|o dau|khi nao)\b"),
        ("news", r"\b(tin tuc|tin moi|ban tin|tin)\b"),
        ("start", r"^(xin chao|chao|hello|hi|alo|bat dau)\b"),
    ]
]

_TOKEN = re.compile(r"(?<!\S)([usdp]):(\S+)")
# Period phrases, removed before looking for dates so "quý 2/2022" is not read as a day.
_PERIOD_TEXT = re.compile(
    r"\b(quy|q)\s*([1-4]|i{1,3}|iv)(\s*/\s*\d{4}|\s+nam\s+\d{4})?\b"
    r"|\b(6|sau) thang (dau|cuoi) nam(\s+\d{4})?\b|\bnua (dau|cuoi) nam(\s+\d{4})?\b"
    r"|\b(ca )?nam (nay|\d{4})\b"
)
_NUMBER = re.compile(r"\b(\d{1,4})\b")
# Words that name days, times and the like, plus common filler, removed when looking for leftovers.
_KNOWN_WORDS = re.compile(
    r"\b(hom nay|ngay mai|ngay kia|hom qua|tuan (nay|sau|toi|truoc)|thang (nay|sau|toi|truoc)"
    r"|thang \d{1,2}(/\d{4})?|thu (hai|ba|tu|nam|sau|bay|[2-7])|t[2-7]|chu nhat|cn|nay|mai|mot"
    r"|sang|chieu|toi|trua|dem|ngay|tu|den|luc|nam|\d{1,2} ?(h|g|gio)( ?\d{2})?|\d{1,2}:\d{2}"
    r"|\d{1,2}[/.\-]\d{1,2}([/.\-]\d{2,4})?|\d+|lan|luot|nguoi|admin|quan tri"
    r"|cua|cho|xem|va|o|la|don vi|lich|ket qua|diem|cum|ai|truc)\b"
)


def detect_intent(norm: str) -> str | None:
    for intent, pattern in INTENTS:
        if pattern.search(norm):
            return intent
    return None


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


def extract(text: str, *, today: date, directory: UnitDirectory, home_district: int | None = None) -> Slots:
    """Read everything a question or a command's arguments name. Raises DateParseError (with a
    Vietnamese message) for an impossible date such as 31/02."""
    slots = Slots(text=text)
    rest = text
    for kind, value in _TOKEN.findall(text):
        if kind == "u" and value.isdigit() and int(value) in directory.by_id:
            unit = directory.by_id[int(value)]
            if unit.kind == "commune":
                slots.area = UnitMatch(unit)
            else:
                slots.unit = UnitMatch(unit)
        elif kind == "s" and re.fullmatch(r"\d{8}-\d{8}", value):
            start, end = (_day(v) for v in value.split("-"))
            slots.span = (start, end, "tuần" if (end - start).days == 6 else "từ")
        elif kind == "d" and re.fullmatch(r"\d{8}", value):
            day = _day(value)
            slots.span = (day, day, "ngày")
        elif kind == "p":
            slots.period = _period_token(value)
    rest = _TOKEN.sub(" ", text)
    norm = normalize(rest)
    slots.norm = norm
    if slots.period is None:
        slots.period = parse_period(rest, today)
    dateless = _PERIOD_TEXT.sub(" ", norm)
    if slots.span is None:
        slots.span = parse_date_range(dateless, today)
    if slots.unit is None:
        slots.unit = directory.find_in_text(rest, communes=False)
    if slots.area is None:
        slots.area = directory.find_in_text(rest, communes=True, prefer_parent=home_district)
        if slots.area and slots.unit and normalize(slots.area.unit.short_name) in normalize(slots.unit.unit.name):
            slots.area = None  # "Kim Bảng" named the district, not a commune inside it
    for words in sorted(ROLE_WORDS, key=len, reverse=True):
        if re.search(rf"\b{words}\b", norm):
            slots.role = ROLE_WORDS[words]
            break
    numbers = _NUMBER.findall(dateless)
    slots.number = numbers[0] if numbers else None
    leftover = dateless
    for match in (slots.unit, slots.area):
        if match is not None and match.matched:
            leftover = re.sub(rf"\b{re.escape(match.matched)}\b", " ", leftover)
    for words in ROLE_WORDS:
        leftover = re.sub(rf"\b{words}\b", " ", leftover)
    slots.leftover = " ".join(_KNOWN_WORDS.sub(" ", leftover).split())
    return slots
