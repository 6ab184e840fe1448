"""Uploaded Excel (.xlsx) / CSV tables turned into validated duty-roster and score rows.

Pure functions: no database and no I/O besides reading the bytes they are given. Admins keep duty
rosters and score tables in Excel; these functions accept what they upload and explain in Vietnamese
what is wrong with it:

* :class:`ImportProblem` (a :class:`~bot.errors.UserError`) when the file cannot be used at all;
* a list of :class:`RowError` (every bad row, not just the first) next to the rows that are fine.
"""

from __future__ import annotations

import csv
import io
import math
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import PurePath

from bot.errors import UserError
from bot.services.duty import DUTY_ROLES, ROLE_WORDS
from bot.textnorm import contains_phrase, normalize
from bot.vntime import DateParseError, fmt_date, parse_date, parse_date_range

__all__ = [
    "MAX_BYTES",
    "MAX_ROWS",
    "ImportProblem",
    "RosterRow",
    "RowError",
    "ScoreRow",
    "parse_points",
    "parse_roster",
    "parse_scores",
    "read_table",
]

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10000
MAX_PERSON = 120
# An .xlsx is a zip: 2 MB compressed can hide gigabytes of XML. Refuse before openpyxl parses it.
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024
HEADER_SEARCH_ROWS = 10

_EXCEL_HINT = "Hãy lưu lại dạng .xlsx rồi gửi lại."
_DATE_HINT = "Viết ngày dạng dd/mm/yyyy, ví dụ 20/06/2022."


class ImportProblem(UserError):
    """The file cannot be used at all (not xlsx/csv, broken, empty, no recognisable header). str() is Vietnamese."""


# ---------------------------------------------------------------------------------------------------------
# reading the file
# ---------------------------------------------------------------------------------------------------------


def _size_text(n: int) -> str:
    """1.5 MB as '1,5 MB', rounded up so that a file just over the limit never reads '2,0 MB'."""
    tenths = math.ceil(n * 10 / (1024 * 1024))
    return f"{tenths // 10},{tenths % 10} MB"


def read_table(filename: str, content: bytes) -> list[list[str]]:
    """Rows of cell texts (strings, stripped; empty cells ""), trailing empty rows/columns removed.

    All rows have the same length (the last column that holds anything), so ``row[i]`` is safe for every
    column index of the header. Empty rows in the middle and at the top are kept, so ``table[i]`` is
    Excel row ``i + 1``. Text is Unicode NFC (cp1258 files spell tones as combining marks).

    .xlsx: first worksheet; dates "dd/mm/yyyy", numbers "18.5" / "27" / "-0.5", times "14:00".
    .csv: utf-8 (with or without BOM), utf-16 with BOM, else cp1258, else latin-1; delimiter , ; or tab.
    Raises ImportProblem for anything unusable; openpyxl/zipfile/csv exceptions never escape.
    """
    name = PurePath(filename or "").name
    suffix = PurePath(name).suffix.lower()
    if len(content) > MAX_BYTES:
        raise ImportProblem(f"Tệp quá lớn ({_size_text(len(content))}); tối đa 2 MB.")
    if suffix == ".xls":
        raise ImportProblem(
            f"Tệp {name} là dạng Excel 97–2003 (.xls), chưa đọc được. Chỉ nhận tệp .xlsx hoặc .csv: {_EXCEL_HINT}"
        )
    if suffix not in (".xlsx", ".csv"):
        shown = f"Tệp {name}" if name else "Tệp không tên"
        raise ImportProblem(f"{shown} không dùng được. Chỉ nhận tệp .xlsx hoặc .csv (bảng Excel).")
    if not content.strip():
        raise ImportProblem(f"Tệp {name} trống, không có dữ liệu.")
    table = _xlsx_table(name, content) if suffix == ".xlsx" else _tidy(_csv_rows(name, content))
    if not table:
        where = "Trang tính đầu tiên của tệp" if suffix == ".xlsx" else "Tệp"
        raise ImportProblem(f"{where} {name} không có dữ liệu.")
    return table


def _tidy(raw_rows: Iterable[Sequence[str]]) -> list[list[str]]:
    """Drop trailing empty cells/rows, pad to a rectangle; raise when more than MAX_ROWS rows remain."""
    rows: list[list[str]] = []
    pending_empty = 0  # empty rows seen since the last non-empty one (kept only if data follows)
    for raw in raw_rows:
        cells = list(raw)
        while cells and not cells[-1]:
            cells.pop()
        if not cells:
            pending_empty += 1
            continue
        if len(rows) + pending_empty + 1 > MAX_ROWS:
            raise ImportProblem(
                f"Tệp có quá nhiều dòng (hơn {MAX_ROWS}); tối đa {MAX_ROWS} dòng. Hãy chia thành nhiều tệp."
            )
        rows.extend([] for _ in range(pending_empty))
        pending_empty = 0
        rows.append(cells)
    width = max((len(r) for r in rows), default=0)
    for r in rows:
        r.extend([""] * (width - len(r)))
    return rows


def _clean(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip()


def _number_text(value: float | int | Decimal) -> str:
    """27 -> '27', 18.5 -> '18.5', 0.30000000000000004 -> '0.3' (Excel shows 15 significant digits)."""
    if isinstance(value, int):
        return str(value)
    dec = Decimal(value) if isinstance(value, Decimal) else Decimal(format(value, ".15g"))
    if not dec.is_finite():
        return str(value)
    if dec == 0:
        return "0"
    text = format(dec, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return _number_text(value)
    if isinstance(value, datetime):
        return fmt_date(value.date())
    if isinstance(value, date):
        return fmt_date(value)
    if isinstance(value, time):
        return f"{value.hour:02d}:{value.minute:02d}" + (f":{value.second:02d}" if value.second else "")
    if isinstance(value, timedelta):
        minutes = int(value.total_seconds()) // 60
        return f"{minutes // 60}:{minutes % 60:02d}"
    return _clean(str(value))


def _broken_excel(name: str) -> ImportProblem:
    return ImportProblem(f"Không đọc được tệp Excel {name}: tệp hỏng hoặc không phải dạng .xlsx. {_EXCEL_HINT}")


def _xlsx_table(name: str, content: bytes) -> list[list[str]]:
    import openpyxl  # slow import, only needed for uploads

    if content[:4] == b"\xd0\xcf\x11\xe0":  # OLE2: .xls renamed, or a password-protected workbook
        raise ImportProblem(
            f"Không đọc được tệp Excel {name}: đây là dạng Excel cũ (.xls) hoặc tệp có đặt mật khẩu. {_EXCEL_HINT}"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unzipped = sum(info.file_size for info in archive.infolist())
    except Exception as exc:
        raise _broken_excel(name) from exc
    if unzipped > MAX_UNZIPPED_BYTES:
        raise ImportProblem(f"Tệp Excel {name} quá lớn khi giải nén; tối đa 2 MB dữ liệu bảng.")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no default style", unsupported extensions …
            workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
            try:
                sheet = next((ws for ws in workbook.worksheets if hasattr(ws, "iter_rows")), None)
                if sheet is None:
                    raise ImportProblem(f"Tệp Excel {name} không có trang tính nào chứa bảng.")
                if hasattr(sheet, "reset_dimensions"):
                    sheet.reset_dimensions()  # some programs write a wrong <dimension>; read every row
                return _tidy([_cell_text(v) for v in values] for values in sheet.iter_rows(values_only=True))
            finally:
                workbook.close()
    except ImportProblem:
        raise
    except Exception as exc:
        raise _broken_excel(name) from exc


def _decode(content: bytes) -> str:
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel "Unicode text" is UTF-16 with a BOM
        try:
            return content.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1258"):
        try:
            return content.decode(encoding)
        except UnicodeDecodeError:
            continue
    return content.decode("latin-1")


def _sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab that splits the first lines into the most equally wide rows."""
    sample = "\n".join(text.splitlines()[:50])
    best, best_score = ",", (0, 0)
    for delimiter in (",", ";", "\t"):
        try:
            widths = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        wide = [w for w in widths if w > 1]
        if not wide:
            continue
        mode = max(set(wide), key=lambda w: (wide.count(w), w))
        score = (wide.count(mode), mode)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_rows(name: str, content: bytes) -> list[list[str]]:
    if content.startswith(b"PK\x03\x04"):
        raise ImportProblem(f"Tệp {name} là tệp Excel chứ không phải CSV. Hãy đổi đuôi tệp thành .xlsx rồi gửi lại.")
    text = _decode(content)
    if "\x00" in text:
        raise ImportProblem(f"Tệp {name} không phải tệp CSV (văn bản). Chỉ nhận tệp .xlsx hoặc .csv.")
    text = unicodedata.normalize("NFC", text)
    try:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
        return [[_clean(cell) for cell in row] for row in reader]
    except csv.Error as exc:
        raise ImportProblem(f"Không đọc được tệp CSV {name}: {exc}. Hãy mở bằng Excel và lưu lại dạng .xlsx.") from exc


# ---------------------------------------------------------------------------------------------------------
# shared parsing helpers
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based row number as the user sees it in Excel (header is row 1 usually)
    message: str  # Vietnamese, starts with "Dòng N: "
    column: str = ""  # the heading of the column at fault, as the file writes it
    value: str = ""  # the cell as written


_SEP = re.compile(r"[/:.,+\-–]")


def _key(header: str) -> str:
    """Header text to match on: normalised, separators turned into spaces ('Ngày/tháng' -> 'ngay thang')."""
    return " ".join(_SEP.sub(" ", normalize(header)).split())


def _one_line(text: str) -> str:
    """Cell text with line breaks and repeated spaces collapsed ('Thượng tá\\nNguyễn Văn An')."""
    return " ".join(text.split())


_DASHES = frozenset({"-", "–", "—", "−"})
_UNIT_HEADERS = frozenset({"don vi", "ten don vi", "co quan don vi", "don vi truc"})


def _rectangle(table: list[list[str]]) -> list[list[str]]:
    """Copy of a hand-built table padded to equal row lengths (read_table output already is)."""
    width = max((len(row) for row in table), default=0)
    return [[*row, *([""] * (width - len(row)))] for row in table]


def _is_unit_header(key: str) -> bool:
    return key in _UNIT_HEADERS


@dataclass
class _Header:
    """Column roles found in one candidate header row."""

    ok: bool = False
    columns: dict[str, int] = field(default_factory=dict)  # field/role/code -> column index
    clashes: list[tuple[str, int, int]] = field(default_factory=list)  # (field, first col, second col)
    partial: str = ""  # why an almost-header was not enough


def _find_header(table: list[list[str]], match: Callable[[list[str]], _Header]) -> tuple[int, list[str], _Header]:
    """(index of the header row, header texts, columns) within the first rows, or (-1, [], best partial).

    A two-row header (a group title merged over the role/criterion columns, "Ngày"/"Đơn vị" merged
    down over both rows) is read as the lower row with its empty cells taken from the row above.
    """
    partial = _Header()
    for i, row in enumerate(table[:HEADER_SEARCH_ROWS]):
        candidates = [row]
        if i > 0:
            above = table[i - 1]
            candidates.append([cell or up for cell, up in zip(row, above, strict=True)])
        for cells in candidates:
            found = match(cells)
            if found.ok:
                return i, cells, found
            if found.partial and not partial.partial:
                partial = found
                partial.partial = f"{found.partial} (dòng {i + 1})"
    return -1, [], partial


def _raise_clashes(found: _Header, header: list[str], names: Callable[[str], str]) -> None:
    if found.clashes:
        what, first, second = found.clashes[0]
        raise ImportProblem(
            f'Cột "{_one_line(header[first])}" và cột "{_one_line(header[second])}" đều là {names(what)}; '
            "hãy chỉ để một cột."
        )


def _add(found: _Header, name: str, col: int) -> None:
    if name in found.columns:
        found.clashes.append((name, found.columns[name], col))
    else:
        found.columns[name] = col


def _sorted_errors(errors: list[RowError]) -> list[RowError]:
    return sorted(errors, key=lambda e: e.row)


# ---------------------------------------------------------------------------------------------------------
# duty roster
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RosterRow:
    row: int
    day: date
    unit: str | None  # text of a "Đơn vị" column if present (resolved later by the caller), else None
    people: dict[str, str]  # role key -> person text as written; only non-empty cells


_ROLE_PHRASES = sorted(ROLE_WORDS.items(), key=lambda item: -len(item[0]))  # "truc ban noi vu" before "truc ban"
_DATE_EXTRA_WORDS = frozenset({"thu", "truc", "thang", "nam"})  # "Ngày trực", "Ngày/tháng", "Thứ, ngày"
_ROSTER_COLUMNS = "Ngày, Trực chỉ huy, Trực ban, Trực chiến (và Đơn vị nếu tệp có nhiều đơn vị)"
_EXCEL_EPOCH = date(1899, 12, 30)
_PLAIN_DATE = re.compile(r"(\d{2})/(\d{2})/(\d{4})")


def _is_date_header(key: str) -> bool:
    words = key.split()
    return key == "date" or ("ngay" in words and set(words) - {"ngay"} <= _DATE_EXTRA_WORDS)


def _role_of(key: str) -> str | None:
    return next((role for phrase, role in _ROLE_PHRASES if contains_phrase(key, phrase)), None)


def _match_roster_header(cells: list[str]) -> _Header:
    found = _Header()
    for col, text in enumerate(cells):
        key = _key(text)
        if not key:
            continue
        if _is_date_header(key):
            _add(found, "date", col)
        elif _is_unit_header(key):
            _add(found, "unit", col)
        elif (role := _role_of(key)) is not None:
            _add(found, role, col)
    roles = [name for name in found.columns if name in DUTY_ROLES]
    found.ok = "date" in found.columns and bool(roles)
    if not found.ok and roles:
        found.partial = "Có cột trực nhưng không thấy cột Ngày ở dòng tiêu đề"
    elif not found.ok and "date" in found.columns:
        found.partial = "Có cột Ngày nhưng không thấy cột trực nào (Trực chỉ huy, Trực ban, Trực chiến …)"
    return found


def _roster_column_name(name: str) -> str:
    return {"date": "cột Ngày", "unit": "cột Đơn vị"}.get(name) or f"cột {DUTY_ROLES[name]}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _roster_date(cell: str, row: int, today: date) -> tuple[date | None, str | None]:
    """(date, None) or (None, error message) for a roster date cell."""
    text = _one_line(cell)
    plain = _PLAIN_DATE.fullmatch(text)
    if plain:  # what read_table makes of an Excel date: no need for the date-phrase parser
        try:
            return date(int(plain[3]), int(plain[2]), int(plain[1])), None
        except ValueError:
            pass  # 31/02/2022: the parser below says what is wrong with it
    if re.fullmatch(r"\d{5}", text) and 20000 <= int(text) <= 80000:  # a date cell left as an Excel serial
        return _EXCEL_EPOCH + timedelta(days=int(text)), None
    if not any(ch.isdigit() for ch in text):  # "Thứ Hai", "hôm nay": relative to the upload day, not a roster date
        return None, f"Dòng {row}: không đọc được ngày '{text}'. {_DATE_HINT}"
    try:
        day = parse_date(text, today)
        span = parse_date_range(text, today)
    except DateParseError as exc:
        return None, f"Dòng {row}: {_lower_first(str(exc))}"
    if day is None:
        return None, f"Dòng {row}: không đọc được ngày '{text}'. {_DATE_HINT}"
    if span is not None and span[0] != span[1]:
        return None, f"Dòng {row}: ô ngày '{text}' ghi cả một khoảng ngày; mỗi dòng chỉ ghi một ngày. {_DATE_HINT}"
    return day, None


def parse_roster(table: list[list[str]], today: date) -> tuple[list[RosterRow], list[RowError]]:
    """Duty roster rows and every row error, in file order.

    Header = the first of the first 10 rows with a date column ("Ngày", "Ngày trực", "Date") and at least one
    role column recognised through ROLE_WORDS; optional "Đơn vị"; any other column ("Thứ", "STT", "Ghi chú")
    is ignored. Below it: rows with an empty date and no person are skipped (spacers, signatures); an
    empty unit cell takes the unit above it (merged cells). Row errors: missing/unreadable/impossible date,
    a date range in one cell, duplicate date (+ unit), no person in any role cell, no unit at all.
    """
    table = _rectangle(table)
    row_index, header, found = _find_header(table, _match_roster_header)
    if row_index < 0:
        hint = f" {found.partial}." if found.partial else ""
        raise ImportProblem(
            f"Không thấy dòng tiêu đề. Cần các cột: {_ROSTER_COLUMNS}.{hint} "
            f"Dòng tiêu đề phải nằm trong {HEADER_SEARCH_ROWS} dòng đầu của bảng."
        )
    _raise_clashes(found, header, _roster_column_name)
    date_col = found.columns["date"]
    unit_col = found.columns.get("unit")
    role_cols = {name: col for name, col in found.columns.items() if name in DUTY_ROLES}
    header_date_key = _key(header[date_col])

    rows: list[RosterRow] = []
    errors: list[RowError] = []
    seen: dict[tuple[date, str | None], int] = {}
    last_unit: str | None = None
    for index in range(row_index + 1, len(table)):
        cells = table[index]
        number = index + 1
        date_text = cells[date_col]
        people = {role: _one_line(cells[col]) for role, col in role_cols.items()}
        people = {role: text for role, text in people.items() if text and text not in _DASHES}
        if not date_text and not people:
            continue
        if _key(date_text) == header_date_key:
            continue  # header repeated (printed pages)

        unit: str | None = None
        row_errors: list[tuple[str, str, str]] = []  # (column heading, cell, message)
        date_head = _one_line(header[date_col])
        if unit_col is not None:
            unit = _one_line(cells[unit_col]) or last_unit
            last_unit = unit
            if unit is None:
                row_errors.append((_one_line(header[unit_col]), "", f"Dòng {number}: thiếu đơn vị (cột Đơn vị trống)."))

        day: date | None = None
        if not date_text:
            row_errors.append((date_head, "", f"Dòng {number}: thiếu ngày. {_DATE_HINT}"))
        else:
            day, problem = _roster_date(date_text, number, today)
            if problem:
                row_errors.append((date_head, date_text, problem))

        if not people:
            names = ", ".join(DUTY_ROLES[role] for role in role_cols)
            row_errors.append((names, "", f"Dòng {number}: chưa có người trực nào (các cột {names} đều trống)."))
        for role, text in people.items():
            if len(text) > MAX_PERSON:
                row_errors.append(
                    (
                        _one_line(header[role_cols[role]]),
                        text[:40] + "…",
                        f"Dòng {number}: tên người trực dài quá {MAX_PERSON} ký tự; chỉ ghi cấp bậc và họ tên.",
                    )
                )

        if day is not None:
            dup_key = (day, normalize(unit) if unit is not None else None)
            if dup_key in seen:
                whose = f" của đơn vị {unit}" if unit is not None else ""
                row_errors.append(
                    (date_head, date_text, f"Dòng {number}: ngày {fmt_date(day)}{whose} đã có ở dòng {seen[dup_key]}.")
                )
            else:
                seen[dup_key] = number

        if row_errors:
            errors.extend(RowError(number, message, column, value) for column, value, message in row_errors)
        elif day is not None:
            rows.append(RosterRow(number, day, unit, people))

    if not rows and not errors:
        raise ImportProblem(f"Bảng chỉ có dòng tiêu đề (dòng {row_index + 1}), không có dòng lịch trực nào bên dưới.")
    return rows, _sorted_errors(errors)


# ---------------------------------------------------------------------------------------------------------
# score sheet
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreRow:
    row: int
    unit: str  # unit text as written ("Kim Bảng", "Ban CHQS huyện Bình Lục", "TĐ 151")
    points: dict[str, Decimal]  # criterion code (as given in the header, upper-cased) -> points


ADJUSTMENT_CODE = "TT"
_IGNORED_SCORE_HEADERS = frozenset(
    {"hang", "xep hang", "tong", "tong diem", "tong cong", "cong", "loai", "xep loai", "stt", "thu tu", "ghi chu"}
)
_ADJUSTMENT_KEYS = frozenset(
    {"tt", "thuong tru", "diem thuong tru", "cong tru", "diem cong tru", "diem thuong", "thuong"}
)
_SUMMARY_UNITS = frozenset({"tong", "tong cong", "cong", "trung binh", "binh quan", "diem trung binh"})
_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d+)?|[.,]\d+)")


def _is_adjustment_header(text: str, key: str) -> bool:
    compact = "".join(text.split())
    return "±" in compact or "+/-" in compact or "+-" in compact or key in _ADJUSTMENT_KEYS


def _code_of(key_upper: str, codes: list[str]) -> str | None:
    """The criterion code a header starts with ('G1 LANH DAO' -> 'G1'; 'G10' is not 'G1')."""
    for code in codes:
        if key_upper.startswith(code) and not key_upper[len(code) : len(code) + 1].isalnum():
            return code
    return None


def parse_points(text: str) -> Decimal | None:
    """'18,5' / '18.5' / '+1,0' / '−0,5' (unicode minus) / '27' -> Decimal; anything else -> None."""
    compact = "".join(text.split()).replace("−", "-").replace("–", "-")
    if not _NUMBER.fullmatch(compact):
        return None
    try:
        return Decimal(compact.replace(",", "."))
    except InvalidOperation:
        return None


def parse_scores(table: list[list[str]], criteria: list[str]) -> tuple[list[ScoreRow], list[RowError]]:
    """Score rows and every row error, in file order.

    Header = the first of the first 10 rows with an "Đơn vị" column and a column for every criterion code
    except "TT" ("G1", "G1 Lãnh đạo", "g2"; case-insensitive, 'G10' is not 'G1'). "TT" (when in ``criteria``)
    is the optional bonus/penalty column ("TT", "±", "+/-", "Điểm thưởng/trừ") right of the unit column; a
    "TT" left of it is the row number (thứ tự). "Hạng", "Tổng", "Loại", "STT" and unknown columns are
    ignored. An empty bonus/penalty cell (or "-") is 0; every other criterion cell must hold a number.
    Rows with no unit and no points are skipped, so are total/average rows ("Tổng cộng", "Trung bình").
    Maximum points are not checked here.
    """
    codes = list(dict.fromkeys(normalize(code).upper() for code in criteria if normalize(code)))
    if not codes:
        raise ValueError("criteria must name at least one criterion code")
    by_length = sorted(codes, key=len, reverse=True)
    required = [code for code in codes if code != ADJUSTMENT_CODE]
    has_adjustment = ADJUSTMENT_CODE in codes
    expected = ", ".join(["Đơn vị", *required])
    if has_adjustment:
        expected += " (và cột ± hoặc TT nếu có điểm thưởng/trừ)"

    def match(cells: list[str]) -> _Header:
        found = _Header()
        keys = [_key(text) for text in cells]
        unit_col = next((col for col, key in enumerate(keys) if _is_unit_header(key)), None)
        for col, (text, key) in enumerate(zip(cells, keys, strict=True)):
            if col == unit_col:
                found.columns["unit"] = col
                continue
            if key in _IGNORED_SCORE_HEADERS or (not key and not text):
                continue
            if key == "tt" and (unit_col is None or col < unit_col):
                continue  # "TT" = thứ tự, the row number
            if _is_adjustment_header(text, key):
                if has_adjustment:
                    _add(found, ADJUSTMENT_CODE, col)
                continue
            code = _code_of(key.upper(), by_length)
            if code is not None:
                _add(found, code, col)
        present = [code for code in required if code in found.columns]
        found.ok = unit_col is not None and len(present) == len(required)
        if not found.ok and unit_col is not None and present:
            missing = ", ".join(code for code in required if code not in found.columns)
            found.partial = f"Thiếu cột {missing}"
        elif not found.ok and unit_col is None and present:
            found.partial = "Không thấy cột Đơn vị"
        return found

    table = _rectangle(table)
    row_index, header, found = _find_header(table, match)
    if row_index < 0:
        hint = f" {found.partial}." if found.partial else ""
        raise ImportProblem(
            f"Không thấy dòng tiêu đề. Cần các cột: {expected}.{hint} "
            f"Dòng tiêu đề phải nằm trong {HEADER_SEARCH_ROWS} dòng đầu của bảng."
        )
    _raise_clashes(found, header, lambda name: "cột Đơn vị" if name == "unit" else f"điểm {name}")
    unit_col = found.columns["unit"]
    point_cols = {code: found.columns[code] for code in codes if code in found.columns}
    header_unit_key = _key(header[unit_col])

    rows: list[ScoreRow] = []
    errors: list[RowError] = []
    seen: dict[str, int] = {}
    for index in range(row_index + 1, len(table)):
        cells = table[index]
        number = index + 1
        unit = _one_line(cells[unit_col])
        unit_key = normalize(unit)
        texts = {code: _one_line(cells[col]) for code, col in point_cols.items()}
        if not unit and not any(texts.values()):
            continue
        if _key(unit) == header_unit_key or _key(unit) in _SUMMARY_UNITS:
            continue  # header repeated, or a total/average row

        row_errors: list[tuple[str, str, str]] = []  # (column heading, cell, message)
        unit_head = _one_line(header[unit_col])
        if not unit:
            row_errors.append((unit_head, "", f"Dòng {number}: thiếu tên đơn vị (cột Đơn vị trống)."))
        elif unit_key in seen:
            row_errors.append((unit_head, unit, f"Dòng {number}: đơn vị '{unit}' trùng với dòng {seen[unit_key]}."))
        else:
            seen[unit_key] = number

        points: dict[str, Decimal] = {}
        for code, text in texts.items():
            head = _one_line(header[point_cols[code]])
            if code == ADJUSTMENT_CODE and (not text or text in _DASHES):
                points[code] = Decimal(0)
                continue
            if not text:
                row_errors.append((head, "", f"Dòng {number}: thiếu điểm {code}."))
                continue
            value = parse_points(text)
            if value is None:
                message = f"Dòng {number}: điểm {code} '{text}' không phải là số (viết dạng 18,5 hoặc 18.5)."
                row_errors.append((head, text, message))
            else:
                points[code] = value

        if row_errors:
            errors.extend(RowError(number, message, column, value) for column, value, message in row_errors)
        else:
            rows.append(ScoreRow(number, unit, points))

    if not rows and not errors:
        raise ImportProblem(f"Bảng chỉ có dòng tiêu đề (dòng {row_index + 1}), không có dòng điểm nào bên dưới.")
    return rows, _sorted_errors(errors)


# ---------------------------------------------------------------------------------------------------------
# focus tasks and commune drills: one row per item, columns found by their headings
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemRow:
    """A row of a task list or a drill plan: the cells of the columns found, by field, as written
    (dates already read), and the heading of each field's column (for error reports)."""

    row: int
    texts: dict[str, str]
    dates: dict[str, tuple[date, date]]  # date fields -> (first, last) day; one day is (d, d)


@dataclass(frozen=True)
class ItemSheet:
    fields: dict[str, frozenset[str]]  # field -> header keys that name it
    required: tuple[str, ...]
    date_fields: frozenset[str]
    spans: frozenset[str]  # date fields that may hold a span ("05/10/2022-06/10/2022")
    names: dict[str, str]  # field -> how a heading should read, for messages


TASK_SHEET = ItemSheet(
    fields={
        "title": frozenset({"nhiem vu", "ten nhiem vu", "noi dung", "noi dung nhiem vu", "task"}),
        "due": frozenset({"han", "han hoan thanh", "thoi han", "han chot", "ngay het han", "due"}),
        "units": frozenset({"don vi", "don vi thuc hien", "giao cho", "don vi duoc giao", "units"}),
    },
    required=("title", "due", "units"),
    date_fields=frozenset({"due"}),
    spans=frozenset(),
    names={"title": "Nhiệm vụ", "due": "Hạn hoàn thành", "units": "Đơn vị thực hiện"},
)
DRILL_SHEET = ItemSheet(
    fields={
        "area": frozenset({"xa", "xa phuong thi tran", "don vi", "dia ban", "xa phuong", "commune"}),
        "review": frozenset({"kiem tra duyet", "ngay kiem tra duyet", "kiem tra", "duyet", "review"}),
        "exercise": frozenset({"thuc hanh", "ngay thuc hanh", "exercise"}),
    },
    required=("area", "review"),
    date_fields=frozenset({"review", "exercise"}),
    spans=frozenset({"exercise"}),
    names={"area": "Xã, phường, thị trấn", "review": "Kiểm tra, duyệt", "exercise": "Thực hành"},
)


def _item_date(text: str, number: int, today: date, span: bool) -> tuple[tuple[date, date] | None, str | None]:
    if span and any(sep in text for sep in ("-", "–", "đến")) and text.count("/") >= 2:
        try:
            found = parse_date_range(text, today)
        except DateParseError as exc:
            return None, f"Dòng {number}: {_lower_first(str(exc))}"
        if found is None or found[0] == found[1]:
            return None, f"Dòng {number}: không đọc được khoảng ngày '{text}'. Viết dạng 05/10/2022-06/10/2022."
        return (found[0], found[1]), None
    day, problem = _roster_date(text, number, today)
    return ((day, day) if day else None), problem


def parse_items(table: list[list[str]], sheet: ItemSheet, today: date) -> tuple[list[ItemRow], list[RowError]]:
    """Rows of a task list or drill plan and every row error, in file order: a missing cell of a
    required column, an unreadable date or span."""

    def match(cells: list[str]) -> _Header:
        found = _Header()
        for col, text in enumerate(cells):
            key = _key(text)
            name = next((f for f, keys in sheet.fields.items() if key in keys), None)
            if name is not None:
                _add(found, name, col)
        present = [f for f in sheet.required if f in found.columns]
        found.ok = len(present) == len(sheet.required)
        if not found.ok and present:
            missing = ", ".join(sheet.names[f] for f in sheet.required if f not in found.columns)
            found.partial = f"Thiếu cột {missing}"
        return found

    table = _rectangle(table)
    row_index, header, found = _find_header(table, match)
    if row_index < 0:
        hint = f" {found.partial}." if found.partial else ""
        wanted = ", ".join(sheet.names[f] for f in sheet.required)
        raise ImportProblem(
            f"Không thấy dòng tiêu đề. Cần các cột: {wanted}.{hint} "
            f"Dòng tiêu đề phải nằm trong {HEADER_SEARCH_ROWS} dòng đầu của bảng."
        )
    _raise_clashes(found, header, lambda name: f"cột {sheet.names[name]}")
    rows: list[ItemRow] = []
    errors: list[RowError] = []
    for index in range(row_index + 1, len(table)):
        number = index + 1
        texts = {f: _one_line(table[index][col]) for f, col in found.columns.items()}
        if not any(texts.values()):
            continue
        row_errors: list[RowError] = []
        dates: dict[str, tuple[date, date]] = {}
        for name, col in found.columns.items():
            head, text = _one_line(header[col]), texts[name]
            if not text:
                if name in sheet.required:
                    message = f"Dòng {number}: thiếu {sheet.names[name].lower()}."
                    if name in sheet.date_fields:
                        message += f" {_DATE_HINT}"
                    row_errors.append(RowError(number, message, head, ""))
                continue
            if name in sheet.date_fields:
                when, problem = _item_date(text, number, today, name in sheet.spans)
                if problem:
                    row_errors.append(RowError(number, problem, head, text))
                elif when is not None:
                    dates[name] = when
        if row_errors:
            errors.extend(row_errors)
        else:
            rows.append(ItemRow(number, texts, dates))
    if not rows and not errors:
        raise ImportProblem(f"Bảng chỉ có dòng tiêu đề (dòng {row_index + 1}), không có dòng nào bên dưới.")
    return rows, _sorted_errors(errors)


def column_of(sheet: ItemSheet, name: str) -> str:
    return sheet.names[name]
