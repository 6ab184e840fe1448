"""The composition root: settings, database, dispatcher, channels and jobs are wired here only."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, select

from bot.cache import WATCH, VersionWatch
from bot.channels.base import Channel
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade_database
from bot.delivery import OutboxDelivery
from bot.demo import load_demo
from bot.models import Unit, utcnow
from handlers.router import Dispatcher
from jobs.scheduler import Jobs

log = logging.getLogger("qtbot")


class RedactSecrets(logging.Filter):
    """Keeps tokens out of every log line (httpx and PTB log request URLs, which contain the token)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(secret in message for secret in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, None
        return True


def setup_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    token = settings.telegram_token.get_secret_value() if settings.telegram_token else ""
    handler.addFilter(RedactSecrets([token]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # Request lines carry the bot token in their URL; keep them out even at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def settle_memory() -> None:
    """For a long-running process, once start-up is done: move everything loaded so far (modules,
    settings, the engine) out of the garbage collector's way. Its full collections were the pauses
    that cost a long broadcast 2 % of its rate (bench/broadcast.py). Not for short-lived apps (tests):
    what is frozen is never collected."""
    gc.collect()
    gc.freeze()


class App:
    """One running bot: the database, the dispatcher, and whichever channels are started."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = create_engine(settings.database_url)
        self.versions = VersionWatch()
        self.sessions = session_factory(self.engine, **{WATCH: self.versions})
        self.dispatcher = Dispatcher(self.sessions, settings, versions=self.versions)

    async def prepare(self) -> None:
        """Upgrade the schema to the newest migration."""
        await upgrade_database(self.engine)

    async def is_empty(self) -> bool:
        async with self.sessions() as session:
            return (await session.scalar(select(func.count()).select_from(Unit))) == 0

    async def load_demo(self) -> int:
        async with self.sessions() as session, session.begin():
            return await load_demo(session, self.settings.tz)

    async def close(self) -> None:
        await self.engine.dispose()

    def jobs(self, channels: dict[str, Channel], *, clock: Callable[[], datetime] | None = None) -> Jobs:
        """The scheduler and the outbox delivery, pushing through ``channels``."""
        clock = clock or self.clock
        delivery = OutboxDelivery(self.sessions, self.settings, channels, clock=clock)
        return Jobs(self.sessions, self.settings, delivery, clock=clock)

    async def run_telegram(self, *, stop: asyncio.Event | None = None) -> None:
        """Long polling and the scheduler until SIGINT/SIGTERM (or ``stop`` is set)."""
        channel = TelegramChannel(self.dispatcher, self.settings, clock=self.clock)
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await channel.start()
        jobs = self.jobs({channel.name: channel})
        jobs.start()
        settle_memory()
        log.info("Telegram bot @%s is polling; the scheduler runs", channel.application.bot.username)
        try:
            await stop.wait()
        finally:
            await jobs.stop()
            await channel.stop()
