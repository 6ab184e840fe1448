"""/mau and /nhap end to end: a template filled in and imported; every error of a file in one report,
nothing written; a preview that survives a restart; imported shifts told to the chats concerned.

Files reach the bot as they do from a chat app: an Incoming carrying an Attachment, through the
dispatcher (the console's channel info), and over the fake Telegram API in tests/test_telegram.py."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, datetime

from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from bot.app import App
from bot.channels.console import CHANNEL, ConsoleChat, render
from bot.messages import Attachment, Reply
from bot.models import ChatLink, DutyShift, OutboxMessage, Score, Unit
from bot.services.subscriptions import subscribe
from tests.chatting import button, console
from tests.conftest import make_settings


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(chat: ConsoleChat, caption: str, filename: str, content: bytes) -> list[Reply]:
    async def fetch() -> bytes:
        return content

    incoming = replace(chat.incoming(caption), attachment=Attachment(filename, None, len(content), fetch))
    return await chat.dispatcher.handle(incoming, CHANNEL)


def text(replies: list[Reply]) -> str:
    return "\n".join(render(r) for r in replies)


async def rejected(chat: ConsoleChat, caption: str, content: bytes, errors: int, starts: list[str]) -> str:
    """Upload ``content``; the report must count ``errors`` errors on as many rows and list, among its
    lines, one that starts with each of ``starts``."""
    report = text(await upload(chat, caption, "tep.xlsx", content))
    assert f"Không nhập gì: tệp có {errors} lỗi ở {errors} dòng" in report, report
    lines = [line.removeprefix("• ") for line in report.splitlines() if line.startswith("• ")]
    assert len(lines) == errors, report
    for start in starts:
        assert any(line.startswith(start) for line in lines), (start, report)
    return report


async def shift_count(app: App) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(DutyShift)) or 0


async def test_every_error_of_a_roster_in_one_report_and_nothing_written(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    before = await shift_count(demo_app)
    content = xlsx(
        [
            ["Ngày", "Đơn vị", "Trực chỉ huy", "Trực ban", "Trực chiến"],
            [datetime(2022, 6, 27), "Kim Bảng", "Nguyễn Văn An", "Long", "Tổ 1"],  # 2: fine
            [None, "Kim Bảng", "Trần Đức Bình", None, None],  # 3: no date
            ["Thứ Hai", "Kim Bảng", "Trần Đức Bình", None, None],  # 4: not a date
            ["31/02/2022", "Kim Bảng", "Trần Đức Bình", None, None],  # 5: no such day
            ["27/06/2022-28/06/2022", "Kim Bảng", "Trần Đức Bình", None, None],  # 6: a span
            ["27/06/2022", "Kim Bảng", "Lê Quang Cường", None, None],  # 7: the day of row 2 again
            ["28/06/2022", "Kim Bảng", None, None, None],  # 8: nobody
            ["29/06/2022", "Huyện Mặt Trăng", "Trần Đức Bình", None, None],  # 9: no such unit
            ["20/06/2022", "Kim Bảng", "Trần Đức Bình", None, None],  # 10: gone by
            ["23/06/2022", "Kim Bảng", "Trần Đức Bình", None, None],  # 11: Dũng holds it (demo)
            ["30/06/2022", "Kim Bảng", "Đại úy " + "Nguyễn " * 30, None, None],  # 12: name too long
        ]
    )
    replies = await upload(admin, "/nhap lịch trực", "lich.xlsx", content)
    report = text(replies)
    assert "Không nhập gì: tệp có 10 lỗi ở 10 dòng" in report, report
    expected = [
        "Dòng 3, cột Ngày: thiếu ngày. → Viết ngày dạng dd/mm/yyyy, ví dụ 20/06/2022",
        "Dòng 4, cột Ngày “Thứ Hai”: không đọc được ngày 'Thứ Hai'. → Viết ngày dạng dd/mm/yyyy",
        "Dòng 5, cột Ngày “31/02/2022”:",
        "Dòng 6, cột Ngày “27/06/2022-28/06/2022”: ô ngày '27/06/2022-28/06/2022' ghi cả một khoảng ngày",
        "Dòng 7, cột Ngày “27/06/2022”: ngày 27/06/2022 của đơn vị Kim Bảng đã có ở dòng 2.",
        "Dòng 8, cột Trực chỉ huy, Trực ban, Trực chiến: chưa có người trực nào",
        "Dòng 9, cột Đơn vị “Huyện Mặt Trăng”: không có đơn vị này. → ghi tên đơn vị như trong /donvi",
        "Dòng 10, cột Ngày “20/06/2022”: ngày này đã qua (ca trực đã bắt đầu). → chỉ nhập lịch trực sắp tới",
        "Dòng 11, cột Trực chỉ huy: đã có trực chỉ huy ngày 23/06/2022: Trung tá Phạm Minh Dũng (Phó CHT)",
        "Dòng 12, cột Trực chỉ huy “Đại úy Nguyễn",
    ]
    lines = [line for line in report.splitlines() if line.startswith("• ")]
    assert len(lines) == len(expected)
    for line, start in zip(lines, expected, strict=True):
        assert line.removeprefix("• ").startswith(start), (line, start)
    assert await shift_count(demo_app) == before
    assert not any(r.buttons for r in replies)  # nothing waits for a confirmation either


async def test_every_error_of_a_score_sheet_in_one_report(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    header = ["Đơn vị", "G1", "G2", "G3", "G4", "G5", "G6", "TT"]
    content = xlsx(
        [
            header,
            ["Kim Bảng", 18, 27, 13, 13, 9, 9, 1],  # 2: fine
            [None, 18, 27, 13, 13, 9, 9, 0],  # 3: no unit
            ["Kim Bảng", 18, 27, 13, 13, 9, 9, 0],  # 4: unit of row 2 again
            ["Thanh Liêm", 18, None, 13, 13, 9, 9, 0],  # 5: G2 missing
            ["Phủ Lý", 18, "hai bảy", 13, 13, 9, 9, 0],  # 6: not a number
            ["Duy Tiên", 25, 27, 13, 13, 9, 9, 0],  # 7: over G1's 20
            ["Hà Nội", 18, 27, 13, 13, 9, 9, 0],  # 8: not of the cluster
        ]
    )
    async with demo_app.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(Score))
    expected = [
        "Dòng 3, cột Đơn vị: thiếu tên đơn vị",
        "Dòng 4, cột Đơn vị “Kim Bảng”: đơn vị 'Kim Bảng' trùng với dòng 2.",
        "Dòng 5, cột G2: thiếu điểm G2.",
        "Dòng 6, cột G2 “hai bảy”: điểm G2 'hai bảy' không phải là số",
        "Dòng 7, cột G1 “25,0”: ngoài khung 0,0–20,0. → ghi số từ 0,0 đến 20,0",
        "Dòng 8, cột Đơn vị “Hà Nội”: không phải đơn vị trong cụm.",
    ]
    await rejected(admin, "/nhap điểm quý 3/2022", content, 6, expected)
    async with demo_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Score)) == before


async def test_a_template_filled_in_previewed_and_confirmed_after_a_restart(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url))
    admin = await console(app, "admin")
    template = [r.document for r in await admin.say("/mau trực") if r.document]
    assert template and template[0].filename == "mau-lich-truc.xlsx"
    sheet = load_workbook(io.BytesIO(template[0].content)).active
    assert [c.value for c in sheet[1]] == ["Ngày", "Thứ", "Trực chỉ huy", "Trực ban", "Trực chiến", "Ghi chú"]
    assert sheet["A2"].value == datetime(2022, 6, 27) and sheet["A2"].number_format == "dd/mm/yyyy"
    sheet.append([datetime(2022, 6, 28), "Thứ Ba", "Trần Đức Bình", "Nam", "Tổ 2"])
    filled = io.BytesIO()
    sheet.parent.save(filled)
    before = await shift_count(app)
    preview = text(await upload(admin, "/nhap lịch trực Kim Bảng", "mau-lich-truc.xlsx", filled.getvalue()))
    assert "Sẽ nhập: 6 ca trực của Kim Bảng (27–28/06/2022)" in preview and "Chưa ghi gì" in preview
    assert await shift_count(app) == before
    await app.close()

    restarted = App(make_settings(demo_db_url))
    again = await console(restarted, "admin")
    done = text(await again.say(button(preview, "Nhập")))
    assert "Đã nhập 6 ca trực của Kim Bảng (27–28/06/2022)" in done, done
    assert await shift_count(restarted) == before + 6
    roster = text(await again.say("/truc Kim Bảng 28/6/2022"))
    assert "Thượng tá Trần Đức Bình" in roster and "Đại úy Đỗ Văn Nam" in roster
    await restarted.close()


async def test_a_score_template_round_trip(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    template = next(r.document for r in await admin.say("/mau điểm") if r.document)
    rows = list(load_workbook(io.BytesIO(template.content)).active.iter_rows(values_only=True))
    assert rows[0][0] == "Đơn vị" and rows[0][1].startswith("G1. ") and rows[0][-1] == "Điểm thưởng/trừ"
    assert rows[1][0] == "Kim Bảng" and rows[1][1] == 20
    preview = text(await upload(admin, "/nhap điểm quý 3/2022", "diem.xlsx", template.content))
    assert "Sẽ nhập: điểm của 1 đơn vị, quý III/2022" in preview
    done = text(await admin.say(button(preview, "Nhập")))
    assert "Đã nhập điểm 1 đơn vị, quý III/2022" in done
    assert "Gửi mẫu nào?" in text(await admin.say("/mau"))


async def test_imported_shifts_are_told_to_the_units_group(demo_app: App) -> None:
    async with demo_app.sessions() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.short_name == "Kim Bảng"))
        assert unit is not None
        group = ChatLink(channel="telegram", chat_id="-100555", chat_type="group", unit_id=unit.id, title="Nhóm KB")
        session.add(group)
        await session.flush()
        await subscribe(session, group, ["duty"])
    admin = await console(demo_app, "admin")
    content = xlsx([["Ngày", "Trực chỉ huy", "Trực ban"], [date(2022, 6, 27), "Nguyễn Văn An", "Long"]])
    preview = await upload(admin, "/nhap lịch trực Kim Bảng", "lich.xlsx", content)
    done = text(await admin.say(button(text(preview), "Nhập")))
    assert "Đã nhập 2 ca trực" in done and "Đã báo 2 chat liên quan" in done, done
    async with demo_app.sessions() as session:
        told = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.chat_id == "-100555")))
    assert sorted(m.notice for m in told) == ["shift_assigned", "shift_assigned"]
    assert {m.payload["shift"]["role"] for m in told} == {"truc_chi_huy", "truc_ban"}
    names = {(m.payload["shift"]["member"] or {}).get("full_name") for m in told}
    assert names == {"Nguyễn Văn An", "Vũ Thành Long"}


async def test_task_and_drill_templates_imported_and_told(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    for command, caption, preview_text, done_text in (
        ("/mau nhiệm vụ", "/nhap nhiệm vụ", "Sẽ nhập: 1 nhiệm vụ", "Đã nhập 1 nhiệm vụ."),
        ("/mau diễn tập", "/nhap diễn tập", "Sẽ nhập: 1 kế hoạch diễn tập", "Đã nhập 1 kế hoạch diễn tập."),
    ):
        template = next(r.document for r in await admin.say(command) if r.document)
        preview = text(await upload(admin, caption, template.filename, template.content))
        assert preview_text in preview, preview
        done = text(await admin.say(button(preview, "Nhập")))
        assert done_text in done, done
    tasks = text(await admin.say("/nhiemvu"))
    assert "Kiểm tra kho vũ khí, trang bị" in tasks


async def test_every_error_of_a_task_list_and_a_drill_plan(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    tasks = xlsx(
        [
            ["Nhiệm vụ", "Hạn hoàn thành", "Đơn vị thực hiện"],
            ["Tập huấn dân quân", "30/07/2022", "Kim Bảng, Thanh Liêm"],  # 2: fine
            [None, "30/07/2022", "Kim Bảng"],  # 3: no title
            ["Kiểm tra kho", "tuần sau nữa", "Kim Bảng"],  # 4: not a date
            ["Sơ kết", "30/07/2022", "Kim Bảng, Huyện Mặt Trăng"],  # 5: an unknown unit
            ["Tổng kết", "01/06/2022", "cả cụm"],  # 6: due date gone by (the use case refuses)
            ["Ab", "30/07/2022", "Kim Bảng"],  # 7: title too short (the use case refuses)
        ]
    )
    expected = [
        "Dòng 3, cột Nhiệm vụ: thiếu nhiệm vụ.",
        "Dòng 4, cột Hạn hoàn thành “tuần sau nữa”: không đọc được ngày",
        "Dòng 5, cột Đơn vị “Huyện Mặt Trăng”: không có đơn vị này.",
        "Dòng 6, cột Nhiệm vụ “Tổng kết”: Hạn 01/06/2022 đã qua",
        "Dòng 7, cột Nhiệm vụ “Ab”: Tên nhiệm vụ phải dài 3–400 ký tự.",
    ]
    await rejected(admin, "/nhap nhiệm vụ", tasks, 5, expected)
    assert "Tập huấn dân quân" not in text(await admin.say("/nhiemvu"))
    drills = xlsx(
        [
            ["Xã, phường, thị trấn", "Kiểm tra, duyệt", "Thực hành"],
            ["Ba Sao", "23/08/2022", None],  # 2: Ba Sao has its plan already (demo)
            ["Xã Mặt Trăng", "23/08/2022", None],  # 3: no such commune
            ["Nhật Tân", "20/06/2022", None],  # 4: gone by
            ["Nhật Tân", "23/09/2022", "20/09/2022-21/09/2022"],  # 5: exercise before the review
        ]
    )
    expected = [
        "Dòng 2, cột Kiểm tra, duyệt “23/08/2022”: ",
        "Dòng 3, cột Đơn vị “Xã Mặt Trăng”",
        "Dòng 4, ",
        "Dòng 5, ",
    ]
    report = await rejected(admin, "/nhap diễn tập", drills, 4, expected)
    assert "đã có kế hoạch diễn tập năm 2022" in report
