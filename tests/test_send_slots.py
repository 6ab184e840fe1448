"""The send slots replicas share on PostgreSQL (bot/delivery.py, ``DatabaseSlots``): a chat's own limit
holds however many reservations arrive at once, and many chats cost one statement."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event

from bot.app import App
from bot.delivery import DatabaseSlots
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(not PG_URL, reason="the shared slots live in PostgreSQL")


async def test_one_chat_reserved_three_times_at_once_gets_three_slots_a_second_apart(empty_app: App) -> None:
    slots = DatabaseSlots(empty_app.engine)
    waits = sorted(await asyncio.gather(*(slots.reserve("tg:abc:chat:1", 1.0) for _ in range(3))))
    assert waits[0] == pytest.approx(0.0, abs=0.2)
    assert waits[1] == pytest.approx(1.0, abs=0.2)
    assert waits[2] == pytest.approx(2.0, abs=0.2)


async def test_many_chats_asked_at_once_are_reserved_in_few_statements(empty_app: App) -> None:
    slots = DatabaseSlots(empty_app.engine)
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if "send_slots" in statement:
            statements.append(statement)

    event.listen(empty_app.engine.sync_engine, "before_cursor_execute", count)
    try:
        waits = await asyncio.gather(*(slots.reserve(f"tg:abc:chat:{n}", 1.0) for n in range(200)))
        again = await slots.reserve("tg:abc:chat:7", 1.0)  # that chat's next message waits its second
    finally:
        event.remove(empty_app.engine.sync_engine, "before_cursor_execute", count)
    assert all(wait == pytest.approx(0.0, abs=0.2) for wait in waits)
    assert again == pytest.approx(1.0, abs=0.2)
    assert len(statements) <= 3
