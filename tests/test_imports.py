"""bot.imports: uploaded .xlsx / .csv rosters and score sheets, built in memory."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date, datetime, time
from decimal import Decimal

import openpyxl
import pytest

from bot.errors import UserError
from bot.imports import (
    MAX_BYTES,
    MAX_ROWS,
    ImportProblem,
    RosterRow,
    RowError,
    ScoreRow,
    parse_points,
    parse_roster,
    parse_scores,
    read_table,
)

TODAY = date(2022, 6, 22)
CRITERIA = ["G1", "G2", "G3", "G4", "G5", "G6", "TT"]

# day of June 2022, trực chỉ huy, trực ban, trực chiến (the demo Kim Bảng week)
KB_WEEK = [
    (20, "Thượng tá Nguyễn Văn An", "Thiếu tá Vũ Thành Long", "Tổ 1"),
    (21, "Thượng tá Trần Đức Bình", "Đại úy Đỗ Văn Nam", "Tổ 2"),
    (22, "Trung tá Lê Quang Cường", "Thượng úy Ngô Văn Phúc", "Tổ 1"),
    (23, "Trung tá Phạm Minh Dũng", "Đại úy Đinh Văn Quang", "Tổ 2"),
    (24, "Trung tá Hoàng Văn Hải", "Thiếu tá Vũ Thành Long", "Tổ 1"),
    (25, "Trung tá Lê Quang Cường", "Đại úy Đỗ Văn Nam", "Tổ 2"),
    (26, "Thượng tá Nguyễn Văn An", "Thượng úy Ngô Văn Phúc", "Tổ 1"),
]
WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật"]

SCORE_HEADER = ["Hạng", "Đơn vị", "G1", "G2", "G3", "G4", "G5", "G6", "±", "Tổng", "Loại"]
SCORE_ROWS = [
    ["1", "Kim Bảng", "18,5", "27,5", "13,5", "13,5", "9,0", "9,5", "+1,0", "92,5", "Xuất sắc"],
    ["7", "Bình Lục", "17.0", "25.5", "12.5", "12.5", "8.0", "8.5", "0", "84.0", "Tốt"],
]
KB_POINTS = {
    "G1": Decimal("18.5"),
    "G2": Decimal("27.5"),
    "G3": Decimal("13.5"),
    "G4": Decimal("13.5"),
    "G5": Decimal("9.0"),
    "G6": Decimal("9.5"),
    "TT": Decimal("1.0"),
}
BL_POINTS = {
    "G1": Decimal("17.0"),
    "G2": Decimal("25.5"),
    "G3": Decimal("12.5"),
    "G4": Decimal("12.5"),
    "G5": Decimal("8.0"),
    "G6": Decimal("8.5"),
    "TT": Decimal("0"),
}


# ---------------------------------------------------------------------------------------------------------
# building files
# ---------------------------------------------------------------------------------------------------------


def xlsx(rows: list[list[object]], *, extra_sheet: list[list[object]] | None = None) -> bytes:
    """An .xlsx whose first worksheet holds rows (None = empty cell); rows start at A1."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Lịch trực"
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    if extra_sheet is not None:
        other = wb.create_sheet("Khác")
        for row in extra_sheet:
            other.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def csv_text(rows: list[list[str]], delimiter: str) -> str:
    def quote(cell: str) -> str:
        return f'"{cell}"' if delimiter in cell or '"' in cell else cell

    return "\r\n".join(delimiter.join(quote(c) for c in row) for row in rows) + "\r\n"


_TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258(text: str) -> bytes:
    """Vietnamese text the way Windows-1258 stores it: base letter (ă â ê ô ơ ư đ) + combining tone mark."""
    out = bytearray()
    for ch in text:
        try:
            out += ch.encode("cp1258")
        except UnicodeEncodeError:
            parts = unicodedata.normalize("NFD", ch)
            base = unicodedata.normalize("NFC", "".join(p for p in parts if p not in _TONES))
            out += (base + "".join(p for p in parts if p in _TONES)).encode("cp1258")
    return bytes(out)


def kb_week_rows() -> list[list[object]]:
    """The demo Kim Bảng week with a title above the header, real datetime cells, a Thứ column."""
    rows: list[list[object]] = [
        ["LỊCH TRỰC SẴN SÀNG CHIẾN ĐẤU TUẦN 20/06–26/06/2022"],
        [],
        ["Ngày", "Thứ", "Trực chỉ huy", "Trực ban", "Trực chiến"],
    ]
    for (day, chief, officer, team), weekday in zip(KB_WEEK, WEEKDAYS, strict=True):
        rows.append([datetime(2022, 6, day), weekday, chief, officer, team])
    return rows


def messages(errors: list[RowError]) -> list[tuple[int, str]]:
    return [(e.row, e.message) for e in errors]


# ---------------------------------------------------------------------------------------------------------
# read_table
# ---------------------------------------------------------------------------------------------------------


def test_read_table_xlsx_cell_types_and_trimming():
    data = xlsx(
        [
            [None, None, None],
            ["  Ngày ", "Số", "Giờ", "Ghi chú", None, None],
            [datetime(2022, 6, 20, 0, 0), 18.5, time(14, 0), "Tổ 1", None, None],
            [date(2022, 6, 21), 27, time(7, 30), None],
            [datetime(2022, 6, 22, 9, 15), -0.5, None, None],
            [None, 0.1 + 0.2, None, None],
            [None, 27.0, None, None],
        ]
    )
    table = read_table("lich truc.XLSX", data)
    assert table == [
        ["", "", "", ""],  # a leading empty row is kept: table[i] is Excel row i + 1
        ["Ngày", "Số", "Giờ", "Ghi chú"],
        ["20/06/2022", "18.5", "14:00", "Tổ 1"],
        ["21/06/2022", "27", "07:30", ""],
        ["22/06/2022", "-0.5", "", ""],
        ["", "0.3", "", ""],
        ["", "27", "", ""],
    ]


def test_read_table_drops_trailing_empty_rows_and_columns_and_reads_first_sheet_only():
    rows: list[list[object]] = [["Đơn vị", "G1", None, None], ["Kim Bảng", 18.5, None, None], [None], [None], ["", ""]]
    table = read_table("diem.xlsx", xlsx(rows, extra_sheet=[["Khác", "không đọc"]]))
    assert table == [["Đơn vị", "G1"], ["Kim Bảng", "18.5"]]


def test_read_table_csv_utf8_bom_comma_with_quoted_decimal_commas():
    text = csv_text([SCORE_HEADER, *SCORE_ROWS], ",")
    table = read_table("diem.csv", b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert table[0][0] == "Hạng"  # the BOM is not glued to the first header
    assert table == [SCORE_HEADER, *SCORE_ROWS]


def test_read_table_csv_semicolon():
    text = csv_text([SCORE_HEADER, *SCORE_ROWS], ";")
    assert ";" in text and '"' not in text
    assert read_table("diem.csv", text.encode("utf-8")) == [SCORE_HEADER, *SCORE_ROWS]


def test_read_table_csv_tab_and_crlf_and_padding():
    text = "Ngày\tTrực chỉ huy\tTrực ban\r\n20/06/2022\tThượng tá Nguyễn Văn An\r\n\r\n\r\n"
    assert read_table("lich.csv", text.encode("utf-8")) == [
        ["Ngày", "Trực chỉ huy", "Trực ban"],
        ["20/06/2022", "Thượng tá Nguyễn Văn An", ""],
    ]


def test_read_table_csv_cp1258_is_decoded_and_recomposed():
    raw = cp1258(csv_text([SCORE_HEADER, *SCORE_ROWS], ";"))
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert b"Ba\xd2ng" in raw  # "Bảng": the hook tone is a separate combining byte in this encoding
    table = read_table("diem.csv", raw)
    assert table == [SCORE_HEADER, *SCORE_ROWS]
    assert all(unicodedata.is_normalized("NFC", cell) for row in table for cell in row)


# ---------------------------------------------------------------------------------------------------------
# read_table: unusable files
# ---------------------------------------------------------------------------------------------------------


def test_random_bytes_named_xlsx():
    noise = bytes((i * 97 + 13) % 256 for i in range(5000))
    with pytest.raises(ImportProblem) as info:
        read_table("lich truc.xlsx", noise)
    message = str(info.value)
    assert "Không đọc được tệp Excel" in message
    assert "Hãy lưu lại dạng .xlsx rồi gửi lại." in message
    assert isinstance(info.value, UserError)


def test_zip_that_is_not_a_workbook():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ImportProblem, match="Không đọc được tệp Excel"):
        read_table("bao cao.xlsx", buf.getvalue())


def test_truncated_xlsx():
    data = xlsx(kb_week_rows())
    with pytest.raises(ImportProblem, match=r"Hãy lưu lại dạng \.xlsx"):
        read_table("lich.xlsx", data[: len(data) // 2])


def test_old_xls_and_ole_content():
    with pytest.raises(ImportProblem, match=r"\.xls"):
        read_table("lich.xls", b"\xd0\xcf\x11\xe0" + b"\0" * 600)
    with pytest.raises(ImportProblem, match="Excel cũ"):
        read_table("lich.xlsx", b"\xd0\xcf\x11\xe0" + b"\0" * 600)


@pytest.mark.parametrize("name", ["bao cao.docx", "lich.pdf", "lich", ""])
def test_unknown_extension(name):
    with pytest.raises(ImportProblem, match=r"Chỉ nhận tệp \.xlsx hoặc \.csv"):
        read_table(name, b"Ngay,Truc ban\n20/06/2022,A\n")


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf", b"\r\n\r\n", b";;;\r\n;;\r\n"])
def test_empty_csv(content):
    with pytest.raises(ImportProblem, match=r"trống|không có dữ liệu"):
        read_table("lich.csv", content)


def test_empty_xlsx_sheet():
    with pytest.raises(ImportProblem, match=r"Trang tính đầu tiên .* không có dữ liệu"):
        read_table("lich.xlsx", xlsx([], extra_sheet=[["Ngày", "Trực ban"]]))


def test_file_over_2_mb():
    content = b"Ngay,Truc ban\n" + b"20/06/2022,Nguyen Van An\n" * (MAX_BYTES // 20)
    assert len(content) > MAX_BYTES
    with pytest.raises(ImportProblem) as info:
        read_table("lich.csv", content)
    assert str(info.value).startswith("Tệp quá lớn (")
    assert str(info.value).endswith("tối đa 2 MB.")
    with pytest.raises(ImportProblem, match="Tệp quá lớn"):
        read_table("lich.xlsx", b"PK" + b"\0" * MAX_BYTES)
    # exactly at the limit is not "too large" (it fails later, for another reason)
    with pytest.raises(ImportProblem) as info:
        read_table("lich.xlsx", b"\0" * MAX_BYTES)
    assert "quá lớn" not in str(info.value)


def test_too_many_rows():
    ok = "Ngày,Trực ban\n" + "20/06/2022,A\n" * (MAX_ROWS - 1)
    assert len(read_table("lich.csv", ok.encode())) == MAX_ROWS
    too_many = ok + "21/06/2022,B\n"
    with pytest.raises(ImportProblem, match=f"tối đa {MAX_ROWS} dòng"):
        read_table("lich.csv", too_many.encode())
    # trailing empty lines do not count
    assert len(read_table("lich.csv", (ok + "\n" * 50).encode())) == MAX_ROWS


def test_binary_named_csv():
    with pytest.raises(ImportProblem, match="không phải tệp CSV"):
        read_table("lich.csv", b"\x00\x01\x02abc\x00")
    with pytest.raises(ImportProblem, match=r"đổi đuôi tệp thành \.xlsx"):
        read_table("lich.csv", xlsx(kb_week_rows()))


# ---------------------------------------------------------------------------------------------------------
# parse_roster
# ---------------------------------------------------------------------------------------------------------


def test_kim_bang_week_xlsx_parses_to_seven_rows():
    table = read_table("lich truc KB.xlsx", xlsx(kb_week_rows()))
    rows, errors = parse_roster(table, TODAY)
    assert errors == []
    assert len(rows) == 7
    assert [r.day for r in rows] == [date(2022, 6, d) for d in range(20, 27)]
    assert [r.row for r in rows] == list(range(4, 11))  # title, blank, header are rows 1-3
    assert rows[0] == RosterRow(
        row=4,
        day=date(2022, 6, 20),
        unit=None,
        people={"truc_chi_huy": "Thượng tá Nguyễn Văn An", "truc_ban": "Thiếu tá Vũ Thành Long", "truc_chien": "Tổ 1"},
    )
    for row, (_, chief, officer, team) in zip(rows, KB_WEEK, strict=True):
        assert row.people == {"truc_chi_huy": chief, "truc_ban": officer, "truc_chien": team}


def test_kim_bang_week_csv_text_dates_without_year():
    lines = [["Ngày", "Thứ", "Trực chỉ huy", "Trực ban", "Trực chiến"]]
    lines += [
        [f"{day}/6", wd, chief, officer, team]
        for (day, chief, officer, team), wd in zip(KB_WEEK, WEEKDAYS, strict=True)
    ]
    table = read_table("lich.csv", b"\xef\xbb\xbf" + csv_text(lines, ",").encode())
    rows, errors = parse_roster(table, TODAY)
    assert errors == []
    assert [r.day for r in rows] == [date(2022, 6, d) for d in range(20, 27)]
    # a missing year means the nearest such day to today
    rows, _ = parse_roster(table, date(2022, 12, 1))
    assert rows[0].day == date(2022, 6, 20)
    rows, _ = parse_roster(table, date(2023, 5, 1))
    assert rows[0].day == date(2023, 6, 20)


def test_roster_headers_without_diacritics_upper_case_and_unit_column():
    rows_in: list[list[object]] = [
        ["STT", "DON VI", "Thứ, ngày trực", "TRUC CHI HUY", "Truc ban tac chien", "truc chien", "Ghi chú"],
        [1, "Kim Bảng", "2022-06-20", "Thượng tá Nguyễn Văn An", "Thiếu tá Vũ Thành Long", "Tổ 1", "x"],
        [2, "Bình Lục", "20/6/2022", "Trung tá Trần Văn B", None, "-", None],
        [3, None, "21.06.2022", None, "Đại úy Lê C", None, None],  # merged unit cell: Bình Lục continues
    ]
    table = read_table("lich.xlsx", xlsx(rows_in))
    rows, errors = parse_roster(table, TODAY)
    assert errors == []
    assert rows == [
        RosterRow(
            2,
            date(2022, 6, 20),
            "Kim Bảng",
            {"truc_chi_huy": "Thượng tá Nguyễn Văn An", "truc_ban": "Thiếu tá Vũ Thành Long", "truc_chien": "Tổ 1"},
        ),
        RosterRow(3, date(2022, 6, 20), "Bình Lục", {"truc_chi_huy": "Trung tá Trần Văn B"}),
        RosterRow(4, date(2022, 6, 21), "Bình Lục", {"truc_ban": "Đại úy Lê C"}),
    ]


def test_roster_more_roles_and_two_row_header():
    rows_in: list[list[object]] = [
        ["Ngày", "Lực lượng trực SSCĐ", None, None, None],
        [None, "Trực chỉ huy", "Trực ban nội vụ", "Trực thông tin", "Trực ban"],
        [datetime(2022, 6, 20), "Thượng tá\nNguyễn  Văn An", "Đại úy Đỗ Văn Nam", "Tổ TT", "Thiếu tá Vũ Thành Long"],
    ]
    rows, errors = parse_roster(read_table("lich.xlsx", xlsx(rows_in)), TODAY)
    assert errors == []
    assert rows == [
        RosterRow(
            3,
            date(2022, 6, 20),
            None,
            {
                "truc_chi_huy": "Thượng tá Nguyễn Văn An",
                "truc_ban_noi_vu": "Đại úy Đỗ Văn Nam",
                "truc_thong_tin": "Tổ TT",
                "truc_ban": "Thiếu tá Vũ Thành Long",
            },
        )
    ]


def test_roster_row_errors_are_all_reported_with_row_numbers():
    lines = [
        ["Lịch trực tháng 6"],
        ["Ngày", "Thứ", "Trực chỉ huy", "Trực ban", "Trực chiến"],
        ["20/06/2022", "Thứ Hai", "Thượng tá Nguyễn Văn An", "Thiếu tá Vũ Thành Long", "Tổ 1"],  # 3 ok
        ["31/02/2022", "", "Trung tá Lê Quang Cường", "", ""],  # 4 impossible date
        ["", "Thứ Tư", "Trung tá Lê Quang Cường", "", ""],  # 5 empty date
        ["23/06/2022", "Thứ Năm", "", "", ""],  # 6 nobody on duty
        ["20/6/2022", "Thứ Hai", "Trung tá Phạm Minh Dũng", "", ""],  # 7 duplicate of row 3
        ["", "", "", "", ""],  # 8 spacer: skipped
        ["hôm qua", "", "Trung tá Hoàng Văn Hải", "", ""],  # 9 not a roster date
        ["24/06/2022", "Thứ Sáu", "Trung tá Hoàng Văn Hải", "", "Tổ 1"],  # 10 ok
        ["24–25/06/2022", "", "Trung tá Hoàng Văn Hải", "", ""],  # 11 a range in one cell
    ]
    rows, errors = parse_roster(read_table("lich.csv", csv_text(lines, ";").encode()), TODAY)
    assert [(r.row, r.day) for r in rows] == [(3, date(2022, 6, 20)), (10, date(2022, 6, 24))]
    assert [e.row for e in errors] == [4, 5, 6, 7, 9, 11]
    by_row = dict(messages(errors))
    assert all(message.startswith(f"Dòng {row}: ") for row, message in by_row.items())
    assert "31/02/2022 không có thật" in by_row[4]
    assert "thiếu ngày" in by_row[5]
    assert "chưa có người trực" in by_row[6]
    assert "20/06/2022" in by_row[7] and "dòng 3" in by_row[7]
    assert "không đọc được ngày 'hôm qua'" in by_row[9]
    assert "khoảng ngày" in by_row[11]


def test_roster_duplicates_are_per_unit():
    lines = [
        ["Đơn vị", "Ngày", "Trực ban"],
        ["Kim Bảng", "20/06/2022", "A"],
        ["Bình Lục", "20/06/2022", "B"],
        ["KIM BANG", "20/06/2022", "C"],
        ["", "", ""],
        ["Duy Tiên", "", "D"],
    ]
    rows, errors = parse_roster(read_table("lich.csv", csv_text(lines, ",").encode()), TODAY)
    assert [(r.row, r.unit) for r in rows] == [(2, "Kim Bảng"), (3, "Bình Lục")]
    assert [e.row for e in errors] == [4, 6]
    assert "của đơn vị KIM BANG đã có ở dòng 2" in errors[0].message
    assert "thiếu ngày" in errors[1].message


def test_roster_unit_column_empty_at_the_top_is_an_error():
    lines = [["Ngày", "Đơn vị", "Trực ban"], ["20/06/2022", "", "A"], ["21/06/2022", "Kim Bảng", "B"]]
    rows, errors = parse_roster(read_table("lich.csv", csv_text(lines, ",").encode()), TODAY)
    assert [r.row for r in rows] == [3]
    assert messages(errors) == [(2, "Dòng 2: thiếu đơn vị (cột Đơn vị trống).")]


def test_roster_excel_serial_date_left_as_number_and_ragged_rows():
    rows, errors = parse_roster([["Ngày", "Trực ban", "Ghi chú"], ["44732", "A"], []], TODAY)
    assert errors == []
    assert rows[0].day == date(2022, 6, 20)


def test_roster_without_header():
    table = read_table("lich.csv", "Họ tên,Cấp bậc\nNguyễn Văn An,Thượng tá\n".encode())
    with pytest.raises(ImportProblem) as info:
        parse_roster(table, TODAY)
    assert str(info.value).startswith(
        "Không thấy dòng tiêu đề. Cần các cột: Ngày, Trực chỉ huy, Trực ban, Trực chiến "
        "(và Đơn vị nếu tệp có nhiều đơn vị)."
    )


def test_roster_header_missing_date_column_says_so():
    with pytest.raises(ImportProblem, match=r"không thấy cột Ngày .*dòng 1"):
        parse_roster([["Thứ", "Trực chỉ huy"], ["Thứ Hai", "A"]], TODAY)


def test_roster_header_must_be_within_ten_rows():
    table = [[f"ghi chú {i}", ""] for i in range(10)] + [["Ngày", "Trực ban"], ["20/06/2022", "A"]]
    with pytest.raises(ImportProblem, match="Không thấy dòng tiêu đề"):
        parse_roster(table, TODAY)
    rows, _ = parse_roster(table[1:], TODAY)
    assert [r.row for r in rows] == [11]


def test_roster_header_only():
    with pytest.raises(ImportProblem, match="chỉ có dòng tiêu đề"):
        parse_roster([["Ngày", "Trực ban"]], TODAY)


def test_roster_two_columns_for_the_same_role():
    with pytest.raises(ImportProblem, match="đều là cột Trực ban"):
        parse_roster([["Ngày", "Trực ban", "Trực ban tác chiến"], ["20/06/2022", "A", "B"]], TODAY)


# ---------------------------------------------------------------------------------------------------------
# parse_scores
# ---------------------------------------------------------------------------------------------------------


def test_score_sheet_csv_parses_to_exact_decimals():
    for delimiter in (",", ";"):
        table = read_table("diem.csv", csv_text([SCORE_HEADER, *SCORE_ROWS], delimiter).encode("utf-8-sig"))
        rows, errors = parse_scores(table, CRITERIA)
        assert errors == []
        assert rows == [ScoreRow(2, "Kim Bảng", KB_POINTS), ScoreRow(3, "Bình Lục", BL_POINTS)]
        assert str(rows[0].points["G1"]) == "18.5"
        assert rows[0].points["TT"] == Decimal("1")
        assert list(rows[0].points) == CRITERIA


def test_score_sheet_cp1258_csv():
    table = read_table("diem.csv", cp1258(csv_text([SCORE_HEADER, *SCORE_ROWS], ";")))
    rows, errors = parse_scores(table, CRITERIA)
    assert errors == []
    assert [(r.unit, r.points) for r in rows] == [("Kim Bảng", KB_POINTS), ("Bình Lục", BL_POINTS)]


def test_score_sheet_xlsx_numeric_cells_header_not_first_row():
    rows_in: list[list[object]] = [
        ["KẾT QUẢ CHẤM ĐIỂM THI ĐUA CỤM SỐ 2 — 6 THÁNG ĐẦU NĂM 2022"],
        [None],
        ["TT", "Đơn vị", "g1 Lãnh đạo", "G2 (30đ)", "G3", "G4", "G5", "G6", "Điểm thưởng/trừ", "Tổng", "Xếp loại"],
        [1, "Ban CHQS huyện Kim Bảng", 18.5, 27.5, 13.5, 13.5, 9, 9.5, 1, 92.5, "Xuất sắc"],
        [2, "TĐ 151", 17, 25.5, 12.5, 12.5, 8, 8.5, -0.5, 83.5, "Tốt"],
        [3, "Bình Lục", 17, 25.5, 12.5, 12.5, 8, 8.5, None, 84, "Tốt"],
        [None, "Tổng cộng", 52.5, 78.5, 38.5, 38.5, 25, 26.5, 0.5, 260, None],
    ]
    rows, errors = parse_scores(read_table("diem.xlsx", xlsx(rows_in)), CRITERIA)
    assert errors == []
    assert [(r.row, r.unit) for r in rows] == [(4, "Ban CHQS huyện Kim Bảng"), (5, "TĐ 151"), (6, "Bình Lục")]
    assert rows[0].points == {**KB_POINTS, "G5": Decimal("9"), "TT": Decimal("1")}
    assert rows[1].points["TT"] == Decimal("-0.5")
    # empty bonus/penalty cell = no adjustment; the "TT" left of the unit column (row number 3) is not it
    assert rows[2].points["TT"] == Decimal("0")


def test_score_tt_column_right_of_unit_is_the_adjustment():
    table = [["STT", "Đơn vị", "G1", "TT"], ["1", "Kim Bảng", "18,5", "−0,5"], ["2", "Duy Tiên", "18", "–"]]
    rows, errors = parse_scores(table, ["G1", "TT"])
    assert errors == []
    assert [r.points for r in rows] == [
        {"G1": Decimal("18.5"), "TT": Decimal("-0.5")},
        {"G1": Decimal("18"), "TT": Decimal("0")},
    ]


def test_score_adjustment_ignored_when_tt_is_not_a_criterion():
    rows, errors = parse_scores([["Đơn vị", "G1", "±"], ["Kim Bảng", "18,5", "abc"]], ["G1"])
    assert errors == []
    assert rows == [ScoreRow(2, "Kim Bảng", {"G1": Decimal("18.5")})]


def test_score_code_prefix_needs_a_boundary():
    table = [["Đơn vị", "G10", "G1"], ["Kim Bảng", "5", "18"]]
    rows, errors = parse_scores(table, ["G1", "G10"])
    assert errors == []
    assert rows[0].points == {"G1": Decimal("18"), "G10": Decimal("5")}
    rows, _ = parse_scores(table, ["G1"])
    assert rows[0].points == {"G1": Decimal("18")}


def test_score_row_errors_are_all_reported_with_row_numbers():
    lines = [
        SCORE_HEADER,
        SCORE_ROWS[0],  # 2 ok
        ["2", "Duy Tiên", "17,5", "abc", "13", "13", "9", "9", "0", "", ""],  # 3 text in a number cell
        ["3", "Lý Nhân", "17", "26", "", "13", "9", "9", "0", "", ""],  # 4 missing G3
        ["4", "Kim Bảng", "17", "26", "13", "13", "9", "9", "0", "", ""],  # 5 duplicate of row 2
        ["5", "", "17", "26", "13", "13", "9", "9", "0", "", ""],  # 6 no unit
        ["", "", "", "", "", "", "", "", "", "", "Ghi chú: điểm tạm tính"],  # 7 skipped
        ["6", "Thanh Liêm", "17", "26", "13", "13", "9", "1.2.3", "0", "", ""],  # 8 malformed number
        SCORE_ROWS[1],  # 9 ok
    ]
    rows, errors = parse_scores(read_table("diem.csv", csv_text(lines, ";").encode()), CRITERIA)
    assert [(r.row, r.unit) for r in rows] == [(2, "Kim Bảng"), (9, "Bình Lục")]
    assert messages(errors) == [
        (3, "Dòng 3: điểm G2 'abc' không phải là số (viết dạng 18,5 hoặc 18.5)."),
        (4, "Dòng 4: thiếu điểm G3."),
        (5, "Dòng 5: đơn vị 'Kim Bảng' trùng với dòng 2."),
        (6, "Dòng 6: thiếu tên đơn vị (cột Đơn vị trống)."),
        (8, "Dòng 8: điểm G6 '1.2.3' không phải là số (viết dạng 18,5 hoặc 18.5)."),
    ]


def test_score_sheet_without_header():
    with pytest.raises(ImportProblem) as info:
        parse_scores(read_table("diem.csv", b"a;b;c\n1;2;3\n"), CRITERIA)
    message = str(info.value)
    assert message.startswith("Không thấy dòng tiêu đề. Cần các cột: Đơn vị, G1, G2, G3, G4, G5, G6")
    assert "TT" in message


def test_score_sheet_missing_unit_or_criterion_column():
    with pytest.raises(ImportProblem, match="Không thấy cột Đơn vị"):
        parse_scores([["Tên", "G1", "G2"], ["Kim Bảng", "1", "2"]], ["G1", "G2"])
    with pytest.raises(ImportProblem, match="Thiếu cột G2"):
        parse_scores([["Đơn vị", "G1", "G3"], ["Kim Bảng", "1", "2"]], ["G1", "G2", "G3"])


def test_score_sheet_duplicate_criterion_column():
    with pytest.raises(ImportProblem, match=r'"G1 Lãnh đạo" và cột "g1".*điểm G1'):
        parse_scores([["Đơn vị", "G1 Lãnh đạo", "g1"], ["Kim Bảng", "1", "2"]], ["G1"])


def test_score_sheet_needs_criteria():
    with pytest.raises(ValueError):
        parse_scores([["Đơn vị", "G1"]], [])


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("18,5", Decimal("18.5")),
        ("18.5", Decimal("18.5")),
        ("+1,0", Decimal("1.0")),
        ("−0,5", Decimal("-0.5")),
        ("- 0.5", Decimal("-0.5")),
        ("27", Decimal("27")),
        (",5", Decimal("0.5")),
        ("0", Decimal("0")),
    ],
)
def test_parse_points(text, value):
    assert parse_points(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "1,234.5", "18,5đ", "NaN", "Infinity", "1e3", "--1", "+"])
def test_parse_points_rejects(text):
    assert parse_points(text) is None
