"""/xuat: every export reopened with openpyxl and checked cell by cell against the demo data, as a
console user, over the fake Telegram API (sendDocument) and as a Zalo link."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import httpx
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import App
from bot.cli import fixed_clock
from bot.messages import Document
from bot.models import Task
from bot.services import duty, results, tasks
from bot.web import web_app
from tests.chatting import ask, button, console
from tests.examples import NOW
from tests.test_telegram import ADMIN, Harness, tg  # noqa: F401  (the Telegram harness)
from tests.test_zalo import ADMIN as ZALO_ADMIN
from tests.test_zalo import ZaloHarness, zalo  # noqa: F401  (the Zalo harness)

# DOMAIN.md §6.4: Kim Bảng's roster of the week of 20/06/2022.
KIM_BANG_WEEK = [
    (date(2022, 6, 20), "Thứ Hai", "Thượng tá Nguyễn Văn An (CHT)", "Thiếu tá Vũ Thành Long (trợ lý)", "Tổ 1"),
    (date(2022, 6, 21), "Thứ Ba", "Thượng tá Trần Đức Bình (CTV)", "Đại úy Đỗ Văn Nam (trợ lý)", "Tổ 2"),
    (date(2022, 6, 22), "Thứ Tư", "Trung tá Lê Quang Cường (Phó CHT–TMT)", "Thượng úy Ngô Văn Phúc (trợ lý)", "Tổ 1"),
    (date(2022, 6, 23), "Thứ Năm", "Trung tá Phạm Minh Dũng (Phó CHT)", "Đại úy Đinh Văn Quang (trợ lý)", "Tổ 2"),
    (date(2022, 6, 24), "Thứ Sáu", "Trung tá Hoàng Văn Hải (CTV phó)", "Thiếu tá Vũ Thành Long (trợ lý)", "Tổ 1"),
    (date(2022, 6, 25), "Thứ Bảy", "Trung tá Lê Quang Cường (Phó CHT–TMT)", "Đại úy Đỗ Văn Nam (trợ lý)", "Tổ 2"),
    (date(2022, 6, 26), "Chủ nhật", "Thượng tá Nguyễn Văn An (CHT)", "Thượng úy Ngô Văn Phúc (trợ lý)", "Tổ 1"),
]


async def _document(app: App, text: str, identity: str = "admin", now: str = NOW) -> Document:
    chat = await console(app, identity, now=now)
    replies = await chat.say(text)
    documents = [r.document for r in replies if r.document is not None]
    assert len(documents) == 1, [r.text for r in replies]
    return documents[0]


def _rows(document: Document) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(document.content)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _check_layout(document: Document) -> None:
    """Bold, frozen heading row; every column at least as wide as its heading (capped); dates as dd/mm/yyyy."""
    sheet = load_workbook(io.BytesIO(document.content)).active
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    for cell in sheet[1]:
        width = sheet.column_dimensions[cell.column_letter].width
        assert width >= min(len(str(cell.value)), 60), (cell.value, width)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, datetime):
                assert cell.number_format in ("dd/mm/yyyy", "dd/mm/yyyy hh:mm"), cell.number_format


async def test_this_weeks_roster_in_the_printed_layout(demo_app: App) -> None:
    document = await _document(demo_app, "/xuat trực Kim Bảng tuần này")
    assert document.filename == "lich-truc-kim-bang-20220620-20220626.xlsx"
    _check_layout(document)
    rows = _rows(document)
    assert rows[0] == ("Ngày", "Thứ", "Trực chỉ huy", "Trực ban", "Trực chiến", "Ghi chú")
    assert [(r[0].date(), *r[1:5]) for r in rows[1:]] == KIM_BANG_WEEK
    notes = {r[0].date(): r[5] for r in rows[1:]}
    assert notes[date(2022, 6, 23)] == "CHT/CTV dự hội nghị cụm 14h00"
    assert [d for d, note in notes.items() if note] == [date(2022, 6, 23)]


async def test_a_month_roster_has_a_line_per_day_and_matches_the_database(demo_app: App) -> None:
    document = await _document(demo_app, "/export duty Kim Bảng tháng 6", identity="officer:Kim Bảng")
    rows = _rows(document)[1:]
    assert [r[0].date() for r in rows] == [date(2022, 6, d) for d in range(1, 31)]
    async with demo_app.sessions() as session:
        unit = (await demo_app.dispatcher.reference.directory(session)).resolve("Kim Bảng")
        days = {d.day: d for d in await duty.roster(session, unit.unit.id, date(2022, 6, 1), date(2022, 6, 30))}
    for row in rows:
        day = days.get(row[0].date())
        for column, role in zip(row[2:5], ("truc_chi_huy", "truc_ban", "truc_chien"), strict=True):
            shift = day.by_role(role) if day else None
            assert column == (duty.person_text(shift) if shift else None), (row, role)


async def test_the_q2_results_one_column_per_criterion(demo_app: App) -> None:
    document = await _document(demo_app, "/xuat kết quả quý 2")
    assert document.filename == "ket-qua-quy-ii-2022.xlsx"
    _check_layout(document)
    rows = _rows(document)
    header = rows[0]
    assert header[0] == "Đơn vị" and header[-4:] == ("Điểm thưởng/trừ", "Tổng điểm", "Xếp hạng", "Xếp loại")
    assert [h.split(".")[0] for h in header[1:-4]] == ["G1", "G2", "G3", "G4", "G5", "G6"]
    # DOMAIN.md §6.6: Kim Bảng first with 92,5 (Xuất sắc), Bình Lục last with 84,0.
    assert rows[1][0] == "Kim Bảng" and rows[1][-3:] == (92.5, 1, "Xuất sắc")
    assert rows[-1][0] == "Bình Lục" and rows[-1][-3:] == (84, 7, "Tốt")
    async with demo_app.sessions() as session:
        cluster = await demo_app.dispatcher.reference.cluster(session, date(2022, 6, 22))
        from bot.vntime import PeriodSpec

        period = await results.find_period(session, cluster.id, PeriodSpec(2022, "quarter", 2))
        table = await results.result_table(session, period)
    assert len(rows) - 1 == len(table.rows)
    for row, expected in zip(rows[1:], table.rows, strict=True):
        assert row[0] == expected.unit.short_name
        codes = [c.code for c in table.criteria if c.kind != "adjustment"]
        assert list(row[1 : 1 + len(codes)]) == [float(expected.scores[c]) for c in codes]
        assert sum(row[1 : 1 + len(codes)]) + (row[-4] or 0) == row[-3] == float(expected.result.total)


async def test_the_task_matrix_units_by_tasks(demo_app: App) -> None:
    document = await _document(demo_app, "/xuat nhiệm vụ")
    _check_layout(document)
    rows = _rows(document)
    async with demo_app.sessions() as session:
        found = await tasks.tasks_for(session, year=2022)
        ft1 = await session.scalar(select(Task).where(Task.code == "FT1"))
        assert ft1 is not None
    codes = [t.code for t in found]
    assert rows[0][1::3] == tuple(f"{c} — trạng thái" for c in codes)
    column = 1 + 3 * codes.index("FT1")
    by_unit = {r[0]: r[column : column + 3] for r in rows[1:]}
    assert by_unit["Kim Bảng"] == ("Đang thực hiện", 10, "Đã dự thảo kế hoạch diễn tập 4 xã, thị trấn")
    assert by_unit["Trung đoàn 151"] == ("Không giao", None, None)
    assert len(rows) == 1 + 7


async def test_duty_count_and_hours_per_person_for_june(demo_app: App) -> None:
    document = await _document(demo_app, "/xuat thống kê trực tháng 6")
    _check_layout(document)
    rows = _rows(document)
    assert rows[0][:4] == ("STT", "Họ tên", "Chức vụ", "Đơn vị") and rows[0][-2:] == ("Số ca", "Số giờ")
    by_person = {r[1]: r for r in rows[1:]}
    cuong = by_person["Trung tá Lê Quang Cường"]
    assert cuong[2:4] == ("Phó CHT–TMT", "Kim Bảng") and cuong[-2:] == (2, 48)  # 22 and 25/6, 24 h each
    assert by_person["Tổ 1"][-2:] == (4, 96)
    assert [r[0] for r in rows[1:]] == list(range(1, len(rows)))
    hours = [r[-1] for r in rows[1:]]
    assert hours == sorted(hours, reverse=True)


async def test_the_audit_log_for_a_date_range(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    await ask(admin, "/moi Kim Bảng")
    document = await _document(demo_app, "/xuat nhật ký 01/06/2022-22/06/2022")
    _check_layout(document)
    rows = _rows(document)
    assert rows[0] == ("Thời gian", "Người thực hiện", "Nội dung", "Mã thao tác")
    assert len(rows) == 2 and rows[1][0] == datetime(2022, 6, 22, 10, 0) and rows[1][3] == "invite.create"
    assert "Kim Bảng" in rows[1][2]
    earlier = await _document(demo_app, "/xuat nhật ký 01/06/2022-21/06/2022")
    assert len(_rows(earlier)) == 1
    officer = await console(demo_app)
    assert "Xuất bảng nào?" in await ask(officer, "/xuat nhật ký 01/06/2022-22/06/2022")


async def test_csv_on_request(demo_app: App) -> None:
    document = await _document(demo_app, "/xuat thống kê trực tháng 6 csv")
    assert document.filename.endswith(".csv") and document.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig"))))
    assert rows[0][-2:] == ["Số ca", "Số giờ"]
    cuong = next(r for r in rows if r[1] == "Trung tá Lê Quang Cường")
    assert cuong[-2:] == ["2", "48,0"]
    roster = await _document(demo_app, "/xuat trực Kim Bảng tuần này csv")
    lines = roster.content.decode("utf-8-sig").splitlines()
    assert lines[3].startswith("22/06/2022,Thứ Tư,Trung tá Lê Quang Cường")


async def test_unclear_arguments_are_asked_back_with_options(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    question = await ask(admin, "/xuat")
    assert "Xuất bảng nào?" in question and "Nhật ký thay đổi" in question
    roster = await admin.say(button(question, "Lịch trực"))
    assert "Xuất lịch trực của đơn vị nào?" in roster[0].text
    picked = await admin.say(button("\n".join(r.text for r in roster) + _buttons(roster), "Kim Bảng"))
    assert picked[0].document is not None and picked[0].document.filename.startswith("lich-truc-kim-bang-20220620")
    assert "tháng nào" in await ask(admin, "/xuat thống kê trực")
    assert "từ ngày nào đến ngày nào" in await ask(admin, "/xuat nhật ký")


def _buttons(replies: list) -> str:
    return "".join(f"\n[{i}] {b.text}" for i, b in enumerate((b for r in replies for row in r.buttons for b in row), 1))


async def test_a_roster_export_over_telegram_is_a_document(tg: Harness) -> None:  # noqa: F811
    tg.fake.user_sends("/xuat trực Kim Bảng tuần này", user_id=ADMIN)
    await tg.fake.wait_for_message(ADMIN, timeout=10)
    await tg.fake.wait_for_idle()
    sent = [m for m in tg.fake.messages(ADMIN) if m.document_name]
    assert [m.document_name for m in sent] == ["lich-truc-kim-bang-20220620-20220626.xlsx"]
    rows = _rows(Document(sent[0].document_name, sent[0].document_bytes))
    assert rows[3][2] == "Trung tá Lê Quang Cường (Phó CHT–TMT)"


async def test_an_export_reaches_zalo_as_a_link(zalo: ZaloHarness) -> None:  # noqa: F811
    zalo.channel.settings = zalo.channel.settings.model_copy(update={"public_url": "https://bot.example.vn"})
    zalo.fake.add_chat(ZALO_ADMIN)
    answer = await zalo.say("/xuat kết quả quý 2", chat=ZALO_ADMIN)
    assert "Tệp ket-qua-quy-ii-2022.xlsx: https://bot.example.vn/files/" in answer
    token = answer.split("/files/")[1].split()[0]
    web = web_app(zalo.app.sessions, clock=fixed_clock(NOW, zalo.app.settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="https://bot.example.vn") as client:
        served = await client.get(f"/files/{token}")
    assert _rows(Document("x.xlsx", served.content))[1][0] == "Kim Bảng"
