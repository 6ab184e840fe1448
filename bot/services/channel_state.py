"""What channels keep in the database besides messages: updates already handled (Zalo hands them out
again), webhook updates taken but not yet answered (the inbox), messages sent per month (Zalo's plans
have a quota), and files served at ``/files/<token>``."""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, delete, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import ChannelUsage, ChatLink, InboxUpdate, Member, SeenUpdate, StoredFile, utcnow
from bot.services.notices import Notice
from bot.services.reminders import Push, write_pushes

SEEN_FOR = timedelta(days=7)


async def was_seen(session: AsyncSession, channel: str, key: str) -> bool:
    query = select(SeenUpdate.id).where(SeenUpdate.channel == channel, SeenUpdate.update_key == key[:120])
    return await session.scalar(query.limit(1)) is not None


async def record_seen(session: AsyncSession, channel: str, keys: dict[str, datetime]) -> int:
    """Store answered update keys (with when they were answered); a key stored already is skipped."""
    rows = [{"channel": channel, "update_key": key[:120], "seen_at": at} for key, at in keys.items()]
    return await insert_ignore(session, SeenUpdate.__table__, rows, key=["channel", "update_key"])


async def take_update(session: AsyncSession, channel: str, key: str, payload: object, *, now: datetime) -> bool:
    """Take a webhook update before its 200: mark it seen and put it in the inbox, unless some process
    (this one before a restart, or another replica) has taken it already. Committed when it returns;
    the caller need only close ``session`` (which may wait until after the 200: nothing is left to do).

    This is paid by every webhook call before its 200, so it waits as little as the database allows.
    PostgreSQL: one statement (the seen-set insert and the inbox insert in one CTE), in autocommit.
    SQLite: both inserts and the commit in one hand-off to aiosqlite's worker thread, on the driver's
    connection (SQLAlchemy's cursors and commit cost eight: each cursor's open, run and close)."""
    key = key[:120]
    if session.bind is not None and session.bind.dialect.name != "sqlite":
        # One statement is atomic on its own: in autocommit, no BEGIN and COMMIT round trips around it.
        connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        params = {"channel": channel, "update_key": key, "seen_at": now, "payload": payload, "taken_at": utcnow()}
        result = await connection.execute(_TAKE_ONE, params)
        return bool(result.rowcount)
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection  # an aiosqlite.Connection
    assert driver is not None
    seen_at, taken_at, document = _sqlite_binds(connection.dialect)
    seen = (channel, key, seen_at(now))
    inbox = (channel, key, document(payload), taken_at(utcnow()))
    # aiosqlite's private _execute runs a function in its worker thread (pinned in pyproject.toml).
    return await driver._execute(_take_sqlite, driver._conn, seen, inbox)


def _take_sqlite(connection: sqlite3.Connection, seen: tuple[Any, ...], inbox: tuple[Any, ...]) -> bool:
    """In aiosqlite's thread: both inserts and the commit, or nothing (a copy, or an error, which is
    raised as SQLAlchemy raises it: a locked or broken database is an OperationalError)."""
    statement, params = _SQLITE_SEEN, seen
    try:
        if not connection.execute(statement, params).rowcount:
            connection.rollback()
            return False
        statement, params = _SQLITE_INBOX, inbox
        connection.execute(statement, params)
        connection.commit()
    except sqlite3.Error as exc:
        with contextlib.suppress(sqlite3.Error):
            connection.rollback()
        raise DBAPIError.instance(statement, params, exc, sqlite3.Error) from exc
    return True


# Taken only when the seen-set insert inserted: a repeat (ON CONFLICT) inserts nothing in either.
_TAKE_ONE = text(
    "WITH seen AS (INSERT INTO seen_updates (channel, update_key, seen_at) VALUES (:channel, :update_key, :seen_at)"
    " ON CONFLICT (channel, update_key) DO NOTHING RETURNING id)"
    " INSERT INTO inbox_updates (channel, update_key, payload, taken_at, attempts)"
    " SELECT :channel, :update_key, :payload, :taken_at, 1 FROM seen"
).bindparams(
    bindparam("seen_at", type_=SeenUpdate.__table__.c.seen_at.type),
    bindparam("payload", type_=InboxUpdate.__table__.c.payload.type),
    bindparam("taken_at", type_=InboxUpdate.__table__.c.taken_at.type),
)
_SQLITE_SEEN = (
    "INSERT INTO seen_updates (channel, update_key, seen_at) VALUES (?, ?, ?)"
    " ON CONFLICT (channel, update_key) DO NOTHING"
)
_SQLITE_INBOX = "INSERT INTO inbox_updates (channel, update_key, payload, taken_at, attempts) VALUES (?, ?, ?, ?, 1)"


@cache
def _sqlite_binds(dialect: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any], Callable[[Any], Any]]:
    """The columns' own conversions (seen_at, taken_at, payload), as SQLAlchemy would store them."""

    def converter(column: Any) -> Callable[[Any], Any]:
        process = column.type.bind_processor(dialect)
        return process if process is not None else lambda value: value

    seen, inbox = SeenUpdate.__table__.c, InboxUpdate.__table__.c
    return converter(seen.seen_at), converter(inbox.taken_at), converter(inbox.payload)


async def updates_answered(session: AsyncSession, channel: str, keys: list[str]) -> None:
    """Inbox updates that were answered leave the inbox."""
    for start in range(0, len(keys), 500):
        batch = [key[:120] for key in keys[start : start + 500]]
        await session.execute(
            delete(InboxUpdate).where(InboxUpdate.channel == channel, InboxUpdate.update_key.in_(batch))
        )


async def overdue_updates(
    session: AsyncSession,
    channel: str,
    *,
    older_than: timedelta,
    attempts: int,
    mine: set[str] | frozenset[str] = frozenset(),
    limit: int = 100,
) -> tuple[list[tuple[str, object]], list[str]]:
    """Inbox updates taken longer than ``older_than`` ago and still not answered (the process that took
    them died): taken again by this one, each by one atomic update so that two replicas sweeping at
    once do not both take it. Returns those taken (key, payload) and the keys of those given up
    because they were taken ``attempts`` times already (an update whose answer keeps failing). ``mine``:
    keys the caller is answering, or answered and has not yet taken out of the inbox."""
    now = utcnow()
    rows = (
        await session.execute(
            select(
                InboxUpdate.id, InboxUpdate.update_key, InboxUpdate.payload, InboxUpdate.taken_at, InboxUpdate.attempts
            )
            .where(
                InboxUpdate.channel == channel,
                InboxUpdate.taken_at < now - older_than,
                InboxUpdate.update_key.not_in(sorted(mine)),
            )
            .order_by(InboxUpdate.id)
            .limit(limit)
        )
    ).all()
    taken: list[tuple[str, object]] = []
    given_up: list[str] = []
    for row_id, key, payload, taken_at, tries in rows:
        if tries >= attempts:
            await session.execute(delete(InboxUpdate).where(InboxUpdate.id == row_id))
            given_up.append(key)
            continue
        result = await session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.id == row_id, InboxUpdate.taken_at == taken_at)
            .values(taken_at=now, attempts=tries + 1)
        )
        if result.rowcount == 1:
            taken.append((key, payload))
    return taken, given_up


async def purge_seen(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < now - SEEN_FOR))
    return result.rowcount or 0


async def count_sent(session: AsyncSession, channel: str, month: str, sent: int) -> ChannelUsage:
    """Add ``sent`` messages to the month's count; returns the row (with the new total)."""
    row = await session.scalar(select(ChannelUsage).where(ChannelUsage.channel == channel, ChannelUsage.month == month))
    if row is None:
        try:
            async with session.begin_nested():
                row = ChannelUsage(channel=channel, month=month, sent=0)
                session.add(row)
        except IntegrityError:  # another replica made it first
            row = await session.scalar(
                select(ChannelUsage).where(ChannelUsage.channel == channel, ChannelUsage.month == month)
            )
    assert row is not None
    await session.execute(update(ChannelUsage).where(ChannelUsage.id == row.id).values(sent=ChannelUsage.sent + sent))
    await session.refresh(row)
    return row


async def mark_warned(session: AsyncSession, usage: ChannelUsage, *, now: datetime) -> bool:
    """True for the one caller (of all replicas) that is to warn the admins about this month."""
    result = await session.execute(
        update(ChannelUsage).where(ChannelUsage.id == usage.id, ChannelUsage.warned_at.is_(None)).values(warned_at=now)
    )
    return result.rowcount == 1


async def warn_admins(session: AsyncSession, usage: ChannelUsage, text: str, *, now: datetime) -> int:
    """Queue ``text`` to every admin's private chat (on any channel), once per channel and month."""
    admins = list(
        await session.scalars(
            select(ChatLink)
            .join(Member, Member.id == ChatLink.member_id)
            .where(Member.role == "admin", ChatLink.chat_type == "private", ChatLink.active.is_(True))
            .order_by(ChatLink.id)
        )
    )
    pushes = [
        Push("announcements", "quota", usage.id, usage.month, 1, "80pct", now, chat, Notice.finished(text), urgent=True)
        for chat in admins
    ]
    return await write_pushes(session, pushes, now=now, grace=timedelta(days=1), tz=ZoneInfo("UTC"))


async def sent_this_month(session: AsyncSession, channel: str, month: str) -> int:
    query = select(ChannelUsage.sent).where(ChannelUsage.channel == channel, ChannelUsage.month == month)
    return int(await session.scalar(query) or 0)


async def store_file(
    session: AsyncSession, *, filename: str, mime_type: str, content: bytes, now: datetime, keep: timedelta
) -> str:
    """Keep a generated file for ``keep`` and return its unguessable token."""
    token = secrets.token_urlsafe(32)
    session.add(
        StoredFile(
            token=token,
            filename=filename[:200],
            mime_type=mime_type,
            content=content,
            created_at=now,
            expires_at=now + keep,
        )
    )
    await session.flush()
    return token


async def load_file(session: AsyncSession, token: str, *, now: datetime) -> StoredFile | None:
    stored = await session.scalar(select(StoredFile).where(StoredFile.token == token))
    if stored is None or stored.expires_at < now:
        return None
    return stored
