"""Tests of :mod:`tests.fakes.zalo`, with plain httpx calls in-process and over HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.zalo import WEBHOOK_CONFLICT, FakeZalo, LocalServer, SentMessage, utf16_len

REPO = Path(__file__).resolve().parent.parent
HEX_ID = re.compile(r"[0-9a-f]{20}")
IDLE = {"ok": False, "error_code": 408, "description": "Request timeout"}


@dataclass
class Api:
    """A fake plus an httpx client pointed at it (in-process transport or real HTTP)."""

    fake: FakeZalo
    client: httpx.AsyncClient

    async def post(
        self, method: str, body: dict[str, Any] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        return await self.client.post(f"/bot{token or self.fake.token}/{method}", json=body or {})

    async def ok(self, method: str, body: dict[str, Any] | None = None) -> Any:
        response = await self.post(method, body)
        data = response.json()
        assert response.status_code == 200 and data["ok"] is True, data
        return data.get("result")

    async def poll(self, wait: float | str = 0) -> httpx.Response:
        """getUpdates with ``{"timeout": wait}``."""
        return await self.post("getUpdates", {"timeout": wait})


MakeApi = Callable[..., Awaitable[Api]]


@pytest.fixture(params=["in-process", "http"])
async def make_api(request: pytest.FixtureRequest) -> AsyncIterator[MakeApi]:
    made: list[Api] = []

    async def make(**kwargs: Any) -> Api:
        fake = FakeZalo(**kwargs)
        if request.param == "http":
            client = httpx.AsyncClient(base_url=await fake.serve(), timeout=10)
            assert fake.base_url.startswith("http://127.0.0.1:")
        else:
            client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport(), timeout=10)
        made.append(Api(fake, client))
        return made[-1]

    yield make
    for api in made:
        await api.client.aclose()
    await asyncio.gather(*(api.fake.aclose() for api in made))


class Receiver:
    """A Starlette webhook endpoint that records what arrives and checks the secret."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.received: list[tuple[dict[str, str], Any]] = []

        async def hook(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.json()))
            if request.headers.get("x-bot-api-secret-token") != self.secret:
                return JSONResponse({"error": "bad secret"}, status_code=403)
            return JSONResponse({"ok": True})

        self.app = Starlette(routes=[Route("/zalo/hook", hook, methods=["POST"])])


# ------------------------------------------------------------------ envelope and getMe


async def test_envelope_get_me_and_errors(make_api: MakeApi) -> None:
    api = await make_api(bot_id="1459232241454765289", can_join_groups=False)
    me = await api.ok("getMe")
    assert me == {
        "id": "1459232241454765289",
        "account_name": "bot.1459232241454765289",
        "account_type": "BASIC",
        "can_join_groups": False,
        "display_name": "Bot Quyết Thắng",
    }

    wrong = await api.post("getMe", token="1234567890:wrong")
    assert wrong.status_code == 200  # measured: the error travels in the body only
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}

    for method in ("getChat", "getme"):  # unknown, and case matters
        unknown = await api.post(method)
        assert unknown.status_code == 404
        assert unknown.json()["ok"] is False and unknown.json()["error_code"] == 404

    bad_json = await api.client.post(f"/bot{api.fake.token}/sendMessage", content=b"{not json")
    assert bad_json.json()["error_code"] == 400
    assert (await api.client.get(f"/bot{api.fake.token}/getMe")).status_code == 405
    assert [c.token_ok for c in api.fake.calls_of("getMe")] == [True, False]


async def test_form_encoded_bodies(make_api: MakeApi) -> None:
    api = await make_api()
    api.fake.user_says("xin chào", chat_id="u-1")
    polled = await api.client.post(f"/bot{api.fake.token}/getUpdates", data={"timeout": "0"})
    assert polled.json()["result"]["message"]["text"] == "xin chào"
    sent = await api.client.post(f"/bot{api.fake.token}/sendMessage", data={"chat_id": "u-1", "text": "chào bạn"})
    assert sent.json()["ok"] is True
    assert [m.text for m in api.fake.messages("u-1")] == ["chào bạn"]


# ------------------------------------------------------------------ long polling


@pytest.mark.parametrize("idle_status", [200, 408])
async def test_idle_poll_answers_408(make_api: MakeApi, idle_status: int) -> None:
    api = await make_api(idle_http_status=idle_status)
    for timeout in (0, "0", "0.1"):
        response = await api.poll(timeout)
        assert response.status_code == idle_status
        assert response.json() == IDLE
    assert api.fake.stats.idle_polls == 3


async def test_long_poll_waits_and_wakes_on_new_update(make_api: MakeApi) -> None:
    api = await make_api()
    started = time.monotonic()
    poll = asyncio.create_task(api.poll("5"))
    await asyncio.sleep(0.1)
    assert not poll.done()  # really waiting
    api.fake.user_says("/start")
    result = (await poll).json()["result"]
    assert result["message"]["text"] == "/start"
    assert time.monotonic() - started < 2

    started = time.monotonic()
    assert (await api.poll(0.3)).json() == IDLE
    assert time.monotonic() - started >= 0.25


async def test_one_update_per_call_official_shape(make_api: MakeApi) -> None:
    api = await make_api()
    first = api.fake.user_says("một", chat_id="6ede9afa66b88fe6d6a9", display_name="Ted")
    api.fake.user_says("hai", chat_id="6ede9afa66b88fe6d6a9")

    body = (await api.poll()).json()
    assert body["ok"] is True and isinstance(body["result"], dict)
    update = body["result"]
    assert update == first
    assert set(update) == {"message", "event_name"} and update["event_name"] == "message.text.received"
    message = update["message"]
    assert set(message) == {"from", "chat", "text", "message_id", "date"}
    assert message["from"] == {"id": "6ede9afa66b88fe6d6a9", "display_name": "Ted", "is_bot": False}
    assert message["chat"] == {"id": "6ede9afa66b88fe6d6a9", "chat_type": "PRIVATE"}
    assert HEX_ID.fullmatch(message["message_id"])
    assert abs(message["date"] - time.time() * 1000) < 10_000  # epoch milliseconds

    assert (await api.poll()).json()["result"]["message"]["text"] == "hai"
    assert (await api.poll()).json() == IDLE


async def test_redelivery_hands_each_update_out_again(make_api: MakeApi) -> None:
    api = await make_api(redeliver=2)
    a = api.fake.user_says("a")["message"]["message_id"]
    b = api.fake.user_says("b")["message"]["message_id"]
    seen = []
    while (body := (await api.poll()).json())["ok"]:
        seen.append(body["result"]["message"]["message_id"])
        assert len(seen) < 10
    assert body == IDLE
    assert seen == [a, b, a, b, a, b]
    assert api.fake.stats.updates_delivered == 6 and api.fake.stats.redeliveries == 4


async def test_message_ids_are_unique_hex() -> None:
    fake = FakeZalo(allow_any_chat=True)
    ids = {fake.user_says(str(i))["message"]["message_id"] for i in range(300)}
    client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport())
    for i in range(50):
        result = (await client.post(f"/bot{fake.token}/sendMessage", json={"chat_id": "x", "text": str(i)})).json()
        ids.add(result["result"]["message_id"])
        assert isinstance(result["result"]["date"], int) and result["result"]["date"] > 1_700_000_000_000
    assert len(ids) == 350 and all(HEX_ID.fullmatch(i) for i in ids)
    await client.aclose()
    await fake.aclose()


async def test_client_read_timeout_does_not_lose_the_update() -> None:
    fake = FakeZalo()
    client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport(), timeout=0.1)
    with pytest.raises(httpx.ReadTimeout):
        await client.post(f"/bot{fake.token}/getUpdates", json={"timeout": 5})
    update = fake.user_says("còn đây không?")
    await asyncio.sleep(0.05)  # the abandoned long poll must not have taken it
    body = (await client.post(f"/bot{fake.token}/getUpdates", json={"timeout": 0})).json()
    assert body["result"] == update
    await client.aclose()
    await fake.aclose()


async def test_poll_interval_is_tracked() -> None:
    now = [0.0]
    fake = FakeZalo(min_poll_interval=1.0, clock=lambda: now[0])
    client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport())
    for t in (0.0, 1.5, 1.9, 3.0):
        now[0] = t
        await client.post(f"/bot{fake.token}/getUpdates", json={"timeout": 0})
    assert fake.poll_starts == [0.0, 1.5, 1.9, 3.0]
    assert fake.stats.polls == 4 and fake.stats.polls_too_fast == 1
    assert fake.stats.min_poll_gap == pytest.approx(0.4)
    await client.aclose()
    await fake.aclose()


# ------------------------------------------------------------------ webhook


async def test_webhook_refuses_polling_and_delivers_envelope(make_api: MakeApi) -> None:
    api = await make_api()
    receiver = Receiver("s3cret-token-123")
    api.fake.set_webhook_transport(httpx.ASGITransport(app=receiver.app))

    none = await api.post("getWebhookInfo")
    assert none.status_code == 404 and none.json()["error_code"] == 404 and none.json()["ok"] is False
    for url, secret in [
        ("http://bot.example/zalo/hook", "s3cret-token-123"),  # plain http off localhost
        ("ftp://bot.example/zalo/hook", "s3cret-token-123"),
        ("https://bot.example/zalo/hook", "short"),  # < 8
        ("https://bot.example/zalo/hook", "x" * 257),
    ]:
        refused = (await api.post("setWebhook", {"url": url, "secret_token": secret})).json()
        assert refused["ok"] is False and refused["error_code"] == 400, (url, secret)
    assert api.fake.webhook_url is None

    url = "https://bot.example/zalo/hook"
    result = await api.ok("setWebhook", {"url": url, "secret_token": "s3cret-token-123"})
    assert result["url"] == url and isinstance(result["updated_at"], int)
    assert await api.ok("getWebhookInfo") == result
    assert (api.fake.webhook_url, api.fake.webhook_secret) == (url, "s3cret-token-123")

    conflict = (await api.poll()).json()
    assert conflict == {"ok": False, "error_code": 409, "description": WEBHOOK_CONFLICT}

    update = api.fake.user_says("qua webhook")
    assert api.fake.pending_updates == []  # not queued for polling
    await api.fake.webhook_idle()
    [(headers, body)] = receiver.received
    assert headers["x-bot-api-secret-token"] == "s3cret-token-123"
    assert headers["content-type"].startswith("application/json")
    assert body == {"ok": True, "result": update}

    await api.ok("setWebhook", {"url": url, "secret_token": "another-secret"})  # receiver now answers 403
    await api.fake.user_says_async("sai bí mật")
    assert [d.status_code for d in api.fake.webhook_deliveries] == [200, 403]
    assert api.fake.stats.webhook_deliveries == 1 and api.fake.stats.webhook_failures == 1

    assert await api.ok("deleteWebhook") == {"url": "", "updated_at": pytest.approx(time.time() * 1000, abs=10_000)}
    assert (await api.post("getWebhookInfo")).status_code == 404
    again = api.fake.user_says("lại polling")
    assert (await api.poll()).json()["result"] == again
    assert len(receiver.received) == 2


async def test_webhook_over_http_to_local_server() -> None:
    receiver = Receiver("local-secret")
    server = LocalServer(receiver.app)
    root = await server.start()
    async with FakeZalo() as fake:
        client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport())
        body = {"url": f"{root}/zalo/hook", "secret_token": "local-secret"}
        assert (await client.post(f"/bot{fake.token}/setWebhook", json=body)).json()["ok"] is True
        update = await fake.user_says_async("xin chào", chat_id="u-7")
        assert [d.status_code for d in fake.webhook_deliveries] == [200]
        assert fake.webhook_deliveries[0].message_id == update["message"]["message_id"]
        assert receiver.received[0][1] == {"ok": True, "result": update}
        await client.aclose()
    await server.stop()


async def test_webhook_concurrency_posts_several_at_once() -> None:
    inflight, peak = [0], [0]

    async def hook(_request: Request) -> Response:
        inflight[0] += 1
        peak[0] = max(peak[0], inflight[0])
        await asyncio.sleep(0.05)
        inflight[0] -= 1
        return JSONResponse({"ok": True})

    app = Starlette(routes=[Route("/zalo/hook", hook, methods=["POST"])])
    async with FakeZalo(webhook_concurrency=3, webhook_transport=httpx.ASGITransport(app=app)) as fake:
        client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport())
        body = {"url": "https://bot.example.vn/zalo/hook", "secret_token": "local-secret"}
        assert (await client.post(f"/bot{fake.token}/setWebhook", json=body)).json()["ok"] is True
        for n in range(7):
            fake.user_says(f"tin {n}", chat_id=f"u-{n}")
        await fake.webhook_idle()
        assert peak[0] == 3 and fake.stats.webhook_deliveries == 7
        await client.aclose()


async def test_set_webhook_ends_a_waiting_long_poll(make_api: MakeApi) -> None:
    api = await make_api()
    poll = asyncio.create_task(api.poll(5))
    await asyncio.sleep(0.05)
    await api.ok("setWebhook", {"url": "http://localhost:9/hook", "secret_token": "12345678"})
    assert (await asyncio.wait_for(poll, 2)).json()["error_code"] == 409


async def test_webhook_delivery_failure_is_recorded() -> None:
    async with FakeZalo() as fake:
        client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport())
        # nothing listens on port 9 of 127.0.0.1: connection refused
        body = {"url": "http://127.0.0.1:9/hook", "secret_token": "12345678"}
        assert (await client.post(f"/bot{fake.token}/setWebhook", json=body)).json()["ok"] is True
        fake.user_says("ai nghe không?")
        await fake.webhook_idle()
        [delivery] = fake.webhook_deliveries
        assert delivery.status_code is None and delivery.error and not delivery.ok
        await client.aclose()


# ------------------------------------------------------------------ sending


async def test_text_limit_counts_utf16_units(make_api: MakeApi) -> None:
    api = await make_api()
    api.fake.add_chat("u-1")
    emoji = "😀"
    assert utf16_len(emoji * 1000) == 2000

    async def send(text: Any) -> dict[str, Any]:
        return (await api.post("sendMessage", {"chat_id": "u-1", "text": text})).json()

    assert (await send("a" * 2000))["ok"] is True
    assert (await send(emoji * 1000))["ok"] is True
    for too_long in (emoji * 1001, "a" * 2001, "a" * 1999 + emoji):  # 1001 code points but 2002 units
        body = await send(too_long)
        assert body["ok"] is False and body["error_code"] == 400, len(too_long)
    for empty in ("", None):
        assert (await send(empty))["error_code"] == 400

    photo = {"chat_id": "u-1", "photo": "https://cdn.example/a.png"}
    assert (await api.post("sendPhoto", {**photo, "caption": emoji * 1001})).json()["error_code"] == 400
    assert (await api.post("sendPhoto", {**photo, "caption": emoji * 1000})).json()["ok"] is True
    assert [utf16_len(m.text) for m in api.fake.messages()] == [2000, 2000, 2000]


async def test_send_message_record_and_parse_mode(make_api: MakeApi) -> None:
    api = await make_api()
    api.fake.user_says("hi", chat_id="u-1")
    result = await api.ok("sendMessage", {"chat_id": "u-1", "text": "**đậm**", "parse_mode": "markdown"})
    [record] = api.fake.messages("u-1")
    assert record == SentMessage(
        chat_id="u-1",
        text="**đậm**",
        method="sendMessage",
        photo=None,
        message_id=result["message_id"],
        date_ms=result["date"],
        parse_mode="markdown",
    )
    bad = await api.post("sendMessage", {"chat_id": "u-1", "text": "x", "parse_mode": "MarkdownV2"})
    assert bad.json()["error_code"] == 400
    assert api.fake.messages("u-2") == [] and len(api.fake.messages()) == 1


async def test_sending_to_a_chat_that_never_wrote_is_forbidden(make_api: MakeApi) -> None:
    api = await make_api()
    refused = (await api.post("sendMessage", {"chat_id": "u-stranger", "text": "chào"})).json()
    assert refused["ok"] is False and refused["error_code"] == 403 and "not allowed" in refused["description"]
    api.fake.add_chat("u-stranger")
    assert (await api.post("sendMessage", {"chat_id": "u-stranger", "text": "chào"})).json()["ok"] is True
    assert (await api.post("sendMessage", {"text": "chào"})).json()["error_code"] == 400  # no chat_id

    open_api = await make_api(allow_any_chat=True)
    assert (await open_api.post("sendMessage", {"chat_id": "anyone", "text": "chào"})).json()["ok"] is True


async def test_quota_and_fail_next(make_api: MakeApi) -> None:
    api = await make_api(monthly_quota=2, allow_any_chat=True)
    msg = {"chat_id": "u-1", "text": "tin"}

    api.fake.fail_next("sendMessage", 500, http_status=502)
    failed = await api.post("sendMessage", msg)
    assert failed.status_code == 502 and failed.json()["error_code"] == 500 and failed.json()["ok"] is False

    assert (await api.post("sendMessage", msg)).json()["ok"] is True
    assert (await api.post("sendPhoto", {"chat_id": "u-1", "photo": "https://x.example/p.png"})).json()["ok"]
    for method, body in [("sendMessage", msg), ("sendSticker", {"chat_id": "u-1", "sticker": "abc"})]:
        over = await api.post(method, body)
        assert over.status_code == 200
        assert over.json() == {"ok": False, "error_code": 429, "description": "quota exceeded"}
    assert api.fake.quota_used == 2 and api.fake.quota_remaining == 0

    api.fake.fail_next("sendMessage", 403, times=2, description="Forbidden: blocked")
    assert [(await api.post("sendMessage", msg)).json()["error_code"] for _ in range(3)] == [403, 403, 429]

    api.fake.fail_next("*", 429, retry_after=7)
    limited = await api.post("sendChatAction", {"chat_id": "u-1", "action": "typing"})
    assert limited.json()["parameters"] == {"retry_after": 7} and limited.headers["retry-after"] == "7"

    api.fake.fail_next("getMe", 502, http_status=502, raw_body="<html>502 Bad Gateway</html>")
    proxy = await api.post("getMe")
    assert proxy.status_code == 502 and proxy.text.startswith("<html>")
    assert (await api.post("getMe")).json()["ok"] is True  # times=1

    api.fake.reset_quota()
    assert (await api.post("sendMessage", msg)).json()["ok"] is True
    assert api.fake.stats.too_many_requests == 4  # 2 + 1 quota, 1 injected
    assert api.fake.stats.quota_exceeded == 3 and api.fake.stats.sends == 3
    assert [m.text for m in api.fake.messages()] == ["tin", "", "tin"]


async def test_rate_per_second_answers_429_beyond_the_limit_in_any_second() -> None:
    now = [0.0]
    fake = FakeZalo(rate_per_second=3, allow_any_chat=True, monthly_quota=10, clock=lambda: now[0])
    client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport())

    async def send(at: float) -> Any:
        now[0] = at
        body = (await client.post(f"/bot{fake.token}/sendMessage", json={"chat_id": "u-1", "text": "x"})).json()
        return True if body["ok"] else body["error_code"]

    assert [await send(t) for t in (0.0, 0.2, 0.4, 0.6)] == [True, True, True, 429]
    assert await send(1.0) is True  # the send at 0.0 has left the window
    assert [await send(t) for t in (1.1, 1.3)] == [429, True]  # the 429 at 0.6 took no slot
    assert await send(1.35) == 429
    assert fake.stats.rate_limited == 3 and fake.stats.too_many_requests == 3
    assert fake.quota_used == 5 and fake.stats.sends == 5 and len(fake.messages("u-1")) == 5
    await client.aclose()
    await fake.aclose()


async def test_control_api_queues_many_messages_at_once(make_api: MakeApi) -> None:
    api = await make_api()
    said = await api.client.post("/_fake/say_many", json={"messages": [{"text": "a", "chat_id": "u-1"}, {"text": "b"}]})
    assert said.json() == {"queued": 2}
    texts = [(await api.poll()).json()["result"]["message"]["text"] for _ in range(2)]
    assert texts == ["a", "b"]
    bad = await api.client.post("/_fake/say_many", json={"messages": [{"text": "c"}, {"chat_id": "u-1"}]})
    assert bad.status_code == 400 and bad.json()["queued"] == 1


async def test_send_photo_url_checks(make_api: MakeApi) -> None:
    api = await make_api()
    api.fake.add_chat("u-1")
    for photo in ("not a url", "ftp://cdn.example/a.png", "https:///no-host.png", None, 42):
        body = (await api.post("sendPhoto", {"chat_id": "u-1", "photo": photo})).json()
        assert body["ok"] is False and body["error_code"] == 400, photo
    await api.ok("sendPhoto", {"chat_id": "u-1", "photo": "https://cdn.example/a.png", "caption": "ảnh"})
    await api.ok("sendPhoto", {"chat_id": "u-1", "photo": "http://cdn.example/b.png"})
    assert [(m.method, m.photo, m.text, m.photo_bytes) for m in api.fake.messages()] == [
        ("sendPhoto", "https://cdn.example/a.png", "ảnh", None),
        ("sendPhoto", "http://cdn.example/b.png", "", None),
    ]


async def test_send_photo_fetches_through_transport() -> None:
    png = b"\x89PNG\r\n\x1a\nfake"

    def photos(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/ok.png":
            return httpx.Response(200, content=png)
        return httpx.Response(404)

    async with FakeZalo(fetch_photos=True, photo_transport=httpx.MockTransport(photos), allow_any_chat=True) as fake:
        client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport())
        url = f"/bot{fake.token}/sendPhoto"
        assert (await client.post(url, json={"chat_id": "u", "photo": "https://img.example/ok.png"})).json()["ok"]
        missing = (await client.post(url, json={"chat_id": "u", "photo": "https://img.example/no.png"})).json()
        assert missing["ok"] is False and missing["error_code"] == 400
        [record] = fake.messages()
        assert record.photo_bytes == png and record.photo_status == 200
        assert fake.quota_used == 1
        await client.aclose()


async def test_send_photo_fetches_over_http() -> None:
    async def image(_request: Request) -> Response:
        return Response(b"GIF89a-bytes", media_type="image/gif")

    server = LocalServer(Starlette(routes=[Route("/p.gif", image)]))
    root = await server.start()
    async with FakeZalo(fetch_photos=True, allow_any_chat=True) as fake:
        client = httpx.AsyncClient(base_url=await fake.serve())
        ok = await client.post(f"/bot{fake.token}/sendPhoto", json={"chat_id": "u", "photo": f"{root}/p.gif"})
        assert ok.json()["ok"] is True
        assert fake.messages()[0].photo_bytes == b"GIF89a-bytes"
        await client.aclose()
    await server.stop()


async def test_chat_action_sticker_voice(make_api: MakeApi) -> None:
    api = await make_api()
    api.fake.add_chat("u-1")
    typing = await api.post("sendChatAction", {"chat_id": "u-1", "action": "typing"})
    assert typing.json() == {"ok": True}
    assert api.fake.chat_actions == [("u-1", "typing")]
    sticker = await api.ok("sendSticker", {"chat_id": "u-1", "sticker": "b1f2"})
    assert HEX_ID.fullmatch(sticker["message_id"])
    await api.ok("sendVoice", {"chat_id": "u-1", "voice_url": "https://cdn.example/v.aac"})
    assert (await api.post("sendSticker", {"chat_id": "u-1"})).json()["error_code"] == 400
    assert api.fake.messages() == []  # messages() is sendMessage/sendPhoto only
    assert [(m.method, m.sticker, m.voice_url) for m in api.fake.sent] == [
        ("sendSticker", "b1f2", None),
        ("sendVoice", None, "https://cdn.example/v.aac"),
    ]


async def test_wait_for_message() -> None:
    async with FakeZalo(allow_any_chat=True) as fake:
        client = httpx.AsyncClient(base_url=fake.base_url, transport=fake.transport())

        async def bot() -> None:
            for text in ("một", "hai", "ba"):
                await asyncio.sleep(0.02)
                await client.post(f"/bot{fake.token}/sendMessage", json={"chat_id": "u-1", "text": text})

        task = asyncio.create_task(bot())
        assert [m.text for m in await fake.wait_for_message("u-1", count=2)] == ["một", "hai"]
        assert [m.text for m in await fake.wait_for_message("u-1")] == ["ba"]
        assert [m.text for m in await fake.wait_for_message(count=3)] == ["một", "hai", "ba"]  # own cursor
        with pytest.raises(TimeoutError):
            await fake.wait_for_message("u-1", timeout=0.05)
        await task
        await client.aclose()


# ------------------------------------------------------------------ groups


async def test_group_mention_prefix() -> None:
    async with FakeZalo() as fake:
        update = fake.user_says("điểm danh", chat_id="g-1", chat_type="GROUP", sender_id="u-2", mention=True)
        message = update["message"]
        assert message["text"] == "@Bot Quyết Thắng điểm danh"
        assert message["chat"] == {"id": "g-1", "chat_type": "GROUP"} and message["from"]["id"] == "u-2"
        plain = fake.user_says("trả lời", chat_id="g-1", chat_type="GROUP", sender_id="u-2")
        assert plain["message"]["text"] == "trả lời"
        private = fake.user_says("riêng", chat_id="u-3", mention=True)
        assert private["message"]["text"] == "riêng"  # no prefix outside groups
        with pytest.raises(ValueError):
            fake.user_says("x", chat_id="u-3", sender_id="u-4")  # PRIVATE: chat.id == from.id
        with pytest.raises(ValueError):
            fake.user_says("x", event_name="message.text.recieved")

    async with FakeZalo(can_join_groups=False, bot_name="Bot Khác") as solo:
        with pytest.raises(ValueError):
            solo.user_says("x", chat_id="g-1", chat_type="GROUP")
        assert solo.pending_updates == []


# ------------------------------------------------------------------ control API and standalone


async def test_control_api(make_api: MakeApi) -> None:
    api = await make_api()
    said = await api.client.post("/_fake/say", json={"text": "từ tiến trình khác", "chat_id": "u-9"})
    assert said.status_code == 200
    update = (await api.poll()).json()["result"]
    assert update == said.json()

    await api.ok("sendMessage", {"chat_id": "u-9", "text": "đã nhận"})
    listed = (await api.client.get("/_fake/messages", params={"chat_id": "u-9"})).json()
    assert [(m["chat_id"], m["text"], m["method"]) for m in listed] == [("u-9", "đã nhận", "sendMessage")]
    assert (await api.client.get("/_fake/messages", params={"chat_id": "u-0"})).json() == []

    assert (await api.client.post("/_fake/fail", json={"method": "sendMessage", "error_code": 429})).status_code == 200
    assert (await api.post("sendMessage", {"chat_id": "u-9", "text": "lần 2"})).json()["error_code"] == 429

    stats = (await api.client.get("/_fake/stats")).json()
    assert stats["calls"]["sendMessage"] == 2 and stats["sends"] == 1
    assert stats["too_many_requests"] == 1 and stats["per_chat"] == {"u-9": 1}

    assert (await api.client.post("/_fake/say", json={"text": "x", "chat_type": "CHANNEL"})).status_code == 400
    assert (await api.client.post("/_fake/say", json={"chat_id": "u-1"})).status_code == 400
    assert (await api.client.post("/_fake/chats", json={"ids": ["u-50"]})).status_code == 200
    assert (await api.post("sendMessage", {"chat_id": "u-50", "text": "chào"})).json()["ok"] is True


async def test_standalone_process() -> None:
    token = "42:standalone"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.zalo",
        "--port",
        "0",
        "--token",
        token,
        "--redeliver",
        "1",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 15)).decode().strip()
        match = re.fullmatch(r"fake zalo on (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        async with httpx.AsyncClient(base_url=match.group(1)) as client:
            assert (await client.post(f"/bot{token}/getMe")).json()["ok"] is True
            assert (await client.post(f"/bot{FakeZalo().token}/getMe")).json()["error_code"] == 401
            said = (await client.post("/_fake/say", json={"text": "ping"})).json()
            ids = []
            for _ in range(3):
                body = (await client.post(f"/bot{token}/getUpdates", json={"timeout": 0})).json()
                ids.append(body["result"]["message"]["message_id"] if body["ok"] else body["error_code"])
            assert ids == [said["message"]["message_id"], said["message"]["message_id"], 408]
    finally:
        process.terminate()
        await process.wait()
