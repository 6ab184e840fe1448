"""The composition root: settings, database, dispatcher, channels and jobs are wired here only."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from datetime import datetime

import uvicorn
from sqlalchemy import func, select

from bot.cache import WATCH, VersionWatch
from bot.channels.base import Channel
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade_database
from bot.delivery import OutboxDelivery
from bot.demo import load_demo
from bot.models import Unit, utcnow
from bot.web import web_app
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


class _WebServer(uvicorn.Server):
    """uvicorn without its own signal handling: run_telegram's handlers stop everything in order."""

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        return contextlib.nullcontext()


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
        """Telegram (long polling, or a webhook when QTBOT_WEBHOOK_URL is set) and the scheduler,
        until SIGINT/SIGTERM (or ``stop`` is set)."""
        channel = TelegramChannel(self.dispatcher, self.settings, clock=self.clock)
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        server: uvicorn.Server | None = None
        serving: asyncio.Task[None] | None = None
        if self.settings.webhook_url and self.settings.webhook_secret:
            secret = self.settings.webhook_secret.get_secret_value()
            await channel.start_webhook(self.settings.webhook_url, secret)
            host, _, port = self.settings.webhook_listen.rpartition(":")
            web = web_app(channel, self.sessions, webhook_url=self.settings.webhook_url, secret=secret)
            server = _WebServer(uvicorn.Config(web, host=host, port=int(port), log_level="warning", lifespan="off"))
            serving = asyncio.create_task(server.serve())
            mode = f"webhook on {self.settings.webhook_listen}"
        else:
            await channel.start()
            mode = "long polling"
        jobs = self.jobs({channel.name: channel})
        jobs.start()
        settle_memory()
        log.info("Telegram bot @%s: %s; the scheduler runs", channel.application.bot.username, mode)
        try:
            await stop.wait()
        finally:
            if server is not None and serving is not None:
                server.should_exit = True
                await serving
            await jobs.stop()
            await channel.stop()
