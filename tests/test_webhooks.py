"""Webhooks never drop a message: a malformed update with the right secret is logged and answered 200;
a message the bot cannot handle because the database is unreachable is answered 503, so the platform
delivers it again (and the bot then answers it); a body over the limit is refused before it is read."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.app import App
from bot.channels.telegram import SECRET_HEADER as TELEGRAM_HEADER
from bot.channels.telegram import BotApiRequest, TelegramChannel
from bot.channels.zalo import SECRET_HEADER as ZALO_HEADER
from bot.channels.zalo import ZaloChannel
from bot.cli import fixed_clock
from bot.config import SecretStr
from bot.web import MAX_BODY, web_app
from handlers.router import Dispatcher
from tests.conftest import make_settings
from tests.examples import NOW
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.harness import fake_settings
from tests.fakes.zalo import FakeZalo
from tests.test_faults import Outage

SECRET = "webhook-secret-0123456789"
USER = 4242
ZALO_USER = "z4242"


def telegram_update(update_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1655866800,
            "text": text,
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Cường"},
        },
    }


def zalo_update(message_id: str, text: str) -> dict[str, Any]:
    return {
        "event_name": "message.text.received",
        "message": {
            "from": {"id": ZALO_USER, "display_name": "Cường", "is_bot": False},
            "chat": {"id": ZALO_USER, "chat_type": "PRIVATE"},
            "text": text,
            "message_id": message_id,
            "date": 1655866800000,
        },
    }


@contextlib.asynccontextmanager
async def telegram_web(app: App, outage: Outage) -> AsyncIterator[tuple[httpx.AsyncClient, FakeTelegram]]:
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake)
        dispatcher = Dispatcher(outage, settings)  # type: ignore[arg-type]
        channel = TelegramChannel(
            dispatcher,
            settings,
            request=BotApiRequest(httpx_kwargs={"transport": fake.transport()}),
            clock=fixed_clock(NOW, settings),
        )
        await channel.open()
        fake.add_chat(USER, first_name="Cường")
        web = web_app(app.sessions, webhooks=[channel.webhook("/telegram", SECRET)])
        headers = {TELEGRAM_HEADER: SECRET}
        transport = httpx.ASGITransport(app=web)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.vn", headers=headers) as c:
                yield c, fake
        finally:
            await channel.stop()


@contextlib.asynccontextmanager
async def zalo_web(app: App, outage: Outage) -> AsyncIterator[tuple[httpx.AsyncClient, FakeZalo]]:
    async with FakeZalo() as fake:
        settings = app.settings.model_copy(update={"zalo_token": SecretStr(fake.token), "zalo_base_url": fake.base_url})
        channel = ZaloChannel(
            Dispatcher(outage, settings),  # type: ignore[arg-type]
            settings,
            transport=fake.transport(),
            clock=fixed_clock(NOW, settings),
        )
        await channel.open()
        fake.add_chat(ZALO_USER)  # the user has written to the bot before
        web = web_app(app.sessions, webhooks=[channel.webhook("/zalo", SECRET)])
        transport = httpx.ASGITransport(app=web)
        try:
            async with httpx.AsyncClient(
                transport=transport, base_url="https://bot.example.vn", headers={ZALO_HEADER: SECRET}
            ) as c:
                yield c, fake
        finally:
            await channel.stop()


@pytest.fixture
async def app(demo_db_url: str) -> AsyncIterator[App]:
    app = App(make_settings(demo_db_url, admin_telegram_ids=[USER], admin_zalo_ids=[ZALO_USER]))
    yield app
    await app.close()


MALFORMED_TELEGRAM: list[object] = [
    [],
    {"update_id": "7"},
    {"update_id": 7, "message": "text"},
    {"update_id": 7, "message": {"chat": 5}},
    {"update_id": 7, "callback_query": {"id": 1}},
    {"update_id": 7, "message": {"message_id": 1, "date": "x", "chat": {"id": [], "type": 3}}},
]


@pytest.mark.parametrize("body", MALFORMED_TELEGRAM, ids=range(len(MALFORMED_TELEGRAM)))
async def test_a_malformed_telegram_update_with_the_right_secret_is_answered_200(app: App, body: object) -> None:
    async with telegram_web(app, Outage(app.sessions)) as (client, fake):
        assert (await client.post("/telegram", json=body)).status_code == 200
        assert fake.messages(USER) == []


@pytest.mark.parametrize("body", [[], {"message": "x"}, {"result": {"message": {"chat": 3}}}, {"ok": True}])
async def test_a_malformed_zalo_update_with_the_right_secret_is_answered_200(app: App, body: object) -> None:
    async with zalo_web(app, Outage(app.sessions)) as (client, fake):
        assert (await client.post("/zalo", json=body)).status_code == 200
        assert fake.messages(ZALO_USER) == []


async def test_a_telegram_message_while_the_database_is_down_is_answered_503_then_handled(app: App) -> None:
    outage = Outage(app.sessions)
    async with telegram_web(app, outage) as (client, fake):
        outage.down = True
        update = telegram_update(1, "cụm 2 gồm những đơn vị nào?")
        assert (await client.post("/telegram", json=update)).status_code == 503
        assert fake.messages(USER) == []  # no apology that would make the message look answered
        outage.down = False
        assert (await client.post("/telegram", json=update)).status_code == 200  # Telegram sends it again
        assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in fake.messages(USER)[-1].text


async def test_a_zalo_message_while_the_database_is_down_is_answered_503_then_handled(app: App) -> None:
    outage = Outage(app.sessions)
    async with zalo_web(app, outage) as (client, fake):
        outage.down = True
        update = zalo_update("m-1", "cụm 2 gồm những đơn vị nào?")
        assert (await client.post("/zalo", json=update)).status_code == 503
        assert fake.messages(ZALO_USER) == []
        outage.down = False
        assert (await client.post("/zalo", json=update)).status_code == 200
        answer = await fake.wait_for_message(ZALO_USER)  # answered after the 200
        assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in answer[0].text


async def test_a_body_over_the_limit_is_refused_before_it_is_read(app: App) -> None:
    read = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal read
        for _ in range(64):
            read += 64 * 1024
            yield b" " * (64 * 1024)

    async with telegram_web(app, Outage(app.sessions)) as (client, _fake):
        declared = {"content-length": str(MAX_BODY + 1)}
        assert (await client.post("/telegram", content=b"{}", headers=declared)).status_code == 413
        assert (await client.post("/telegram", content=body())).status_code == 413  # streamed, no length
        assert read <= MAX_BODY + 2 * 64 * 1024  # stopped reading soon after the limit
        for odd in ("²".encode(), b"-1", b"1e9", b" 5"):  # not a length: read the body as it comes
            assert (await client.post("/telegram", content=b"[]", headers={"content-length": odd})).status_code in (
                200,
                400,
            )


async def test_json_nested_too_deep_to_read_is_a_bad_request(app: App) -> None:
    async with telegram_web(app, Outage(app.sessions)) as (client, _fake):
        deep = b"[" * 100_000 + b"]" * 100_000
        assert (await client.post("/telegram", content=deep)).status_code == 400


async def test_one_chats_telegram_calls_made_at_once_are_handled_in_order_others_alongside(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram makes several webhook calls at once: two steps of one chat's dialog must not overlap."""
    spans: list[tuple[str, str, float, float]] = []
    original = Dispatcher.handle

    async def slow(self: Dispatcher, incoming: Any, channel: Any, **kwargs: Any) -> Any:
        started = asyncio.get_running_loop().time()
        await asyncio.sleep(0.05)
        replies = await original(self, incoming, channel, **kwargs)
        spans.append((incoming.chat_id, incoming.text, started, asyncio.get_running_loop().time()))
        return replies

    monkeypatch.setattr(Dispatcher, "handle", slow)
    outage = Outage(app.sessions)
    async with telegram_web(app, outage) as (client, fake):
        fake.add_chat(USER + 1, first_name="Nam")
        other = telegram_update(3, "/help")
        other["message"]["chat"] = {"id": USER + 1, "type": "private"}
        other["message"]["from"] = {"id": USER + 1, "is_bot": False, "first_name": "Nam"}
        answers = await asyncio.gather(
            client.post("/telegram", json=telegram_update(1, "/help")),
            client.post("/telegram", json=telegram_update(2, "/start")),
            client.post("/telegram", json=other),
        )
    assert [a.status_code for a in answers] == [200, 200, 200]
    mine = sorted((s for s in spans if s[0] == str(USER)), key=lambda s: s[2])
    assert [s[1] for s in mine] == ["/help", "/start"]
    assert mine[0][3] <= mine[1][2]  # the second started after the first ended
    theirs = next(s for s in spans if s[0] == str(USER + 1))
    assert theirs[2] < mine[0][3]  # another chat did not wait
