"""Roster gaps and reinforced duty periods, through the fake Telegram and the console.

Kim Bảng's demo roster covers 20–26/06/2022 only, so from Wednesday 22/06 the next 7 days have two
days with nobody on duty (27 and 28/06): the unit's morning digest lists them and its admin is told,
once per gap day."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.console import ConsoleChat
from bot.models import AuditEntry, ReadinessPeriod
from tests.chatting import ask, button, console
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.harness import fake_settings, telegram_bot
from tests.test_acks import Telegram, join
from tests.test_reminders import Clock

ADMIN, OFFICER, OTHER = 901, 902, 903
GAP = "Lịch trực còn trống"


@pytest.fixture
async def tg(demo_db_url: str) -> AsyncIterator[Telegram]:
    app = App(make_settings(demo_db_url))
    clock = Clock("2022-06-22 06:00")
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake, telegram_rate_per_second=1000.0)
        async with telegram_bot(app.dispatcher, settings, fake, clock=clock) as channel:
            for user, role, unit in (
                (ADMIN, "admin", "U-KB"),
                (OFFICER, "officer", "U-KB"),
                (OTHER, "officer", "U-BL"),
            ):
                await join(app, "telegram", str(user), None, clock(), role=role, unit=unit)
                fake.add_chat(user, first_name="X")
            yield Telegram(app, fake, channel, clock)
    await app.close()


async def test_a_gap_day_shows_in_the_digest_and_tells_the_admin_once(tg: Telegram) -> None:
    await tg.tick("2022-06-22 06:30")
    digest = next(t for t in tg.texts(OFFICER) if t.startswith("Bản tin sáng Thứ Tư 22/06/2022"))
    assert "Lịch trực còn trống (7 ngày tới)\n• Thứ Hai 27/06: chưa có trực chỉ huy, trực ban, trực chiến\n" in digest
    assert "• Thứ Ba 28/06: chưa có trực chỉ huy, trực ban, trực chiến" in digest
    assert "Thứ Chủ nhật" not in digest and "26/06: chưa có" not in digest
    notices = [t for t in tg.texts(ADMIN) if t.startswith(GAP)]
    assert notices == [
        f"{GAP}: Ban CHQS huyện Kim Bảng Thứ Hai 27/06/2022 chưa có trực chỉ huy, trực ban, trực chiến.\n"
        "Thêm lịch trực: /themtruc",
        f"{GAP}: Ban CHQS huyện Kim Bảng Thứ Ba 28/06/2022 chưa có trực chỉ huy, trực ban, trực chiến.\n"
        "Thêm lịch trực: /themtruc",
    ]
    assert not any(t.startswith(GAP) for t in tg.texts(OFFICER))  # admins only
    assert not any(GAP in t for t in tg.texts(OTHER))  # Bình Lục keeps no roster in the demo
    # The next morning one more day comes into view: only that one is new.
    await tg.tick("2022-06-23 06:30")
    later = [t for t in tg.texts(ADMIN) if t.startswith(GAP)]
    assert len(later) == 3 and "Thứ Tư 29/06/2022" in later[-1]


async def test_a_filled_gap_is_no_longer_listed(tg: Telegram) -> None:
    assert "Đã thêm" in await tg.say(ADMIN, "/themtruc Kim Bảng | 27/6/2022 | trực ban | Vũ Thành Long")
    await tg.tick("2022-06-22 06:30")
    digest = next(t for t in tg.texts(OFFICER) if t.startswith("Bản tin sáng"))
    assert "• Thứ Hai 27/06: chưa có trực chỉ huy, trực chiến\n" in digest


async def test_a_reinforced_period_added_in_one_line_is_reminded_at_its_start(tg: Telegram) -> None:
    tg.clock.set("2022-06-22 10:00")
    answer = await tg.say(ADMIN, "/themtangcuong 27/6-30/6/2022 | Kim Bảng | Bảo vệ sự kiện chính trị")
    assert answer.startswith("Đã thêm đợt tăng cường trực Bảo vệ sự kiện chính trị: 27–30/06/2022, Kim Bảng.")
    async with tg.app.sessions() as session:
        period = await session.scalar(select(ReadinessPeriod).where(ReadinessPeriod.name == "Bảo vệ sự kiện chính trị"))
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "readiness.add"))
    assert period is not None and entry is not None and entry.entity_id == period.id
    log = await tg.say(ADMIN, "/nhatky")
    assert "thêm đợt tăng cường trực “Bảo vệ sự kiện chính trị” 27/06/2022–30/06/2022 (Kim Bảng)" in log
    await tg.tick("2022-06-27 06:30")
    digest = next(t for t in tg.texts(OFFICER) if t.startswith("Bản tin sáng Thứ Hai 27/06/2022"))
    assert "Đang trong đợt tăng cường trực Bảo vệ sự kiện chính trị: 27–30/06/2022." in digest
    assert not any("Bắt đầu đợt tăng cường trực" in t for t in tg.texts(OFFICER))
    await tg.tick("2022-06-27 07:00")
    (start,) = [t for t in tg.texts(OFFICER) if t.startswith("Bắt đầu đợt tăng cường trực")]
    assert start.startswith("Bắt đầu đợt tăng cường trực: Bảo vệ sự kiện chính trị, 27–30/06/2022.\nĐơn vị: Kim Bảng.")
    await tg.tick("2022-06-27 07:05")
    assert sum(t.startswith("Bắt đầu đợt tăng cường trực") for t in tg.texts(OFFICER)) == 1
    assert not any("tăng cường" in t for t in tg.texts(OTHER))  # Bình Lục is not in it


async def test_only_admins_add_reinforced_periods_and_bad_dates_are_refused(tg: Telegram) -> None:
    tg.clock.set("2022-06-22 10:00")
    assert "chỉ dành cho cán bộ quản trị" in await tg.say(OFFICER, "/themtangcuong 27/6-30/6/2022 | cả cụm | Thử")
    assert "đã qua" in await tg.say(ADMIN, "/themtangcuong 1/6-3/6/2022 | cả cụm | Thử")
    assert "tối đa 62 ngày" in await tg.say(ADMIN, "/themtangcuong 1/7-30/9/2022 | cả cụm | Thử")
    assert "Không tìm thấy đơn vị" in await tg.say(ADMIN, "/themtangcuong 27/6-30/6/2022 | Hà Nội | Thử")
    async with tg.app.sessions() as session:
        assert await session.scalar(select(ReadinessPeriod).where(ReadinessPeriod.name == "Thử")) is None


async def test_a_reinforced_period_added_step_by_step_in_the_console(demo_app: App) -> None:
    clock = Clock("2022-06-22 10:00")
    chat = ConsoleChat(demo_app.dispatcher, "admin", clock=clock)
    await chat.setup()
    assert "Từ ngày nào đến ngày nào?" in await ask(chat, "/themtangcuong")
    assert "Đơn vị: cả cụm hay những đơn vị nào?" in await ask(chat, "31/8-5/9/2022")
    prompt = await ask(chat, "Kim Bảng, Thanh Liêm")
    assert "Tên đợt, ghi chú?" in prompt
    summary = await ask(chat, "Quốc khánh 2/9")
    assert "Thời gian: 31/08–05/09/2022\nĐơn vị: Kim Bảng, Thanh Liêm\nGhi chú: Quốc khánh 2/9" in summary
    saved = await ask(chat, button(summary, "Lưu"))
    assert saved.startswith("Đã thêm đợt tăng cường trực Quốc khánh 2/9: 31/08–05/09/2022, Kim Bảng, Thanh Liêm.")


async def test_duty_load_of_a_month_per_person(demo_app: App) -> None:
    chat = await console(demo_app)
    table = await ask(chat, "/thongke trực 6/2022")
    assert table.startswith("Thống kê trực SSCĐ — Ban CHQS huyện Kim Bảng, tháng 6/2022\nNgười trực: số ca, số giờ\n")
    assert "• Tổ 1: 4 ca, 96 giờ\n• Tổ 2: 3 ca, 72 giờ\n• Thiếu tá Vũ Thành Long: 2 ca, 48 giờ" in table
    assert "• Trung tá Phạm Minh Dũng: 1 ca, 24 giờ" in table
    assert "\nTổng: 21 ca, 504 giờ.\n(tệp đính kèm: thong-ke-truc-kim-bang-06-2022.png," in table
    # Beside the text, the duty load as a bar chart: hours per person, most first.
    (reply,) = await chat.say("/thongke trực tháng 6")
    assert reply.photo is not None and reply.photo.content.startswith(b"\x89PNG")
    assert reply.photo.caption == "Số giờ trực mỗi người — Kim Bảng, tháng 6/2022 (số liệu minh họa)"
    empty = await ask(chat, "/thongke trực 7/2022")
    assert "Chưa có ca trực nào trong tháng này, nên chưa có biểu đồ." in empty and "tệp" not in empty
    assert "không hợp lệ" in await ask(chat, "/thongke trực 13/2022")
    # A shift added to a month counts at once.
    admin = await console(demo_app, "admin")
    assert "Đã thêm" in await ask(admin, "/themtruc Kim Bảng | 27/6/2022 | trực ban | Vũ Thành Long")
    assert "• Thiếu tá Vũ Thành Long: 3 ca, 72 giờ" in await ask(chat, "/thongke trực 6/2022")


async def test_duty_load_over_telegram(tg: Telegram) -> None:
    tg.clock.set("2022-06-22 10:00")
    table, photo = await _text_and_photo(tg, OFFICER, "/stats trực 6/2022")
    assert (table, photo) == await _text_and_photo(tg, OFFICER, "/thongke trực tháng 6/2022")
    assert table.startswith("Thống kê trực SSCĐ — Ban CHQS huyện Kim Bảng") and "Tổng: 21 ca, 504 giờ." in table
    assert photo.startswith(b"\x89PNG")  # sendPhoto, after the text
    picker, _ = await _text_and_photo(tg, ADMIN, "/thongke trực 6/2022")  # an admin of Kim Bảng: his unit
    assert "Tổng: 21 ca, 504 giờ." in picker


async def _text_and_photo(tg: Telegram, chat: int, text: str) -> tuple[str, bytes]:
    """Type ``text``; the bot's text answer and the picture sent after it."""
    before = len(tg.fake.messages(chat))
    tg.fake.user_sends(text, user_id=chat)
    deadline = asyncio.get_running_loop().time() + 10
    while not any(m.photo_bytes for m in tg.fake.messages(chat)[before:]):
        assert asyncio.get_running_loop().time() < deadline, "no picture"
        await asyncio.sleep(0.02)
    new = tg.fake.messages(chat)[before:]
    assert len(new) == 2 and new[1].photo_bytes is not None
    return new[0].text, new[1].photo_bytes
