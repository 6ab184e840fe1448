"""Wiring the real Telegram channel to the fake Bot API, for tests and benchmarks."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from bot.channels.telegram import BotApiRequest, TelegramChannel
from bot.config import SecretStr, Settings
from bot.models import utcnow
from handlers.router import Dispatcher
from tests.fakes.telegram.server import FakeTelegram

FAKE_ROOT = "http://fake.api"


def fake_settings(settings: Settings, fake: FakeTelegram, **overrides: object) -> Settings:
    """The app's settings pointed at the fake (in-process transport, so the host is never resolved)."""
    values: dict[str, object] = {"telegram_token": SecretStr(fake.token), "telegram_base_url": FAKE_ROOT}
    values.update(overrides)
    return settings.model_copy(update=values)


@contextlib.asynccontextmanager
async def telegram_bot(
    dispatcher: Dispatcher,
    settings: Settings,
    fake: FakeTelegram,
    *,
    clock: Callable[[], datetime] = utcnow,
    poll_timeout: int = 1,
) -> AsyncIterator[TelegramChannel]:
    """A started :class:`TelegramChannel` polling the fake in-process; stopped on exit."""
    channel = TelegramChannel(
        dispatcher,
        settings,
        request=BotApiRequest(connection_pool_size=16, httpx_kwargs={"transport": fake.transport()}),
        get_updates_request=BotApiRequest(httpx_kwargs={"transport": fake.transport()}),
        clock=clock,
    )
    await channel.start(poll_timeout=poll_timeout)
    try:
        yield channel
    finally:
        await channel.stop()
