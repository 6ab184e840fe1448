"""The composition root: settings, database, dispatcher, channels and jobs are wired here only."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlparse

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.cache import WATCH, VersionWatch
from bot.channels.base import Channel, RateLimits
from bot.config import Settings
from bot.db import (
    create_engine,
    create_read_engine,
    create_take_engine,
    read_session_factory,
    session_factory,
    upgrade_database,
)
from bot.messages import ChannelInfo, Reply
from bot.models import Unit, utcnow
from bot.services import app_state
from bot.startup import RedactingFormatter, log_level
from handlers.router import Dispatcher

# The web server, the scheduler and the outbox are imported where they are started: a console
# question or `qtbot demo` needs none of them (bench/startup.py).
if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

    from bot.metrics import Metrics
    from bot.web import Webhook
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
    """Log lines on standard error, every secret taken out of them, tracebacks included; a level
    that is not one stops start-up (:class:`bot.startup.StartupFailure`)."""
    level = log_level(settings.log_level)
    secrets = settings.secrets()
    handler = logging.StreamHandler()
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Request lines carry the bot token in their URL; keep them out even at INFO.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def _web_server(config: uvicorn.Config) -> uvicorn.Server:
    """uvicorn without its own signal handling: App.run's handlers stop everything in order."""
    import uvicorn

    class WebServer(uvicorn.Server):
        def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
            return contextlib.nullcontext()

    return WebServer(config)


# Allocations between two collections of the youngest generation, once the process has settled.
GC_YOUNG_THRESHOLD = 20_000


def settle_memory() -> None:
    """For a long-running process, once start-up is done: move everything loaded so far (modules,
    settings, the engine) out of the garbage collector's way. Its full collections were the pauses
    that cost a long broadcast 2 % of its rate (bench/broadcast.py). Not for short-lived apps (tests):
    what is frozen is never collected.

    Then the youngest generation is collected every 20,000 allocations instead of 700: a question
    allocates thousands of short-lived objects (PTB's update and request objects, rows, snapshots),
    almost none in cycles, and the default made a collection run several times per answer
    (dispatcher alone, without the answer cache: 0.52 -> 0.49 ms CPU a question)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


class LiveChannel(Protocol):
    """A messenger the bot talks on: it receives (polling or webhook), answers, and delivers the outbox."""

    name: str
    limits: RateLimits

    async def open(self) -> None: ...
    async def start(self) -> None: ...
    async def start_webhook(self, url: str, secret: str) -> None: ...
    async def stop(self) -> None: ...
    def info(self) -> ChannelInfo: ...
    def webhook(self, path: str, secret: str) -> Webhook: ...
    def healthy(self) -> bool: ...
    async def deliver(
        self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "", first_part: int = 0
    ) -> None: ...


@dataclass(frozen=True)
class ChannelPlugin:
    """How to tell that a channel is configured, build it, and whether it runs on a webhook."""

    name: str
    configured: Callable[[Settings], bool]
    build: Callable[[App, Callable[[], datetime]], LiveChannel]
    webhook: Callable[[Settings], tuple[str, str] | None]


def _telegram(app: App, clock: Callable[[], datetime]) -> LiveChannel:
    from bot.channels.telegram import TelegramChannel

    return TelegramChannel(app.dispatcher, app.settings, clock=clock)


def _zalo(app: App, clock: Callable[[], datetime]) -> LiveChannel:
    from bot.channels.zalo import ZaloChannel

    return ZaloChannel(app.dispatcher, app.settings, clock=clock)


# The registry of messengers; a new one is one entry here and one module in bot/channels/.
CHANNELS: tuple[ChannelPlugin, ...] = (
    ChannelPlugin("telegram", lambda s: s.telegram_token is not None, _telegram, lambda s: s.telegram_webhook),
    ChannelPlugin("zalo", lambda s: s.zalo_token is not None, _zalo, lambda s: s.zalo_webhook),
)


def configured_channels(settings: Settings) -> list[ChannelPlugin]:
    return [plugin for plugin in CHANNELS if plugin.configured(settings)]


class App:
    """One running bot: the database, the dispatcher, and whichever channels are started."""

    def __init__(self, settings: Settings, *, clock: Callable[[], datetime] = utcnow) -> None:
        self.settings = settings
        self.clock = clock
        self.engine = create_engine(settings.database_url)
        self.versions = VersionWatch()
        self.sessions = session_factory(self.engine, **{WATCH: self.versions})
        # Read-only questions are answered on their own engine (see bot.db.create_read_engine).
        self.read_engine = create_read_engine(settings.database_url, self.engine)
        self.take_engine = create_take_engine(settings.database_url, self.engine)
        self.dispatcher = Dispatcher(
            self.sessions,
            settings,
            versions=self.versions,
            read_sessions=read_session_factory(self.read_engine, **{WATCH: self.versions}),
            take_sessions=async_sessionmaker(self.take_engine, expire_on_commit=False),
        )

    @functools.cached_property
    def metrics(self) -> Metrics:
        """Made when first asked for (by the web app, the scheduler or :meth:`run`), so a console
        question does not import prometheus_client; the dispatcher counts from then on."""
        from bot.metrics import Metrics

        metrics = Metrics()
        self.dispatcher.metrics = metrics
        return metrics

    async def prepare(self) -> None:
        """Upgrade the schema to the newest migration."""
        await upgrade_database(self.engine)

    async def is_empty(self) -> bool:
        async with self.sessions() as session:
            return (await session.scalar(select(func.count()).select_from(Unit))) == 0

    async def load_demo(self) -> int:
        from bot.demo import load_demo

        async with self.sessions() as session, session.begin():
            return await load_demo(session, self.settings.tz)

    async def demo_clock(self) -> str | None:
        """The moment a demo database answers as of ("2022-06-22 10:00"); None for a real cluster."""
        async with self.sessions() as session:
            return await app_state.get(session, app_state.DEMO_CLOCK)

    async def close(self) -> None:
        if self.read_engine.sync_engine.pool is not self.engine.sync_engine.pool:
            await self.read_engine.dispose()
        if self.take_engine is not self.engine:
            await self.take_engine.dispose()
        await self.engine.dispose()

    def jobs(self, channels: dict[str, Channel], *, clock: Callable[[], datetime] | None = None) -> Jobs:
        """The scheduler and the outbox delivery, pushing through ``channels``."""
        from bot.delivery import OutboxDelivery
        from jobs.scheduler import Jobs

        clock = clock or self.clock
        delivery = OutboxDelivery(self.sessions, self.settings, channels, clock=clock, metrics=self.metrics)
        return Jobs(self.sessions, self.settings, delivery, clock=clock)

    def build_channels(self, *, clock: Callable[[], datetime] | None = None) -> list[LiveChannel]:
        """Every configured channel, not started."""
        return [plugin.build(self, clock or self.clock) for plugin in configured_channels(self.settings)]

    def web(self, webhooks: list[Webhook], channels: list[LiveChannel]) -> Starlette:
        from bot.web import Health, web_app

        health = [Health(channel.name, channel.healthy) for channel in channels]
        return web_app(
            self.sessions,
            webhooks=webhooks,
            health=health,
            metrics=self.metrics,
            clock=self.clock,
            settings=self.settings,
        )

    async def run(self, *, stop: asyncio.Event | None = None) -> None:
        """Every configured channel (long polling, or a webhook when QTBOT_PUBLIC_URL and its secret
        are set), the web app when QTBOT_WEB_LISTEN is set, and the scheduler, until SIGINT/SIGTERM
        (or ``stop`` is set)."""
        stop = stop or asyncio.Event()
        _ = self.metrics  # counted from the first update on
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        plugins = configured_channels(self.settings)
        channels = [plugin.build(self, self.clock) for plugin in plugins]
        started: list[LiveChannel] = []
        webhooks: list[Webhook] = []
        server: uvicorn.Server | None = None
        serving: asyncio.Task[None] | None = None
        jobs: Jobs | None = None
        try:
            modes = []
            for plugin, channel in zip(plugins, channels, strict=True):
                started.append(channel)
                hook = plugin.webhook(self.settings)
                if hook is None:
                    await channel.start()
                    modes.append(f"{channel.name}: long polling")
                else:
                    url, secret = hook
                    await channel.start_webhook(url, secret)
                    webhooks.append(channel.webhook(urlparse(url).path or "/", secret))
                    modes.append(f"{channel.name}: webhook")
            address = self.settings.web_address
            if address:
                import uvicorn

                host, _, port = address.rpartition(":")
                config = uvicorn.Config(
                    self.web(webhooks, channels), host=host, port=int(port), log_level="warning", lifespan="off"
                )
                server = _web_server(config)
                serving = asyncio.create_task(server.serve())
                modes.append(f"web on {address}")
            jobs = self.jobs({channel.name: channel for channel in channels})
            jobs.start()
            settle_memory()
            log.info("qtbot runs (%s); the scheduler runs", "; ".join(modes))
            await stop.wait()
        finally:
            if server is not None and serving is not None:
                server.should_exit = True
                await serving
            if jobs is not None:
                await jobs.stop()
            for channel in reversed(started):
                with contextlib.suppress(Exception):
                    await channel.stop()
