"""A fake Zalo Bot Platform API for end-to-end tests and benchmarks.

:class:`FakeZalo` answers ``POST {root}/bot{token}/{method}`` the way ``/work/shared/ZALO.md`` (§1, §5)
says the real ``https://bot-api.zaloplatforms.com`` does, so the real Zalo channel can run against it
over HTTP unchanged. One Starlette app serves two modes.

In-process (no sockets)::

    fake = FakeZalo()
    client = httpx.AsyncClient(transport=fake.transport())
    # the channel uses base_url=fake.base_url ("http://fake-zalo.test") with that client

Over HTTP on 127.0.0.1 (uvicorn runs as a task in the current event loop; another OS process may use it)::

    root = await fake.serve()  # "http://127.0.0.1:43123" -> QTBOT_ZALO_BASE_URL
    ...
    await fake.aclose()  # or ``async with FakeZalo() as fake``

Simulated users and what the bot sent::

    fake.user_says("/start", chat_id="u-kimbang")           # queued for getUpdates
    [reply] = await fake.wait_for_message("u-kimbang")       # SentMessage(chat_id, text, method, ...)

Platform behaviour imitated (tags as in ZALO.md; choices where the docs are silent are marked *fake*):

- Every answer is JSON ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": ...}``.
  A wrong token answers **HTTP 200** with error_code 401 (measured). Other errors also come with HTTP 200
  except: an unknown method or path (HTTP 404), getWebhookInfo without a webhook (HTTP 404, measured), the
  idle long poll (HTTP ``idle_http_status``: 200 or 408, both seen), a non-POST request (HTTP 405, *fake*),
  and :meth:`FakeZalo.fail_next` injections (their own ``http_status``).
- Method names are case-sensitive (*fake*: strict, so a typo fails in tests). Bodies may be JSON,
  form-encoded or multipart.
- getUpdates hands out ONE update object per call (never an array) and waits up to ``timeout`` (default 30;
  int, float or numeric string) for one; idle → error_code 408 "Request timeout". With ``redeliver=N`` each
  update is handed out N more times after its first delivery (it goes to the back of the queue each time),
  and while anything is queued polls answer at once, like the measured re-delivery. While a webhook is set,
  getUpdates answers error_code 409 :data:`WEBHOOK_CONFLICT` (*fake*: the docs only say it "does not work").
  A long poll already waiting when setWebhook arrives gets the same 409.
- setWebhook needs ``url`` and ``secret_token`` (8–256 characters). The real API requires an HTTPS URL; the
  fake also accepts ``http://127.0.0.1``/``http://localhost`` (any port) for tests. Updates queued for polling
  before setWebhook stay queued for polling (*fake*); only later :meth:`FakeZalo.user_says` calls go to the
  webhook.
- Webhook delivery: ``POST url`` with JSON ``{"ok": true, "result": update}`` and header
  ``X-Bot-Api-Secret-Token: <secret>``, one attempt, no retry (Zalo documents none), each attempt recorded
  in :attr:`FakeZalo.webhook_deliveries`. :meth:`FakeZalo.user_says` schedules the POST on a background
  worker (in order) and returns at once: ``await fake.webhook_idle()`` waits for it, or use
  :meth:`FakeZalo.user_says_async`, which returns after its own delivery. ``webhook_concurrency=N`` (*fake*,
  default 1) lets N workers POST at once (updates start in order but may finish out of order).
- sendMessage text and sendPhoto caption: 1..2000 characters counted in UTF-16 units (ZALO.md §1.7: the
  unit is unknown, UTF-16 is the strict choice), else 400. Sending to a chat that never messaged the bot →
  403 (unless ``allow_any_chat=True`` or :meth:`FakeZalo.add_chat`). ``monthly_quota``: after that many
  accepted sends (sendMessage, sendPhoto, sendSticker, sendVoice) → error_code 429 "quota exceeded".
  :meth:`FakeZalo.fail_next` rules are checked before everything but the token.
- ``rate_per_second`` (*fake*: Zalo documents no flood limit; off by default): at most that many accepted
  sends in any sliding 1-second window, overall; a send beyond it → error_code 429 "Too Many Requests"
  (HTTP 200), not counted against the quota, counted in ``stats.rate_limited``.
- ``min_poll_interval``: poll starts closer together than this are counted in ``stats.polls_too_fast``.

Control API for other processes: ``POST /_fake/say`` (JSON kwargs of user_says), ``POST /_fake/say_many``
(``{"messages": [kwargs, ...]}``, each queued or scheduled like user_says, at once), ``GET /_fake/messages
[?chat_id=]``, ``POST /_fake/fail`` (JSON kwargs of fail_next), ``GET /_fake/stats``, ``POST /_fake/chats``
(``{"ids": [...]}``). Standalone: ``python -m tests.fakes.zalo --port N --token T [--redeliver N]
[--rate-per-second R] [--allow-any-chat]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import secrets
import socket
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from tests.fakes.signal import Signal

__all__ = [
    "DEFAULT_TOKEN",
    "IN_PROCESS_BASE_URL",
    "MAX_TEXT_UTF16",
    "WEBHOOK_CONFLICT",
    "ApiCall",
    "FakeZalo",
    "FakeZaloStats",
    "LocalServer",
    "SentMessage",
    "WebhookDelivery",
    "ZaloAPIError",
    "utf16_len",
]

JSON = dict[str, Any]

DEFAULT_TOKEN = "1234567890:fake-zalo-secret"
#: the root to use with :meth:`FakeZalo.transport` (any host works; this one never resolves).
IN_PROCESS_BASE_URL = "http://fake-zalo.test"
MAX_TEXT_UTF16 = 2000
SECRET_MIN, SECRET_MAX = 8, 256
WEBHOOK_CONFLICT = "Conflict: getUpdates is not available while a webhook is set; call deleteWebhook first"
SECRET_HEADER = "X-Bot-Api-Secret-Token"

METHODS = (
    "getMe", "getUpdates", "setWebhook", "deleteWebhook", "getWebhookInfo",
    "sendMessage", "sendPhoto", "sendSticker", "sendVoice", "sendChatAction",
)  # fmt: skip
#: methods whose success counts against ``monthly_quota``.
SEND_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendVoice"})
EVENT_NAMES = frozenset(
    {
        "message.text.received", "message.image.received", "message.sticker.received",
        "message.voice.received", "message.unsupported.received",
    }
)  # fmt: skip
PARSE_MODES = frozenset({"markdown", "html"})
CHAT_TYPES = frozenset({"PRIVATE", "GROUP"})
_LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request timeout",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


def _now_ms() -> int:
    return int(time.time() * 1000)


class ZaloAPIError(Exception):
    """An ``ok:false`` answer: ``error_code`` goes in the body, ``http_status`` on the response."""

    def __init__(
        self,
        error_code: int,
        description: str | None = None,
        *,
        http_status: int = 200,
        retry_after: int | None = None,
        raw_body: str | None = None,
    ) -> None:
        description = description or _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.http_status = http_status
        self.retry_after = retry_after
        self.raw_body = raw_body

    def payload(self) -> JSON:
        """The JSON body of the error answer."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}  # fake: Zalo documents no such field
        return body


def _bad_request(text: str) -> ZaloAPIError:
    return ZaloAPIError(400, f"Bad Request: {text}")


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    """One accepted send. ``text`` is the caption for sendPhoto ("" when none)."""

    chat_id: str
    text: str
    method: str
    photo: str | None
    message_id: str
    date_ms: int
    parse_mode: str | None = None
    photo_bytes: bytes | None = field(default=None, repr=False)
    photo_status: int | None = None
    sticker: str | None = None
    voice_url: str | None = None

    def as_json(self) -> JSON:
        """JSON-safe dict (without the photo bytes; their length instead)."""
        data = asdict(self)
        photo_bytes = data.pop("photo_bytes")
        data["photo_size"] = None if photo_bytes is None else len(photo_bytes)
        return data


@dataclass(frozen=True)
class ApiCall:
    """One answered API call (any outcome)."""

    method: str
    params: JSON
    http_status: int
    ok: bool
    error_code: int | None
    description: str | None
    result: Any
    token_ok: bool
    time: float  # FakeZalo clock


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook POST attempt; ``status_code`` is None when the connection failed."""

    message_id: str | None
    url: str
    status_code: int | None
    error: str | None
    time: float  # FakeZalo clock

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass
class FakeZaloStats:
    """Counters of what the fake answered."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    sends: int = 0  # accepted sendMessage/sendPhoto/sendSticker/sendVoice
    too_many_requests: int = 0  # every 429 served (quota or injected)
    quota_exceeded: int = 0
    rate_limited: int = 0  # 429s for going over ``rate_per_second``
    injected_failures: int = 0
    polls: int = 0
    idle_polls: int = 0
    polls_too_fast: int = 0
    min_poll_gap: float | None = None  # smallest gap between two poll starts (clock units)
    updates_created: int = 0
    updates_delivered: int = 0  # handed out by getUpdates, redeliveries included
    redeliveries: int = 0
    webhook_deliveries: int = 0  # 2xx
    webhook_failures: int = 0
    first_send_at: float | None = None
    last_send_at: float | None = None

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def as_json(self) -> JSON:
        """JSON-safe dict."""
        data = asdict(self)
        data["calls"] = dict(self.calls)
        data["errors"] = {str(k): v for k, v in self.errors.items()}
        data["total_calls"] = self.total_calls
        return data


@dataclass
class _FailureRule:
    method: str
    error: ZaloAPIError
    remaining: int | None
    chat_id: str | None
    delay: float

    def matches(self, method: str, params: JSON) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method == "*":
            if method in ("getUpdates", "getMe"):
                return False
        elif self.method != method:
            return False
        return self.chat_id is None or str(params.get("chat_id")) == self.chat_id


@dataclass(eq=False)
class _Queued:
    update: JSON
    handed_out: int = 0


# --------------------------------------------------------------------------------------------
# HTTP plumbing
# --------------------------------------------------------------------------------------------


class LocalServer:
    """uvicorn serving an ASGI app on 127.0.0.1 as a task of the current event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.root: str | None = None
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Bind, start and return the root URL ``http://host:port``."""
        import uvicorn

        class _Server(uvicorn.Server):
            def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
                return contextlib.nullcontext()  # leave the host's signal handlers alone

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=1,
            timeout_keep_alive=30,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="fake-zalo-uvicorn")
        self._server, self._task, self._sock = server, task, sock
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("server stopped during startup")
            await asyncio.sleep(0.005)
        self.root = f"http://{host}:{sock.getsockname()[1]}"
        return self.root

    async def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._server is not None:
            self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sock is not None:
            self._sock.close()
        self._server = self._task = self._sock = None


class _InProcessTransport(httpx.AsyncBaseTransport):
    """ASGITransport over the fake's app that honours the client's read timeout.

    A call still running when the read timeout expires raises ``httpx.ReadTimeout`` in the client; a
    waiting getUpdates is then cancelled (the update stays queued), any other call finishes server-side.
    """

    def __init__(self, fake: FakeZalo) -> None:
        self._fake = fake
        self._asgi = httpx.ASGITransport(app=fake.asgi_app())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = (request.extensions.get("timeout") or {}).get("read")
        is_poll = request.url.path.endswith("/getUpdates")
        task = asyncio.ensure_future(self._asgi.handle_async_request(request))
        self._fake._inflight.add(task)
        task.add_done_callback(self._fake._inflight.discard)
        try:
            async with asyncio.timeout(timeout):
                return await asyncio.shield(task)
        except TimeoutError:
            if is_poll:
                task.cancel()
            raise httpx.ReadTimeout("fake Zalo: read timeout", request=request) from None
        except asyncio.CancelledError:
            if is_poll:
                task.cancel()
            raise


def _parse_body(content_type: str | None, body: bytes) -> JSON:
    """JSON or form-encoded request body → params (multipart is handled by the caller)."""
    ctype = (content_type or "").split(";")[0].strip().lower()
    if not body.strip():
        return {}
    if ctype == "application/x-www-form-urlencoded":
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise _bad_request("request body is not valid JSON") from None
    if not isinstance(data, dict):
        raise _bad_request("request body must be a JSON object")
    return data


def _json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import Response

    data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    return Response(data, status_code=status, media_type="application/json", headers=headers)


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


class FakeZalo:
    """An in-memory Zalo Bot Platform API for one bot token (see the module docstring).

    Args:
        token: the only accepted token; others get error_code 401 with HTTP 200.
        bot_id, bot_name: getMe ``id`` and ``display_name`` (also the ``@mention`` prefix in groups).
        can_join_groups: getMe flag; when False, :meth:`user_says` refuses GROUP chats.
        redeliver: how many more times getUpdates hands out each update after the first time.
        idle_http_status: HTTP status of the idle long-poll answer (error_code 408 either way).
        monthly_quota: accepted sends before every send answers 429 "quota exceeded"; None = unlimited.
        min_poll_interval: poll starts closer than this count in ``stats.polls_too_fast``.
        rate_per_second: accepted sends allowed in any 1-second window (overall); beyond → 429. None = no limit.
        webhook_concurrency: webhook POSTs in flight at once (1: one at a time, in order).
        clock: monotonic clock for poll timing and record times (inject one to test without sleeping).
        allow_any_chat: accept sends to chats that never messaged the bot.
        fetch_photos: sendPhoto GETs the photo URL and fails with 400 unless it answers 200.
        photo_transport, webhook_transport: httpx transports for those outgoing requests (None = network).
        account_name: getMe ``account_name`` (default ``bot.<bot_id>``).
        call_log_size: how many :class:`ApiCall` entries are kept.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: str = "b0t1d",
        bot_name: str = "Bot Quyết Thắng",
        can_join_groups: bool = True,
        redeliver: int = 0,
        idle_http_status: int = 200,
        monthly_quota: int | None = None,
        min_poll_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        allow_any_chat: bool = False,
        fetch_photos: bool = False,
        photo_transport: httpx.AsyncBaseTransport | None = None,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        account_name: str | None = None,
        call_log_size: int | None = 100_000,
        rate_per_second: float | None = None,
        webhook_concurrency: int = 1,
    ) -> None:
        if redeliver < 0:
            raise ValueError("redeliver must be >= 0")
        if rate_per_second is not None and rate_per_second <= 0:
            raise ValueError("rate_per_second must be > 0")
        if webhook_concurrency < 1:
            raise ValueError("webhook_concurrency must be >= 1")
        self.webhook_concurrency = webhook_concurrency
        self.token = token
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.account_name = account_name or f"bot.{bot_id}"
        self.can_join_groups = can_join_groups
        self.redeliver = redeliver
        self.idle_http_status = idle_http_status
        self.monthly_quota = monthly_quota
        self.min_poll_interval = min_poll_interval
        self.allow_any_chat = allow_any_chat
        self.fetch_photos = fetch_photos
        self.rate_per_second = rate_per_second
        self._send_stamps: deque[float] = deque()  # accepted sends within the last second
        self.stats = FakeZaloStats()
        self.sent: list[SentMessage] = []  # every accepted send, stickers and voices included
        self.calls: deque[ApiCall] = deque(maxlen=call_log_size)
        self.chat_actions: list[tuple[str, str]] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.poll_starts: list[float] = []
        self.known_chats: set[str] = set()
        self.quota_used = 0
        self._clock = clock
        self._messages: list[SentMessage] = []
        self._by_chat: dict[str, list[SentMessage]] = {}
        self._wait_cursor: dict[str | None, int] = {}
        self._queue: deque[_Queued] = deque()
        self._message_ids: set[str] = set()
        self._failures: list[_FailureRule] = []
        self._webhook: JSON | None = None
        self._webhook_queue: deque[tuple[JSON, asyncio.Future[WebhookDelivery | None] | None]] = deque()
        self._webhook_tasks: set[asyncio.Task[None]] = set()
        self._webhook_transport = webhook_transport
        self._webhook_client: httpx.AsyncClient | None = None
        self._photo_transport = photo_transport
        self._photo_client: httpx.AsyncClient | None = None
        self._updates_signal = Signal()
        self._activity_signal = Signal()
        self._inflight: set[asyncio.Future[Any]] = set()
        self._closing = False
        self._app: Any = None
        self._server: LocalServer | None = None

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeZalo:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the server and the webhook worker, end long polls, close outgoing clients."""
        self._closing = True
        self._updates_signal.notify()
        if self._server is not None:
            await self._server.stop()
            self._server = None
        for worker in list(self._webhook_tasks):
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker
        self._webhook_tasks.clear()
        while self._webhook_queue:  # never delivered: release user_says_async callers
            _update, future = self._webhook_queue.popleft()
            if future is not None and not future.done():
                future.cancel()
        for task in list(self._inflight):
            task.cancel()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        for client in (self._webhook_client, self._photo_client):
            if client is not None:
                await client.aclose()
        self._webhook_client = self._photo_client = None

    def transport(self) -> httpx.AsyncBaseTransport:
        """An in-process httpx transport (the app via ASGI; honours the client's read timeout)."""
        return _InProcessTransport(self)

    async def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve over HTTP (uvicorn in this event loop) until :meth:`aclose`; returns the root URL."""
        if self._server is not None:
            raise RuntimeError("already serving")
        self._closing = False
        server = LocalServer(self.asgi_app())
        root = await server.start(host, port)
        self._server = server
        return root

    @property
    def base_url(self) -> str:
        """Root URL for the bot: the served ``http://127.0.0.1:PORT``, else :data:`IN_PROCESS_BASE_URL`."""
        if self._server is not None and self._server.root:
            return self._server.root
        return IN_PROCESS_BASE_URL

    def api_url(self, method: str, token: str | None = None) -> str:
        """``{base_url}/bot{token}/{method}``."""
        return f"{self.base_url}/bot{self.token if token is None else token}/{method}"

    # ---------------------------------------------------------------- webhook state

    @property
    def webhook_url(self) -> str | None:
        return self._webhook["url"] if self._webhook else None

    @property
    def webhook_secret(self) -> str | None:
        return self._webhook["secret_token"] if self._webhook else None

    def set_webhook_transport(self, transport: httpx.AsyncBaseTransport | None) -> None:
        """Deliver webhooks through ``transport`` (e.g. ``httpx.ASGITransport(app)``); None = network."""
        self._webhook_transport = transport
        old, self._webhook_client = self._webhook_client, None
        if old is not None:
            self._spawn(old.aclose())

    def set_photo_transport(self, transport: httpx.AsyncBaseTransport | None) -> None:
        """Fetch sendPhoto URLs through ``transport`` (with ``fetch_photos``); None = network."""
        self._photo_transport = transport
        old, self._photo_client = self._photo_client, None
        if old is not None:
            self._spawn(old.aclose())

    def _spawn(self, coro: Any) -> None:
        try:
            task = asyncio.get_running_loop().create_task(coro)
        except RuntimeError:
            coro.close()
            return
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    # ---------------------------------------------------------------- test helpers

    def add_chat(self, chat_id: str) -> None:
        """Let the bot send to ``chat_id`` as if that user had messaged it."""
        self.known_chats.add(str(chat_id))

    def reset_quota(self) -> None:
        """A new month: the quota counter starts again."""
        self.quota_used = 0

    @property
    def quota_remaining(self) -> int | None:
        return None if self.monthly_quota is None else max(self.monthly_quota - self.quota_used, 0)

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates getUpdates would still hand out (re-deliveries included), in order."""
        return [q.update for q in self._queue]

    def fail_next(
        self,
        method: str,
        error_code: int,
        *,
        times: int | None = 1,
        description: str | None = None,
        http_status: int = 200,
        retry_after: int | None = None,
        chat_id: str | None = None,
        delay: float = 0.0,
        raw_body: str | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail (``times=None``: until :meth:`clear_failures`).

        ``method="*"`` matches every method except getUpdates/getMe. ``retry_after`` adds
        ``parameters.retry_after`` and a ``Retry-After`` header (*fake*: Zalo documents neither).
        ``raw_body`` answers that text as ``text/html`` instead of JSON (a proxy's 502 page);
        ``delay`` sleeps first (to provoke client timeouts).
        """
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        error = ZaloAPIError(
            error_code, description, http_status=http_status, retry_after=retry_after, raw_body=raw_body
        )
        self._failures.append(_FailureRule(method, error, times, None if chat_id is None else str(chat_id), delay))

    def clear_failures(self) -> None:
        """Forget every :meth:`fail_next` rule."""
        self._failures.clear()

    def messages(self, chat_id: str | None = None) -> list[SentMessage]:
        """Every accepted sendMessage/sendPhoto (to ``chat_id`` or anyone), oldest first."""
        if chat_id is None:
            return list(self._messages)
        return list(self._by_chat.get(str(chat_id), ()))

    def calls_of(self, method: str) -> list[ApiCall]:
        """Logged calls of ``method`` (exact name), oldest first."""
        return [c for c in self.calls if c.method == method]

    async def wait_for_message(
        self,
        chat_id: str | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> list[SentMessage]:
        """The next ``count`` sendMessage/sendPhoto records not returned by an earlier wait (per ``chat_id``)."""
        key = None if chat_id is None else str(chat_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            source = self._messages if key is None else self._by_chat.get(key, [])
            start = self._wait_cursor.get(key, 0)
            if len(source) - start >= count:
                self._wait_cursor[key] = start + count
                return source[start : start + count]
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(source) - start} of {count} message(s) to {key or 'any chat'} within {timeout}s"
                )
            await self._activity_signal.wait(remaining)

    async def webhook_idle(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until every scheduled webhook delivery has been attempted."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._webhook_queue or any(not worker.done() for worker in self._webhook_tasks):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"webhook deliveries not done within {timeout}s")
            await self._activity_signal.wait(min(remaining, 0.05))

    # ---------------------------------------------------------------- simulated users

    def _new_message_id(self) -> str:
        while True:
            message_id = secrets.token_hex(10)
            if message_id not in self._message_ids:
                self._message_ids.add(message_id)
                return message_id

    def _make_update(
        self,
        text: str,
        chat_id: str,
        sender_id: str | None,
        display_name: str,
        chat_type: str,
        event_name: str,
        mention: bool,
        extra: JSON | None,
    ) -> JSON:
        if chat_type not in CHAT_TYPES:
            raise ValueError(f"chat_type must be one of {sorted(CHAT_TYPES)}")
        if event_name not in EVENT_NAMES:
            raise ValueError(f"unknown event_name {event_name!r}; use push_update() for invented shapes")
        chat_id = str(chat_id)
        if chat_type == "PRIVATE":
            if sender_id is not None and str(sender_id) != chat_id:
                raise ValueError("in a PRIVATE chat, chat.id == from.id")
            sender = chat_id
        else:
            if not self.can_join_groups:
                raise ValueError("this bot cannot join groups (can_join_groups=False)")
            sender = str(sender_id) if sender_id is not None else "u-kimbang"
            if mention:
                text = f"@{self.bot_name} {text}"
        message: JSON = {
            "from": {"id": sender, "display_name": display_name, "is_bot": False},
            "chat": {"id": chat_id, "chat_type": chat_type},
            "text": text,
            "message_id": self._new_message_id(),
            "date": _now_ms(),
        }
        if extra:
            message.update(extra)
        self.known_chats.add(chat_id)
        self.stats.updates_created += 1
        return {"message": message, "event_name": event_name}

    def user_says(
        self,
        text: str,
        *,
        chat_id: str = "u-kimbang",
        sender_id: str | None = None,
        display_name: str = "Nguyễn Văn A",
        chat_type: str = "PRIVATE",
        event_name: str = "message.text.received",
        mention: bool = False,
        extra: JSON | None = None,
    ) -> JSON:
        """A user writes to the bot; returns the update (official sample shape).

        Queued for getUpdates, or, while a webhook is set, scheduled for POSTing by a background worker
        (needs a running loop; ``await webhook_idle()`` to wait). In GROUP chats ``sender_id`` defaults
        to ``"u-kimbang"`` and ``mention=True`` prefixes ``"@<bot_name> "``; a group message without a
        mention is still delivered (Zalo also delivers replies to the bot, which carry no marker).
        ``extra`` is merged into ``message`` (e.g. ``{"photo_url": ...}`` for an image event).
        """
        update = self._make_update(text, chat_id, sender_id, display_name, chat_type, event_name, mention, extra)
        self._route(update, None)
        return update

    async def user_says_async(
        self,
        text: str,
        *,
        chat_id: str = "u-kimbang",
        sender_id: str | None = None,
        display_name: str = "Nguyễn Văn A",
        chat_type: str = "PRIVATE",
        event_name: str = "message.text.received",
        mention: bool = False,
        extra: JSON | None = None,
    ) -> JSON:
        """:meth:`user_says`, but with a webhook set it returns only after this update's POST."""
        update = self._make_update(text, chat_id, sender_id, display_name, chat_type, event_name, mention, extra)
        future: asyncio.Future[WebhookDelivery | None] = asyncio.get_running_loop().create_future()
        self._route(update, future)
        await future
        return update

    def push_update(self, update: JSON) -> JSON:
        """Queue/deliver an update of any shape as is (for invented or malformed payloads)."""
        self.stats.updates_created += 1
        self._route(update, None)
        return update

    def _route(self, update: JSON, future: asyncio.Future[WebhookDelivery | None] | None) -> None:
        if self._webhook is None:
            self._queue.append(_Queued(update))
            self._updates_signal.notify()
            if future is not None:
                future.set_result(None)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError("webhook delivery needs a running event loop") from None
        self._webhook_queue.append((update, future))
        self._webhook_tasks = {worker for worker in self._webhook_tasks if not worker.done()}
        if len(self._webhook_tasks) < self.webhook_concurrency:
            self._webhook_tasks.add(loop.create_task(self._webhook_worker(), name="fake-zalo-webhook"))

    async def _webhook_worker(self) -> None:
        while self._webhook_queue:
            update, future = self._webhook_queue.popleft()
            delivery: WebhookDelivery | None = None
            try:
                if self._webhook is None:  # deleted meanwhile: keep it for polling
                    self._queue.append(_Queued(update))
                    self._updates_signal.notify()
                else:
                    delivery = await self._deliver(update, self._webhook)
            finally:
                if future is not None and not future.done():
                    future.set_result(delivery)
                self._activity_signal.notify()

    async def _deliver(self, update: JSON, webhook: JSON) -> WebhookDelivery:
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(transport=self._webhook_transport, timeout=5.0)
        body = json.dumps({"ok": True, "result": update}, ensure_ascii=False).encode("utf-8")
        headers = {"content-type": "application/json", SECRET_HEADER: webhook["secret_token"]}
        status: int | None = None
        error: str | None = None
        try:
            response = await self._webhook_client.post(webhook["url"], content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{exc.__class__.__name__}: {exc}"
        message_id = (update.get("message") or {}).get("message_id") if isinstance(update, dict) else None
        delivery = WebhookDelivery(message_id, webhook["url"], status, error, self._clock())
        self.webhook_deliveries.append(delivery)
        if delivery.ok:
            self.stats.webhook_deliveries += 1
        else:
            self.stats.webhook_failures += 1
        return delivery

    # ---------------------------------------------------------------- core dispatch

    async def call(self, method: str, params: JSON | None = None, token: str | None = None) -> tuple[int, Any, JSON]:
        """Run one API call; returns ``(http_status, body, extra_headers)`` (body: dict, or str if raw)."""
        params = params or {}
        self.stats.calls[method] += 1
        token_ok = token is None or token == self.token
        result: Any = None
        has_result = True
        error: ZaloAPIError | None = None
        try:
            if not token_ok:
                raise ZaloAPIError(401, "Unauthorized")
            handler = self._handler_table.get(method)
            if handler is None:
                raise ZaloAPIError(404, "Not Found", http_status=404)
            await self._apply_failure_rules(method, params)
            result = await handler(params)
            if method == "sendChatAction":
                has_result = False  # ZALO.md: {"ok": true}, no result
        except ZaloAPIError as exc:
            error = exc
        headers: dict[str, str] = {}
        if error is None:
            status, body = 200, ({"ok": True, "result": result} if has_result else {"ok": True})
        else:
            status = error.http_status
            body = error.raw_body if error.raw_body is not None else error.payload()
            self.stats.errors[error.error_code] += 1
            if error.error_code == 429:
                self.stats.too_many_requests += 1
            if error.retry_after is not None:
                headers["retry-after"] = str(error.retry_after)
        self.calls.append(
            ApiCall(
                method=method,
                params=dict(params),
                http_status=status,
                ok=error is None,
                error_code=None if error is None else error.error_code,
                description=None if error is None else error.description,
                result=result,
                token_ok=token_ok,
                time=self._clock(),
            )
        )
        self._activity_signal.notify()
        return status, body, headers

    async def _apply_failure_rules(self, method: str, params: JSON) -> None:
        for rule in self._failures:
            if rule.matches(method, params):
                if rule.remaining is not None:
                    rule.remaining -= 1
                self._failures = [r for r in self._failures if r.remaining is None or r.remaining > 0]
                if rule.delay > 0:
                    await asyncio.sleep(rule.delay)
                self.stats.injected_failures += 1
                raise rule.error

    @functools.cached_property
    def _handler_table(self) -> dict[str, Callable[[JSON], Any]]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": self._send_photo,
            "sendSticker": self._send_sticker,
            "sendVoice": self._send_voice,
            "sendChatAction": self._send_chat_action,
        }

    # ---------------------------------------------------------------- ASGI app

    def asgi_app(self) -> Any:
        """The Starlette app: ``/bot{token}/{method}`` plus the ``/_fake/...`` control API."""
        if self._app is not None:
            return self._app
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def api(request: Request) -> Response:
            token, method = request.path_params["token"], request.path_params["method"]
            if request.method != "POST":
                error = ZaloAPIError(405, "Method Not Allowed: use POST")
                return _json_response(405, error.payload())
            try:
                ctype = request.headers.get("content-type", "")
                if ctype.lower().startswith("multipart/form-data"):
                    async with request.form() as form:
                        params: JSON = {k: v for k, v in form.items() if isinstance(v, str)}
                else:
                    params = _parse_body(ctype, await request.body())
            except ZaloAPIError as exc:
                return _json_response(exc.http_status, exc.payload())
            status, body, headers = await self.call(method, params, token=token)
            if isinstance(body, str):
                return Response(body, status_code=status, media_type="text/html", headers=headers)
            return _json_response(status, body, headers)

        async def not_found(request: Request) -> Response:
            return _json_response(404, ZaloAPIError(404, "Not Found").payload())

        async def say(request: Request) -> Response:
            kwargs = await request.json()
            try:
                text = kwargs.pop("text")
                update = await self.user_says_async(text, **kwargs)
            except (KeyError, TypeError, ValueError) as exc:
                return _json_response(400, {"error": str(exc)})
            return _json_response(200, update)

        async def say_many(request: Request) -> Response:
            updates = []
            try:
                for kwargs in (await request.json())["messages"]:
                    text = kwargs.pop("text")
                    updates.append(self.user_says(text, **kwargs))
            except (KeyError, TypeError, ValueError, RuntimeError) as exc:
                return _json_response(400, {"error": str(exc), "queued": len(updates)})
            return _json_response(200, {"queued": len(updates)})

        async def messages(request: Request) -> Response:
            chat_id = request.query_params.get("chat_id")
            return _json_response(200, [m.as_json() for m in self.messages(chat_id)])

        async def fail(request: Request) -> Response:
            kwargs = await request.json()
            try:
                self.fail_next(kwargs.pop("method"), int(kwargs.pop("error_code")), **kwargs)
            except (KeyError, TypeError, ValueError) as exc:
                return _json_response(400, {"error": str(exc)})
            return _json_response(200, {})

        async def stats(_request: Request) -> Response:
            per_chat: Counter[str] = Counter(m.chat_id for m in self._messages)
            body = self.stats.as_json()
            body.update(
                quota_used=self.quota_used,
                pending_updates=len(self._queue),
                webhook_url=self.webhook_url,
                per_chat=dict(per_chat),
                sending_seconds=(self.stats.last_send_at or 0) - (self.stats.first_send_at or 0),
            )
            return _json_response(200, body)

        async def chats(request: Request) -> Response:
            for chat_id in (await request.json())["ids"]:
                self.add_chat(str(chat_id))
            return _json_response(200, {})

        self._app = Starlette(
            routes=[
                Route("/_fake/say", say, methods=["POST"]),
                Route("/_fake/say_many", say_many, methods=["POST"]),
                Route("/_fake/messages", messages, methods=["GET"]),
                Route("/_fake/fail", fail, methods=["POST"]),
                Route("/_fake/stats", stats, methods=["GET"]),
                Route("/_fake/chats", chats, methods=["POST"]),
                Route("/bot{token}/{method}", api, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
                Route("/{path:path}", not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
            ]
        )
        return self._app

    # ---------------------------------------------------------------- methods

    async def _get_me(self, params: JSON) -> JSON:
        return {
            "id": self.bot_id,
            "account_name": self.account_name,
            "account_type": "BASIC",
            "can_join_groups": self.can_join_groups,
            "display_name": self.bot_name,
        }

    def _note_poll_start(self) -> None:
        now = self._clock()
        if self.poll_starts:
            gap = now - self.poll_starts[-1]
            if self.stats.min_poll_gap is None or gap < self.stats.min_poll_gap:
                self.stats.min_poll_gap = gap
            if self.min_poll_interval > 0 and gap < self.min_poll_interval:
                self.stats.polls_too_fast += 1
        self.poll_starts.append(now)
        self.stats.polls += 1

    async def _get_updates(self, params: JSON) -> JSON:
        self._note_poll_start()
        raw = params.get("timeout", 30)
        try:
            timeout = max(float(raw), 0.0)
        except (TypeError, ValueError):
            raise _bad_request("timeout must be a number") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self._webhook is not None:
                raise ZaloAPIError(409, WEBHOOK_CONFLICT)
            if self._queue:
                entry = self._queue.popleft()
                entry.handed_out += 1
                if entry.handed_out <= self.redeliver:
                    self._queue.append(entry)
                self.stats.updates_delivered += 1
                if entry.handed_out > 1:
                    self.stats.redeliveries += 1
                return json.loads(json.dumps(entry.update))
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                self.stats.idle_polls += 1
                raise ZaloAPIError(408, "Request timeout", http_status=self.idle_http_status)
            await self._updates_signal.wait(remaining)

    async def _set_webhook(self, params: JSON) -> JSON:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        parts = urlsplit(url)
        if not parts.hostname or parts.scheme not in ("https", "http"):
            raise _bad_request("url must be an HTTPS URL")
        if parts.scheme == "http" and parts.hostname not in _LOCAL_HOSTS:
            raise _bad_request("url must be an HTTPS URL")  # the fake allows http://127.0.0.1 / localhost
        if not isinstance(secret, str) or not SECRET_MIN <= len(secret) <= SECRET_MAX:
            raise _bad_request(f"secret_token must be {SECRET_MIN}-{SECRET_MAX} characters")
        self._webhook = {"url": url, "secret_token": secret, "updated_at": _now_ms()}
        self._updates_signal.notify()  # a waiting long poll answers 409
        return {"url": url, "updated_at": self._webhook["updated_at"]}

    async def _delete_webhook(self, params: JSON) -> JSON:
        self._webhook = None
        return {"url": "", "updated_at": _now_ms()}

    async def _get_webhook_info(self, params: JSON) -> JSON:
        if self._webhook is None:
            raise ZaloAPIError(404, "Not Found", http_status=404)
        return {"url": self._webhook["url"], "updated_at": self._webhook["updated_at"]}

    def _chat_id(self, params: JSON) -> str:
        raw = params.get("chat_id")
        if raw is None or isinstance(raw, bool) or str(raw).strip() == "":
            raise _bad_request("chat_id is required")
        chat_id = str(raw)
        if not self.allow_any_chat and chat_id not in self.known_chats:
            raise ZaloAPIError(403, "Forbidden: the bot is not allowed to send messages to this user")
        return chat_id

    @staticmethod
    def _check_text(value: Any, name: str, *, required: bool) -> str:
        if value is None and not required:
            return ""
        if not isinstance(value, str):
            raise _bad_request(f"{name} must be a string")
        if not value and not required:
            return ""
        length = utf16_len(value)
        if not 1 <= length <= MAX_TEXT_UTF16:
            raise _bad_request(f"{name} must be 1-{MAX_TEXT_UTF16} characters (got {length})")
        return value

    def _check_quota(self) -> None:
        if self.rate_per_second is not None:
            now, stamps = self._clock(), self._send_stamps
            while stamps and stamps[0] <= now - 1.0:
                stamps.popleft()
            if len(stamps) >= max(1, int(self.rate_per_second)):
                self.stats.rate_limited += 1
                raise ZaloAPIError(429, "Too Many Requests")
        if self.monthly_quota is not None and self.quota_used >= self.monthly_quota:
            self.stats.quota_exceeded += 1
            raise ZaloAPIError(429, "quota exceeded")

    def _accept(self, record: SentMessage) -> JSON:
        self.quota_used += 1
        self.stats.sends += 1
        now = self._clock()
        if self.rate_per_second is not None:
            self._send_stamps.append(now)
        if self.stats.first_send_at is None:
            self.stats.first_send_at = now
        self.stats.last_send_at = now
        self.sent.append(record)
        if record.method in ("sendMessage", "sendPhoto"):
            self._messages.append(record)
            self._by_chat.setdefault(record.chat_id, []).append(record)
        return {"message_id": record.message_id, "date": record.date_ms}

    async def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        text = self._check_text(params.get("text"), "text", required=True)
        parse_mode = params.get("parse_mode") or None
        if parse_mode is not None and str(parse_mode).lower() not in PARSE_MODES:
            raise _bad_request(f"unsupported parse_mode {parse_mode!r}")
        self._check_quota()
        record = SentMessage(chat_id, text, "sendMessage", None, self._new_message_id(), _now_ms(), parse_mode)
        return self._accept(record)

    async def _fetch(self, url: str) -> tuple[int, bytes]:
        if self._photo_client is None:
            self._photo_client = httpx.AsyncClient(transport=self._photo_transport, timeout=5.0, follow_redirects=True)
        try:
            response = await self._photo_client.get(url)
        except httpx.HTTPError:
            raise _bad_request("cannot download the photo") from None
        return response.status_code, response.content

    async def _send_photo(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        photo = params.get("photo")
        parts = urlsplit(photo) if isinstance(photo, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("photo must be an http(s) URL")
        caption = self._check_text(params.get("caption"), "caption", required=False)
        self._check_quota()
        photo_bytes: bytes | None = None
        photo_status: int | None = None
        if self.fetch_photos:
            photo_status, photo_bytes = await self._fetch(photo)
            if photo_status != 200:
                raise _bad_request(f"cannot download the photo (HTTP {photo_status})")
        record = SentMessage(
            chat_id,
            caption,
            "sendPhoto",
            photo,
            self._new_message_id(),
            _now_ms(),
            photo_bytes=photo_bytes,
            photo_status=photo_status,
        )
        return self._accept(record)

    async def _send_sticker(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _bad_request("sticker is required")
        self._check_quota()
        return self._accept(
            SentMessage(chat_id, "", "sendSticker", None, self._new_message_id(), _now_ms(), sticker=sticker)
        )

    async def _send_voice(self, params: JSON) -> JSON:
        chat_id = self._chat_id(params)
        voice_url = params.get("voice_url")
        parts = urlsplit(voice_url) if isinstance(voice_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _bad_request("voice_url must be an http(s) URL")
        self._check_quota()
        return self._accept(
            SentMessage(chat_id, "", "sendVoice", None, self._new_message_id(), _now_ms(), voice_url=voice_url)
        )

    async def _send_chat_action(self, params: JSON) -> None:
        chat_id = self._chat_id(params)
        action = params.get("action")
        if not isinstance(action, str) or not action:
            raise _bad_request("action is required")
        self.chat_actions.append((chat_id, action))


# --------------------------------------------------------------------------------------------
# Standalone
# --------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Serve a fake Zalo in its own process; prints ``fake zalo on http://127.0.0.1:PORT`` when ready."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.zalo")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--redeliver", type=int, default=0)
    parser.add_argument("--idle-http-status", type=int, default=200)
    parser.add_argument("--monthly-quota", type=int, default=None)
    parser.add_argument("--min-poll-interval", type=float, default=0.0)
    parser.add_argument("--allow-any-chat", action="store_true")
    parser.add_argument("--rate-per-second", type=float, default=None, help="overall send limit (429 beyond)")
    parser.add_argument("--webhook-concurrency", type=int, default=1, help="webhook POSTs in flight at once")
    args = parser.parse_args(argv)

    async def run() -> None:
        async with FakeZalo(
            args.token,
            redeliver=args.redeliver,
            idle_http_status=args.idle_http_status,
            monthly_quota=args.monthly_quota,
            min_poll_interval=args.min_poll_interval,
            allow_any_chat=args.allow_any_chat,
            rate_per_second=args.rate_per_second,
            webhook_concurrency=args.webhook_concurrency,
        ) as fake:
            root = await fake.serve(port=args.port)
            print(f"fake zalo on {root}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())


if __name__ == "__main__":
    main()
