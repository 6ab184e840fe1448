"""The outbox's sending pipeline (bot/delivery.py): flood waits void the slots taken before them, and
batches that overlap (the next one starts while the last messages of the one before are in flight)
keep each chat's messages in order."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from bot.app import App
from bot.channels.base import RateLimits, TemporaryFailure
from bot.delivery import LocalSlots, OutboxDelivery, Throttle
from bot.messages import Reply
from bot.models import OutboxMessage, utcnow
from tests.conftest import make_settings


async def test_slots_taken_before_a_flood_wait_are_taken_again_after_it() -> None:
    """Senders waiting for their slot when a 429 arrives must not all go at the wait's end: on top of
    the slots taken after it, that burst draws the next 429, and so on every two seconds."""
    throttle = Throttle(RateLimits(per_second=10, private_interval=0, group_per_minute=20), LocalSlots(), "t")
    returned: list[float] = []

    async def sender() -> None:
        await throttle.overall_turn()
        returned.append(time.monotonic())

    senders = [asyncio.create_task(sender()) for _ in range(6)]
    await asyncio.sleep(0.05)  # the first slot is used, the others are taken and waited for
    throttle.pause(0.4)
    pause_end = time.monotonic() + 0.4
    await asyncio.gather(*senders)
    after = sorted(t for t in returned if t >= pause_end - 0.01)
    assert len(after) == 5
    most_in_half_a_slot = max(sum(1 for u in after if t <= u < t + 0.05) for t in after)
    assert most_in_half_a_slot <= 2, [round(t - pause_end, 3) for t in after]


class Ordered:
    """A channel that keeps the texts it was handed, and fails the first attempt of the texts given."""

    name = "telegram"
    limits = RateLimits(per_second=1_000_000, private_interval=0, group_per_minute=1_000_000)

    def __init__(self, failing: set[str] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.failing = failing or set()

    async def deliver(self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "", first_part: int = 0) -> None:
        del is_group, kind, first_part
        await asyncio.sleep(0.001)
        if reply.text in self.failing:
            self.failing.discard(reply.text)
            raise TemporaryFailure("502 Bad Gateway")
        self.sent.append((chat_id, reply.text))


async def _queue(app: App, rows: list[tuple[str, str]]) -> None:
    now = utcnow()
    async with app.sessions() as session, session.begin():
        for n, (chat, text) in enumerate(rows):
            session.add(
                OutboxMessage(
                    dedupe_key=f"order-{n}",
                    slot=f"order-{n}",
                    kind="announcements",
                    channel="telegram",
                    chat_id=chat,
                    stored_text=text,
                    due_at=now,
                    send_at=now,
                    next_attempt_at=now,
                )
            )


# One chat's four messages spread over batches of three, between other chats' messages.
ROWS = [("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1"), ("d", "d1"), ("a", "a3"), ("e", "e1"), ("f", "f1")]
ROWS += [("a", "a4"), ("g", "g1")]


async def test_a_chats_messages_in_overlapping_batches_go_in_order(empty_db_url: str) -> None:
    app = App(make_settings(empty_db_url, delivery_batch_size=3))
    await app.prepare()
    try:
        await _queue(app, ROWS)
        channel = Ordered()
        report = await OutboxDelivery(app.sessions, app.settings, {"telegram": channel}).deliver_due()
    finally:
        await app.close()
    assert len(report.sent) == len(ROWS)
    assert [text for chat, text in channel.sent if chat == "a"] == ["a1", "a2", "a3", "a4"]
    assert sorted(channel.sent) == sorted(ROWS)


async def test_a_chat_that_failed_sends_nothing_more_from_the_next_batches(empty_db_url: str) -> None:
    """a2 fails (a 502): a3 and a4, claimed in later batches, wait for it instead of overtaking it."""
    app = App(make_settings(empty_db_url, delivery_batch_size=3))
    await app.prepare()
    try:
        await _queue(app, ROWS)
        channel = Ordered(failing={"a2"})
        report = await OutboxDelivery(app.sessions, app.settings, {"telegram": channel}).deliver_due()
        async with app.sessions() as session:
            of_a = select(OutboxMessage.stored_text).where(OutboxMessage.chat_id == "a")
            waiting = set(await session.scalars(of_a.where(OutboxMessage.status == "pending")))
    finally:
        await app.close()
    assert [text for chat, text in channel.sent if chat == "a"] == ["a1"]
    assert waiting == {"a2", "a3", "a4"}
    assert len(report.sent) == len(ROWS) - 3
