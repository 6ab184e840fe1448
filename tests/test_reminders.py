"""Reminders and digests end to end: planner, outbox and delivery through python-telegram-bot against
the fake Bot API, with time driven by the tests (no sleeping, except where Telegram's own flood wait
is what is being tested)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.telegram import BotApiRequest, TelegramChannel
from bot.delivery import OutboxDelivery
from bot.models import ChatLink, Event, JobRun, Member, OutboxMessage, Unit
from bot.services import announcements, schedule
from bot.services.members import create_invite, join_with_invite
from bot.services.news import post_item
from bot.services.subscriptions import load_audience, subscribe, unsubscribe
from jobs.scheduler import Jobs
from tests.conftest import local, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.harness import fake_settings

OFFICER, DUNG, GROUP = 111, 555, -100777


class Clock:
    def __init__(self, start: str) -> None:
        self.now = local(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, text: str) -> None:
        self.now = local(text)


@dataclass
class World:
    app: App
    fake: FakeTelegram
    channel: TelegramChannel
    clock: Clock

    def jobs(self) -> Jobs:
        return self.app.jobs({"telegram": self.channel}, clock=self.clock)

    async def tick(self, at: str) -> list[str]:
        """Run planner, digests and delivery at ``at``; return the texts sent, in order."""
        self.clock.set(at)
        before = len(self.fake.sent)
        await self.jobs().tick()
        return [m.text for m in self.fake.sent[before:]]

    def texts(self, chat: int) -> list[str]:
        return [m.text for m in self.fake.messages(chat)]

    async def join(self, user: int, unit_key: str, person_key: str | None = None) -> None:
        async with self.app.sessions() as session, session.begin():
            unit = await session.scalar(select(Unit).where(Unit.key == unit_key))
            person = await session.scalar(select(Member).where(Member.key == person_key)) if person_key else None
            invite = await create_invite(session, unit=unit, created_by=None, now=self.clock(), person=person)
            await join_with_invite(
                session, code=invite.code, channel="telegram", chat_id=str(user), sender_name="X", now=self.clock()
            )
        self.fake.add_chat(user, first_name="X")

    async def link_group(self, chat: int, chat_type: str) -> None:
        """A Telegram group "KB" linked to Kim Bảng, getting the duty rosters."""
        async with self.app.sessions() as session, session.begin():
            unit = await session.scalar(select(Unit).where(Unit.key == "U-KB"))
            group = ChatLink(channel="telegram", chat_id=str(chat), chat_type="group", unit_id=unit.id, title="KB")
            session.add(group)
            await session.flush()
            await subscribe(session, group, ["duty"])
        self.fake.add_chat(chat, chat_type=chat_type, title="KB")


@pytest.fixture
async def world(demo_db_url: str) -> AsyncIterator[World]:
    app = App(make_settings(demo_db_url))
    clock = Clock("2022-06-20 08:00")
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake, telegram_rate_per_second=1000.0)
        channel = TelegramChannel(
            app.dispatcher, settings, request=BotApiRequest(httpx_kwargs={"transport": fake.transport()}), clock=clock
        )
        await channel.open()
        yield World(app, fake, channel, clock)
        await channel.stop()
    await app.close()


async def test_a_reminder_reaches_the_right_chat_with_the_right_text(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    await world.join(DUNG, "U-KB", person_key="P-KB-DUNG")
    await world.tick("2022-06-22 15:59")
    assert world.texts(OFFICER) == [] and world.texts(DUNG) == []
    await world.tick("2022-06-22 16:00")
    officer = "\n".join(world.texts(OFFICER))
    assert "Nhắc lịch (ngày mai): Hội nghị Sơ kết phong trào Thi đua Quyết thắng 6 tháng đầu năm 2022" in officer
    assert "Thời gian: chiều Thứ Năm 23/06/2022 (14h00)." in officer
    assert "Địa điểm: Ban CHQS huyện Kim Bảng." in officer
    dung = world.texts(DUNG)
    duty = next(t for t in dung if t.startswith("Nhắc trực"))
    assert duty == (
        "Nhắc trực (ngày mai): đồng chí trực chỉ huy Ban CHQS huyện Kim Bảng Thứ Năm 23/06/2022.\n"
        "Nhận ca 07h30 23/06, giao ca 07h30 24/06.\nGhi chú: CHT/CTV dự hội nghị cụm 14h00"
    )
    # One hour before the handover.
    await world.tick("2022-06-23 06:30")
    assert any(t.startswith("Nhắc trực (còn 1 giờ)") for t in world.texts(DUNG))
    assert not any("Nhắc trực" in t for t in world.texts(OFFICER))  # only the person on duty


async def test_a_linked_group_gets_the_whole_roster_once(world: World) -> None:
    await world.link_group(GROUP, "supergroup")
    await world.tick("2022-06-22 16:00")
    texts = world.texts(GROUP)
    assert len(texts) == 1
    assert texts[0].startswith("Nhắc trực (ngày mai): Ban CHQS huyện Kim Bảng Thứ Năm 23/06/2022")
    assert "• Trực chỉ huy: Trung tá Phạm Minh Dũng (Phó CHT)" in texts[0]
    assert "• Trực chiến: Tổ 2" in texts[0]


async def test_running_everything_twice_sends_nothing_twice(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    first = await world.tick("2022-06-22 06:30")
    assert any(t.startswith("Bản tin sáng Thứ Tư 22/06/2022") for t in first)
    assert await world.tick("2022-06-22 06:30") == []
    assert await world.tick("2022-06-22 06:31") == []
    # Two replicas at once: planner and digests on both, deliveries racing.
    world.clock.set("2022-06-22 16:00")
    await asyncio.gather(world.jobs().plan(), world.jobs().plan(), world.jobs().digests())
    before = len(world.fake.sent)
    await asyncio.gather(world.jobs().delivery.deliver_due(), world.jobs().delivery.deliver_due())
    sent = [m.text for m in world.fake.sent[before:]]
    assert len(sent) == len(set(sent)) == 1 and sent[0].startswith("Nhắc lịch (ngày mai)")
    async with world.app.sessions() as session:
        runs = await session.scalar(select(func.count()).select_from(JobRun).where(JobRun.job == "digest_daily"))
    assert runs == 1


async def test_digest_contents_and_empty_digests(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    await world.join(222, "U-LN")
    texts = await world.tick("2022-06-23 06:30")
    kb = "\n".join(world.texts(OFFICER))
    assert "Bản tin sáng Thứ Năm 23/06/2022 — Ban CHQS huyện Kim Bảng" in kb
    assert "• Hôm nay: trực chỉ huy Trung tá Phạm Minh Dũng (Phó CHT)" in kb
    assert "• Ngày mai: trực chỉ huy Trung tá Hoàng Văn Hải (CTV phó)" in kb
    assert "Lịch 3 ngày tới\n• Chiều Thứ Năm 23/06/2022 (14h00): Sơ kết phong trào" in kb
    assert len(texts) == 2  # Lý Nhân has the cluster conference too
    # In July nothing concerns Lý Nhân within three days or seven days: no digest at all.
    texts = await world.tick("2022-07-10 06:30")
    assert world.texts(222)[-1].startswith("Bản tin sáng Thứ Năm 23/06/2022")  # still the June one
    assert all("Lý Nhân" not in t for t in texts)


async def test_weekly_digest_on_monday(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    await world.tick("2022-06-20 07:00")
    weekly = next(t for t in world.texts(OFFICER) if t.startswith("Lịch tuần"))
    assert weekly.startswith("Lịch tuần 20–26/06/2022 — Ban CHQS huyện Kim Bảng")
    assert "• Chủ nhật 26/06: trực chỉ huy Thượng tá Nguyễn Văn An (CHT)" in weekly


async def test_news_digest_sends_new_items_once(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    world.clock.set("2022-06-22 09:00")
    async with world.app.sessions() as session, session.begin():
        await post_item(session, title="Tin kiểm tra", summary=None, link=None, member_id=None, now=world.clock())
    sent = await world.tick("2022-06-22 17:00")
    assert [t for t in sent if t.startswith("Tin trong ngày")] == ["Tin trong ngày\n• Tin kiểm tra (22/06/2022)"]
    assert not [t for t in await world.tick("2022-06-23 17:00") if t.startswith("Tin trong ngày")]


async def test_late_reminders_say_so_and_old_ones_are_recorded_missed(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    async with world.app.sessions() as session, session.begin():
        session.add(
            Event(
                kind="meeting",
                title="Giao ban",
                starts_at=local("2022-06-22 13:00"),
                cluster_wide=True,
                updated_at=local("2022-06-01 08:00"),
                created_at=local("2022-06-01 08:00"),
            )
        )
    await world.tick("2022-06-22 10:00")  # the bot ran at 10h00, then was down until 17h00
    sent = await world.tick("2022-06-22 17:00")
    assert any(t.startswith("(nhắc muộn) Nhắc lịch (ngày mai): Hội nghị Sơ kết") for t in sent)
    assert not any("Giao ban" in t for t in sent)
    async with world.app.sessions() as session:
        missed = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.status == "missed")))
    assert [m.due_at for m in missed] == [local("2022-06-22 11:00")]
    assert "Giao ban" in missed[0].text


async def test_quiet_hours_delay_a_reminder_until_they_end(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    async with world.app.sessions() as session, session.begin():
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == str(OFFICER)))
        link.quiet_start, link.quiet_end = time(11, 30), time(13, 0)
    assert not any("còn 2 giờ" in t for t in await world.tick("2022-06-23 12:00"))
    assert not any("còn 2 giờ" in t for t in await world.tick("2022-06-23 12:59"))
    sent = await world.tick("2022-06-23 13:00")
    # Held until 13h00, it says what is left then.
    assert any(t.startswith("Nhắc lịch (còn 1 giờ): Hội nghị Sơ kết") for t in sent)


async def test_a_cancelled_event_stops_its_reminders_and_tells_who_was_reminded(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    await world.join(222, "U-LN")
    async with world.app.sessions() as session, session.begin():
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == "222"))
        await unsubscribe(session, link, ["conference"])  # Lý Nhân is never reminded
    await world.tick("2022-06-22 16:00")
    await world.tick("2022-06-23 11:55")  # the "2 hours before" reminder is now in the outbox
    async with world.app.sessions() as session:
        pending = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    assert pending == 1
    world.clock.set("2022-06-23 11:56")
    async with world.app.sessions() as session, session.begin():
        event = await session.scalar(select(Event).where(Event.key == "C-2022-H1"))
        cancelled, notified = await schedule.cancel_event(session, event, now=world.clock(), tz=world.app.settings.tz)
    assert (cancelled, notified) == (1, 1)
    sent = await world.tick("2022-06-23 12:00")
    assert sent == [
        "Hủy: Hội nghị Sơ kết phong trào Thi đua Quyết thắng 6 tháng đầu năm 2022 (Chiều Thứ Năm 23/06/2022 "
        "(14h00)) đã hủy. Các lời nhắc về việc này sẽ không gửi nữa."
    ]
    assert not any("Hủy" in t or "Nhắc lịch" in t for t in world.texts(222))


async def test_flood_wait_is_honoured_and_the_row_kept(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    world.fake.fail_next("sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1)
    world.clock.set("2022-06-22 16:00")
    jobs = world.jobs()
    await jobs.plan()
    report = await jobs.delivery.deliver_due()
    assert report.too_many_requests == 1 and report.sent == []
    started = asyncio.get_running_loop().time()
    report = await jobs.delivery.deliver_due()  # not due yet: kept for retry_after
    assert report.claimed == 0
    world.clock.now += timedelta(seconds=1)
    report = await jobs.delivery.deliver_due()
    assert len(report.sent) == 1
    assert asyncio.get_running_loop().time() - started >= 0.9  # the channel itself paused
    assert len(world.texts(OFFICER)) == 1


async def test_a_blocked_chat_is_deactivated(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    world.fake.block_chat(OFFICER)
    await world.tick("2022-06-22 16:00")
    async with world.app.sessions() as session:
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == str(OFFICER)))
        row = await session.scalar(select(OutboxMessage))
    assert link.active is False and "blocked" in (link.deactivated_reason or "")
    assert row.status == "failed"
    world.fake.unblock_chat(OFFICER)
    assert await world.tick("2022-06-23 12:00") == []  # no more pushes to it


async def test_a_group_upgraded_to_a_supergroup_is_followed_to_its_new_id(world: World) -> None:
    old, new = -4001, -1004001
    await world.link_group(old, "group")
    world.fake.upgrade_group(old, new)
    await world.tick("2022-06-22 16:00")
    await world.jobs().delivery.deliver_due()  # the delivery loop's next pass, within the second
    assert world.texts(old) == []
    assert [t.split(":")[0] for t in world.texts(new)] == ["Nhắc trực (ngày mai)"]
    async with world.app.sessions() as session:
        link = await session.scalar(select(ChatLink).where(ChatLink.title == "KB"))
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_link_id == link.id))
    assert (link.chat_id, link.active, link.deactivated_reason) == (str(new), True, None)
    assert (row.status, row.chat_id) == ("sent", str(new))
    # The next day's roster goes straight to the supergroup.
    assert len(await world.tick("2022-06-23 16:00")) == 1 and len(world.texts(new)) == 2


async def test_server_errors_back_off_then_fail(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    world.fake.fail_next("sendMessage", error_code=500, description="Internal Server Error", times=None)
    world.clock.set("2022-06-22 16:00")
    jobs = world.jobs()
    await jobs.plan()
    for _ in range(10):
        await jobs.delivery.deliver_due()
        world.clock.now += timedelta(minutes=1)
    async with world.app.sessions() as session:
        row = await session.scalar(select(OutboxMessage))
    assert row.status == "failed" and row.attempts == world.app.settings.delivery_max_attempts
    assert "Internal Server Error" in row.last_error


async def test_rows_of_a_dead_process_are_reclaimed(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    world.clock.set("2022-06-22 16:00")
    jobs = world.jobs()
    await jobs.plan()
    async with world.app.sessions() as session, session.begin():
        row = await session.scalar(select(OutboxMessage))
        row.status, row.claimed_by, row.claimed_at = "claimed", "dead:1", world.clock()
    assert (await jobs.delivery.deliver_due()).claimed == 0
    world.clock.now += timedelta(seconds=world.app.settings.delivery_claim_timeout_seconds + 1)
    assert await jobs.delivery.reclaim_stale(world.clock()) == 1
    assert len((await jobs.delivery.deliver_due()).sent) == 1


async def test_a_broadcast_interrupted_midway_loses_nothing(world: World) -> None:
    chats = list(range(9000, 9300))
    async with world.app.sessions() as session, session.begin():
        for chat in chats:
            link = ChatLink(channel="telegram", chat_id=str(chat), chat_type="private")
            session.add(link)
            await session.flush()
            await subscribe(session, link, ["announcements"])
        audience = await load_audience(session)
        written = await announcements.queue(
            session,
            reference=1,
            text="Thông báo kiểm tra",
            chats=announcements.recipients(audience, "cluster"),
            now=world.clock(),
        )
    assert written == 300
    for chat in chats:
        world.fake.add_chat(chat)
    world.fake.fail_next("sendMessage", error_code=None, delay=0.02, times=None)  # a slow network
    first = OutboxDelivery(world.app.sessions, world.app.settings, {"telegram": world.channel}, clock=world.clock)
    task = asyncio.create_task(first.deliver_due())
    for _ in range(100):
        await world.fake.wait_for_message(timeout=10)
    task.cancel()  # the process dies in the middle of the broadcast
    await asyncio.gather(task, return_exceptions=True)
    world.fake.clear_failures()
    world.clock.now += timedelta(minutes=5)
    second = OutboxDelivery(world.app.sessions, world.app.settings, {"telegram": world.channel}, clock=world.clock)
    await second.reclaim_stale(world.clock())
    await second.deliver_due()
    received = [m.chat_id for m in world.fake.sent]
    assert set(received) == set(chats)  # nothing lost
    duplicates = len(received) - len(set(received))
    assert duplicates <= world.app.settings.delivery_concurrency  # at most what was in flight
    async with world.app.sessions() as session:
        statuses = dict(
            (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
        )
    assert statuses == {"sent": 300}


async def test_a_late_reminder_says_how_long_is_left_when_it_is_sent(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    await world.tick("2022-06-23 11:55")  # plans the 2-hour reminder of the 14h00 conference (12h00)
    sent = await world.tick("2022-06-23 13:30")  # the bot was stuck until 13h30
    assert "(nhắc muộn) Nhắc lịch (còn 30 phút): Hội nghị Sơ kết" in sent[0], sent
    assert not any("còn 2 giờ" in t for t in sent)


async def test_an_inspection_reminder_names_its_kind_once(world: World) -> None:
    await world.join(OFFICER, "U-KB")
    sent = await world.tick("2022-09-25 16:00")
    inspection = next(t for t in sent if "chấm điểm thi đua quý III/2022" in t)
    assert inspection.startswith("Nhắc lịch (ngày mai): Kiểm tra chéo, chấm điểm"), inspection
    assert "Kiểm tra Kiểm tra" not in inspection
