"""Duty acknowledgement, escalation and snooze, through the fake Telegram, the fake Zalo and the console.

Kim Bảng's roster (DOMAIN.md 6.4): Trung tá Phạm Minh Dũng is trực chỉ huy on Thứ Năm 23/06/2022,
07h30 → 07h30. He is reminded on 22/06 at 16h00 and at 06h30 on the day; with the default
QTBOT_DUTY_ACK_MINUTES=60, nobody's "Đã nhận" by 06h30 tells the commander (Thượng tá Nguyễn Văn An)
and the unit's group."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import func, select, update

from bot.app import App
from bot.channels.console import ConsoleChat, ConsolePushes, render
from bot.channels.telegram import TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.models import ChatLink, DutyAck, Member, OutboxMessage, Unit
from bot.services.members import create_invite, join_with_invite
from bot.services.subscriptions import subscribe
from tests.conftest import local, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.harness import fake_settings, telegram_bot
from tests.fakes.zalo import FakeZalo
from tests.test_reminders import Clock
from tests.test_telegram import press_and_wait
from tests.test_zalo import zalo_settings

DUNG, AN, GROUP = 555, 777, -100777
ESCALATED = "Chưa nhận ca trực"
LATE = "Đã nhận ca trực (muộn)"


async def join(
    app: App,
    channel: str,
    chat_id: str,
    person_key: str | None,
    now: datetime,
    *,
    role: str = "officer",
    unit: str = "U-KB",
) -> None:
    async with app.sessions() as session, session.begin():
        where = await session.scalar(select(Unit).where(Unit.key == unit))
        person = await session.scalar(select(Member).where(Member.key == person_key)) if person_key else None
        invite = await create_invite(session, unit=where, role=role, created_by=None, now=now, person=person)
        await join_with_invite(session, code=invite.code, channel=channel, chat_id=chat_id, sender_name="X", now=now)


async def link_group(app: App, channel: str, chat_id: str) -> None:
    async with app.sessions() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.key == "U-KB"))
        group = ChatLink(channel=channel, chat_id=chat_id, chat_type="group", unit_id=unit.id, title="KB")
        session.add(group)
        await session.flush()
        await subscribe(session, group, ["duty"])


@dataclass
class Telegram:
    app: App
    fake: FakeTelegram
    channel: TelegramChannel
    clock: Clock

    async def tick(self, at: str, app: App | None = None) -> None:
        self.clock.set(at)
        await (app or self.app).jobs({"telegram": self.channel}, clock=self.clock).tick()

    def texts(self, chat: int) -> list[str]:
        return [m.text for m in self.fake.messages(chat)]

    def count(self, chat: int, head: str) -> int:
        return sum(1 for t in self.texts(chat) if t.startswith(head))

    async def say(self, chat: int, text: str) -> str:
        """Type ``text`` in a private chat; the bot's answer."""
        before = len(self.fake.messages(chat))
        self.fake.user_sends(text, user_id=chat)
        deadline = asyncio.get_running_loop().time() + 10
        while len(self.fake.messages(chat)) == before:
            assert asyncio.get_running_loop().time() < deadline, "the bot did not answer"
            await asyncio.sleep(0.02)
        return self.fake.messages(chat)[-1].text

    async def press(self, chat: int, head: str, label: str, at: str) -> str:
        """Press ``label`` under the last message starting with ``head``; the bot's answer."""
        self.clock.set(at)
        message = [m for m in self.fake.messages(chat) if m.text.startswith(head)][-1]
        data = next(b["callback_data"] for b in message.buttons if b["text"] == label)
        await press_and_wait(self.fake, chat, message.message_id, data, chat)
        assert self.fake.get_message(chat, message.message_id)["text"] == message.text  # the reminder stays
        return self.fake.messages(chat)[-1].text


@pytest.fixture
async def tg(demo_db_url: str) -> AsyncIterator[Telegram]:
    app = App(make_settings(demo_db_url))
    clock = Clock("2022-06-22 08:00")
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake, telegram_rate_per_second=1000.0)
        async with telegram_bot(app.dispatcher, settings, fake, clock=clock) as channel:
            world = Telegram(app, fake, channel, clock)
            for user, key in ((DUNG, "P-KB-DUNG"), (AN, "P-KB-AN")):
                await join(app, "telegram", str(user), key, clock())
                fake.add_chat(user, first_name="X")
            await link_group(app, "telegram", str(GROUP))
            fake.add_chat(GROUP, chat_type="supergroup", title="KB")
            yield world
    await app.close()


async def test_acknowledged_in_time_nobody_is_told(tg: Telegram) -> None:
    await tg.tick("2022-06-22 16:00")
    reminder = next(m for m in tg.fake.messages(DUNG) if m.text.startswith("Nhắc trực (ngày mai)"))
    assert [b["text"] for b in reminder.buttons] == ["Đã nhận", "Nhắc lại sau 1 giờ"]
    answer = await tg.press(DUNG, "Nhắc trực (ngày mai)", "Đã nhận", "2022-06-22 16:05")
    assert answer.startswith("Đã ghi nhận: đồng chí nhận ca trực chỉ huy Ban CHQS huyện Kim Bảng Thứ Năm 23/06/2022")
    assert "lúc 16h05 22/06" in answer
    async with tg.app.sessions() as session:
        acked_at = await session.scalar(select(DutyAck.acked_at))
    assert acked_at == local("2022-06-22 16:05")
    # /truc shows the commander who acknowledged; the officers do not see it.
    commander = await tg.say(AN, "/truc 23/6")
    assert "Trực chỉ huy: Trung tá Phạm Minh Dũng (Phó CHT) — ✓ đã nhận 16h05 22/06" in commander
    assert "Trực ban: Đại úy Đinh Văn Quang (trợ lý) — chưa nhận" in commander
    assert "Trực chiến: Tổ 2\n" in commander  # a team has nobody to acknowledge
    week = await tg.say(AN, "/truc tuần này")
    assert "✓ đã nhận 16h05 22/06" in week and "Nguyễn Văn An (CHT) — chưa nhận" in week  # 26/06, to come
    monday = next(line for line in week.splitlines() if "Thứ Hai 20/06" in line)
    assert "nhận" not in monday  # past days are not marked
    officer = await tg.say(DUNG, "/truc 23/6")
    assert "Trung tá Phạm Minh Dũng (Phó CHT)" in officer and "đã nhận" not in officer
    for at in ("2022-06-23 06:30", "2022-06-23 07:00"):
        await tg.tick(at)
    assert tg.count(AN, ESCALATED) == 0 and tg.count(GROUP, ESCALATED) == 0
    assert any(t.startswith("Nhắc trực (còn 1 giờ)") for t in tg.texts(DUNG))


async def test_late_acknowledgement_escalates_then_follows_up(tg: Telegram) -> None:
    await tg.tick("2022-06-22 16:00")
    await tg.tick("2022-06-23 06:29")
    assert tg.count(AN, ESCALATED) == 0
    await tg.tick("2022-06-23 06:30")
    for chat in (AN, GROUP):
        (text,) = [t for t in tg.texts(chat) if t.startswith(ESCALATED)]
        assert "Trung tá Phạm Minh Dũng (Phó CHT) chưa xác nhận" in text
        assert "trực chỉ huy Ban CHQS huyện Kim Bảng Thứ Năm 23/06/2022 (nhận ca 07h30 23/06)" in text
    assert tg.count(DUNG, ESCALATED) == 0  # not the person themselves
    answer = await tg.press(DUNG, "Nhắc trực (còn 1 giờ)", "Đã nhận", "2022-06-23 06:45")
    assert "Chỉ huy đơn vị và nhóm của đơn vị đã được báo" in answer
    await tg.tick("2022-06-23 06:46")
    for chat in (AN, GROUP):
        (text,) = [t for t in tg.texts(chat) if t.startswith(LATE)]
        assert "Trung tá Phạm Minh Dũng (Phó CHT) đã xác nhận lúc 06h45 23/06" in text
    # Pressing again changes nothing.
    again = await tg.press(DUNG, "Nhắc trực (ngày mai)", "Đã nhận", "2022-06-23 06:50")
    assert "đã xác nhận ca" in again and "lúc 06h45 23/06" in again
    await tg.tick("2022-06-23 06:51")
    assert tg.count(AN, LATE) == 1


async def test_never_acknowledged_escalates_once(tg: Telegram) -> None:
    await tg.tick("2022-06-22 16:00")
    for at in ("2022-06-23 06:30", "2022-06-23 06:31", "2022-06-23 07:00", "2022-06-23 07:29", "2022-06-23 08:00"):
        await tg.tick(at)
    assert tg.count(AN, ESCALATED) == 1 and tg.count(GROUP, ESCALATED) == 1
    assert tg.count(AN, LATE) == 0


async def test_someone_else_cannot_acknowledge(tg: Telegram) -> None:
    await tg.tick("2022-06-22 16:00")
    reminder = next(m for m in tg.fake.messages(DUNG) if m.text.startswith("Nhắc trực (ngày mai)"))
    data = next(b["callback_data"] for b in reminder.buttons if b["text"] == "Đã nhận")
    assert "không phải của đồng chí" in await tg.say(AN, data)
    async with tg.app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DutyAck)) == 0


async def test_snooze_comes_back_an_hour_later_once(tg: Telegram) -> None:
    await tg.tick("2022-06-22 16:00")
    answer = await tg.press(DUNG, "Nhắc trực (ngày mai)", "Nhắc lại sau 1 giờ", "2022-06-22 16:02")
    assert answer == "Sẽ nhắc lại lúc 17h02 22/06."
    await tg.tick("2022-06-22 17:01")
    assert tg.count(DUNG, "Nhắc trực") == 1
    await tg.tick("2022-06-22 17:02")
    assert tg.count(DUNG, "Nhắc trực") == 2
    again = [m for m in tg.fake.messages(DUNG) if m.text.startswith("Nhắc trực")][-1]
    assert [b["text"] for b in again.buttons] == ["Đã nhận"]  # the copy cannot be snoozed again
    tg.clock.set("2022-06-22 17:05")
    async with tg.app.sessions() as session:
        original = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.kind == "duty", OutboxMessage.chat_id == str(DUNG))
        )
    assert "đã hẹn nhắc lại lúc 17h02 22/06" in await tg.say(DUNG, f"/nhaclai {original}")
    await tg.tick("2022-06-22 19:00")
    assert tg.count(DUNG, "Nhắc trực") == 2


async def test_two_ticks_at_once_send_one_escalation(tg: Telegram) -> None:
    """Two replicas (two apps, two engines) run the planner at the same moment."""
    await tg.tick("2022-06-22 16:00")
    other = App(tg.app.settings)
    try:
        tg.clock.set("2022-06-23 06:30")
        await asyncio.gather(*(app.jobs({"telegram": tg.channel}, clock=tg.clock).plan() for app in (tg.app, other)))
        await asyncio.gather(*(app.jobs({"telegram": tg.channel}, clock=tg.clock).tick() for app in (tg.app, other)))
    finally:
        await other.close()
    assert tg.count(AN, ESCALATED) == 1 and tg.count(GROUP, ESCALATED) == 1
    async with tg.app.sessions() as session:
        rows = await session.scalar(select(func.count()).where(OutboxMessage.kind == "escalation"))
    assert rows == 2


async def test_acknowledge_and_snooze_in_the_console(demo_app: App) -> None:
    clock = Clock("2022-06-22 16:00")
    chat = ConsoleChat(demo_app.dispatcher, "officer:Kim Bảng", clock=clock)
    await chat.setup()
    async with demo_app.sessions() as session, session.begin():
        dung = await session.scalar(select(Member.id).where(Member.key == "P-KB-DUNG"))
        # The console user speaks as Dũng (a member of Kim Bảng, as joining with his invite makes him).
        await session.execute(update(ChatLink).where(ChatLink.chat_id == chat.chat_id).values(member_id=dung))
        await session.execute(update(Member).where(Member.id == dung).values(role="officer"))
    await join(demo_app, "console", "an", "P-KB-AN", clock())
    out = io.StringIO()
    pushes = ConsolePushes(out, clock=clock, tz=demo_app.settings.tz, dispatcher=demo_app.dispatcher)

    async def tick(at: str) -> str:
        clock.set(at)
        start = len(out.getvalue())
        await demo_app.jobs({"console": pushes}, clock=clock).tick()
        return out.getvalue()[start:]

    printed = await tick("2022-06-22 16:00")
    assert "Nhắc trực (ngày mai)" in printed and "[1] Đã nhận  [2] Nhắc lại sau 1 giờ" in printed
    clock.set("2022-06-22 16:10")
    assert "\n".join(render(r) for r in await chat.say("2")) == "Sẽ nhắc lại lúc 17h10 22/06."
    printed = await tick("2022-06-22 17:10")
    assert "Nhắc trực (ngày mai)" in printed and "[1] Đã nhận" in printed and "Nhắc lại sau" not in printed
    clock.set("2022-06-22 17:12")
    answer = "\n".join(render(r) for r in await chat.say("1"))
    assert answer.startswith("Đã ghi nhận: đồng chí nhận ca trực chỉ huy Ban CHQS huyện Kim Bảng")
    assert ESCALATED not in await tick("2022-06-23 06:30")
    admin = ConsoleChat(demo_app.dispatcher, "admin", clock=clock)
    await admin.setup()
    day = "\n".join(render(r) for r in await admin.say("/truc Kim Bảng 23/6/2022"))
    assert "Trực chỉ huy: Trung tá Phạm Minh Dũng (Phó CHT) [T" in day and "] — ✓ đã nhận 17h12 22/06" in day


async def test_acknowledge_with_a_number_on_zalo(demo_db_url: str) -> None:
    """Zalo has no buttons: the reminder ends with numbered options, and "1" typed back acknowledges."""
    app = App(make_settings(demo_db_url))
    clock = Clock("2022-06-22 15:00")
    async with FakeZalo() as fake:
        settings = zalo_settings(app.settings, fake, zalo_poll_timeout=1)
        app.dispatcher.settings = settings
        channel = ZaloChannel(app.dispatcher, settings, transport=fake.transport(), clock=clock, min_poll_interval=0.01)
        await channel.start()
        try:
            for chat, person in (("dung", "P-KB-DUNG"), ("an", "P-KB-AN")):
                await join(app, "zalo", chat, person, clock())
                fake.add_chat(chat)
            clock.set("2022-06-22 16:00")
            await app.jobs({"zalo": channel}, clock=clock).tick()
            # The duty reminder went out last (the planner writes it after the conference's), so its
            # options are what the numbers mean now.
            assert fake.messages("dung")[-1].text.startswith("Nhắc trực (ngày mai)")
            assert "1. Đã nhận\n2. Nhắc lại sau 1 giờ" in fake.messages("dung")[-1].text
            clock.set("2022-06-22 16:20")
            sent = len(fake.messages("dung"))
            fake.user_says("1", chat_id="dung")
            deadline = asyncio.get_running_loop().time() + 10
            while len(fake.messages("dung")) == sent:  # the fake's own records: nothing to await on
                assert asyncio.get_running_loop().time() < deadline, "the bot did not answer"
                await asyncio.sleep(0.02)
            answer = fake.messages("dung")[-1].text
            assert answer.startswith("Đã ghi nhận: đồng chí nhận ca trực chỉ huy") and "16h20 22/06" in answer
            clock.set("2022-06-23 06:30")
            await app.jobs({"zalo": channel}, clock=clock).tick()
            assert not any(m.text.startswith(ESCALATED) for m in fake.messages("an"))
        finally:
            await channel.stop()
    await app.close()
