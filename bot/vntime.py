"""Vietnamese dates, times and review periods: parse what officers type, format it back the Vietnamese way.

Pure functions only: no I/O and no global clock ("today" is always passed in). Every parser works on
``textnorm.normalize`` output, so text with or without diacritics and in any case is accepted. Where the
same unaccented word has several meanings (``mai``/``mãi``, ``tối``/``tôi``/``tới``, ``mốt``/``một`` …) the
accents the user did type are used to tell them apart.
"""

from __future__ import annotations

import calendar
import itertools
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from bot.textnorm import normalize, strip_diacritics

__all__ = [
    "WEEKDAYS",
    "DateParseError",
    "PeriodSpec",
    "combine_local",
    "fmt_date",
    "fmt_date_range",
    "fmt_day_month",
    "fmt_points",
    "fmt_time",
    "fmt_weekday_date",
    "parse_date",
    "parse_date_range",
    "parse_datetime",
    "parse_period",
    "parse_time",
    "roman",
    "session_name",
    "week_bounds",
    "weekday_name",
]

WEEKDAYS: tuple[str, ...] = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

EN_DASH = "–"
_DATE_HINT = "Viết ngày dạng dd/mm/yyyy, ví dụ 23/06/2022."
_TIME_HINT = "Viết giờ dạng 14h00, 14h hoặc 14 giờ."
_PREFERS = ("nearest", "future")


class DateParseError(ValueError):
    """Text looks like a date/time/period but is impossible or malformed; str(exc) is a Vietnamese hint."""


# ---------------------------------------------------------------------------------------------------------
# formatting
# ---------------------------------------------------------------------------------------------------------


def weekday_name(d: date) -> str:
    """date(2022, 6, 22) -> 'Thứ Tư'."""
    return WEEKDAYS[d.weekday()]


def fmt_date(d: date) -> str:
    """date(2022, 6, 22) -> '22/06/2022'."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def fmt_day_month(d: date) -> str:
    """date(2022, 6, 22) -> '22/06'."""
    return f"{d.day:02d}/{d.month:02d}"


def fmt_time(t: time) -> str:
    """time(14, 0) -> '14h00'; time(7, 30) -> '07h30' (seconds are dropped)."""
    return f"{t.hour:02d}h{t.minute:02d}"


def fmt_weekday_date(d: date) -> str:
    """date(2022, 6, 23) -> 'Thứ Năm 23/06/2022'."""
    return f"{weekday_name(d)} {fmt_date(d)}"


def fmt_date_range(start: date, end: date) -> str:
    """Compact inclusive span: '22/06/2022', '24–25/08/2022', '31/08–05/09/2022', '30/12/2022–02/01/2023'."""
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if start == end:
        return fmt_date(start)
    if start.year == end.year and start.month == end.month:
        return f"{start.day:02d}{EN_DASH}{fmt_date(end)}"
    if start.year == end.year:
        return f"{fmt_day_month(start)}{EN_DASH}{fmt_date(end)}"
    return f"{fmt_date(start)}{EN_DASH}{fmt_date(end)}"


def fmt_points(value: Decimal | float | int) -> str:
    """Score with a decimal comma and at least one decimal: 84 -> '84,0', Decimal('92.50') -> '92,5'."""
    if isinstance(value, bool):
        raise TypeError("fmt_points expects a number, not bool")
    if isinstance(value, Decimal):
        dec = value
    elif isinstance(value, float):
        dec = Decimal(repr(value))  # shortest repr: 84.25 stays 84.25, not 84.2500000000000071…
    elif isinstance(value, int):
        dec = Decimal(value)
    else:
        dec = Decimal(str(value))
    if not dec.is_finite():
        raise ValueError(f"cannot format {value!r} as points")
    text = format(dec, "f")
    sign = ""
    if text.startswith("-"):
        sign, text = "-", text[1:]
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0") or "0"
    if not whole.strip("0") and frac == "0":
        sign = ""  # no "-0,0"
    return f"{sign}{whole or '0'},{frac}"


_SESSION_NAMES = {"sang": "sáng", "chieu": "chiều", "toi": "tối"}


def session_name(session: str | None) -> str:
    """'sang' -> 'sáng', 'chieu' -> 'chiều', 'toi' -> 'tối', None/'' -> ''."""
    if not session:
        return ""
    key = normalize(session)
    if key not in _SESSION_NAMES:
        raise ValueError(f"unknown session {session!r}")
    return _SESSION_NAMES[key]


_ROMAN = (
    (1000, "M"),
    (900, "CM"),
    (500, "D"),
    (400, "CD"),
    (100, "C"),
    (90, "XC"),
    (50, "L"),
    (40, "XL"),
    (10, "X"),
    (9, "IX"),
    (5, "V"),
    (4, "IV"),
    (1, "I"),
)


def roman(n: int) -> str:
    """1 -> 'I', 2 -> 'II', 4 -> 'IV' (any 1..3999)."""
    if not 1 <= n <= 3999:
        raise ValueError(f"cannot write {n} in Roman numerals")
    out = []
    for value, letters in _ROMAN:
        count, n = divmod(n, value)
        out.append(letters * count)
    return "".join(out)


def combine_local(d: date, t: time, tz: tzinfo) -> datetime:
    """Aware datetime for wall-clock d + t in tz (e.g. ZoneInfo('Asia/Ho_Chi_Minh'))."""
    return datetime.combine(d, t.replace(tzinfo=None), tzinfo=tz)


def week_bounds(d: date) -> tuple[date, date]:
    """Monday..Sunday of the week containing d."""
    monday = d - timedelta(days=d.weekday())
    return monday, monday + timedelta(days=6)


# ---------------------------------------------------------------------------------------------------------
# normalised text with the typed accents kept alongside
# ---------------------------------------------------------------------------------------------------------

_ACC_PUNCT = re.compile(r"[^\w\s/:.,+\-–]")


class _Ctx:
    """normalize(text) plus, word by word, the same word as typed (lower case, accents kept)."""

    def __init__(self, text: str, norm: str | None = None) -> None:
        self.norm = normalize(text) if norm is None else norm  # ``norm``: normalize(text), when known
        self.words = self.norm.split(" ") if self.norm else []
        self.starts: list[int] = []
        pos = 0
        for word in self.words:
            self.starts.append(pos)
            pos += len(word) + 1
        if text.isascii():
            # No accents typed: the text as typed, lower case, is the normalised text word for word.
            self.marked = False
            self.acc: list[str] | None = list(self.words)
            return
        nfc = unicodedata.normalize("NFC", text)
        self.marked = strip_diacritics(nfc) != nfc
        acc = " ".join(_ACC_PUNCT.sub(" ", nfc.lower()).split())
        acc_words = acc.split(" ") if acc else []
        # Word by word the same as the normalised text: stripping marks never adds or removes a
        # space, so comparing the whole texts once says the same.
        aligned = len(acc_words) == len(self.words) and strip_diacritics(acc) == self.norm
        self.acc = acc_words if aligned else None

    def index(self, pos: int) -> int:
        """Index of the word containing character pos."""
        return bisect_right(self.starts, pos) - 1

    def ok(self, pos: int, *forms: str) -> bool:
        """Whether the word at pos may be one of forms (always true when the text carries no accents)."""
        if not self.marked or self.acc is None:
            return True
        return self.acc[self.index(pos)] in forms

    def typed(self, pos: int) -> str | None:
        """The word at pos as typed (accents kept), or None when unknown."""
        return None if self.acc is None else self.acc[self.index(pos)]

    def prev(self, start: int, n: int = 1) -> str:
        """The n words before the word starting at start ('' when none)."""
        i = bisect_left(self.starts, start)
        if i >= len(self.starts) or self.starts[i] != start:
            return ""
        return " ".join(self.words[max(0, i - n) : i])

    def prev_typed(self, start: int) -> str | None:
        """The word before the one starting at start, as typed."""
        i = bisect_left(self.starts, start)
        if self.acc is None or i == 0 or i >= len(self.starts) or self.starts[i] != start:
            return None
        return self.acc[i - 1]

    def next(self, end: int) -> str:
        """The first word starting at or after end ('' when none)."""
        i = bisect_left(self.starts, end)
        return self.words[i] if i < len(self.words) else ""


# ---------------------------------------------------------------------------------------------------------
# calendar helpers and error messages
# ---------------------------------------------------------------------------------------------------------


def _days_in(month: int, year: int | None) -> int:
    if year is None:
        return 29 if month == 2 else calendar.monthrange(2000, month)[1]
    return calendar.monthrange(year, month)[1]


def _bad_day(raw: str, month: int, year: int | None) -> DateParseError:
    if year is None:
        where = f"tháng {month}"
        count = "28 hoặc 29" if month == 2 else str(_days_in(month, None))
    else:
        where = f"tháng {month} năm {year}"
        count = str(_days_in(month, year))
    return DateParseError(f"Ngày {raw} không có thật ({where} có {count} ngày). {_DATE_HINT}")


def _make_date(day: int, month: int, year: int | None, raw: str) -> date:
    """Validated date (year None: only checks day/month against a leap year)."""
    if not 1 <= month <= 12:
        raise DateParseError(f"Ngày {raw} không hợp lệ: không có tháng {month} (tháng chỉ từ 1 đến 12). {_DATE_HINT}")
    if year is not None and not 1 <= year <= 9999:
        raise DateParseError(f"Ngày {raw} không hợp lệ: năm {year} không có thật. {_DATE_HINT}")
    if not 1 <= day <= _days_in(month, year):
        raise _bad_day(raw, month, year)
    return date(year if year is not None else 2000, month, day)


def _year4(text: str | None) -> int | None:
    if text is None:
        return None
    return 2000 + int(text) if len(text) == 2 else int(text)


def _check_prefer(prefer: str) -> None:
    if prefer not in _PREFERS:
        raise ValueError(f"prefer must be one of {_PREFERS}, not {prefer!r}")


def _infer_year(day: int, month: int, raw: str, today: date, prefer: str) -> date:
    """Date for day/month with no year: the nearest to today, or the first on/after today."""
    _make_date(day, month, None, raw)
    if prefer == "future":
        for year in range(today.year, today.year + 9):
            if day <= _days_in(month, year) and date(year, month, day) >= today:
                return date(year, month, day)
    else:
        candidates = [
            date(y, month, day) for y in (today.year - 1, today.year, today.year + 1) if day <= _days_in(month, y)
        ]
        if candidates:
            return min(candidates, key=lambda d: (abs((d - today).days), -d.toordinal()))
    raise _bad_day(raw, month, today.year)


def _infer_month(day: int, today: date, prefer: str) -> date:
    """Date for a bare day of month ('ngày 25'): nearest month, or the first on/after today."""
    if not 1 <= day <= 31:
        raise DateParseError(f"Ngày {day} không có thật (một tháng chỉ có từ 1 đến 31 ngày). {_DATE_HINT}")
    offsets = range(0, 4) if prefer == "future" else range(-1, 2)
    candidates = []
    for off in offsets:
        y, m = divmod(today.year * 12 + today.month - 1 + off, 12)
        if day <= _days_in(m + 1, y):
            candidates.append(date(y, m + 1, day))
    if prefer == "future":
        return next(d for d in candidates if d >= today)
    return min(candidates, key=lambda d: (abs((d - today).days), -d.toordinal()))


# ---------------------------------------------------------------------------------------------------------
# finding dates in normalised text
# ---------------------------------------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    """frozenset of the space-separated words."""
    return frozenset(words.split())


_DIGIT = re.compile(r"\d")
_NB = r"(?<![\w/.:,\-–])"  # a number starts here (not glued to another number/word)
_NE = r"(?![\w/:]|[.,\-–]\d)"  # a number ends here

_ISO_RE = re.compile(_NB + r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _NE)
_RANGE_RE = re.compile(
    _NB + r"(?P<d1>\d{1,2})(?:/(?P<m1>\d{1,2})(?:/(?P<y1>\d{4}|\d{2}))?\s?[-–]\s?|[-–])"
    r"(?P<d2>\d{1,2})/(?P<m2>\d{1,2})(?:/(?P<y2>\d{4}|\d{2}))?" + _NE
)
_NUM_RE = re.compile(_NB + r"(?P<d>\d{1,2})(?P<sep>[/.\-])(?P<m>\d{1,2})(?:(?P=sep)(?P<y>\d{4}|\d{2}))?" + _NE)
_WORD_RE = re.compile(
    _NB + r"(?:(?:ngay|mung|mong)\s?)?(?P<d>\d{1,2})\s?thang\s?(?P<m>\d{1,2})(?![\w/])"
    r"(?:\s?,?\s?(?:nam\s?)?(?P<y>\d{4})(?!\d))?"
)
_DAY_ONLY_RE = re.compile(
    r"(?<!\w)(?P<pre>ngay|mung|mong)\s?(?P<d>\d{1,2})"
    r"(?!\d|\w|[/.:,\-–]\d|\s?(?:thang|gio|h|g|phut|lan|ngay|tuan|nam|nguoi)(?!\w))"
)
_REL_RE = re.compile(
    r"(?<!\w)(?:(?P<pre>hom|bua|sang|chieu|toi|trua|dem|khuya|ngay)\s)?(?P<w>nay|mai|mot|kia|qua)(?!\w)"
)
_WEEKDAY_RE = re.compile(
    r"(?<![\w/])(?:(?P<thu>thu)\s?(?P<num>[2-7])|(?P<thu2>thu)\s(?P<name>hai|ba|tu|nam|sau|bay)"
    r"|t(?P<t>[2-7])|(?P<cn>chu\snhat|cn))" + _NE
)
_QUAL_AFTER_RE = re.compile(r"\s(?:tuan\s(?P<wk>nay|sau|toi|truoc)|(?P<bare>nay|toi))(?!\w)")
_QUAL_BEFORE_RE = re.compile(r"(?:^|\s)(?P<q>tuan\s(?P<wk>nay|sau|toi|truoc))\s$")

_WEEK_SHIFT = {"nay": 0, "sau": 1, "toi": 1, "truoc": -1}
_WEEKDAY_WORDS = {"hai": 0, "ba": 1, "tu": 2, "nam": 3, "sau": 4, "bay": 5}
_WEEKDAY_ACC = {
    "hai": ("hai",),
    "ba": ("ba",),
    "tu": ("tư",),
    "nam": ("năm",),
    "sau": ("sáu",),
    "bay": ("bảy", "bẩy"),
}
# "lần thứ hai", "đợt thứ 2", "tuần thứ 3" … are ordinals, not weekdays.
_ORDINAL_BEFORE = _wordset(
    "lan dot vong buoc hang lop ky khoa phan muc dieu chuong giai tuan thang quy nam vi cap nguoi ban so "
    "cai con trang cau khoan tap doi to tran phien bai de dong hang"
)
_SESSION_ACC = {
    "hom": ("hôm",),
    "bua": ("bữa",),
    "sang": ("sáng",),
    "chieu": ("chiều",),
    "toi": ("tối",),
    "trua": ("trưa",),
    "dem": ("đêm",),
    "khuya": ("khuya",),
    "ngay": ("ngày",),
}
# words after which "nay" means "this" (tuần này, năm nay, đơn vị này, hiện nay …), not "today"
_NAY_BLOCK = _wordset(
    "tuan thang nam quy ky dot dip lan ngay hien den xua truoc vi cum ban lich dieu viec nguoi cai con "
    "chuyen van bao so muc phan khoa lop chi nhu the kieu cach dong doi to su bai de dau giai phong xa "
    "huyen tinh khu dia noi cho o luc"
)
_NUM_SKIP_BEFORE = frozenset({"quy", "thang", "so", "le", "q"})
_UNITS = _wordset("ngay tuan thang nam lan nguoi gio phut diem dong trieu ty ti ban can chiec km m")


@dataclass(frozen=True)
class _Dmy:
    day: int
    month: int | None  # None: bare day of month ("ngày 25")
    year: int | None
    raw: str


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    rank: int  # 0 explicit date, 1 relative day word, 2 weekday
    dmy: _Dmy | None = None
    dmy_end: _Dmy | None = None  # explicit ranges "20–26/6"
    offset: int = 0  # relative days
    weekday: int = -1
    week_shift: int | None = None
    upcoming: bool = False  # "thứ năm tới"


def _find_hits(ctx: _Ctx) -> list[_Hit]:
    """Every date-like phrase in the text (not validated yet), in no particular order."""
    norm = ctx.norm
    hits: list[_Hit] = []

    def free(start: int, end: int) -> bool:
        return all(end <= h.start or start >= h.end for h in hits)

    if _DIGIT.search(norm) is None:  # every pattern but the day words and weekdays needs a digit
        _find_word_hits(ctx, hits, free)
        return hits

    # Each pattern below has a character or word it cannot match without: most questions have none.
    dash = "-" in norm or "–" in norm
    for m in _ISO_RE.finditer(norm) if "-" in norm else ():
        hits.append(_Hit(m.start(), m.end(), 0, _Dmy(int(m["d"]), int(m["m"]), int(m["y"]), m.group())))

    for m in _RANGE_RE.finditer(norm) if dash else ():
        if not free(m.start(), m.end()) or ctx.prev(m.start()) in _NUM_SKIP_BEFORE:
            continue
        m2 = int(m["m2"])
        if m["m1"]:
            first_raw = f"{m['d1']}/{m['m1']}" + (f"/{m['y1']}" if m["y1"] else "")
        else:
            first_raw = f"{m['d1']}/{m2}"
        first = _Dmy(int(m["d1"]), int(m["m1"]) if m["m1"] else None, _year4(m["y1"]), first_raw)
        last_raw = f"{m['d2']}/{m['m2']}" + (f"/{m['y2']}" if m["y2"] else "")
        last = _Dmy(int(m["d2"]), m2, _year4(m["y2"]), last_raw)
        hits.append(_Hit(m.start(), m.end(), 0, first, last))

    for m in _NUM_RE.finditer(norm) if dash or "/" in norm or "." in norm else ():
        if not free(m.start(), m.end()) or ctx.prev(m.start()) in _NUM_SKIP_BEFORE:
            continue
        day, month, sep, year = int(m["d"]), int(m["m"]), m["sep"], m["y"]
        if sep == "." and (year is None or len(year) != 4):
            continue  # "92.5" is a score, not a date
        if sep == "/" and day == 24 and month == 24:
            continue  # "trực 24/24"
        if sep == "-" and year is None and (not 1 <= day <= 31 or not 1 <= month <= 12 or ctx.next(m.end()) in _UNITS):
            continue  # "1-15", "2-3 ngày": counts, not dates
        hits.append(_Hit(m.start(), m.end(), 0, _Dmy(day, month, _year4(year), m.group())))

    for m in _WORD_RE.finditer(norm) if "thang" in norm else ():
        if not free(m.start(), m.end()):
            continue
        raw = f"{m['d']}/{m['m']}" + (f"/{m['y']}" if m["y"] else "")
        hits.append(_Hit(m.start(), m.end(), 0, _Dmy(int(m["d"]), int(m["m"]), _year4(m["y"]), raw)))

    for m in _DAY_ONLY_RE.finditer(norm) if "ngay" in norm or "mung" in norm or "mong" in norm else ():
        pre = m["pre"]
        if not free(m.start(), m.end()) or (pre == "mong" and not ctx.marked):
            continue  # unaccented "mong 2 …" is more likely "mong" (hope) than "mồng"
        if not ctx.ok(m.start(), {"ngay": "ngày", "mung": "mùng", "mong": "mồng"}[pre]):
            continue
        hits.append(_Hit(m.start(), m.end(), 0, _Dmy(int(m["d"]), None, None, m.group())))

    _find_word_hits(ctx, hits, free)
    return hits


def _find_word_hits(ctx: _Ctx, hits: list[_Hit], free: Callable[[int, int], bool]) -> None:
    """The day words ("mai", "hôm qua") and weekdays of :func:`_find_hits`, added to ``hits``."""
    for m in _REL_RE.finditer(ctx.norm):
        offset = _relative_offset(ctx, m)
        if offset is not None and free(m.start(), m.end()):
            hits.append(_Hit(m.start(), m.end(), 1, offset=offset))

    for m in _WEEKDAY_RE.finditer(ctx.norm):
        hit = _weekday_hit(ctx, m)
        if hit is not None and free(hit.start, hit.end):
            hits.append(hit)


def _relative_offset(ctx: _Ctx, m: re.Match[str]) -> int | None:
    """Day offset for hôm nay / mai / mốt / ngày kia / hôm qua …; None when the words mean something else."""
    pre, word = m["pre"], m["w"]
    wpos = m.start("w")
    pre_ok = pre is not None and ctx.ok(m.start(), *_SESSION_ACC[pre])
    if word == "nay":
        if pre is not None and pre != "ngay":
            return 0 if pre_ok else None
        if pre == "ngay":
            return None  # "ngày nay" = nowadays
        typed = ctx.typed(wpos)
        if wpos == 0:
            return 0 if not ctx.marked or typed in (None, "nay") else None
        if ctx.prev(wpos) in _NAY_BLOCK or ctx.prev_typed(wpos) in ("tới", "tôi"):
            return None
        return 0 if not ctx.marked or typed in (None, "nay") else None
    if word == "mai":
        if not ctx.ok(wpos, "mai"):
            return None  # mãi, mái, mài …
        if pre is None:
            before = ctx.prev(wpos, 2)
            if before.endswith("dong chi") or ctx.prev(wpos) in ("d/c", "dc", "hoang"):
                return None  # "đồng chí Mai", "Hoàng Mai"
            if ctx.prev_typed(wpos) in ("chị", "cô", "bà"):
                return None
        return 1
    if word == "mot":
        if ctx.marked and ctx.acc is not None:
            return 2 if ctx.typed(wpos) == "mốt" else None
        if pre in ("ngay", "sang", "chieu", "toi", "trua", "dem") or ctx.norm == "mot":
            return 2
        return None
    if word == "kia":
        if pre == "ngay" and pre_ok:
            return 2
        if pre == "hom" and pre_ok:
            return -2
        return None
    # "qua"
    if pre in ("hom", "bua", "toi", "dem", "chieu", "sang", "trua") and pre_ok and ctx.ok(wpos, "qua"):
        return -1
    return None


def _weekday_hit(ctx: _Ctx, m: re.Match[str]) -> _Hit | None:
    """Weekday phrase with its optional week qualifier ("thứ năm tuần sau", "tuần này thứ sáu")."""
    start, end = m.start(), m.end()
    if m["num"] is not None or m["name"] is not None:
        typed = ctx.typed(start)
        if ctx.marked and typed is not None and not typed.startswith(("thứ", "thu")):
            return None  # thư, thủ, thú …
        if ctx.prev(start) in _ORDINAL_BEFORE:
            return None
        if m["num"] is not None:
            weekday = int(m["num"]) - 2
        else:
            name = m["name"]
            if not ctx.ok(m.start("name"), *_WEEKDAY_ACC[name]):
                return None
            weekday = _WEEKDAY_WORDS[name]
    elif m["t"] is not None:
        weekday = int(m["t"]) - 2
    else:
        if m["cn"] != "cn" and not (ctx.ok(start, "chủ") and ctx.ok(m.start("cn") + 4, "nhật")):
            return None
        weekday = 6
    shift: int | None = None
    upcoming = False
    after = _QUAL_AFTER_RE.match(ctx.norm, end)
    before = _QUAL_BEFORE_RE.search(ctx.norm, 0, start)
    if after is not None and after["wk"] is not None:
        shift, end = _WEEK_SHIFT[after["wk"]], after.end()
    elif after is not None and after["bare"] == "nay" and ctx.ok(after.start("bare"), "này", "nay"):
        shift, end = 0, after.end()
    elif after is not None and after["bare"] == "toi" and ctx.typed(after.start("bare")) == "tới":
        upcoming, end = True, after.end()
    elif before is not None:
        shift, start = _WEEK_SHIFT[before["wk"]], before.start("q")
    return _Hit(start, end, 2, weekday=weekday, week_shift=shift, upcoming=upcoming)


def _resolve_weekday(hit: _Hit, today: date, prefer: str) -> date:
    monday = today - timedelta(days=today.weekday())
    if hit.week_shift is not None:
        return monday + timedelta(weeks=hit.week_shift, days=hit.weekday)
    if hit.upcoming:
        return today + timedelta(days=(hit.weekday - today.weekday()) % 7 or 7)
    if prefer == "future":
        return today + timedelta(days=(hit.weekday - today.weekday()) % 7)
    return monday + timedelta(days=hit.weekday)


def _resolve_dmy(dmy: _Dmy, today: date, prefer: str) -> date:
    if dmy.month is None:
        return _infer_month(dmy.day, today, prefer)
    if dmy.year is None:
        return _infer_year(dmy.day, dmy.month, dmy.raw, today, prefer)
    return _make_date(dmy.day, dmy.month, dmy.year, dmy.raw)


def _resolve_span(first: _Dmy, last: _Dmy, raw: str, today: date, prefer: str) -> tuple[date, date]:
    """Explicit span; a missing year/month on one side is taken from the other ("20–26/6/2022")."""
    assert last.month is not None
    m1 = first.month if first.month is not None else last.month
    _make_date(first.day, m1, first.year, first.raw)
    _make_date(last.day, last.month, last.year, last.raw)
    wraps = m1 > last.month  # "30/12–02/01" crosses New Year
    if last.year is not None:
        end = _make_date(last.day, last.month, last.year, last.raw)
        year1 = first.year if first.year is not None else last.year - (1 if wraps else 0)
        start = _make_date(first.day, m1, year1, first.raw)
    elif first.year is not None:
        start = _make_date(first.day, m1, first.year, first.raw)
        end = _make_date(last.day, last.month, first.year + (1 if wraps else 0), last.raw)
    else:
        start = _infer_year(first.day, m1, first.raw, today, prefer)
        end = _make_date(last.day, last.month, start.year + (1 if wraps else 0), last.raw)
    if end < start:
        raise DateParseError(
            f'Khoảng ngày "{raw}" không hợp lệ: ngày kết thúc ({fmt_date(end)}) trước ngày bắt đầu '
            f"({fmt_date(start)}). Viết khoảng ngày dạng 20/06–26/06/2022."
        )
    return start, end


def _resolve(hit: _Hit, ctx: _Ctx, today: date, prefer: str) -> tuple[date, date]:
    """(start, end) of a hit; single days give (d, d)."""
    if hit.dmy is not None and hit.dmy_end is not None:
        return _resolve_span(hit.dmy, hit.dmy_end, ctx.norm[hit.start : hit.end], today, prefer)
    if hit.dmy is not None:
        d = _resolve_dmy(hit.dmy, today, prefer)
    elif hit.weekday >= 0:
        d = _resolve_weekday(hit, today, prefer)
    else:
        d = today + timedelta(days=hit.offset)
    return d, d


def _best(hits: list[_Hit]) -> _Hit | None:
    """Explicit dates beat day words, which beat weekdays; earlier beats later."""
    return min(hits, key=lambda h: (h.rank, h.start)) if hits else None


# ---------------------------------------------------------------------------------------------------------
# public parsers
# ---------------------------------------------------------------------------------------------------------

_TIME_RE = re.compile(
    r"(?<![\w:/.,\-–])(?P<h>\d{1,2})(?:"
    r":(?P<cm>\d{2})(?::(?P<cs>\d{2}))?(?![\w:]|[.,]\d)"
    r"|(?P<u>[hg])(?:(?P<hm>\d{1,2})(?:ph|p|\sphut)?)?(?![\w/])"
    r"|\s?gio(?:\s(?P<gm>\d{1,2})(?![\d/.:\-–])(?:\s?phut)?)?(?![\w/])"
    r")"
)
_DURATION_BEFORE = frozenset({"trong", "vong", "suot", "moi"})  # "trong 24h", "suốt 48 giờ"
_DURATION_AFTER = frozenset({"qua", "toi", "nua", "lien", "truoc"})  # "24h qua", "48 giờ tới"
_NETWORK_BEFORE = frozenset({"mang", "song", "sim", "goi"})  # "mạng 4G"


def parse_time(text: str) -> time | None:
    """First clock time in text ('14h30', '7h', '14 giờ 30 phút', '14g30', '14:30'); None when absent."""
    ctx = _Ctx(text)
    for m in _TIME_RE.finditer(ctx.norm):
        before = ctx.prev(m.start())
        if before in _DURATION_BEFORE or (m["u"] == "g" and before in _NETWORK_BEFORE):
            continue
        hour = int(m["h"])
        minute_text = m["cm"] or m["hm"] or m["gm"]
        minute = int(minute_text) if minute_text else 0
        second = int(m["cs"]) if m["cs"] else 0
        raw = m.group()
        if hour > 23:
            if minute_text is None and ctx.next(m.end()) in _DURATION_AFTER:
                continue
            raise DateParseError(f'Giờ "{raw}" không hợp lệ (giờ chỉ từ 0 đến 23). {_TIME_HINT}')
        if minute > 59 or second > 59:
            raise DateParseError(f'Giờ "{raw}" không hợp lệ (phút chỉ từ 00 đến 59). {_TIME_HINT}')
        return time(hour, minute, second)
    return None


def parse_date(text: str, today: date, *, prefer: str = "nearest") -> date | None:
    """One calendar date found anywhere in text (numeric, in words, relative or a weekday); None when absent.

    A range ("24–25/8") yields its first day. prefer="nearest" picks the year/week closest to today,
    prefer="future" the first occurrence on or after today.
    """
    _check_prefer(prefer)
    ctx = _Ctx(text)
    hit = _best(_find_hits(ctx))
    return None if hit is None else _resolve(hit, ctx, today, prefer)[0]


_SESSION_RE = re.compile(r"(?<!\w)(?P<s>sang|chieu|toi)(?!\w)")
_SESSION_TYPED = {"sang": "sáng", "chieu": "chiều", "toi": "tối"}
_SESSION_NEXT = _wordset("nay mai qua mot kia hom ngay thu chu cn mung mong luc t2 t3 t4 t5 t6 t7")
_SESSION_PREV = frozenset({"buoi", "gio", "phut"})
_CLOCK_TOKEN = re.compile(r"\d{1,2}(?:[hg:]\d{0,2})?")


def _find_session(ctx: _Ctx) -> str | None:
    """'sang' / 'chieu' / 'toi' when the text names a part of the day."""
    for m in _SESSION_RE.finditer(ctx.norm):
        session = m["s"]
        typed = ctx.typed(m.start())
        if ctx.marked and typed == _SESSION_TYPED[session]:
            return session
        if ctx.marked and typed is not None and typed != session:
            continue  # tôi, tới, chiếu, sang …
        nxt, before = ctx.next(m.end()), ctx.prev(m.start())
        if nxt in _SESSION_NEXT or nxt[:1].isdigit():
            return session
        if before in _SESSION_PREV or _CLOCK_TOKEN.fullmatch(before):
            return session
    return None


def parse_datetime(text: str, today: date, *, prefer: str = "future") -> tuple[date, time | None, str | None] | None:
    """(date, time or None, session or None) from one phrase like 'chiều 23/6 lúc 2h'; None without a date.

    With session chiều/tối an hour below 12 is moved to the afternoon/evening (chiều 2h -> 14:00).
    """
    d = parse_date(text, today, prefer=prefer)
    if d is None:
        return None
    t = parse_time(text)
    session = _find_session(_Ctx(text))
    if t is not None and session in ("chieu", "toi") and t.hour < 12:
        t = t.replace(hour=t.hour + 12)
    return d, t, session


_CONNECTOR_RE = re.compile(r"\s*(?:[-–]|den|toi|cho den|cho toi)\s*(?:het\s)?(?:ngay\s)?")
_WEEK_RE = re.compile(r"(?<!\w)(?:tuan\s(?P<rel>nay|sau|toi|truoc)|(?P<sang>sang\stuan))(?!\w)")
_WEEK_LABELS = {"nay": "tuần này", "sau": "tuần sau", "toi": "tuần tới", "truoc": "tuần trước"}
_MONTH_RE = re.compile(
    r"(?<![\w/])thang\s?(?:(?P<m>\d{1,2})(?![\d\w])"
    r"(?:\s?[/\-]\s?(?P<y>\d{4}|\d{2})(?!\d)|\s(?:nam\s)?(?P<y4>\d{4})(?!\d))?"
    r"|\s(?P<rel>nay|sau|toi|truoc)(?!\w))"
)
_MONTH_SHIFT = {"nay": 0, "sau": 1, "toi": 1, "truoc": -1}
_MONTH_LABELS = {"nay": "tháng này", "sau": "tháng sau", "toi": "tháng tới", "truoc": "tháng trước"}


def _month_span(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _nearest_month_year(month: int, today: date) -> int:
    here = today.year * 12 + today.month
    return min(
        (today.year - 1, today.year, today.year + 1),
        key=lambda y: (abs(y * 12 + month - here), -y),
    )


def _span_words(ctx: _Ctx, hits: list[_Hit], today: date) -> tuple[date, date, str] | None:
    """The first week/month phrase not part of a date ('tuần này', 'tháng 7/2022', 'tháng sau')."""
    found: list[tuple[int, date, date, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= h.start or start >= h.end for h in hits)

    # Each pattern needs its word ("tuan", "thang"): most questions have neither.
    for m in _WEEK_RE.finditer(ctx.norm) if "tuan" in ctx.norm else ():
        if not free(m.start(), m.end()):
            continue
        if m["sang"] is not None:
            if not ctx.ok(m.start(), "sang"):
                continue
            rel, label = "sau", "tuần sau"
        else:
            rel = m["rel"]
            if rel == "toi" and ctx.marked and ctx.typed(m.start("rel")) not in (None, "tới"):
                continue
            label = _WEEK_LABELS[rel]
        monday, sunday = week_bounds(today + timedelta(weeks=_WEEK_SHIFT[rel]))
        found.append((m.start(), monday, sunday, label))

    for m in _MONTH_RE.finditer(ctx.norm) if "thang" in ctx.norm else ():
        if not free(m.start(), m.end()) or ctx.prev(m.start())[:1].isdigit():
            continue  # "6 tháng sau" is a duration
        if m["rel"] is not None:
            rel = m["rel"]
            if rel == "toi" and ctx.marked and ctx.typed(m.start("rel")) not in (None, "tới"):
                continue
            y, mo = divmod(today.year * 12 + today.month - 1 + _MONTH_SHIFT[rel], 12)
            start, end = _month_span(y, mo + 1)
            found.append((m.start(), start, end, _MONTH_LABELS[rel]))
            continue
        month = int(m["m"])
        if not 1 <= month <= 12:
            raise DateParseError(
                f'Không có "tháng {month}" (tháng chỉ từ 1 đến 12). Viết tháng dạng "tháng 7" hoặc "tháng 7/2022".'
            )
        year = _year4(m["y"] or m["y4"]) or _nearest_month_year(month, today)
        start, end = _month_span(year, month)
        found.append((m.start(), start, end, f"tháng {month}/{year}"))

    if not found:
        return None
    _, start, end, label = min(found, key=lambda f: f[0])
    return start, end, label


# Something every date, day word, weekday (_find_hits), week or month (_span_words) needs: text with
# none of these names no span.
_SPAN_HINT = re.compile(r"\d|nay|mai|mot|kia|qua|thu|chu\snhat|cn|tuan|thang")


def parse_date_range(text: str, today: date, *, norm: str | None = None) -> tuple[date, date, str] | None:
    """(start, end inclusive, label) of the span a query asks about; None when there is none.

    Order: explicit span ('20–26/6', 'từ 20/6 đến 26/6') > week/month words ('tuần này', 'tháng 7/2022')
    > a single day (hôm nay, mai, 23/6, thứ năm) as (d, d). Labels: the canonical Vietnamese phrase for
    relative weeks/months, 'tháng 7/2022' for a named month, fmt_date_range(...) for dates.
    ``norm``: normalize(text), when the caller has it.
    """
    norm = normalize(text) if norm is None else norm
    if _SPAN_HINT.search(norm) is None:
        return None
    ctx = _Ctx(text, norm)
    hits = sorted(_find_hits(ctx), key=lambda h: h.start)

    for hit in hits:
        if hit.dmy_end is not None:
            start, end = _resolve(hit, ctx, today, "nearest")
            return start, end, fmt_date_range(start, end)

    for first, last in itertools.pairwise(hits):
        gap = _CONNECTOR_RE.fullmatch(ctx.norm, first.end, last.start)
        if gap is None:
            continue
        words = gap.group().split()
        if "toi" in words and ctx.typed(gap.start() + gap.group().find("toi")) not in (None, "toi", "tới"):
            continue  # "tôi", "tối" are not "to"
        raw = ctx.norm[first.start : last.end]
        if first.dmy is not None and last.dmy is not None and first.dmy.month and last.dmy.month:
            start, end = _resolve_span(first.dmy, last.dmy, raw, today, "nearest")
        else:
            if first.weekday >= 0 and first.week_shift is None and last.week_shift is not None:
                first = _Hit(first.start, first.end, 2, weekday=first.weekday, week_shift=last.week_shift)
            start = _resolve(first, ctx, today, "nearest")[0]
            end = _resolve(last, ctx, today, "nearest")[0]
            if end < start:
                raise DateParseError(
                    f'Khoảng ngày "{raw}" không hợp lệ: ngày kết thúc ({fmt_date(end)}) trước ngày bắt đầu '
                    f"({fmt_date(start)}). Viết khoảng ngày dạng 20/06–26/06/2022."
                )
        return start, end, fmt_date_range(start, end)

    span = _span_words(ctx, hits, today)
    if span is not None:
        return span

    hit = _best(hits)
    if hit is None:
        return None
    d = _resolve(hit, ctx, today, "nearest")[0]
    return d, d, fmt_date(d)


# ---------------------------------------------------------------------------------------------------------
# review periods
# ---------------------------------------------------------------------------------------------------------

_PERIOD_KINDS = ("quarter", "half", "year")


@dataclass(frozen=True)
class PeriodSpec:
    """A review period: a quarter (1-4), a half year (1-2) or a whole year (number 0)."""

    year: int
    kind: str
    number: int

    def __post_init__(self) -> None:
        limits = {"quarter": (1, 4), "half": (1, 2), "year": (0, 0)}
        if self.kind not in limits:
            raise ValueError(f"kind must be one of {_PERIOD_KINDS}, not {self.kind!r}")
        low, high = limits[self.kind]
        if not low <= self.number <= high:
            raise ValueError(f"{self.kind} number must be in {low}..{high}, not {self.number}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"bad year {self.year}")

    def label(self) -> str:
        """'quý II/2022', '6 tháng đầu năm 2022', '6 tháng cuối năm 2022', 'năm 2022'."""
        if self.kind == "quarter":
            return f"quý {roman(self.number)}/{self.year}"
        if self.kind == "half":
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        return f"năm {self.year}"

    def bounds(self) -> tuple[date, date]:
        """First and last day (inclusive)."""
        if self.kind == "quarter":
            first = 3 * self.number - 2
            return date(self.year, first, 1), _month_span(self.year, first + 2)[1]
        if self.kind == "half":
            if self.number == 1:
                return date(self.year, 1, 1), date(self.year, 6, 30)
            return date(self.year, 7, 1), date(self.year, 12, 31)
        return date(self.year, 1, 1), date(self.year, 12, 31)


_YEAR_SUFFIX = (
    r"(?:\s?[/\-]\s?(?P<y>\d{4}|\d{2})(?!\d)|\s(?:nam\s?)?(?P<y4>\d{4})(?!\d)"
    r"|\s(?:cua\s)?nam\s(?P<rel>nay|truoc|ngoai|sau|toi)(?!\w))?"
)
_QUARTER_RE = re.compile(
    r"(?<![\w/])(?:quy\s?(?P<n>\d{1,2}|iv|i{1,3}|mot|nhat|hai|ba|bon|tu)|q(?P<qn>[1-4]))(?![\w])" + _YEAR_SUFFIX
)
_QUARTER_REL_RE = re.compile(r"(?<![\w/])quy\s(?P<rel>nay|truoc|sau|toi)(?!\w)")
_QUARTER_WORDS = {
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
    "mot": 1,
    "nhat": 1,
    "hai": 2,
    "ba": 3,
    "bon": 4,
    "tu": 4,
}
_QUARTER_WORD_ACC = {
    "mot": ("một",),
    "nhat": ("nhất",),
    "hai": ("hai",),
    "ba": ("ba",),
    "bon": ("bốn",),
    "tu": ("tư",),
}
_HALF_RE = re.compile(
    r"(?<![\w/])(?:(?P<six>6|sau)\s?thang|nua(?:\snam)?)\s(?P<h>dau|cuoi)(?:\snam)?"
    r"(?:\s(?P<y4>\d{4})(?!\d)|\s?[/\-]\s?(?P<y>\d{4}|\d{2})(?!\d)|\s(?P<rel>nay|truoc|ngoai|sau|toi)(?!\w))?"
)
_YEAR_RE = re.compile(
    r"(?<![\w/])(?P<ca>ca\s)?nam(?:\s?(?P<y>\d{4})(?!\d)|\s(?P<rel>nay|truoc|ngoai|sau|toi)(?!\w))?(?!\w)"
)
_REL_YEAR = {"nay": 0, "truoc": -1, "ngoai": -1, "sau": 1, "toi": 1}
_REL_YEAR_ACC = {
    "nay": ("nay", "này"),
    "truoc": ("trước",),
    "ngoai": ("ngoái",),
    "sau": ("sau",),
    "toi": ("tới",),
}
# "Hà Nam", "Việt Nam", "miền Nam", "thứ năm", "5 năm nay" … are not a year
_NAM_BLOCK = _wordset("thu ha viet mien phia huong dong tay bac trung nam")


def _period_year(ctx: _Ctx, m: re.Match[str], today: date) -> int | None:
    """Year from a period's suffix; None when the relative word turns out not to be one."""
    groups = m.groupdict()
    explicit = _year4(groups.get("y") or groups.get("y4"))
    if explicit is not None:
        return explicit
    rel = groups.get("rel")
    if rel is None:
        return today.year
    if not ctx.ok(m.start("rel"), *_REL_YEAR_ACC[rel]):
        return None
    return today.year + _REL_YEAR[rel]


# What the period patterns below need, without what they look at around it: when this finds nothing
# in the text, they find nothing in it either, once dates are masked ("#" matches none of it).
# Most questions name no period, and masking the dates costs more than this.
_PERIOD_HINT = re.compile(
    r"quy\s?(?:\d|i|mot|nhat|hai|ba|bon|tu)|q[1-4]|quy\s(?:nay|truoc|sau|toi)"  # _QUARTER_RE, _QUARTER_REL_RE
    r"|(?:(?:6|sau)\s?thang|nua(?:\snam)?)\s(?:dau|cuoi)"  # _HALF_RE
    r"|ca\snam|nam\s?\d{4}|nam\s(?:nay|truoc|ngoai|sau|toi)"  # _YEAR_RE with "cả", a year or "nay", "sau"...
)


def _may_name_period(norm: str) -> bool:
    """Whether the period patterns could match at all (see ``_PERIOD_HINT``)."""
    return ("q" in norm or "nam" in norm or "nua" in norm or "thang" in norm) and _PERIOD_HINT.search(norm) is not None


def parse_period(text: str, today: date, *, norm: str | None = None) -> PeriodSpec | None:
    """Quarter, half year or year named in text ('quý II/2022', '6 tháng đầu năm', 'năm nay'); None if absent.

    A missing year means today's year. Dates in the text ('ngày 23 tháng 6 năm 2022') are not periods.
    ``norm``: normalize(text), when the caller has it.
    """
    norm = normalize(text) if norm is None else norm
    if not _may_name_period(norm):
        return None
    ctx = _Ctx(text, norm)
    masked = list(ctx.norm)
    for hit in _find_hits(ctx):
        masked[hit.start : hit.end] = "#" * (hit.end - hit.start)
    norm = "".join(masked)

    for m in _QUARTER_RE.finditer(norm):
        if m["qn"] is not None:
            number = int(m["qn"])
        else:
            if not ctx.ok(m.start(), "quý", "quy"):
                continue
            token = m["n"]
            if token.isdigit():
                number = int(token)
                if not 1 <= number <= 4:
                    raise DateParseError(
                        f'Không có "quý {number}": một năm chỉ có 4 quý, từ quý I đến quý IV. '
                        'Viết quý dạng "quý II/2022" hoặc "quý 2".'
                    )
            else:
                if token in _QUARTER_WORD_ACC and not ctx.ok(m.start("n"), *_QUARTER_WORD_ACC[token]):
                    continue
                number = _QUARTER_WORDS[token]
        year = _period_year(ctx, m, today)
        if year is not None:
            return PeriodSpec(year, "quarter", number)

    for m in _QUARTER_REL_RE.finditer(norm):
        rel = m["rel"]
        if not ctx.ok(m.start(), "quý", "quy") or not ctx.ok(m.start("rel"), *_REL_YEAR_ACC[rel]):
            continue
        index = today.year * 4 + (today.month - 1) // 3 + {"nay": 0, "truoc": -1, "sau": 1, "toi": 1}[rel]
        year, quarter = divmod(index, 4)
        return PeriodSpec(year, "quarter", quarter + 1)

    for m in _HALF_RE.finditer(norm):
        if m["six"] == "sau" and not ctx.ok(m.start(), "sáu"):
            continue
        if not ctx.ok(m.start("h"), "đầu", "cuối"):
            continue
        year = _period_year(ctx, m, today)
        if year is not None:
            return PeriodSpec(year, "half", 1 if m["h"] == "dau" else 2)

    for m in _YEAR_RE.finditer(norm):
        nam = m.start("ca") + 3 if m["ca"] else m.start()
        if m["ca"] is None and m["y"] is None and m["rel"] is None:
            continue
        if m["ca"] is not None and not ctx.ok(m.start(), "cả"):
            continue
        if not ctx.ok(nam, "năm"):
            continue
        if m["ca"] is None and (ctx.prev(m.start()) in _NAM_BLOCK or ctx.prev(m.start())[:1].isdigit()):
            continue
        year = _period_year(ctx, m, today)
        if year is not None:
            return PeriodSpec(year, "year", 0)
    return None


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def when(event: Any, tz: tzinfo) -> str:
    """When an event happens, the Vietnamese way:
    '14h00 Thứ Năm 23/06/2022', 'chiều Thứ Năm 23/06/2022 (14h00)', 'Thứ Tư–Thứ Năm 24–25/08/2022'."""
    start = event.starts_at.astimezone(tz)
    end = event.ends_at.astimezone(tz) if event.ends_at else None
    session = session_name(event.session)
    if event.all_day:
        last = end.date() if end else start.date()
        if last <= start.date():
            text = fmt_weekday_date(start.date())
        elif (last - start.date()).days < 7:
            text = f"{weekday_name(start.date())}–{weekday_name(last)} {fmt_date_range(start.date(), last)}"
        else:
            text = fmt_date_range(start.date(), last)
        return f"{session} {text}" if session else text
    clock = fmt_time(start.time())
    if end and end.date() > start.date():
        return f"{clock} {fmt_weekday_date(start.date())} → {fmt_time(end.time())} {fmt_weekday_date(end.date())}"
    if session:
        return f"{session} {fmt_weekday_date(start.date())} ({clock})"
    return f"{clock} {fmt_weekday_date(start.date())}"
