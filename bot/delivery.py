"""The outbox dispatcher: claim due rows, send them within each channel's limits, record the outcome.

- Claims are atomic (PostgreSQL: ``FOR UPDATE SKIP LOCKED``; SQLite has one writer), so replicas
  never send the same row; a row claimed by a process that died is reclaimed after a timeout, and
  a live process renews its claims while it works through them (at-least-once).
- Duplicates are bounded by the messages in flight: at most ``delivery_concurrency`` messages may
  have been handed to the platform without their outcome written yet (:class:`_Unrecorded`); each
  outcome is written as soon as the platform confirms it (in groups no larger than that window), so
  after a crash at most that many are sent again. When outcomes cannot be written (the database is
  down) sending stops within that window; the outcomes kept in memory are written when the database
  answers again, and the batch's other rows are released for the next round.
- Limits as Telegram enforces them: overall messages per second, one message per second to a private
  chat, 20 per minute to a group, each as evenly spaced slots (:class:`LocalSlots` in one process;
  :class:`DatabaseSlots` on PostgreSQL, shared by every replica of a bot token). The channel's own
  replies take the same overall slots (``pace_with``); one process gives at most ceil(rate) overall
  turns in any second.
- 429: the whole channel waits ``retry_after`` and the row is kept. 5xx, timeouts, network errors:
  exponential backoff, then ``failed``. Blocked or gone chats: ``failed`` at once and the chat link is
  deactivated. Reminders sent late (after the grace window's start) say "(nhắc muộn)"; older than
  the grace window they become ``missed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import math
import os
import random
import socket
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import TextClause, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from bot.channels.base import Channel, ChatMoved, ChatUnreachable, RateLimits, Rejected, RetryLater, TemporaryFailure
from bot.config import Settings
from bot.db import is_sqlite
from bot.messages import Button, Reply
from bot.metrics import Metrics
from bot.models import ChatLink, OutboxMessage, utcnow
from bot.services.deliveries import delivery_stats  # noqa: F401  (kept importable from here)
from bot.services.groups import move_chat
from bot.services.reminders import REMINDER_KINDS
from bot.views.notices import DEFAULT_TZ, render

log = logging.getLogger(__name__)

LATE_AFTER = timedelta(minutes=5)
LATE_PREFIX = "(nhắc muộn) "
MAX_BACKOFF = timedelta(minutes=30)
# A slot of the overall limit used later than this is void (Throttle.overall_turn). Sends go at most
# this late, so in any one-second window there are at most rate × (1 + LATE_TOLERANCE) + 1 of them:
# under the platform's limit while the rate is set below limit / 1.01 (the benches run at 98 %, 2 %
# of room; Telegram's default, 25 of 30, has far more). The second slot voided in a row is the last:
# on a machine so loaded that every wake is late, the sender then sends on the third one anyway.
# One process also gives at most ceil(rate) turns in any second (Throttle._within_one_second).
LATE_TOLERANCE = 0.01
MAX_VOIDED = 2


class Slots(Protocol):
    """Where the next send of a limit may go: one book per process, or one shared by all replicas."""

    async def reserve(self, key: str, interval: float) -> float:
        """Take the next slot of ``key`` (slots ``interval`` seconds apart); seconds to wait for it
        (negative when the slot handed out is already past)."""
        ...

    async def hold(self, key: str, seconds: float) -> None:
        """No slot of ``key`` before ``seconds`` from now (a flood wait)."""
        ...


class LocalSlots:
    """Evenly spaced slots kept in this process (virtual scheduling, no burst): enough for one process
    per bot token, as on SQLite.

    Each caller reserves its slot before it sleeps, so waiters go in order and the spacing does not
    drift with timer jitter. ``aiolimiter`` was tried first: with a bucket small enough to keep
    Telegram's one-second windows, its wake-ups lost a fifth of the rate; letting missed slots be
    caught up, or a small burst, made the server see bunched sends and answer 429
    (both measured with bench/broadcast.py).
    """

    def __init__(self) -> None:
        self._next: dict[str, float] = {}

    async def reserve(self, key: str, interval: float) -> float:
        now = time.monotonic()
        if len(self._next) > 50_000:  # forget chats idle for a minute
            self._next = {k: v for k, v in self._next.items() if v > now - 60}
        slot = max(self._next.get(key, 0.0), now)
        self._next[key] = slot + interval
        return slot - now

    async def hold(self, key: str, seconds: float) -> None:
        self._next[key] = max(self._next.get(key, 0.0), time.monotonic() + seconds)


_NOW = "extract(epoch from clock_timestamp())"
_RESERVE = text(
    f"INSERT INTO send_slots (key, next_at) VALUES (:key, {_NOW} + :interval) "
    f"ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(send_slots.next_at, {_NOW}) + :interval "
    f"RETURNING next_at - :interval - {_NOW}"
)
# The chats' own slots, many at once (one interval): a broadcast reserves one a message.
_RESERVE_MANY = text(
    f"INSERT INTO send_slots (key, next_at) SELECT k, {_NOW} + :interval FROM unnest(CAST(:keys AS text[])) AS t(k) "
    f"ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(send_slots.next_at, {_NOW}) + :interval "
    f"RETURNING key, next_at - :interval - {_NOW}"
)
_HOLD = text(
    f"INSERT INTO send_slots (key, next_at) VALUES (:key, {_NOW} + :seconds) "
    f"ON CONFLICT (key) DO UPDATE SET next_at = GREATEST(send_slots.next_at, {_NOW} + :seconds)"
)


def _retrieved(task: asyncio.Task[None]) -> None:
    """Marks a background task's failure as seen (its waiters, if any, have it; it is logged there)."""
    if not task.cancelled():
        task.exception()


class DatabaseSlots:
    """The same slots in PostgreSQL (table ``send_slots``), so every replica of a bot token keeps to
    one set of limits: a reservation moves the key's next slot forward in one atomic upsert (the row
    lock orders concurrent replicas), by the database's clock, so the replicas' own clocks do not
    matter. A flood wait one replica meets holds the key for all. When the database does not answer,
    this process paces itself alone until it does (outcomes that cannot be written stop sending anyway).

    Statements run in autocommit (one round trip each), a few at once. The token's overall slots are
    taken a tenth of a second's worth at a time (a run of consecutive slots, handed out here in
    order; the next run is reserved while the last one is used): one round trip a message for that
    key cost a third of the rate at 135/s on the 2-core machine (bench/crash.py replicas: 73–90/s
    against 121/s paced in the process). The chats' own
    slots are reserved together: the requests that arrive while one statement runs go in the next,
    one statement for all of them, since a broadcast reserves one a message (one round trip each
    capped ``qtbot run`` at about half of a 100/s limit, bench/replicas.py).
    """

    BLOCK_SECONDS = 0.1

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.fallback = LocalSlots()
        self._lanes = asyncio.Semaphore(4)
        self._runs: dict[str, deque[float]] = {}
        self._refills: dict[str, asyncio.Task[None]] = {}
        # Chat slots asked for and not yet reserved: interval -> key -> the waiting reservations.
        self._asked: dict[float, dict[str, list[asyncio.Future[float]]]] = {}
        self._reserving: asyncio.Task[None] | None = None

    async def _run(self, statement: TextClause, values: dict[str, object]) -> float:
        async with self._lanes, self.engine.connect() as connection:
            result = await connection.execute(statement, values)
            return float(result.scalar() or 0.0) if result.returns_rows else 0.0

    async def _from_run(self, key: str, interval: float) -> float:
        """The next slot of ``key`` from the run of consecutive slots this process holds. While a run is
        being used, the next one is reserved (when fewer than a block's slots are left), so no sender
        waits for that round trip: waiting for it, a run's slots began only once it returned, and
        each refill's round trip (20–40 ms on the loaded 2-core machine, a tenth of the block) was
        lost to the rate (bench/replicas.py)."""
        count = max(1, int(self.BLOCK_SECONDS / interval))
        while True:
            run = self._runs.setdefault(key, deque())
            now = time.monotonic()
            while run and run[0] < now - interval:  # left over from an idle moment
                run.popleft()
            refill = self._refills.get(key)
            if len(run) < count and (refill is None or refill.done()):
                refill = self._refills[key] = asyncio.create_task(self._extend(key, interval, count, run))
                refill.add_done_callback(_retrieved)
            if run:
                return run.popleft() - now  # negative: a slot already past (Throttle voids it if too late)
            assert refill is not None
            await asyncio.shield(refill)  # raises when the database does not answer

    async def _extend(self, key: str, interval: float, count: int, run: deque[float]) -> None:
        """Reserves ``count`` more slots of ``key`` and adds them to ``run`` (unless a flood wait voided it)."""
        start = max(0.0, await self._run(_RESERVE, {"key": key, "interval": interval * count}))
        if self._runs.get(key) is not run:
            return
        first = time.monotonic() + start
        if run:
            first = max(first, run[-1] + interval)
        run.extend(first + n * interval for n in range(count))

    async def _together(self, key: str, interval: float) -> float:
        """A chat's slot, reserved in one statement with the others asked for meanwhile."""
        waiting: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._asked.setdefault(interval, {}).setdefault(key, []).append(waiting)
        if self._reserving is None or self._reserving.done():
            self._reserving = asyncio.create_task(self._reserve_asked())
        return await waiting

    async def _reserve_asked(self) -> None:
        while self._asked:
            asked, self._asked = self._asked, {}
            for interval, by_key in asked.items():
                # One row can be moved once per statement: a second reservation of a chat waits for
                # the next statement.
                for key, futures in by_key.items():
                    if len(futures) > 1:
                        self._asked.setdefault(interval, {})[key] = futures[1:]
                try:
                    async with self._lanes, self.engine.connect() as connection:
                        result = await connection.execute(_RESERVE_MANY, {"keys": list(by_key), "interval": interval})
                        waits = {key: float(wait or 0.0) for key, wait in result.all()}
                except Exception as exc:
                    for futures in by_key.values():
                        if not futures[0].done():
                            futures[0].set_exception(exc)
                    continue
                for key, futures in by_key.items():
                    if not futures[0].done():
                        futures[0].set_result(waits.get(key, 0.0))

    async def reserve(self, key: str, interval: float) -> float:
        try:
            if key.endswith(":all"):
                return await self._from_run(key, interval)
            wait = await self._together(key, interval)
        except Exception:
            log.warning("send slots: the database does not answer; pacing this process alone", exc_info=True)
            return await self.fallback.reserve(key, interval)
        return max(0.0, wait)

    async def hold(self, key: str, seconds: float) -> None:
        await self.fallback.hold(key, seconds)
        self._runs.pop(key, None)  # slots taken before the flood wait are void
        self._refills.pop(key, None)
        try:
            await self._run(_HOLD, {"key": key, "seconds": seconds})
        except Exception:
            log.warning("send slots: a flood wait could not be shared", exc_info=True)

    async def forget_idle(self) -> None:
        """Drops the slots of chats idle for two minutes (a broadcast leaves one row a chat)."""
        await self._run(text(f"DELETE FROM send_slots WHERE next_at < {_NOW} - 120"), {})


def limits_key(settings: Settings, channel: str) -> str:
    """The limits are the bot token's: replicas of one token share them, another bot does not (the
    key holds a digest of the token, never the token)."""
    token = getattr(settings, f"{channel}_token", None)
    secret = token.get_secret_value() if token is not None else ""
    return f"{channel}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


class Throttle:
    """The limits of one channel: overall rate, one chat's own limit, and flood waits. ``pause`` stops
    every send of the channel (Telegram's flood wait applies to the whole bot, not to one chat)."""

    def __init__(
        self,
        limits: RateLimits,
        slots: Slots | None = None,
        key: str = "",
        late_tolerance: float | None = LATE_TOLERANCE,
    ) -> None:
        self.limits = limits
        self.slots: Slots = slots or LocalSlots()
        self.key = key
        self.late_tolerance = late_tolerance  # None: a late slot is used however late (as before)
        self.voided = 0  # overall slots woken to too late and not used, so far
        self._paused_until = 0.0
        self._pauses = 0  # flood waits begun so far: a slot taken before one is void
        self._sent: deque[float] = deque()  # when this process's overall turns were given, last second

    def pause(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        if until > self._paused_until:
            self._paused_until = until
            self._pauses += 1

    async def flood(self, seconds: float) -> None:
        """The platform answered 429: this process and (shared slots) every replica wait."""
        self.pause(seconds)
        await self.slots.hold(f"{self.key}:all", seconds)

    async def _wait_if_paused(self) -> None:
        # A deadline, not an event: another 429 may push it further while we sleep.
        while (wait := self._paused_until - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)

    async def chat_turn(self, chat_id: str, is_group: bool) -> None:
        """Wait for the chat's own limit (1 s per private chat, 20/min per group)."""
        await self._wait_if_paused()
        interval = 60 / self.limits.group_per_minute if is_group else self.limits.private_interval
        if interval > 0:
            wait = await self.slots.reserve(f"{self.key}:chat:{chat_id}", interval)
            if wait > 0:
                await asyncio.sleep(wait)

    async def overall_turn(self) -> None:
        """Wait for the channel's overall limit (and any flood wait).

        A slot taken before a flood wait began is void: the senders that held one would all go at the
        wait's end, on top of the slots taken after it, and draw the next 429 (one every two seconds,
        half the rate, bench/replicas.py). They take a new slot after the wait instead.

        A slot woken to more than ``late_tolerance`` after its time is void too: when the loop stalls
        (a loaded machine), every sender whose slot passed meanwhile would go at once, on top of the
        slots on time, and at 98 % of the limit the platform would see more than its limit in one
        second and answer 429 (a 1 s wait for all on Telegram, 60 s on Zalo). The late sender takes
        a new slot at the end of the schedule instead, at most ``MAX_VOIDED`` times in a row."""
        voided = 0
        while True:
            await self._wait_if_paused()
            pauses = self._pauses
            wait = await self.slots.reserve(f"{self.key}:all", 1 / self.limits.per_second)
            slot_at = time.monotonic() + wait
            if wait > 0:
                await asyncio.sleep(wait)
            if self._pauses != pauses:
                continue
            tolerance = self.late_tolerance
            if tolerance is not None and voided < MAX_VOIDED and time.monotonic() - slot_at > tolerance:
                voided += 1
                self.voided += 1
                continue
            await self._within_one_second()
            if self._pauses == pauses:
                self._sent.append(time.monotonic())
                return

    async def _within_one_second(self) -> None:
        """Waits while this process has sent ``ceil(rate)`` messages in the last second.

        Slots used up to ``late_tolerance`` late can put rate × (1 + tolerance) + 1 sends in one
        second: at 98 % of a limit of 100 that is 100, the limit itself, so any delay between here
        and the platform's clock that differs from one message to the next (the network, the server's
        own loop) makes the next one the 101st, a 429 and a 1 s wait for all (bench/replicas.py, the
        fake Bot API in its own process: 20–60 ms now and then). Kept to ceil(rate), the process
        leaves that jitter about 2 % of a second (a limit of 100 at 98 %); the wait is at most the
        lateness of the slot before, so the rate is kept. Per process: replicas share their slots,
        not their sending moments (one database round trip a message cost a third of the rate)."""
        cap = max(1, math.ceil(self.limits.per_second - 1e-9))
        sent = self._sent
        while True:
            now = time.monotonic()
            while sent and sent[0] + 1.0 <= now:
                sent.popleft()
            if len(sent) < cap:
                return
            await asyncio.sleep(sent[0] + 1.0 - now)

    async def acquire(self, chat_id: str, is_group: bool) -> None:
        await self.chat_turn(chat_id, is_group)
        await self.overall_turn()


@dataclass
class Claimed:
    id: int
    kind: str
    channel: str
    chat_id: str
    chat_link_id: int | None
    is_group: bool
    reply: Reply
    attempts: int
    due_at: datetime | None = None
    parts_sent: int = 0


@dataclass
class Outcome:
    row: Claimed
    result: str  # sent / retry / temporary / gone / failed
    detail: str | None = None
    seconds: float = 0.0
    flood: bool = False
    attempted: bool = False  # handed to the platform: holds a place in the unrecorded window
    parts_sent: int | None = None  # of a message in parts, how many have gone out by now


# How the rows of a chat after a failure are recorded (a chat's messages go in order).
_Rest = Callable[[Claimed], Outcome]


def _stopped(sender: asyncio.Task[_Rest | None]) -> _Rest | None:
    """How a finished chat sender said its chat's later rows are recorded (None: send them)."""
    return None if sender.cancelled() or sender.exception() is not None else sender.result()


class OutcomesNotRecorded(Exception):
    """The database did not take a batch's outcomes; sending stopped, the outcomes are kept."""


class _Unrecorded:
    """The messages handed to the platform whose outcome is not written yet: at most ``size``. A
    sender takes a place before it sends; the recorder gives places back once the outcomes are
    committed. So a crash resends at most ``size`` messages, and when nothing can be written the
    senders stop after ``size`` more."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._places = asyncio.Semaphore(size)
        self.closed = False

    async def take(self) -> bool:
        """A place to send one message; False once the window is closed (stop sending)."""
        await self._places.acquire()
        if self.closed:
            self._places.release()  # wakes the next waiter, which stops too
            return False
        return True

    def close(self) -> None:
        """No more sends: the waiting senders wake up and stop; those in flight finish."""
        self.closed = True
        self.give_back(self.size)

    def give_back(self, count: int) -> None:
        for _ in range(count):
            self._places.release()


@dataclass
class DeliveryReport:
    claimed: int = 0
    sent: list[Claimed] = field(default_factory=list)
    retried: int = 0
    failed: int = 0
    missed: int = 0
    too_many_requests: int = 0
    voided_slots: int = 0  # overall slots woken to too late and taken again (Throttle.overall_turn)


def _reply(
    row: OutboxMessage, late: bool, tz: ZoneInfo = DEFAULT_TZ, now: datetime | None = None, *, private: bool = False
) -> Reply:
    """What to send for a row: its notice rendered as of ``now`` (in memory, from the payload), or, for
    rows written before notices had payloads and for finished texts, the stored text. A reminder to a
    person knows its row, so that it can offer "Nhắc lại sau 1 giờ" (bot/services/acks.py)."""
    if row.notice is not None and row.payload is not None:
        payload = {**row.payload, "outbox_id": row.id} if private and row.kind in REMINDER_KINDS else row.payload
        reply = render(row.notice, payload, tz, now)
        text, buttons = reply.text, reply.buttons
    else:
        text = row.stored_text or ""
        buttons = [[Button(b["text"], b["data"]) for b in line] for line in row.buttons or []]
    return Reply(LATE_PREFIX + text if late else text, buttons=buttons)


class OutboxDelivery:
    """Sends due outbox rows through the channels it was given."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        channels: dict[str, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.settings = settings
        self.channels = channels
        self.clock = clock
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        # Limits per bot token: in this process on SQLite (one process per database), in the database
        # on PostgreSQL, where replicas share a token.
        engine = getattr(sessions, "kw", {}).get("bind")
        shared = engine is not None and not is_sqlite(settings.database_url)
        self.slots: Slots = DatabaseSlots(engine) if shared else LocalSlots()
        # The recorder's own connection writes messages sent in one statement each.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT") if engine is not None else None
        self.throttles = {
            name: Throttle(channel.limits, self.slots, limits_key(settings, name)) for name, channel in channels.items()
        }
        # A channel's own replies (answers to questions) take the same overall slots: the platform
        # counts every message of the token, and unpaced replies beside a broadcast drew 429s.
        for name, channel in channels.items():
            if (pace_with := getattr(channel, "pace_with", None)) is not None:
                pace_with(self.throttles[name])
        self._wake = asyncio.Event()
        # Outcomes the database did not take (it was down): written before anything else is sent.
        self._unwritten: list[Outcome] = []
        self._renewed_at = time.monotonic()
        self._slots_swept_at = 0.0
        self.grace = timedelta(minutes=settings.grace_minutes)

    def wake(self) -> None:
        """New rows may be due (the planner or an admin just wrote some)."""
        self._wake.set()

    # --- claiming ------------------------------------------------------------------------------

    async def reclaim_stale(self, now: datetime) -> int:
        """Rows of processes that died go back to pending (and shared send slots of idle chats go)."""
        cutoff = now - timedelta(seconds=self.settings.delivery_claim_timeout_seconds)
        async with self.sessions() as session, session.begin():
            result = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "claimed", OutboxMessage.claimed_at < cutoff)
                .values(status="pending", claimed_by=None, claimed_at=None)
            )
        if isinstance(self.slots, DatabaseSlots) and time.monotonic() - self._slots_swept_at > 60:
            self._slots_swept_at = time.monotonic()
            await self.slots.forget_idle()
        return result.rowcount or 0

    async def _claim(self, now: datetime, report: DeliveryReport) -> list[Claimed]:
        limit = self.settings.delivery_batch_size
        async with self.sessions() as session, session.begin():
            due = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.next_attempt_at <= now,
                    OutboxMessage.channel.in_(list(self.channels)),
                )
                .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                .limit(limit)
            )
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            ids = list(await session.scalars(due))
            if not ids:
                return []
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
                .values(status="claimed", claimed_by=self.worker, claimed_at=now)
            )
            rows = list(
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == self.worker)
                    .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
                )
            )
            groups = set(
                await session.scalars(
                    select(ChatLink.id).where(
                        ChatLink.id.in_({r.chat_link_id for r in rows if r.chat_link_id}), ChatLink.chat_type == "group"
                    )
                )
            )
            claimed, missed, late, broken = [], [], [], []
            for row in rows:
                lateness = now - row.send_at
                if row.kind in REMINDER_KINDS and lateness > self.grace:
                    missed.append(row.id)
                    continue
                is_late = row.kind in REMINDER_KINDS and lateness > LATE_AFTER
                try:
                    private = row.chat_link_id is not None and row.chat_link_id not in groups
                    reply = _reply(row, is_late, self.settings.tz, now, private=private)
                except Exception as exc:  # a notice its renderer cannot read: record it, send the rest
                    log.exception("rendering outbox row %s failed", row.id)
                    broken.append((row.id, f"{type(exc).__name__}: {exc}"[:500]))
                    continue
                if is_late:
                    late.append(row.id)
                claimed.append(
                    Claimed(
                        row.id,
                        row.kind,
                        row.channel,
                        row.chat_id,
                        row.chat_link_id,
                        row.chat_link_id in groups,
                        reply,
                        row.attempts,
                        row.due_at,
                        row.parts_sent,
                    )
                )
            if missed:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(missed))
                    .values(status="missed", last_error="quá thời gian nhắc (ngoài khoảng cho phép)")
                )
                report.missed += len(missed)
            if late:
                await session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(late)).values(late=True))
            for row_id, error in broken:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id)
                    .values(status="failed", claimed_by=None, last_error=error)
                )
                report.failed += 1
        report.claimed += len(rows)
        return claimed

    # --- sending -------------------------------------------------------------------------------

    async def _send_chat(
        self,
        rows: list[Claimed],
        outcomes: asyncio.Queue[Outcome | None],
        window: _Unrecorded,
        after: asyncio.Task[_Rest | None] | None = None,
    ) -> _Rest | None:
        """One chat's rows, in order; a failure stops the rest of this chat's rows (kept for later), and
        the rows of the same chat in the next batch (``after`` is this chat's sender there). Returns
        how such rows are recorded, or None. The chat's own limit is waited out before taking a place
        in the window, the overall limit after."""
        if after is not None:
            await asyncio.wait([after])
            if (stopped := _stopped(after)) is not None:
                for row in rows:
                    outcomes.put_nowait(stopped(row))
                return stopped
        for index, row in enumerate(rows):
            channel = self.channels[row.channel]
            throttle = self.throttles[row.channel]
            await throttle.chat_turn(row.chat_id, row.is_group)
            if not await window.take():
                return None  # the database is not taking outcomes: the rest stays claimed, released later
            rest: _Rest
            try:
                await throttle.overall_turn()
                await channel.deliver(
                    row.chat_id, row.reply, is_group=row.is_group, kind=row.kind, first_part=row.parts_sent
                )
            except RetryLater as exc:
                await throttle.flood(exc.seconds)
                outcomes.put_nowait(
                    Outcome(row, "retry", str(exc), exc.seconds, flood=True, attempted=True, parts_sent=exc.parts_sent)
                )
                rest = functools.partial(Outcome, result="retry", detail=str(exc), seconds=exc.seconds, flood=True)
            except TemporaryFailure as exc:
                outcomes.put_nowait(Outcome(row, "temporary", str(exc), attempted=True, parts_sent=exc.parts_sent))
                rest = functools.partial(Outcome, result="retry", detail="chờ tin trước của cùng chat", seconds=1.0)
            except ChatUnreachable as exc:
                outcomes.put_nowait(Outcome(row, "gone", str(exc), attempted=True))
                rest = functools.partial(Outcome, result="gone", detail=str(exc))
            except ChatMoved as exc:  # sent again at once, to the chat's new id
                outcomes.put_nowait(Outcome(row, "moved", exc.new_chat_id, attempted=True))
                rest = functools.partial(Outcome, result="moved", detail=exc.new_chat_id)
            except Rejected as exc:
                outcomes.put_nowait(Outcome(row, "failed", str(exc), attempted=True))
                continue
            except Exception as exc:  # a bug must not stop the dispatcher; the row is retried
                log.exception("sending outbox row %s failed", row.id)
                outcomes.put_nowait(Outcome(row, "temporary", f"{type(exc).__name__}: {exc}", attempted=True))
                continue
            else:
                outcomes.put_nowait(Outcome(row, "sent", attempted=True))
                if self.metrics is not None and row.due_at is not None:
                    late = (self.clock() - row.due_at).total_seconds()
                    self.metrics.lateness.labels(row.channel).observe(max(0.0, late))
                continue
            for later in rows[index + 1 :]:
                outcomes.put_nowait(rest(later))
            return rest
        return None

    async def _recorder(
        self, outcomes: asyncio.Queue[Outcome | None], report: DeliveryReport, window: _Unrecorded
    ) -> None:
        """Writes outcomes as they come: whatever arrived while the last write ran goes in the next one
        (never more than the window), and the window's places are given back once it is committed.
        Returns after the ``None`` that ends the run; raises :class:`OutcomesNotRecorded` (keeping the
        outcomes in ``_unwritten``) when the database does not take them.

        Messages sent, the common outcome, are written by one statement on a connection the recorder
        keeps (autocommit: one round trip). A session a write cost six round trips on PostgreSQL (the
        pool's ping is a transaction of its own), about 30 ms on the loaded 2-core machine; a message's
        place in the window is held until its outcome is written, so that time capped the rate
        (bench/replicas.py)."""
        async with contextlib.AsyncExitStack() as stack:
            connection: AsyncConnection | None = None
            finished = False
            while not finished:
                item = await outcomes.get()
                pending: list[Outcome] = []
                while True:
                    if item is None:
                        finished = True
                    else:
                        pending.append(item)
                    if outcomes.empty():
                        break
                    item = outcomes.get_nowait()
                if not pending:
                    continue
                try:
                    renew = self._renewal_due()
                    if self._autocommit is not None and not renew and all(o.result == "sent" for o in pending):
                        if connection is None:
                            connection = await stack.enter_async_context(self._autocommit.connect())
                        await self._record_sent(connection, pending, report)
                    else:
                        await self._record(pending, report, renew=renew)
                except Exception as exc:
                    self._unwritten.extend(pending)
                    log.exception("outbox: %s outcomes could not be written; sending stops", len(pending))
                    raise OutcomesNotRecorded(str(exc)) from exc
                window.give_back(sum(1 for outcome in pending if outcome.attempted))

    async def _record_sent(self, connection: AsyncConnection, outcomes: list[Outcome], report: DeliveryReport) -> None:
        """Messages that went out, in one statement (autocommit)."""
        table = OutboxMessage.__table__
        await connection.execute(
            update(table)
            .where(table.c.id.in_([o.row.id for o in outcomes]))
            .values(status="sent", sent_at=self.clock(), claimed_by=None)
        )
        report.sent.extend(o.row for o in outcomes)

    def _renewal_due(self) -> bool:
        """Claims are renewed a few times per claim timeout, so no other process reclaims rows this one
        still holds, however long they take (429 pauses, groups at 20 a minute)."""
        if time.monotonic() - self._renewed_at < self.settings.delivery_claim_timeout_seconds / 4:
            return False
        self._renewed_at = time.monotonic()
        return True

    async def _record(self, outcomes: list[Outcome], report: DeliveryReport, *, renew: bool = False) -> None:
        now = self.clock()
        sent = [o.row.id for o in outcomes if o.result == "sent"]
        async with self.sessions() as session, session.begin():
            if renew:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.status == "claimed", OutboxMessage.claimed_by == self.worker)
                    .values(claimed_at=now)
                )
            if sent:
                for start in range(0, len(sent), 500):
                    await session.execute(
                        update(OutboxMessage)
                        .where(OutboxMessage.id.in_(sent[start : start + 500]))
                        .values(status="sent", sent_at=now, claimed_by=None)
                    )
            gone_links: dict[int, str] = {}
            moved_links: dict[int, str] = {}
            for outcome in outcomes:
                row, detail = outcome.row, outcome.detail
                values: dict[str, object]
                if outcome.result == "sent":
                    report.sent.append(row)
                    continue
                if outcome.result == "moved" and row.chat_link_id is not None and detail:
                    report.retried += 1
                    moved_links[row.chat_link_id] = detail
                    values = {"status": "pending", "chat_id": detail, "next_attempt_at": now}
                elif outcome.result == "retry":
                    report.retried += 1
                    report.too_many_requests += 1 if outcome.flood else 0
                    values = {"status": "pending", "next_attempt_at": now + timedelta(seconds=outcome.seconds)}
                elif outcome.result == "temporary" and row.attempts + 1 < self.settings.delivery_max_attempts:
                    report.retried += 1
                    backoff = min(MAX_BACKOFF, timedelta(seconds=2 ** (row.attempts + 1)))
                    jitter = timedelta(seconds=random.uniform(0, backoff.total_seconds() / 4))
                    values = {
                        "status": "pending",
                        "attempts": row.attempts + 1,
                        "next_attempt_at": now + backoff + jitter,
                    }
                else:
                    report.failed += 1
                    values = {"status": "failed", "attempts": row.attempts + 1}
                    log.info("outbox row %s to %s:%s failed: %s", row.id, row.channel, row.chat_id, detail)
                    if outcome.result == "gone" and row.chat_link_id is not None:
                        gone_links[row.chat_link_id] = detail or "không gửi được"
                values.update(last_error=None if outcome.result == "moved" else (detail or "")[:500], claimed_by=None)
                if outcome.parts_sent is not None and outcome.result in ("retry", "temporary"):
                    values["parts_sent"] = outcome.parts_sent
                await session.execute(update(OutboxMessage).where(OutboxMessage.id == row.id).values(**values))
            for link_id, new_chat_id in moved_links.items():
                await move_chat(session, link_id, new_chat_id)
            for link_id, reason in gone_links.items():
                await session.execute(
                    update(ChatLink).where(ChatLink.id == link_id).values(active=False, deactivated_reason=reason[:200])
                )
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.chat_link_id == link_id, OutboxMessage.status == "pending")
                    .values(status="failed", last_error=f"chat không còn nhận tin: {reason}"[:500])
                )
                log.info("chat link %s deactivated: %s", link_id, reason)

    def _start_batch(
        self,
        rows: list[Claimed],
        outcomes: asyncio.Queue[Outcome | None],
        window: _Unrecorded,
        chats: dict[tuple[str, str], asyncio.Task[_Rest | None]],
    ) -> list[asyncio.Task[_Rest | None]]:
        """One sender per chat of a batch, each after that chat's sender of the batch before (in order)."""
        by_chat: dict[tuple[str, str], list[Claimed]] = defaultdict(list)
        for row in rows:
            by_chat[(row.channel, row.chat_id)].append(row)
        started = []
        for key, chat_rows in by_chat.items():
            task = asyncio.create_task(self._send_chat(chat_rows, outcomes, window, after=chats.get(key)))
            chats[key] = task
            started.append(task)
        return started

    async def _settle(self, report: DeliveryReport) -> None:
        """After the database failed a batch: write the outcomes kept in memory, then release this
        process's other claims (nothing of it is in flight any more) so they go out without waiting for
        the claim timeout."""
        if not self._unwritten:
            return
        kept = list(self._unwritten)
        await self._record(kept, report)
        self._unwritten.clear()
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.status == "claimed", OutboxMessage.claimed_by == self.worker)
                .values(status="pending", claimed_by=None, claimed_at=None)
            )
        log.info("outbox: %s outcomes written after the database came back", len(kept))

    async def deliver_due(self, *, drain: bool = True) -> DeliveryReport:
        """Send everything due now. While one batch is being sent the next one is claimed and its
        senders start, queueing for the same window behind the first's, so a long broadcast does not
        pause between batches. Returns what happened."""
        report = DeliveryReport()
        voided_before = sum(throttle.voided for throttle in self.throttles.values())
        await self._settle(report)
        self._renewed_at = time.monotonic()
        rows = await self._claim(self.clock(), report)
        if not rows:
            return report
        outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        window = _Unrecorded(self.settings.delivery_concurrency)
        recorder = asyncio.create_task(self._recorder(outcomes, report, window))
        chats: dict[tuple[str, str], asyncio.Task[_Rest | None]] = {}
        current = self._start_batch(rows, outcomes, window, chats)
        senders = list(current)
        unclaimed: Exception | None = None  # the claim failed: what was claimed is sent, then it is raised
        try:
            while current:
                following: list[asyncio.Task[_Rest | None]] = []
                if drain and unclaimed is None:
                    try:
                        rows = await self._claim(self.clock(), report)
                    except Exception as exc:
                        unclaimed, rows = exc, []
                    following = self._start_batch(rows, outcomes, window, chats)
                    senders += following
                batch = asyncio.gather(*current, return_exceptions=True)
                await asyncio.wait({batch, recorder}, return_when=asyncio.FIRST_COMPLETED)
                if recorder.done():  # it stops before the end only when the database failed it
                    break
                current = following
                senders = [task for task in senders if not task.done()]
                for key in [key for key, task in chats.items() if task.done() and _stopped(task) is None]:
                    del chats[key]  # a chat stopped by a failure stays, so that its later rows wait too
        except BaseException:  # cancelled: stop sending (what is in flight may have gone out)
            for task in senders:
                task.cancel()
            await asyncio.gather(*senders, return_exceptions=True)
            outcomes.put_nowait(None)
            raise
        if recorder.done():  # the database failed us: let what is in flight finish, send nothing more
            window.close()
            await asyncio.gather(*senders, return_exceptions=True)
            while not outcomes.empty():
                if (item := outcomes.get_nowait()) is not None:
                    self._unwritten.append(item)
        outcomes.put_nowait(None)
        report.voided_slots = sum(throttle.voided for throttle in self.throttles.values()) - voided_before
        await recorder  # raises OutcomesNotRecorded
        if unclaimed is not None:
            raise unclaimed
        return report

    async def next_due_in(self, ceiling: float) -> float:
        async with self.sessions() as session:
            first = await session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == "pending", OutboxMessage.channel.in_(list(self.channels))
                )
            )
        if first is None:
            return ceiling
        return max(0.0, min(ceiling, (first - self.clock()).total_seconds()))

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; sleeps until the next row is due (at most one second)."""
        while not stop.is_set():
            try:
                await self.reclaim_stale(self.clock())
                await self.deliver_due()
                pause = await self.next_due_in(1.0)
            except Exception:
                log.exception("outbox delivery failed; retrying in 5 s")
                pause = 5.0
            self._wake.clear()
            if pause > 0:
                waiter = asyncio.create_task(self._wake.wait())
                stopper = asyncio.create_task(stop.wait())
                await asyncio.wait({waiter, stopper}, timeout=pause, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                stopper.cancel()
