"""Numbered options, for channels without buttons (Zalo, the console).

The options a chat was last offered are kept in the database, so "1" answered after a restart, or
received by another replica, still presses what the last message offered. A later message without
options clears them (an old picker must not be pressed by a stray number); they also lapse after
``lifetime``.
"""

from __future__ import annotations

import asyncio
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


# An offer not yet stored: the options (label, callback data), or None for "cleared", and when.
Offer = tuple[list[tuple[str, str]] | None, datetime]


class WrittenBehind:
    """Options offered on one channel whose answers are stored in the background, in the same batches
    (and transactions) as the channel's answered updates (bot/channels/seen.py).

    An offer is kept here from the moment its answer was computed until its batch is committed, and
    :meth:`offered` reads it before the database: a number typed before the batch is stored still means
    what was just offered. A batch stores an update's options together with the update's "answered"
    mark (and its leaving the webhook inbox), so after a crash an update whose options were not stored
    is not marked answered either: answered again, it offers them again. Another process (a replica, or
    this one after a restart) reads the database, so it sees an offer once its batch is committed.
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self.lock = asyncio.Lock()  # one batch at a time, so batches are committed in the order taken
        self._pending: dict[str, Offer] = {}
        self._writing: list[dict[str, Offer]] = []  # taken, not yet committed, oldest first
        self._writers = 0

    @property
    def active(self) -> bool:
        """True while some running flusher will store what is offered (otherwise write it directly)."""
        return self._writers > 0

    def attach(self) -> None:
        self._writers += 1

    def detach(self) -> None:
        self._writers = max(0, self._writers - 1)

    def offer(self, chat_id: str, offered: list[tuple[str, str]] | None, *, now: datetime) -> None:
        self._pending[chat_id] = (offered, now)

    def offered(self, chat_id: str) -> Offer | None:
        """The newest offer not yet stored for ``chat_id``, or None (then the database knows)."""
        if chat_id in self._pending:
            return self._pending[chat_id]
        for batch in reversed(self._writing):
            if chat_id in batch:
                return batch[chat_id]
        return None

    def take(self) -> dict[str, Offer]:
        """The offers to store in the next batch (call with :attr:`lock` held); then :meth:`done`."""
        batch, self._pending = self._pending, {}
        if batch:
            self._writing.append(batch)
        return batch

    def done(self, batch: dict[str, Offer], *, stored: bool) -> None:
        """The batch was committed, or failed: then each offer not replaced meanwhile goes back."""
        if batch:
            self._writing = [b for b in self._writing if b is not batch]
        if not stored:
            for chat_id, offer in batch.items():
                self._pending.setdefault(chat_id, offer)

    @property
    def waiting(self) -> int:
        return len(self._pending)


async def store(session: AsyncSession, channel: str, batch: dict[str, Offer]) -> None:
    """Write a batch of offers: one upsert for the chats offered options, one delete for those cleared."""
    offered = [
        {
            "channel": channel,
            "chat_id": chat_id,
            "options": [[label, data] for label, data in options],
            "updated_at": at,
        }
        for chat_id, (options, at) in batch.items()
        if options
    ]
    cleared = [chat_id for chat_id, (options, _at) in batch.items() if not options]
    table = ChatOptions.__table__
    if offered:
        dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
        insert = dialect_insert(dialect)
        for start in range(0, len(offered), 500):
            statement = insert(table).values(offered[start : start + 500])
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.channel, table.c.chat_id],
                set_={"options": statement.excluded.options, "updated_at": statement.excluded.updated_at},
            )
            await session.execute(statement)
    for start in range(0, len(cleared), 500):
        chats = cleared[start : start + 500]
        await session.execute(delete(ChatOptions).where(ChatOptions.channel == channel, ChatOptions.chat_id.in_(chats)))


def choose(offer: Offer, number: int, *, now: datetime, lifetime: timedelta) -> str | None:
    """The callback data of option ``number`` in an offer not yet stored (as :func:`chosen` does)."""
    offered, at = offer
    if not offered or at < now - lifetime or not 1 <= number <= len(offered):
        return None
    return str(offered[number - 1][1])
