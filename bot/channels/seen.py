"""Updates a channel has taken, so that one the platform hands out again is answered once.

Zalo hands consumed updates out again (ZALO.md §1.5), and a webhook call may be retried. A key is
claimed in memory before the update is answered (so a copy arriving meanwhile is dropped at once), and
stored in the database after it was answered, in batches written in the background: the answer path
pays no write for it. A process loads the newest keys when it starts, so copies handed out after a
restart are dropped too.

What a crash can cost: the keys answered in the last ``flush_every`` seconds before it, not yet
stored, so at most that many updates answered twice when the platform hands them out again. Nothing
is lost: a key is stored only once its update was answered, and released when answering failed.

A webhook update is answered 200 before it is answered, so the platform will not deliver it again:
:meth:`SeenKeys.take` stores it first, seen and in the inbox, in one transaction (the unique key makes
two replicas agree on who took it). Once answered it leaves the inbox, in the same background batches.
An update still in the inbox ``older_than`` after it was taken belonged to a process that died: any
live process takes it again (:meth:`SeenKeys.overdue`) and answers it. A crash then costs the updates
answered in the last ``flush_every`` seconds, answered twice; none is lost.

The numbered options the answers offered (``options``, bot/services/options.WrittenBehind) go into the
same batches and transactions, so an update is never stored as answered without its options: one
whose options a crash lost is answered again, and offers them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db import unreachable
from bot.models import SeenUpdate
from bot.services import channel_state
from bot.services import options as chat_options

log = logging.getLogger(__name__)


class SeenKeys:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channel: str,
        clock: Callable[[], datetime],
        *,
        flush_every: float = 0.25,
        remembered: int = 10_000,
        options: chat_options.WrittenBehind | None = None,
        take_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.sessions = sessions
        self.take_sessions = take_sessions or sessions  # see bot.db.create_take_engine
        # SQLite: the session takes are made on, kept from one take to the next (each take commits on
        # the driver's connection, so it holds no transaction and no lock between takes). Closing it
        # after each take cost two more hand-offs to aiosqlite's thread (the session's rollback and the
        # pool's), each waiting for a turn of a busy event loop.
        self._kept: AsyncSession | None = None
        self.channel = channel
        self.clock = clock
        self.flush_every = flush_every
        self.remembered = remembered
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._answered: dict[str, datetime] = {}  # not yet stored
        self._inboxed: set[str] = set()  # taken into the inbox by this process, not yet answered
        self._left_inbox: list[str] = []  # answered, still to be deleted from the inbox
        self._flusher: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()  # sessions of takes, closed after their 200
        # Numbered options offered by the answers, stored in the same batches (see WrittenBehind).
        self.options = options
        self._lock = options.lock if options is not None else asyncio.Lock()

    async def start(self) -> None:
        """Forget what is older than the TTL, remember the newest keys, write answered keys from now on."""
        async with self.sessions() as session, session.begin():
            await channel_state.purge_seen(session, now=self.clock())
            newest = await session.scalars(
                select(SeenUpdate.update_key)
                .where(SeenUpdate.channel == self.channel)
                .order_by(SeenUpdate.seen_at.desc(), SeenUpdate.id.desc())
                .limit(self.remembered)
            )
            for key in reversed(list(newest)):
                self._remember(key)
        if self._flusher is None:
            if self.options is not None:
                self.options.attach()
            self._flusher = asyncio.create_task(self._flush_forever(), name=f"{self.channel}-seen-keys")

    async def stop(self) -> None:
        if self._kept is not None:
            self._close_later(self._kept)
            self._kept = None
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
            with contextlib.suppress(Exception):
                await self.flush()
            if self.options is not None:
                self.options.detach()
        else:
            with contextlib.suppress(Exception):
                await self.flush()

    def claim(self, key: str) -> bool:
        """True for the first taker of ``key`` in this process; False for a copy."""
        if key in self._keys:
            return False
        self._remember(key)
        return True

    async def take(self, key: str, payload: object) -> bool:
        """Take a webhook update into the inbox before answering 200; False for a copy taken before, here
        or anywhere. Errors of the database propagate, so the webhook answers 5xx."""
        if key in self._keys:
            return False
        try:
            taken = await self._take(key, payload)
        except Exception as exc:
            if not unreachable(exc):
                raise
            # A pooled connection found dead (the database restarted): once more on a fresh one. Had
            # the first try stored it after all, this one finds it taken: it waits in the inbox, and
            # the sweep of overdue updates answers it.
            taken = await self._take(key, payload)
        self._remember(key)
        if taken:
            self._inboxed.add(key)
        return taken

    async def _take(self, key: str, payload: object) -> bool:
        session = self._kept or self.take_sessions()
        try:
            taken = await channel_state.take_update(session, self.channel, key, payload, now=self.clock())
        except BaseException:
            if session is self._kept:
                self._kept = None
            await _close(session)
            raise
        if session.bind is not None and session.bind.dialect.name == "sqlite" and self._kept in (None, session):
            self._kept = session
        else:
            # Committed: the connection goes back to the pool after the 200, not before (one wait less).
            self._close_later(session)
        return taken

    def _close_later(self, session: AsyncSession) -> None:
        closing = asyncio.create_task(_close(session), name=f"{self.channel}-take-close")
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)

    async def overdue(self, older_than: timedelta, attempts: int) -> list[tuple[str, object]]:
        """Inbox updates a dead process took and never answered, now taken by this one."""
        async with self.sessions() as session, session.begin():
            taken, given_up = await channel_state.overdue_updates(
                session,
                self.channel,
                older_than=older_than,
                attempts=attempts,
                mine=self._inboxed | set(self._left_inbox),
            )
        for key in given_up:
            log.error("%s: update %s could not be answered after %d attempts; given up", self.channel, key, attempts)
        for key, _payload in taken:
            self._remember(key)
            self._inboxed.add(key)
        return taken

    def answered(self, key: str) -> None:
        """The update was answered: store its key (with the next batch), or let it leave the inbox."""
        if key in self._inboxed:
            self._inboxed.discard(key)
            self._left_inbox.append(key)
        else:
            self._answered[key] = self.clock()

    def release(self, key: str) -> None:
        """Answering failed: the platform's next copy is to be answered (an inbox update stays in the
        inbox and is taken again once it is overdue)."""
        self._keys.pop(key, None)
        self._answered.pop(key, None)
        self._inboxed.discard(key)

    async def flush(self) -> None:
        """Store the answered keys, the inbox departures and the options offered, in one transaction.
        Options are taken last: those of an update answered by now are in this batch or an earlier one,
        so no update is stored as answered without its options."""
        async with self._lock:
            batch, self._answered = self._answered, {}
            left, self._left_inbox = self._left_inbox, []
            offers = self.options.take() if self.options is not None else {}
            if not batch and not left and not offers:
                return
            try:
                async with self.sessions() as session, session.begin():
                    await channel_state.record_seen(session, self.channel, batch)
                    await channel_state.updates_answered(session, self.channel, left)
                    if offers and self.options is not None:
                        await chat_options.store(session, self.options.channel, offers)
            except BaseException:
                for key, at in batch.items():  # the next round tries again
                    self._answered.setdefault(key, at)
                self._left_inbox.extend(left)
                if self.options is not None:
                    self.options.done(offers, stored=False)
                raise
            if self.options is not None:
                self.options.done(offers, stored=True)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_every)
            try:
                await self.flush()
            except Exception as exc:
                log.warning("%s: answered updates could not be recorded yet (%s)", self.channel, type(exc).__name__)

    def _remember(self, key: str) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.remembered:
            self._keys.popitem(last=False)


async def _close(session: AsyncSession) -> None:
    """Close a session whose work is committed; an error here changes nothing that was taken (the pool
    throws away a connection that fails to be reset)."""
    with contextlib.suppress(Exception):
        await session.close()
