"""Numbered options, for channels without buttons (Zalo, the console).

The options a chat was last offered are kept in the database, so "1" answered after a restart, or
received by another replica, still presses what the last message offered. A later message without
options clears them (an old picker must not be pressed by a stray number); they also lapse after
``lifetime``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import dialect_insert
from bot.models import ChatOptions

# ASCII digits only: "²" is a digit to str.isdigit() but not a number anyone typed.
_NUMBER = re.compile(r"[0-9]{1,3}")


def as_number(text: str | None) -> int | None:
    """The option number a message is, or None ("1", " 2 "; not "²", not "1a")."""
    if text is None:
        return None
    stripped = text.strip().rstrip(".")
    return int(stripped) if _NUMBER.fullmatch(stripped) else None


async def _offered(session: AsyncSession, channel: str, chat_id: str) -> ChatOptions | None:
    query = select(ChatOptions).where(ChatOptions.channel == channel, ChatOptions.chat_id == chat_id)
    return await session.scalar(query)


async def offer(
    session: AsyncSession, channel: str, chat_id: str, options: list[tuple[str, str]], *, now: datetime
) -> None:
    """Remember ``options`` (label, callback data), numbered from 1, as what ``chat_id`` was offered.

    One upsert, so two messages of one chat answered at once (webhooks, replicas) cannot collide."""
    values = [[label, data] for label, data in options]
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = dialect_insert(dialect)
    table = ChatOptions.__table__
    statement = insert(table).values(channel=channel, chat_id=chat_id, options=values, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.channel, table.c.chat_id], set_={"options": values, "updated_at": now}
    )
    await session.execute(statement)


async def clear(session: AsyncSession, channel: str, chat_id: str) -> None:
    await session.execute(delete(ChatOptions).where(ChatOptions.channel == channel, ChatOptions.chat_id == chat_id))


async def chosen(
    session: AsyncSession, channel: str, chat_id: str, number: int, *, now: datetime, lifetime: timedelta
) -> str | None:
    """The callback data of option ``number`` last offered to the chat, or None (no such option,
    or offered too long ago)."""
    row = await _offered(session, channel, chat_id)
    if row is None or row.updated_at < now - lifetime or not 1 <= number <= len(row.options):
        return None
    return str(row.options[number - 1][1])
