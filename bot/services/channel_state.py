"""What channels keep in the database besides messages: updates already handled (Zalo hands them out
again), messages sent per month (Zalo's plans have a quota), and files served at ``/files/<token>``."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import ChannelUsage, ChatLink, Member, SeenUpdate, StoredFile
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
