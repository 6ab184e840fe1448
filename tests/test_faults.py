"""Faults: a sending process killed mid-broadcast, the database going away mid-broadcast. What counts is
what the (fake) platform received: nothing lost, and duplicates bounded by the messages in flight."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.crash import crash, outage
from bot.app import App
from bot.channels.telegram import BotApiRequest, TelegramChannel
from bot.delivery import OutboxDelivery, OutcomesNotRecorded
from bot.models import ChatLink, OutboxMessage, utcnow
from bot.services import announcements
from bot.services.subscriptions import load_audience, subscribe
from tests.conftest import PG_URL, make_settings
from tests.fakes.telegram import FakeTelegram, FloodLimits
from tests.fakes.telegram.harness import fake_settings

CHATS = list(range(9000, 9300))


class Outage:
    """A session factory whose database can be switched off: every new session then fails to connect,
    as a database that went away does."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self.down = False

    def __call__(self, **kwargs: Any) -> AsyncSession:
        if self.down:
            raise OperationalError("connect", {}, ConnectionRefusedError("the database is down"))
        return self.sessions(**kwargs)


async def _queue_broadcast(app: App, chats: list[int] = CHATS) -> None:
    async with app.sessions() as session, session.begin():
        for chat in chats:
            link = ChatLink(channel="telegram", chat_id=str(chat), chat_type="private")
            session.add(link)
            await session.flush()
            await subscribe(session, link, ["announcements"])
        audience = await load_audience(session)
        chats = announcements.recipients(audience, "cluster")
        await announcements.queue(session, reference=1, text="Thông báo kiểm tra", chats=chats, now=utcnow())


@pytest.fixture
async def broadcast(demo_db_url: str) -> AsyncIterator[tuple[App, FakeTelegram, TelegramChannel]]:
    app = App(make_settings(demo_db_url))
    await _queue_broadcast(app)
    async with FakeTelegram() as fake:
        for chat in CHATS:
            fake.add_chat(chat)
        settings = fake_settings(app.settings, fake, telegram_rate_per_second=1000.0)
        channel = TelegramChannel(
            app.dispatcher, settings, request=BotApiRequest(httpx_kwargs={"transport": fake.transport()})
        )
        await channel.open()
        yield app, fake, channel
        await channel.stop()
    await app.close()


async def test_a_database_outage_mid_broadcast_stops_sending_within_the_window_and_loses_nothing(
    broadcast: tuple[App, FakeTelegram, TelegramChannel],
) -> None:
    app, fake, channel = broadcast
    window = app.settings.delivery_concurrency
    outage = Outage(app.sessions)
    delivery = OutboxDelivery(outage, app.settings, {"telegram": channel})  # type: ignore[arg-type]
    fake.fail_next("sendMessage", error_code=None, delay=0.01, times=None)  # a network with some latency
    sending = asyncio.create_task(delivery.deliver_due())
    for _ in range(100):
        await fake.wait_for_message(timeout=10)
    outage.down = True
    at_outage = len(fake.sent)
    with pytest.raises(OutcomesNotRecorded):
        await sending
    await asyncio.sleep(0.3)  # nothing more goes out while the outcomes cannot be written
    assert len(fake.sent) - at_outage <= window
    assert len(fake.sent) < len(CHATS)
    outage.down = False
    fake.clear_failures()
    report = await delivery.deliver_due()  # the kept outcomes first, then the rest
    received = Counter(m.chat_id for m in fake.sent)
    assert set(received) == set(CHATS)
    assert sum(received.values()) == len(CHATS)  # the process lived: not even one duplicate
    assert len(report.sent) >= len(CHATS) - at_outage - window
    async with app.sessions() as session:
        statuses = dict(
            (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
        )
    assert statuses == {"sent": len(CHATS)}


async def test_a_broadcast_killed_twice_loses_nothing_and_resends_at_most_the_window(empty_db_url: str) -> None:
    """Separate processes over 127.0.0.1, each killed with SIGKILL mid-broadcast (bench/crash.py, which
    kills fifty times), during a broadcast and a morning digest run to the same chats."""
    result = await crash(empty_db_url, chats=300, kills=2, rate=300.0, concurrency=8, seed=7)
    assert result["kills"] == 2, result
    assert result["messages"] > 300, result  # the digests too
    assert result["lost"] == 0, result
    assert result["duplicated_max_per_kill"] <= 8, result


@pytest.mark.skipif(not PG_URL, reason="the database goes away behind a TCP proxy: PostgreSQL only")
async def test_a_database_away_behind_a_cut_proxy_loses_nothing_and_sending_resumes(empty_db_url: str) -> None:
    result = await outage(empty_db_url, chats=300, seconds=2.0, rate=300.0, concurrency=8)
    assert result["lost"] == 0, result
    assert result["sent_while_away"] <= 8 and result["duplicated"] <= 8, result
    assert result["resumed_after_s"] < 5, result


@pytest.mark.skipif(not PG_URL, reason="replicas share one PostgreSQL; on SQLite one process sends")
async def test_two_replicas_keep_to_one_set_of_limits_through_postgresql(demo_db_url: str) -> None:
    """Two processes' worth of delivery (their own engines and channels), each set to 80 % of the
    token's rate, broadcasting together against Telegram's flood limits: together they keep to the
    limit (paced apart they would send 1.6 times it, and draw a 429 a second)."""
    apps = [App(make_settings(demo_db_url)) for _ in range(2)]
    chats = CHATS[:120]
    await _queue_broadcast(apps[0], chats)
    async with FakeTelegram(limits=FloodLimits(global_per_second=30)) as fake:
        for chat in chats:
            fake.add_chat(chat)
        replicas = []
        for app in apps:
            settings = fake_settings(app.settings, fake, telegram_rate_per_second=24.0, delivery_batch_size=20)
            channel = TelegramChannel(
                app.dispatcher, settings, request=BotApiRequest(httpx_kwargs={"transport": fake.transport()})
            )
            await channel.open()
            replicas.append((channel, OutboxDelivery(app.sessions, settings, {"telegram": channel})))
        sent = [0, 0]
        for _ in range(5):  # a row a 429 kept comes back
            reports = await asyncio.gather(*(delivery.deliver_due() for _channel, delivery in replicas))
            sent = [done + len(report.sent) for done, report in zip(sent, reports, strict=True)]
            if sum(sent) == len(chats):
                break
            await asyncio.sleep(1)
        for channel, _delivery in replicas:
            await channel.stop()
    for app in apps:
        await app.close()
    assert sum(sent) == len(chats) and all(sent), sent  # both replicas sent
    assert sorted(m.chat_id for m in fake.sent) == chats
    assert fake.stats.too_many_requests <= 1


async def test_a_long_message_flood_limited_after_its_first_part_sends_only_the_rest_later(demo_db_url: str) -> None:
    """Telegram allows one message a second per chat, and a long message goes out in parts: the second
    part meets a 429. The retry must send the second part only, not the whole message again."""
    app = App(make_settings(demo_db_url))
    chat = 9400
    lines = [f"Dòng {number:03d}: kiểm tra sẵn sàng chiến đấu của đơn vị, báo cáo trước 16h00." for number in range(90)]
    text = "\n".join(lines)
    assert len(text) > 4096
    async with app.sessions() as session, session.begin():
        link = ChatLink(channel="telegram", chat_id=str(chat), chat_type="private")
        session.add(link)
        await session.flush()
        await subscribe(session, link, ["announcements"])
        chats = announcements.recipients(await load_audience(session), "cluster")
        await announcements.queue(session, reference=1, text=text, chats=chats, now=utcnow())
    async with FakeTelegram(limits=FloodLimits(global_per_second=1000, per_chat_per_second=1)) as fake:
        fake.add_chat(chat)
        settings = fake_settings(app.settings, fake, telegram_rate_per_second=1000.0)
        channel = TelegramChannel(
            app.dispatcher, settings, request=BotApiRequest(httpx_kwargs={"transport": fake.transport()})
        )
        await channel.open()
        delivery = OutboxDelivery(app.sessions, settings, {"telegram": channel})
        first = await delivery.deliver_due()
        assert first.too_many_requests == 1 and len(fake.messages(chat)) == 1
        async with app.sessions() as session:
            row = await session.scalar(select(OutboxMessage).where(OutboxMessage.chat_id == str(chat)))
            assert row is not None and row.status == "pending" and row.parts_sent == 1
        await asyncio.sleep(1.2)  # the retry_after
        second = await delivery.deliver_due()
        assert len(second.sent) == 1
        received = [m.text for m in fake.messages(chat)]
        await channel.stop()
    assert len(received) == 2 and received[0] != received[1]
    assert "\n".join(received).split() == text.split()  # every line once, in order
    await app.close()
