"""Updates answered once: the seen keys (in memory, stored in batches after answering) and the
pipeline that answers polled updates while the next one is fetched, one chat's in order."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from bot.app import App
from bot.channels.base import ChatOrderedPipeline
from bot.channels.seen import SeenKeys
from bot.db import unreachable
from bot.models import ChatOptions, InboxUpdate, SeenUpdate, utcnow
from bot.services.options import WrittenBehind

NOW = datetime(2022, 6, 22, 3, tzinfo=UTC)


def seen_keys(app: App, **options: float) -> SeenKeys:
    return SeenKeys(app.sessions, "zalo", lambda: NOW, take_sessions=app.dispatcher.take_sessions, **options)


async def stored(app: App) -> list[str]:
    async with app.sessions() as session:
        return sorted(await session.scalars(select(SeenUpdate.update_key)))


async def test_a_copy_is_dropped_in_memory_and_the_key_is_stored_only_once_answered(empty_app: App) -> None:
    seen = seen_keys(empty_app, flush_every=3600)
    await seen.start()
    assert seen.claim("m:1")
    assert not seen.claim("m:1")  # handed out again while it is being answered
    assert await stored(empty_app) == []  # not answered yet: a crash now loses nothing
    seen.answered("m:1")
    await seen.stop()  # a clean stop stores what is pending
    assert await stored(empty_app) == ["m:1"]


async def test_answered_keys_are_stored_in_the_background_within_the_flush_interval(empty_app: App) -> None:
    seen = seen_keys(empty_app, flush_every=0.05)
    await seen.start()
    try:
        for number in range(5):
            assert seen.claim(f"m:{number}")
            seen.answered(f"m:{number}")
        for _ in range(100):
            if len(await stored(empty_app)) == 5:
                break
            await asyncio.sleep(0.02)
        assert await stored(empty_app) == [f"m:{n}" for n in range(5)]
    finally:
        await seen.stop()


async def test_a_failed_answer_releases_the_key_so_the_next_copy_is_answered(empty_app: App) -> None:
    seen = seen_keys(empty_app, flush_every=3600)
    await seen.start()
    assert seen.claim("m:1")
    seen.release("m:1")
    assert seen.claim("m:1")
    await seen.stop()
    assert await stored(empty_app) == []


async def test_a_restarted_process_and_another_replica_know_stored_keys(empty_app: App) -> None:
    first = seen_keys(empty_app, flush_every=3600)
    await first.start()
    first.claim("m:1")
    first.answered("m:1")
    await first.flush()
    restarted = seen_keys(empty_app)
    await restarted.start()  # loads the newest keys: polling asks no database per update
    assert not restarted.claim("m:1")
    replica = SeenKeys(empty_app.sessions, "zalo", lambda: NOW, remembered=1)
    await replica.start()
    replica.claim("m:2")  # pushes m:1 out of its memory
    assert not await replica.take("m:1", {})  # a webhook copy: the database knows it
    assert await replica.take("m:3", {})
    for keys in (first, restarted, replica):
        await keys.stop()


async def inbox(app: App) -> list[tuple[str, int]]:
    async with app.sessions() as session:
        rows = await session.execute(select(InboxUpdate.update_key, InboxUpdate.attempts).order_by(InboxUpdate.id))
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def make_overdue(app: App) -> None:
    """As if whoever took the inbox updates did so a minute ago and then died."""
    async with app.sessions() as session, session.begin():
        await session.execute(update(InboxUpdate).values(taken_at=utcnow() - timedelta(minutes=1)))


async def test_a_webhook_update_is_in_the_inbox_from_its_200_until_it_was_answered(empty_app: App) -> None:
    seen = seen_keys(empty_app, flush_every=3600)
    await seen.start()
    assert await seen.take("m:1", {"message": {"message_id": "1", "text": "mai ai trực"}})
    assert not await seen.take("m:1", {})  # a copy (the platform retried the call)
    assert await stored(empty_app) == ["m:1"]  # seen at once: another replica drops its copy
    assert await inbox(empty_app) == [("m:1", 1)]
    seen.answered("m:1")
    await seen.flush()
    assert await inbox(empty_app) == []
    assert await stored(empty_app) == ["m:1"]
    await seen.stop()


async def test_a_taken_update_reads_back_as_the_orm_stores_it(empty_app: App) -> None:
    """The take writes its rows without the ORM (bot/services/channel_state.take_update): the times and
    the payload must read back, and compare, as the ORM's own would."""
    seen = seen_keys(empty_app, flush_every=3600)
    await seen.start()
    payload = {"message": {"message_id": "5", "text": "lịch trực tuần này"}, "n": [1, 2.5, None]}
    before = utcnow()
    assert await seen.take("m:5", payload)
    async with empty_app.sessions() as session:
        seen_at = await session.scalar(select(SeenUpdate.seen_at).where(SeenUpdate.update_key == "m:5"))
        row = await session.scalar(select(InboxUpdate).where(InboxUpdate.update_key == "m:5"))
    assert seen_at == NOW
    assert row is not None and row.payload == payload and row.attempts == 1
    assert before <= row.taken_at <= utcnow()
    other = seen_keys(empty_app)
    assert await other.overdue(timedelta(seconds=30), attempts=3) == []  # compared as a time: not overdue
    await seen.stop()


async def test_a_database_error_in_the_take_is_sqlalchemys_so_the_webhook_answers_5xx(empty_app: App) -> None:
    seen = seen_keys(empty_app, flush_every=3600)
    await seen.start()
    async with empty_app.sessions() as session, session.begin():
        await session.execute(text("DROP TABLE inbox_updates"))
    with pytest.raises(DBAPIError) as caught:
        await seen.take("m:6", {})
    assert unreachable(caught.value) or empty_app.settings.database_url.startswith("postgresql")
    async with empty_app.sessions() as session:  # nothing half taken: the seen row went with the rollback
        assert await session.scalar(select(func.count()).select_from(SeenUpdate)) == 0
    await seen.stop()


async def test_a_take_on_a_connection_the_database_dropped_is_tried_once_more(empty_app: App) -> None:
    """PostgreSQL's take engine pings no connection before using it (bot.db.create_take_engine): a pooled
    connection the server ended (a restart, an idle timeout) fails the take, which goes again on a
    fresh one instead of answering the platform 503."""
    if not empty_app.settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite takes on the write engine")
    seen = seen_keys(empty_app, flush_every=3600)
    await seen.start()
    assert await seen.take("m:7", {})
    await asyncio.sleep(0.05)  # the first take's session goes back to the pool after its 200
    async with empty_app.sessions() as session, session.begin():
        ended = await session.scalar(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND query LIKE 'WITH seen AS%'"
            )
        )
    assert ended >= 1  # the take engine's pooled connection, the last statement it ran being the take
    assert await seen.take("m:8", {"message": {"message_id": "8"}})
    assert await inbox(empty_app) == [("m:7", 1), ("m:8", 1)]
    await seen.stop()


async def test_an_update_a_dead_process_took_is_answered_by_one_other_process(empty_app: App) -> None:
    dead = seen_keys(empty_app, flush_every=3600)
    await dead.start()
    payload = {"event_name": "message.text.received", "message": {"message_id": "7", "text": "/truc"}}
    assert await dead.take("m:7", payload)  # its 200 was given, then the process died
    await dead.stop()  # its connection goes with it (it had answered nothing: nothing is flushed)
    first, second = seen_keys(empty_app), seen_keys(empty_app)
    await first.start()
    await second.start()
    assert await first.overdue(timedelta(seconds=30), attempts=3) == []  # not overdue yet: maybe still answering
    await make_overdue(empty_app)
    taken = await asyncio.gather(*(s.overdue(timedelta(seconds=30), attempts=3) for s in (first, second)))
    assert sorted(len(t) for t in taken) == [0, 1]  # one of the two takes it
    assert [t for t in taken if t] == [[("m:7", payload)]]
    assert await inbox(empty_app) == [("m:7", 2)]
    for keys in (first, second):
        keys.answered("m:7")
        await keys.stop()
    assert await inbox(empty_app) == []


async def test_an_update_whose_answer_keeps_failing_is_given_up_after_its_attempts(empty_app: App) -> None:
    seen = seen_keys(empty_app, flush_every=3600)
    await seen.start()
    assert await seen.take("m:9", {})
    seen.release("m:9")  # its answer failed
    for _ in range(2):  # answered twice more, failing each time
        await make_overdue(empty_app)
        assert len(await seen.overdue(timedelta(seconds=30), attempts=3)) == 1
        seen.release("m:9")
    await make_overdue(empty_app)
    assert await seen.overdue(timedelta(seconds=30), attempts=3) == []
    assert await inbox(empty_app) == []
    await seen.stop()


async def flush_while_the_database_is_down(seen: SeenKeys) -> None:
    """A flush whose database cannot be reached: the failure must reach the caller. Leaves the
    SeenKeys without a database; the test gives its sessions back."""

    def broken() -> None:
        raise ConnectionError("database unreachable")

    seen.sessions = broken  # type: ignore[assignment]
    with pytest.raises(ConnectionError):
        await seen.flush()


async def test_keys_that_cannot_be_stored_are_kept_for_the_next_round(empty_app: App) -> None:
    seen = seen_keys(empty_app, flush_every=3600)
    await seen.start()
    seen.claim("m:1")
    seen.answered("m:1")
    working = seen.sessions
    await flush_while_the_database_is_down(seen)
    seen.sessions = working
    await seen.flush()
    assert await stored(empty_app) == ["m:1"]
    await seen.stop()
    async with empty_app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SeenUpdate)) == 1


async def test_the_pipeline_keeps_each_chats_order_and_its_limit() -> None:
    pipeline = ChatOrderedPipeline(limit=3)
    done: list[str] = []
    running = 0
    most = 0

    async def answer(chat: str, number: int, pause: float) -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(pause)
        running -= 1
        done.append(f"{chat}{number}")

    # The first message of chat a takes longest: a2 must still wait for it, b1 need not (but the
    # pipeline answers one at a time, so it comes after a1 as well).
    await pipeline.submit("a", lambda: answer("a", 1, 0.05))
    await pipeline.submit("a", lambda: answer("a", 2, 0.0))
    await pipeline.submit("b", lambda: answer("b", 1, 0.0))
    fourth = asyncio.create_task(pipeline.submit("a", lambda: answer("a", 3, 0.0)))
    await asyncio.sleep(0.01)
    assert not fourth.done()  # three are waiting or running: the poller waits too
    await fourth
    await pipeline.drain()
    assert [d for d in done if d.startswith("a")] == ["a1", "a2", "a3"]
    assert sorted(done) == ["a1", "a2", "a3", "b1"]
    assert most == 1


async def test_a_failing_update_does_not_stop_the_ones_after_it() -> None:
    pipeline = ChatOrderedPipeline(limit=4, concurrency=2)
    done: list[int] = []

    async def fail() -> None:
        raise RuntimeError("boom")

    async def ok(number: int) -> None:
        done.append(number)

    await pipeline.submit("a", fail)
    await pipeline.submit("a", lambda: ok(2))
    await pipeline.submit("b", lambda: ok(3))
    await pipeline.drain()
    assert sorted(done) == [2, 3]


async def offered(app: App) -> dict[str, list[list[str]]]:
    async with app.sessions() as session:
        return {row.chat_id: row.options for row in await session.scalars(select(ChatOptions))}


async def test_options_are_stored_in_the_batch_of_the_update_that_offered_them(empty_app: App) -> None:
    """An update is never stored as answered without the options its answer offered: after a crash it
    is answered (and offers them) again. A batch that fails keeps both for the next round, and an offer
    made meanwhile is not overwritten by the older one put back."""
    behind = WrittenBehind("zalo")
    seen = SeenKeys(empty_app.sessions, "zalo", lambda: NOW, flush_every=3600, options=behind)
    await seen.start()
    assert behind.active
    assert seen.claim("m:1")
    behind.offer("c1", [("Lưu", "dlg:ok"), ("Hủy", "dlg:cancel")], now=NOW)  # the answer offers options
    assert behind.offered("c1") == ([("Lưu", "dlg:ok"), ("Hủy", "dlg:cancel")], NOW)
    seen.answered("m:1")
    working = seen.sessions
    await flush_while_the_database_is_down(seen)
    assert behind.offered("c1") is not None  # still what "1" means here
    behind.offer("c2", None, now=NOW)
    seen.sessions = working
    await seen.flush()
    assert await stored(empty_app) == ["m:1"]
    assert await offered(empty_app) == {"c1": [["Lưu", "dlg:ok"], ["Hủy", "dlg:cancel"]]}
    assert behind.offered("c1") is None  # the database knows now
    # A newer offer made while an older batch fails is the one kept.
    behind.offer("c1", [("Đồng ý", "/a")], now=NOW)
    batch = behind.take()
    behind.offer("c1", None, now=NOW)
    behind.done(batch, stored=False)
    assert behind.offered("c1") == (None, NOW)
    await seen.flush()
    assert await offered(empty_app) == {}
    await seen.stop()
    assert not behind.active
