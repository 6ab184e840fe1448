"""A content version for the whole database, and the answer cache built on it.

Every transaction that changes content (units, rosters, events, scores, members, chat links...)
increments one row, ``content_versions.version``, in the same transaction: the session hooks below
see ORM flushes and INSERT/UPDATE/DELETE statements, so no service has to remember to do it.
Delivery bookkeeping (outbox, job runs, the audit log, channel state) does not count as content.

Each process reads the version at most once per ``refresh`` seconds, and at once after its own
commits. Answers to read-only questions are cached per version: the same question from the same
kind of asker on the same minute is answered without touching the database, and any change anywhere
empties the cache (on another replica, within ``refresh`` seconds).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from sqlalchemy import event, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from bot.models import (
    AppState,
    AuditEntry,
    ChannelUsage,
    ChatOptions,
    ContentVersion,
    InboxUpdate,
    JobRun,
    OutboxMessage,
    SeenUpdate,
    SendSlot,
    StoredFile,
)

# Tables whose changes do not alter any answer.
NOT_CONTENT = {
    ContentVersion.__tablename__,
    OutboxMessage.__tablename__,
    JobRun.__tablename__,
    AuditEntry.__tablename__,
    ChatOptions.__tablename__,
    SeenUpdate.__tablename__,
    InboxUpdate.__tablename__,
    ChannelUsage.__tablename__,
    StoredFile.__tablename__,
    AppState.__tablename__,
    SendSlot.__tablename__,
}
_CHANGED = "qtbot.content_changed"
_BUMPED = "qtbot.content_bumped"
WATCH = "qtbot.version_watch"


class TrackedSession(Session):
    """The sync session behind every AsyncSession of the app; carries the content-version hooks."""


def _is_content(table_name: str | None) -> bool:
    return table_name is not None and table_name not in NOT_CONTENT


@event.listens_for(TrackedSession, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        table = getattr(type(instance), "__tablename__", None)
        if _is_content(table) and (instance not in session.dirty or session.is_modified(instance)):
            session.info[_CHANGED] = True
            return


@event.listens_for(TrackedSession, "do_orm_execute")
def _on_statement(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if _is_content(getattr(table, "name", None)):
            state.session.info[_CHANGED] = True


@event.listens_for(TrackedSession, "before_commit")
def _bump(session: Session) -> None:
    session.flush()  # so that changes still pending are seen by after_flush
    if session.info.get(_CHANGED) and not session.info.get(_BUMPED):
        session.info[_BUMPED] = True
        # The row is created by the first migration; one row, so the update is the whole protocol.
        session.execute(update(ContentVersion).where(ContentVersion.id == 1).values(version=ContentVersion.version + 1))


@event.listens_for(TrackedSession, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_BUMPED, False):
        watch = session.info.get(WATCH)
        if watch is not None:
            watch.changed_here()
    session.info.pop(_CHANGED, None)


@event.listens_for(TrackedSession, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_CHANGED, None)
    session.info.pop(_BUMPED, None)


class VersionWatch:
    """This process's view of the content version."""

    def __init__(self, refresh: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.refresh = refresh
        self.clock = clock
        self._version: int | None = None
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    def changed_here(self) -> None:
        """A local commit changed content: read the version again before the next answer."""
        self._read_at = -float("inf")

    async def current(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        if self.clock() - self._read_at >= self.refresh:
            async with self._lock:
                if self.clock() - self._read_at >= self.refresh:
                    started = self.clock()
                    async with sessions() as session:
                        version = await session.scalar(select(ContentVersion.version).where(ContentVersion.id == 1))
                    self._version = version or 0
                    self._read_at = started
        assert self._version is not None
        return self._version


class VersionedCache:
    """A bounded LRU map whose entries all belong to one content version."""

    def __init__(self, size: int = 5000) -> None:
        self.size = size
        self._version: int | None = None
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, version: int, key: Hashable) -> Any | None:
        if version != self._version:
            self._version = version
            self._entries.clear()
        value = self._entries.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return value

    def put(self, version: int, key: Hashable, value: Any) -> None:
        if version != self._version:
            self._version = version
            self._entries.clear()
        self._entries[key] = value
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
