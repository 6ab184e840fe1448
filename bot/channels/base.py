"""What the delivery layer needs from a channel, and the errors a channel raises when sending."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from bot.messages import Reply

log = logging.getLogger(__name__)


class StartupError(Exception):
    """A channel cannot start (token rejected, API unreachable): one Vietnamese line naming the
    setting, without the token."""


class DeliveryError(Exception):
    """Sending failed; the subclass says what the outbox should do. ``parts_sent``: how many parts of a
    message split in parts had gone out before it failed (the retry starts after them)."""

    parts_sent: int = 0


class RetryLater(DeliveryError):
    """Flood control (Telegram 429): wait ``seconds`` before sending anything else on this channel."""

    def __init__(self, seconds: float, message: str = "flood control") -> None:
        super().__init__(message)
        self.seconds = seconds


class TemporaryFailure(DeliveryError):
    """A 5xx answer, a timeout or a network error: try again later, a bounded number of times."""


class ChatUnreachable(DeliveryError):
    """The bot was blocked or removed, or the chat is gone: stop sending to it."""


class ChatMoved(DeliveryError):
    """The chat has a new id (a Telegram group upgraded to a supergroup): send there from now on."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Rejected(DeliveryError):
    """The platform refused this message (a 400 other than a missing chat): trying again won't help."""


@dataclass(frozen=True)
class RateLimits:
    """Outgoing limits of a platform, as its servers enforce them."""

    per_second: float
    private_interval: float  # seconds between two messages to one private chat
    group_per_minute: int


class Pacer(Protocol):
    """The bot token's overall limit, shared by the outbox and the channel's own replies
    (bot/delivery.py, ``Throttle``): the platform counts every message the token sends."""

    async def overall_turn(self) -> None:
        """Wait for a slot of the overall limit (and any flood wait)."""
        ...

    async def flood(self, seconds: float) -> None:
        """The platform answered 429: every sender of the token waits ``seconds``."""
        ...


class Channel(Protocol):
    """A transport the outbox can push through."""

    name: str
    limits: RateLimits

    async def deliver(self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "", first_part: int = 0) -> None:
        """Send one message; raise a :class:`DeliveryError` subclass when it did not go out. ``kind``
        is what the message is (a subscription kind: duty, digest_daily...), for channels that
        ration what they send. A message longer than the channel's limit goes out in parts: the
        parts before ``first_part`` went out on an earlier attempt and are not sent again, and the
        error raised says in ``parts_sent`` how far this attempt got."""


class ChatLocks:
    """One lock per chat, kept while someone holds or waits for it: the webhook calls of one chat,
    which the platform may make at once, are handled one after another, in the order they came (a
    guided dialog must see its steps in order), while other chats' calls run alongside."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, chat_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(chat_id, (None, 0))
        lock = lock or asyncio.Lock()
        self._locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[chat_id]
            if users <= 1:
                del self._locks[chat_id]
            else:
                self._locks[chat_id] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class ChatOrderedPipeline:
    """Updates answered in the background, one chat's in the order they came, at most ``limit`` of
    them waiting or running and ``concurrency`` running at once. A channel that receives one update
    per request (Zalo's getUpdates) fetches the next while earlier ones are being answered; a guided
    dialog still sees its steps in order."""

    def __init__(self, limit: int, concurrency: int = 1) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._workers = asyncio.Semaphore(concurrency)
        self._last: dict[str, asyncio.Task[None]] = {}  # each chat's newest task
        self._running: set[asyncio.Task[None]] = set()

    async def submit(self, chat_id: str, handle: Callable[[], Awaitable[object]]) -> None:
        """Start ``handle`` after the chat's earlier updates; waits while ``limit`` are in flight."""
        await self._slots.acquire()
        previous = self._last.get(chat_id)
        task = asyncio.create_task(self._run(chat_id, previous, handle))
        self._last[chat_id] = task
        self._running.add(task)

    async def _run(
        self, chat_id: str, previous: asyncio.Task[None] | None, handle: Callable[[], Awaitable[object]]
    ) -> None:
        try:
            if previous is not None:
                await asyncio.wait([previous])
            async with self._workers:
                await handle()
        except Exception:
            log.exception("an update of chat %s could not be handled", chat_id)
        finally:
            self._slots.release()
            task = asyncio.current_task()
            self._running.discard(task)  # type: ignore[arg-type]
            if self._last.get(chat_id) is task:
                del self._last[chat_id]

    async def drain(self, grace: float = 10.0) -> None:
        """Let what is in flight finish (at a clean stop), then give up on the rest."""
        if self._running:
            _done, pending = await asyncio.wait(set(self._running), timeout=grace)
            for task in pending:
                task.cancel()
