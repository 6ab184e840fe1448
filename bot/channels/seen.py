"""Updates a channel has taken, so that one the platform hands out again is answered once.

Zalo hands consumed updates out again (ZALO.md §1.5), and a webhook call may be retried. A key is
claimed in memory before the update is answered (so a copy arriving meanwhile is dropped at once), and
stored in the database after it was answered, in batches written in the background: the answer path
pays no write for it. A process loads the newest keys when it starts, so copies handed out after a
restart are dropped too; a webhook copy this process has not seen is looked up in the database, since
another replica may have answered it.

What a crash can cost: the keys answered in the last ``flush_every`` seconds before it, not yet
stored, so at most that many updates answered twice when the platform hands them out again. Nothing
is lost: a key is stored only once its update was answered, and released when answering failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.models import SeenUpdate
from bot.services import channel_state

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
    ) -> None:
        self.sessions = sessions
        self.channel = channel
        self.clock = clock
        self.flush_every = flush_every
        self.remembered = remembered
        self._keys: OrderedDict[str, None] = OrderedDict()
        self._answered: dict[str, datetime] = {}  # not yet stored
        self._flusher: asyncio.Task[None] | None = None

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
            self._flusher = asyncio.create_task(self._flush_forever(), name=f"{self.channel}-seen-keys")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        with contextlib.suppress(Exception):
            await self.flush()

    def claim(self, key: str) -> bool:
        """True for the first taker of ``key`` in this process; False for a copy."""
        if key in self._keys:
            return False
        self._remember(key)
        return True

    async def claim_anywhere(self, key: str) -> bool:
        """:meth:`claim`, and False too when the database has ``key`` (another replica or an earlier
        run answered it). Errors of the database propagate, so a webhook answers 5xx."""
        if key in self._keys:
            return False
        async with self.sessions() as session:
            if await channel_state.was_seen(session, self.channel, key):
                self._remember(key)
                return False
        return self.claim(key)

    def answered(self, key: str) -> None:
        """The update was answered: store its key (with the next batch)."""
        self._answered[key] = self.clock()

    def release(self, key: str) -> None:
        """Answering failed: the platform's next copy is to be answered."""
        self._keys.pop(key, None)
        self._answered.pop(key, None)

    async def flush(self) -> None:
        if not self._answered:
            return
        batch, self._answered = self._answered, {}
        try:
            async with self.sessions() as session, session.begin():
                await channel_state.record_seen(session, self.channel, batch)
        except Exception:
            for key, at in batch.items():  # the next round tries again
                self._answered.setdefault(key, at)
            raise

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
