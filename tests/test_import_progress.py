"""A long /nhap reports its progress while it works: one message edited as it goes on Telegram
(editMessageText), a line per 1,000 rows on the console and Zalo (which cannot edit), for the check
and again for the write; a file under 1,000 rows reports nothing but its answer.

The hook is channel-neutral: each channel hands the dispatcher a progress sink (``Context.progress``)
and says whether it edits (``ChannelInfo.edits``); the use case only gets ``on_progress(done, total)``."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from datetime import date, timedelta

from openpyxl import Workbook
from sqlalchemy import func, select

from bot.app import App
from bot.channels.console import CHANNEL, ConsoleChat
from bot.cli import fixed_clock
from bot.messages import Attachment, Incoming
from bot.models import DutyShift
from bot.services import imports
from tests.conftest import make_settings
from tests.examples import NOW
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.harness import fake_settings, telegram_bot
from tests.fakes.zalo import FakeZalo
from tests.test_telegram import ADMIN as TG_ADMIN
from tests.test_telegram import Harness, press_and_wait
from tests.test_zalo import ADMIN as ZALO_ADMIN
from tests.test_zalo import ZaloHarness, zalo_bot

ROWS = 3000  # 9,000 shifts: three steps of 1,000 rows
FIRST_DAY = date(2022, 6, 27)


def roster(rows: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Ngày", "Trực chỉ huy", "Trực ban", "Trực chiến"])
    commanders = ["Nguyễn Văn An", "Trần Đức Bình", "Lê Quang Cường"]
    for n in range(rows):
        sheet.append([FIRST_DAY + timedelta(days=n), commanders[n % 3], "Đỗ Văn Nam", f"Tổ {n % 2 + 1}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def attachment(content: bytes, name: str = "lich.xlsx") -> Attachment:
    async def fetch() -> bytes:
        return content

    return Attachment(name, None, len(content), fetch)


def steps(verb: str, rows: int) -> list[str]:
    total = f"{rows:,}".replace(",", ".")
    return [
        f"{verb} lich.xlsx: {f'{done:,}'.replace(',', '.')}/{total} dòng ({done * 100 // rows}%)…"
        for done in range(1000, rows + 1, 1000)
    ]


async def shifts(app: App) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(DutyShift)) or 0


async def test_the_console_prints_a_line_per_1000_rows_checked_then_written(demo_app: App) -> None:
    out = io.StringIO()
    admin = ConsoleChat(demo_app.dispatcher, "admin", out=out, clock=fixed_clock(NOW, demo_app.settings))
    await admin.setup()
    before = await shifts(demo_app)
    incoming = replace(admin.incoming("/nhap lịch trực Kim Bảng"), attachment=attachment(roster(ROWS)))
    out.truncate(0)
    (preview,) = await demo_app.dispatcher.handle(incoming, CHANNEL, progress=admin.show_progress)
    assert "Sẽ nhập: 9000 ca trực của Kim Bảng" in preview.text
    assert out.getvalue().splitlines() == steps("Đang kiểm tra", ROWS)
    assert await shifts(demo_app) == before  # the check wrote nothing
    out.truncate(0)
    out.seek(0)
    (done,) = await admin.say("1")
    assert "Đã nhập 9000 ca trực của Kim Bảng" in done.text
    assert out.getvalue().splitlines() == steps("Đang ghi", ROWS)
    assert await shifts(demo_app) == before + 3 * ROWS
    # The same through `qtbot chat`'s reading loop: progress lines come before the answer.
    small = io.StringIO()
    admin.out = small
    await admin.run(io.StringIO("/truc 28/6/2022\n"), echo=False)
    assert "Đang" not in small.getvalue()  # a question has no progress


async def test_a_small_file_reports_no_progress(demo_app: App) -> None:
    out = io.StringIO()
    admin = ConsoleChat(demo_app.dispatcher, "admin", out=out, clock=fixed_clock(NOW, demo_app.settings))
    await admin.setup()
    incoming = replace(admin.incoming("/nhap lịch trực Kim Bảng"), attachment=attachment(roster(999)))
    (preview,) = await demo_app.dispatcher.handle(incoming, CHANNEL, progress=admin.show_progress)
    assert "Sẽ nhập: 2997 ca trực" in preview.text and out.getvalue() == ""


async def test_the_use_case_counts_rows_whatever_the_channel(demo_app: App) -> None:
    """on_progress(done, total) every 1,000 rows and at the end, for the check and for the write."""
    from bot.imports import read_table
    from bot.services.members import Viewer

    seen: list[tuple[int, int]] = []

    async def on_progress(done: int, total: int) -> None:
        seen.append((done, total))

    table = read_table("lich.xlsx", roster(2500))
    async with demo_app.sessions() as session, session.begin():
        directory = await demo_app.dispatcher.reference.directory(session)
        unit = directory.resolve("Kim Bảng")
        assert unit is not None
        now = fixed_clock(NOW, demo_app.settings)()
        for write in (False, True):
            done = await imports.import_duty_roster(
                session,
                Viewer(role="admin", channel="console", sender_id="admin", sender_name="Quản trị"),
                table,
                directory=directory,
                default_unit_id=unit.unit.id,
                replace=False,
                filename="lich.xlsx",
                handover=demo_app.settings.duty_handover,
                now=now,
                tz=demo_app.settings.tz,
                write=write,
                on_progress=on_progress,
            )
            assert done.created == 7500
    assert seen == [(1000, 2500), (2000, 2500), (2500, 2500)] * 2


async def test_telegram_edits_one_progress_message(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_telegram_ids=[TG_ADMIN]))
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake)
        async with telegram_bot(app.dispatcher, settings, fake, clock=fixed_clock(NOW, settings)) as channel:
            tg = Harness(app, fake, channel)
            fake.user_sends_document(
                "lich.xlsx",
                roster(ROWS),
                mime_type="application/zip",
                user_id=TG_ADMIN,
                caption="/nhap lịch trực Kim Bảng",
            )
            preview = None
            for _ in range(1500):  # the check of 3,000 rows, on a busy machine
                preview = next((m for m in fake.messages(TG_ADMIN) if m.buttons), None)
                if preview is not None:
                    break
                await asyncio.sleep(0.02)
            assert preview is not None and "Sẽ nhập: 9000 ca trực" in preview.text
            # Before the preview: one message, sent with the first step and edited with each next one.
            checking, _ = fake.messages(TG_ADMIN)[-2:]
            assert checking.text == steps("Đang kiểm tra", ROWS)[-1] and checking.edit_count == 2
            edits = [c.params["text"] for c in fake.calls_of("editMessageText")]
            assert edits == steps("Đang kiểm tra", ROWS)[1:]
            confirm = next(b["callback_data"] for b in preview.buttons if b["text"] == "Nhập")
            await press_and_wait(fake, TG_ADMIN, preview.message_id, confirm, TG_ADMIN)
            for _ in range(1500):
                if "Đã nhập" in (fake.get_message(TG_ADMIN, preview.message_id) or {}).get("text", ""):
                    break
                await asyncio.sleep(0.02)
            assert "Đã nhập 9000 ca trực" in fake.get_message(TG_ADMIN, preview.message_id)["text"]
            writing = fake.messages(TG_ADMIN)[-1]
            assert writing.text == steps("Đang ghi", ROWS)[-1] and writing.edit_count == 2
            edits = [c.params["text"] for c in fake.calls_of("editMessageText")]
            # Then the preview itself is edited into the answer ("Đã nhập ...").
            assert edits[-3:-1] == steps("Đang ghi", ROWS)[1:] and edits[-1].startswith("Đã nhập")
            assert len(tg.fake.messages(TG_ADMIN)) == 3  # the checking line, the preview, the writing line
    await app.close()


async def test_zalo_sends_a_line_per_1000_rows(demo_db_url: str) -> None:
    """Zalo takes no uploads from users yet; the channel's own answering path is given one, as a
    webhook or a poll would, so the progress goes out through the fake Zalo API."""
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ZALO_ADMIN]))
    async with FakeZalo() as fake, zalo_bot(app, fake) as channel:
        await ZaloHarness(app, fake, channel).say("/trogiup", chat=ZALO_ADMIN)  # Zalo: the user speaks first
        first = len(fake.messages(ZALO_ADMIN))
        clock = fixed_clock(NOW, app.settings)
        incoming = Incoming(
            channel="zalo",
            chat_id=ZALO_ADMIN,
            chat_type="private",
            sender_id=ZALO_ADMIN,
            sender_name="Quản trị",
            received_at=clock(),
            text="/nhap lịch trực Kim Bảng",
            attachment=attachment(roster(ROWS)),
        )
        await channel._answer(incoming, None)
        texts = [m.text for m in fake.messages(ZALO_ADMIN)][first:]
        assert texts[:3] == steps("Đang kiểm tra", ROWS)
        assert "Sẽ nhập: 9000 ca trực" in texts[3] and "Nhập" in texts[3]
        await channel._answer(replace(incoming, text="1", attachment=None), None)
        texts = [m.text for m in fake.messages(ZALO_ADMIN)][first:]
        assert texts[4:7] == steps("Đang ghi", ROWS) and "Đã nhập 9000 ca trực" in texts[7]
    await app.close()
