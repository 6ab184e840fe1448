"""A fake Telegram Bot API for end-to-end tests and benchmarks.

:class:`FakeTelegram` imitates the parts of the Bot API the bot uses, with Telegram's validation
rules and error wording (``Bad Request: chat not found``, ``message is too long``, HTML entity
parsing errors, ``BUTTON_DATA_INVALID``, 429 flood control with ``retry_after`` ...), so the real
python-telegram-bot (PTB) ``Application`` can run against it unchanged. One core serves two modes.

In-process (no sockets), plug :meth:`FakeTelegram.transport` into PTB::

    fake = FakeTelegram(token="123456:TEST-TOKEN", bot_username="qtbot_test_bot")
    app = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url("http://fake.api/bot{token}")
        .base_file_url("http://fake.api/file/bot{token}")
        .request(HTTPXRequest(httpx_kwargs={"transport": fake.transport()}))
        .get_updates_request(HTTPXRequest(httpx_kwargs={"transport": fake.transport()}))
        .build()
    )

Over HTTP on 127.0.0.1 (uvicorn runs as a task in the current event loop; another OS process
may use the URL too)::

    async with fake.serve(port=0) as root:  # e.g. "http://127.0.0.1:43123"
        ...  # bot uses base_url=f"{root}/bot", base_file_url=f"{root}/file/bot"

Simulating users and reading what the bot sent::

    fake.user_sends("/start", user_id=111)
    reply = await fake.wait_for_message(111)  # SentMessage record: .text, .reply_markup ...
    fake.user_presses(reply, "menu:1", user_id=111)
    fake.user_sends_document("a.xlsx", b"...", "application/vnd.ms-excel", user_id=111)

Error injection: :meth:`FakeTelegram.fail_next`, :meth:`FakeTelegram.block_chat`; optional flood
limits: ``FakeTelegram(limits=FloodLimits(...))``. Counters live in ``fake.stats``; every
message the bot sent is in ``fake.sent``. Call :meth:`FakeTelegram.aclose` (or use
``async with FakeTelegram(...) as fake``) to stop the webhook worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import socket
import struct
import time
import uuid
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.fakes.signal import Signal
from tests.fakes.telegram.entities import FormattedText, parse_formatted_text, utf16_len
from tests.fakes.telegram.errors import JSON, TelegramAPIError, bad_request
from tests.fakes.telegram.flood import FloodControl, FloodLimits
from tests.fakes.telegram.multipart import (
    UploadedFile,
    p_bool,
    p_float,
    p_int,
    p_json,
    p_opt,
    p_str,
    parse_request_body,
)

__all__ = [
    "ApiCall",
    "CallbackAnswer",
    "FakeStats",
    "FakeTelegram",
    "SentMessage",
    "StoredFile",
    "WebhookDelivery",
    "main",
]

MAX_MESSAGE_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_INLINE_BUTTONS = 100
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip

#: update types delivered when ``allowed_updates`` is not set (Telegram's default).
DEFAULT_UPDATE_TYPES = frozenset(
    {
        "message", "edited_message", "channel_post", "edited_channel_post", "inline_query",
        "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
        "poll", "poll_answer", "my_chat_member", "chat_join_request", "business_connection",
        "business_message", "edited_business_message", "deleted_business_messages",
        "purchased_paid_media",
    }
)  # fmt: skip

INLINE_BUTTON_ACTIONS = (
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
)  # fmt: skip

_GROUP_TYPES = frozenset({"group", "supergroup"})
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_BOT_COMMAND_ENTITY_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


#: descriptions of injected failures (:meth:`FakeTelegram.fail_next`) when none is given.
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    413: "Request Entity Too Large",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------


@dataclass
class FakeStats:
    """Counters of what the fake answered."""

    calls: Counter[str] = field(default_factory=Counter)
    errors: Counter[int] = field(default_factory=Counter)
    too_many_requests: int = 0
    injected_failures: int = 0
    messages_sent: int = 0
    # Monotonic times of the first and the last message sent (for rates measured server-side).
    first_message_at: float | None = None
    last_message_at: float | None = None
    updates_created: int = 0
    webhook_deliveries: int = 0
    webhook_failures: int = 0

    @property
    def total_calls(self) -> int:
        """All API calls answered (any method, any outcome)."""
        return sum(self.calls.values())

    def reset(self) -> None:
        """Zero every counter."""
        fresh = FakeStats()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent (kept up to date by edits/deletes)."""

    chat_id: int
    message_id: int
    method: str
    text: str
    raw_text: str | None
    parse_mode: str | None
    reply_markup: JSON | None
    date: int
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    reply_to_message_id: int | None = None
    disable_notification: bool = False
    document_name: str | None = None
    document_bytes: bytes | None = None
    document_mime_type: str | None = None
    photo_bytes: bytes | None = None
    file_id: str | None = None
    edit_count: int = 0
    edit_date: int | None = None
    deleted: bool = False
    params: JSON = field(default_factory=dict, repr=False)
    message: JSON = field(default_factory=dict, repr=False)
    consumed: bool = field(default=False, repr=False)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    @property
    def buttons(self) -> list[JSON]:
        """All inline keyboard buttons, flattened."""
        if not self.reply_markup:
            return []
        return [b for row in self.reply_markup.get("inline_keyboard", []) for b in row]


@dataclass
class CallbackAnswer:
    """What the bot answered to a callback query."""

    callback_query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass
class ApiCall:
    """One answered Bot API call."""

    method: str
    params: JSON
    file_fields: list[str]
    status: int
    result: Any
    description: str | None
    time: float
    consumed: bool = field(default=False, repr=False)


@dataclass
class WebhookDelivery:
    """One webhook POST attempt."""

    update_id: int
    url: str
    attempt: int
    ok: bool
    status_code: int | None
    error: str | None
    time: float


@dataclass
class StoredFile:
    """A file known to the fake (uploaded by a simulated user or by the bot)."""

    file_id: str
    file_unique_id: str
    file_path: str
    data: bytes
    file_name: str | None = None
    mime_type: str | None = None

    @property
    def file_size(self) -> int:
        return len(self.data)


@dataclass
class _FailureRule:
    method: str | None
    error_code: int | None
    description: str | None
    retry_after: int | None
    chat_id: str | None
    remaining: int | None
    delay: float

    def matches(self, method: str, params: JSON) -> bool:
        if self.remaining is not None and self.remaining <= 0:
            return False
        if self.method is None:
            if method in ("getUpdates", "getMe"):
                return False
        elif self.method.lower() != method.lower():
            return False
        return self.chat_id is None or str(params.get("chat_id")) == self.chat_id


@dataclass(eq=False)
class _Pending:
    update: JSON
    kind: str
    delivered: float | None = None


def _image_size(data: bytes) -> tuple[int, int]:
    """Width/height of a PNG/JPEG (best effort; 1x1 otherwise)."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return width, height
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                break
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return width, height
            i += 2 + length
    return 1, 1


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------

_Handler = Callable[[JSON, dict[str, UploadedFile]], Awaitable[Any]]


class FakeTelegram:
    """An in-memory Telegram Bot API server for one bot token (see the module docstring).

    Args:
        token: the only accepted token; others get 401 Unauthorized.
        bot_username: ``username`` of the bot user returned by getMe.
        limits: enable flood control (429 + ``retry_after``); off when ``None``.
        strict_html_ampersand: reject a bare ``&`` in HTML (real Telegram keeps it literally).
        webhook_transport: httpx transport for webhook POSTs (e.g. ``httpx.ASGITransport(app)``);
            ``None`` uses the network.
        webhook_retry_delays: pauses between webhook delivery attempts; after the last failed
            attempt the update is dropped (and recorded in ``webhook_deliveries``).
        first_update_id: first ``update_id`` handed out.
        call_log_size: how many :class:`ApiCall` entries ``calls`` keeps.
        clock: monotonic clock used by the flood limits (inject one to test them without sleeping).
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        bot_username: str = "qtbot_test_bot",
        *,
        bot_first_name: str = "Quyết Thắng Bot",
        bot_id: int | None = None,
        limits: FloodLimits | None = None,
        strict_html_ampersand: bool = True,
        webhook_transport: httpx.AsyncBaseTransport | None = None,
        webhook_retry_delays: Sequence[float] = (0.05, 0.1, 0.2),
        first_update_id: int = 100_000,
        call_log_size: int | None = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token = token
        head = token.partition(":")[0]
        self.bot_user: JSON = {
            "id": bot_id if bot_id is not None else (int(head) if head.isdigit() else 123456),
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.strict_html_ampersand = strict_html_ampersand
        self.stats = FakeStats()
        self.sent: list[SentMessage] = []
        self.calls: deque[ApiCall] = deque(maxlen=call_log_size)
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.files: dict[str, StoredFile] = {}
        self._clock = clock
        self._flood = FloodControl(limits, clock) if limits else None
        self._chats: dict[int, JSON] = {}
        self._users: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._migrated: dict[int, int] = {}  # a group upgraded to a supergroup -> the supergroup's id
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], JSON] = {}
        self._records: dict[tuple[int, int], SentMessage] = {}
        self._by_chat: dict[int, list[SentMessage]] = {}
        self._callback_queries: dict[str, JSON] = {}
        self._failures: list[_FailureRule] = []
        self._update_ids = itertools.count(first_update_id)
        self._pending: deque[_Pending] = deque()
        self._allowed_updates: frozenset[str] | None = None
        self._poll_generation = 0
        self._updates_signal = Signal()
        self._activity_signal = Signal()
        self._last_activity = time.monotonic()
        self._draining = 0
        self._files_by_path: dict[str, StoredFile] = {}
        self._wait_cursor: dict[int | None, int] = {}
        self._closing = False
        self._webhook: JSON | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_client: httpx.AsyncClient | None = None
        self._webhook_transport = webhook_transport
        self._webhook_retry_delays = tuple(webhook_retry_delays)
        self._webhook_last_error: tuple[int, str] | None = None
        self._inflight: set[asyncio.Task[Any]] = set()
        self._file_counter = itertools.count(1)
        self._query_counter = itertools.count(1)
        self._handlers: dict[str, tuple[str, _Handler]] = {}
        for name, handler in self._handler_table().items():
            self._handlers[name.lower()] = (name, handler)

    # ---------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> FakeTelegram:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the webhook worker, wake long polls and cancel in-flight transport calls."""
        self._closing = True
        self._updates_signal.notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._webhook_task
            self._webhook_task = None
        for task in list(self._inflight):
            task.cancel()
        if self._inflight:
            await asyncio.gather(*self._inflight, return_exceptions=True)
        if self._webhook_client is not None:
            await self._webhook_client.aclose()
            self._webhook_client = None

    # ---------------------------------------------------------------- public helpers

    @property
    def bot_id(self) -> int:
        return int(self.bot_user["id"])

    @property
    def bot_username(self) -> str:
        return str(self.bot_user["username"])

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by getUpdates (or not yet delivered to the webhook)."""
        return [p.update for p in self._pending]

    @property
    def webhook_url(self) -> str | None:
        return self._webhook["url"] if self._webhook else None

    def add_chat(
        self,
        chat_id: int,
        chat_type: str = "private",
        title: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
    ) -> JSON:
        """Register a chat the bot may write to (e.g. for broadcast tests); returns the Chat."""
        if chat_type == "private":
            chat: JSON = {"id": chat_id, "type": "private", "first_name": first_name or f"User {chat_id}"}
            self._users.setdefault(chat_id, {"id": chat_id, "is_bot": False, "first_name": chat["first_name"]})
        else:
            if chat_type in _GROUP_TYPES and chat_id > 0:
                raise ValueError("group chats have negative ids")
            chat = {"id": chat_id, "type": chat_type, "title": title or f"Chat {chat_id}"}
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        return chat

    def block_chat(self, chat_id: int) -> None:
        """Make every send to ``chat_id`` answer 403 (user blocked the bot / bot was kicked)."""
        self._blocked.add(chat_id)

    def unblock_chat(self, chat_id: int) -> None:
        """Undo :meth:`block_chat`."""
        self._blocked.discard(chat_id)

    def upgrade_group(self, chat_id: int, new_chat_id: int) -> JSON:
        """The group ``chat_id`` becomes the supergroup ``new_chat_id`` (ids like -100...): from now on a
        send to the old id answers 400 with ``migrate_to_chat_id``, as Telegram does. Returns the new chat."""
        old = self._chats[chat_id]
        self._migrated[chat_id] = new_chat_id
        return self.add_chat(new_chat_id, "supergroup", title=old.get("title"))

    def fail_next(
        self,
        method: str | None = "sendMessage",
        error_code: int | None = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        chat_id: int | str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` matching calls fail (``times=None``: until :meth:`clear_failures`).

        ``method=None`` matches every method except getUpdates/getMe. ``error_code=None`` with a
        ``delay`` only delays the call (to provoke client timeouts). For 429 the default
        description is ``Too Many Requests: retry after N``.
        """
        if description is None and error_code is not None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after or 1}"
                retry_after = retry_after or 1
            else:
                description = _DEFAULT_DESCRIPTIONS.get(error_code, "Error")
        self._failures.append(
            _FailureRule(
                method=method,
                error_code=error_code,
                description=description,
                retry_after=retry_after,
                chat_id=None if chat_id is None else str(chat_id),
                remaining=times,
                delay=delay,
            )
        )

    def clear_failures(self) -> None:
        """Forget all rules added by :meth:`fail_next`."""
        self._failures.clear()

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        """All records the bot sent to ``chat_id`` (or to any chat), oldest first."""
        if chat_id is None:
            return list(self.sent)
        return list(self._by_chat.get(chat_id, ()))

    def get_message(self, chat_id: int, message_id: int) -> JSON | None:
        """The current Message object (user's or bot's) or ``None``."""
        return self._messages.get((chat_id, message_id))

    def callback_answer(self, callback_query_id: str) -> CallbackAnswer | None:
        """The bot's answer to a callback query, if any."""
        return self.callback_answers.get(callback_query_id)

    def calls_of(self, method: str) -> list[ApiCall]:
        """Logged calls of one method (case-insensitive)."""
        lowered = method.lower()
        return [c for c in self.calls if c.method.lower() == lowered]

    def file_bytes(self, file_id: str) -> bytes:
        """Content of a stored file."""
        return self.files[file_id].data

    # ---------------------------------------------------------------- waiting

    async def wait_for_message(
        self,
        chat_id: int | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109
        predicate: Callable[[SentMessage], bool] | None = None,
    ) -> SentMessage:
        """Next bot message to ``chat_id`` not returned by an earlier wait (in send order)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            source = self.sent if chat_id is None else self._by_chat.get(chat_id, [])
            start = self._wait_cursor.get(chat_id, 0)
            while start < len(source) and source[start].consumed:
                start += 1  # skip the consumed prefix: waiting stays cheap in long benchmarks
            self._wait_cursor[chat_id] = start
            for index in range(start, len(source)):
                record = source[index]
                if not record.consumed and (predicate is None or predicate(record)):
                    record.consumed = True
                    return record
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no bot message to chat {chat_id} within {timeout}s")
            await self._activity_signal.wait(remaining)

    async def wait_for_call(
        self,
        method: str,
        timeout: float = 5.0,  # noqa: ASYNC109
        predicate: Callable[[ApiCall], bool] | None = None,
    ) -> ApiCall:
        """Next logged call of ``method`` not returned by an earlier wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        lowered = method.lower()
        while True:
            for call in self.calls:
                if not call.consumed and call.method.lower() == lowered and (predicate is None or predicate(call)):
                    call.consumed = True
                    return call
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {method} call within {timeout}s")
            await self._activity_signal.wait(remaining)

    async def wait_for_callback_answer(
        self,
        callback_query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> CallbackAnswer:
        """Wait until the bot answered the callback query."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (answer := self.callback_answers.get(callback_query_id)) is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"callback query {callback_query_id} not answered within {timeout}s")
            await self._activity_signal.wait(remaining)
        return answer

    async def wait_for_idle(self, timeout: float = 5.0, quiet: float = 0.05) -> None:  # noqa: ASYNC109
        """Wait until every update was handed out and no API call happened for ``quiet`` s."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            idle_for = time.monotonic() - self._last_activity
            if not self._undelivered() and idle_for >= quiet:
                return
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"bot not idle within {timeout}s")
            await self._activity_signal.wait(min(remaining, max(quiet - idle_for, 0.005)))

    def _undelivered(self) -> bool:
        return any(p.delivered is None for p in self._pending)

    # ---------------------------------------------------------------- simulated users

    def _user(self, user_id: int, first_name: str | None, username: str | None) -> JSON:
        user = self._users.get(user_id)
        if user is None:
            user = {"id": user_id, "is_bot": False, "first_name": first_name or "An", "language_code": "vi"}
            self._users[user_id] = user
        if first_name is not None:
            user["first_name"] = first_name
        if username is not None:
            user["username"] = username
        return user

    def _user_chat(
        self,
        user: JSON,
        chat_id: int | None,
        chat_type: str,
        chat_title: str | None,
    ) -> JSON:
        if chat_type == "private":
            cid = user["id"] if chat_id is None else chat_id
            chat = self._chats.get(cid)
            if chat is None or chat["type"] != "private":
                chat = {"id": cid, "type": "private", "first_name": user["first_name"]}
            else:
                chat["first_name"] = user["first_name"]
            if "username" in user:
                chat["username"] = user["username"]
        else:
            if chat_id is None:
                raise ValueError("chat_id is required for group chats")
            if chat_type in _GROUP_TYPES and chat_id >= 0:
                raise ValueError("group chats have negative ids")
            chat = self._chats.get(chat_id) or {"id": chat_id, "type": chat_type}
            chat["type"] = chat_type
            chat["title"] = chat_title or chat.get("title") or f"Nhóm {-chat_id}"
        self._chats[chat["id"]] = chat
        return chat

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        return message_id

    def _push_update(self, kind: str, payload: JSON) -> JSON:
        update = {"update_id": next(self._update_ids), kind: payload}
        self._pending.append(_Pending(update, kind))
        self.stats.updates_created += 1
        self._updates_signal.notify()
        self._touch()
        self._ensure_webhook_worker()
        return update

    def _user_message(
        self,
        user_id: int,
        chat_id: int | None,
        chat_type: str,
        first_name: str | None,
        username: str | None,
        chat_title: str | None,
        reply_to_message_id: int | None,
    ) -> JSON:
        user = self._user(user_id, first_name, username)
        chat = self._user_chat(user, chat_id, chat_type, chat_title)
        message: JSON = {
            "message_id": self._new_message_id(chat["id"]),
            "from": dict(user),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        if reply_to_message_id is not None:
            replied = self._messages.get((chat["id"], reply_to_message_id))
            if replied is None:
                raise ValueError(f"message {reply_to_message_id} not found in chat {chat['id']}")
            message["reply_to_message"] = {k: v for k, v in replied.items() if k != "reply_to_message"}
        return message

    def user_sends(
        self,
        text: str,
        user_id: int = 111,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str | None = None,
        username: str | None = None,
        chat_title: str | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """Queue a text message from a user; returns the Update dict.

        Private chats use ``chat_id = user_id``; groups need a negative ``chat_id``. A leading
        ``/command[@bot]`` gets a ``bot_command`` entity like Telegram adds.
        """
        message = self._user_message(user_id, chat_id, chat_type, first_name, username, chat_title, reply_to_message_id)
        message["text"] = text
        match = _BOT_COMMAND_ENTITY_RE.match(text)
        if match:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(match.group())}]
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return self._push_update("message", message)

    def _store_file(self, data: bytes, kind: str, file_name: str | None, mime_type: str | None) -> StoredFile:
        number = next(self._file_counter)
        prefix = {"documents": "BQACAgIAAx", "photos": "AgACAgIAAx"}.get(kind, "CAACAgIAAx")
        file_id = f"{prefix}{uuid.uuid4().hex}"
        extension = ""
        if file_name and "." in file_name:
            extension = "." + file_name.rsplit(".", 1)[1]
        elif kind == "photos":
            extension = ".jpg"
        stored = StoredFile(
            file_id=file_id,
            file_unique_id=f"AgAD{uuid.uuid4().hex[:12]}",
            file_path=f"{kind}/file_{number}{extension}",
            data=data,
            file_name=file_name,
            mime_type=mime_type,
        )
        self.files[file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def user_sends_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        user_id: int = 111,
        chat_id: int | None = None,
        chat_type: str = "private",
        caption: str | None = None,
        first_name: str | None = None,
        username: str | None = None,
        chat_title: str | None = None,
    ) -> JSON:
        """Queue a message with a document; its bytes are served by getFile + the file URL."""
        stored = self._store_file(content, "documents", filename, mime_type)
        message = self._user_message(user_id, chat_id, chat_type, first_name, username, chat_title, None)
        message["document"] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": filename,
            "mime_type": mime_type,
            "file_size": len(content),
        }
        if caption:
            message["caption"] = caption
        self._messages[(message["chat"]["id"], message["message_id"])] = message
        return self._push_update("message", message)

    def user_presses(
        self,
        message: SentMessage | JSON,
        callback_data: str,
        user_id: int | None = None,
        first_name: str | None = None,
        username: str | None = None,
        check_button: bool = True,
    ) -> JSON:
        """Queue a callback_query for an inline button of a message the bot sent.

        With ``check_button`` the message must currently have a button with that data (as a real
        client can only press existing buttons). Returns the Update dict; the query id is
        ``update["callback_query"]["id"]``.
        """
        if isinstance(message, SentMessage):
            chat_id, message_id = message.chat_id, message.message_id
        else:
            chat_id, message_id = message["chat"]["id"], message["message_id"]
        current = self._messages.get((chat_id, message_id))
        if current is None:
            raise ValueError(f"message {message_id} not found in chat {chat_id}")
        if check_button:
            markup = current.get("reply_markup") or {}
            datas = [b.get("callback_data") for row in markup.get("inline_keyboard", []) for b in row]
            if callback_data not in datas:
                raise ValueError(f"message {message_id} has no button with callback_data {callback_data!r}")
        chat = self._chats[chat_id]
        if user_id is None:
            user_id = chat_id if chat["type"] == "private" else 111
        user = self._user(user_id, first_name, username)
        query_id = f"{user_id}{next(self._query_counter):012d}"
        query = {
            "id": query_id,
            "from": dict(user),
            "message": json.loads(json.dumps(current)),
            "chat_instance": str(abs(hash((chat_id, self.bot_id))) % 10**19),
            "data": callback_data,
        }
        self._callback_queries[query_id] = {"answered": False, "query": query}
        return self._push_update("callback_query", query)

    def push_update(self, update: JSON) -> JSON:
        """Queue an arbitrary update (``update_id`` is assigned); for update kinds not covered."""
        kinds = [k for k in update if k != "update_id"]
        if len(kinds) != 1:
            raise ValueError("an update must have exactly one payload field")
        return self._push_update(kinds[0], update[kinds[0]])

    # ---------------------------------------------------------------- core dispatch

    def _touch(self) -> None:
        self._last_activity = time.monotonic()
        self._activity_signal.notify()

    async def call(
        self,
        method: str,
        params: JSON | None = None,
        files: dict[str, UploadedFile] | None = None,
        token: str | None = None,
    ) -> tuple[int, JSON]:
        """Run one Bot API call; returns ``(http_status, json_body)``. Used by both modes."""
        params = params or {}
        files = files or {}
        entry = self._handlers.get(method.lower())
        name = entry[0] if entry else method
        self.stats.calls[name] += 1
        status, result, error = 200, None, None
        try:
            if token is not None and token != self.token:
                raise TelegramAPIError(401, "Unauthorized")
            if entry is None:
                raise TelegramAPIError(404, "Not Found")
            await self._apply_failure_rules(name, params)
            result = await entry[1](params, files)
        except TelegramAPIError as exc:
            error = exc
        if error is not None:
            status = error.error_code
            self.stats.errors[status] += 1
            if status == 429:
                self.stats.too_many_requests += 1
            body = error.payload()
        else:
            body = {"ok": True, "result": result}
        if name != "getUpdates" or error is not None or result:
            self.calls.append(
                ApiCall(
                    method=name,
                    params=dict(params),
                    file_fields=list(files),
                    status=status,
                    result=result,
                    description=error.description if error else None,
                    time=time.time(),
                )
            )
        if name != "getUpdates":
            self._touch()
        return status, body

    async def _apply_failure_rules(self, method: str, params: JSON) -> None:
        for rule in self._failures:
            if rule.matches(method, params):
                if rule.remaining is not None:
                    rule.remaining -= 1
                self._failures = [r for r in self._failures if r.remaining is None or r.remaining > 0]
                if rule.delay > 0:
                    await asyncio.sleep(rule.delay)
                if rule.error_code is not None:
                    self.stats.injected_failures += 1
                    raise TelegramAPIError(rule.error_code, rule.description or "Error", retry_after=rule.retry_after)
                return

    async def handle_http(
        self, http_method: str, path: str, query: str | bytes, content_type: str | None, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer a raw HTTP request (``/bot<token>/<method>`` or ``/file/bot<token>/<path>``)."""
        file_match = re.search(r"/file/bot([^/]+)/(.+)$", path)
        if file_match:
            return self._serve_file(file_match.group(1), file_match.group(2))
        match = re.search(r"/bot([^/]+)/([A-Za-z0-9_]+)/?$", path)
        if match is None:
            payload = json.dumps(TelegramAPIError(404, "Not Found").payload()).encode()
            return 404, {"content-type": "application/json"}, payload
        try:
            params, files = parse_request_body(content_type, body, query)
        except TelegramAPIError as exc:
            status, payload = exc.error_code, exc.payload()
        else:
            status, payload = await self.call(match.group(2), params, files, token=match.group(1))
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return status, {"content-type": "application/json"}, data

    def _serve_file(self, token: str, file_path: str) -> tuple[int, dict[str, str], bytes]:
        if token != self.token:
            return (
                401,
                {"content-type": "application/json"},
                json.dumps(TelegramAPIError(401, "Unauthorized").payload()).encode(),
            )
        stored = self._files_by_path.get(file_path)
        if stored is not None:
            self.stats.calls["<file download>"] += 1
            return 200, {"content-type": stored.mime_type or "application/octet-stream"}, stored.data
        return (
            404,
            {"content-type": "application/json"},
            json.dumps(TelegramAPIError(404, "Not Found").payload()).encode(),
        )

    # ---------------------------------------------------------------- mode 1: httpx transport

    def transport(self) -> httpx.AsyncBaseTransport:
        """An httpx transport answering in-process; honours the client's read timeout.

        A call still running when the read timeout expires raises ``httpx.ReadTimeout`` in the
        client (PTB: ``TimedOut``) while the fake finishes it, like a real server would.
        """

        async def handler(request: httpx.Request) -> httpx.Response:
            timeout = (request.extensions.get("timeout") or {}).get("read")
            is_poll = request.url.path.lower().endswith("/getupdates")
            task = asyncio.ensure_future(
                self.handle_http(
                    request.method,
                    request.url.path,
                    request.url.query,
                    request.headers.get("content-type"),
                    request.content,
                )
            )
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
            try:
                async with asyncio.timeout(timeout):
                    status, headers, body = await asyncio.shield(task)
            except TimeoutError:
                if is_poll:
                    task.cancel()
                raise httpx.ReadTimeout("fake Telegram: read timeout", request=request) from None
            except asyncio.CancelledError:
                if is_poll:
                    task.cancel()
                raise
            return httpx.Response(status, headers=headers, content=body, request=request)

        return httpx.MockTransport(handler)

    # ---------------------------------------------------------------- mode 2: HTTP server

    def asgi_app(self) -> Any:
        """A Starlette app serving the Bot API (``/bot<token>/<method>``, ``/file/bot<token>/...``)."""
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def endpoint(request: Request) -> Response:
            body = await request.body()
            status, headers, data = await self.handle_http(
                request.method,
                request.url.path,
                request.url.query,
                request.headers.get("content-type"),
                body,
            )
            return Response(data, status_code=status, headers=headers)

        async def stats(_request: Request) -> Response:
            """For benchmarks in another process: what arrived, per chat, and how many 429s."""
            per_chat: dict[str, int] = {}
            for record in self.sent:
                per_chat[str(record.chat_id)] = per_chat.get(str(record.chat_id), 0) + 1
            body = {
                "messages_sent": self.stats.messages_sent,
                "too_many_requests": self.stats.too_many_requests,
                "sending_seconds": (self.stats.last_message_at or 0) - (self.stats.first_message_at or 0),
                "calls": dict(self.stats.calls),
                "per_chat": per_chat,
            }
            return Response(json.dumps(body), media_type="application/json")

        async def progress(_request: Request) -> Response:
            """Counters only, cheap enough to poll while the bot sends (``stats`` walks every message)."""
            body = {"messages_sent": self.stats.messages_sent, "too_many_requests": self.stats.too_many_requests}
            return Response(json.dumps(body), media_type="application/json")

        async def chats(request: Request) -> Response:
            """Register private chats in bulk (``{"ids": [...]}``), as if those users had written."""
            for chat_id in json.loads(await request.body())["ids"]:
                self.add_chat(int(chat_id), first_name=f"U{chat_id}")
            return Response("{}", media_type="application/json")

        async def users_send(request: Request) -> Response:
            """Queue messages from users (``{"messages": [[user_id, text], ...]}``)."""
            for user_id, text in json.loads(await request.body())["messages"]:
                self.user_sends(text, user_id=int(user_id))
            return Response("{}", media_type="application/json")

        async def sent(_request: Request) -> Response:
            """The plain texts of every message the bot sent, in order."""
            return Response(json.dumps([record.text for record in self.sent]), media_type="application/json")

        return Starlette(
            routes=[
                Route("/_fake/stats", stats, methods=["GET"]),
                Route("/_fake/progress", progress, methods=["GET"]),
                Route("/_fake/chats", chats, methods=["POST"]),
                Route("/_fake/send", users_send, methods=["POST"]),
                Route("/_fake/sent", sent, methods=["GET"]),
                Route("/{path:path}", endpoint, methods=["GET", "POST"]),
            ]
        )

    @contextlib.asynccontextmanager
    async def serve(self, port: int = 0, host: str = "127.0.0.1") -> AsyncIterator[str]:
        """Serve the API over HTTP in the current event loop; yields the root URL.

        The bot calls ``{root}/bot{token}/{method}`` and downloads from
        ``{root}/file/bot{token}/{file_path}``.
        """
        import uvicorn

        class _Server(uvicorn.Server):
            def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
                return contextlib.nullcontext()  # leave the host's signal handlers alone

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Accepted sockets inherit it: no 40 ms Nagle / delayed-ACK stall on small responses.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(128)
        sock.setblocking(False)
        actual_port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.asgi_app(),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=2,
            timeout_keep_alive=30,
        )
        server = _Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]), name="fake-telegram-server")
        try:
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("fake Telegram server stopped during startup")
                await asyncio.sleep(0.005)
            yield f"http://{host}:{actual_port}"
        finally:
            self._draining += 1
            self._updates_signal.notify()
            server.should_exit = True
            with contextlib.suppress(asyncio.CancelledError):
                await task
            sock.close()
            self._draining -= 1

    # ---------------------------------------------------------------- validation helpers

    def _chat(self, params: JSON, name: str = "chat_id") -> JSON:
        raw = p_opt(params, name)
        if raw is None:
            raise bad_request(f"{name} is empty")
        chat: JSON | None = None
        if isinstance(raw, str) and raw.startswith("@"):
            wanted = raw[1:].lower()
            chat = next((c for c in self._chats.values() if str(c.get("username", "")).lower() == wanted), None)
        else:
            try:
                chat = self._chats.get(int(raw))
            except (TypeError, ValueError):
                chat = None
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _writable_chat(self, params: JSON) -> JSON:
        chat = self._chat(params)
        if chat["id"] in self._migrated:
            raise TelegramAPIError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                migrate_to_chat_id=self._migrated[chat["id"]],
            )
        if chat["id"] in self._blocked:
            if chat["type"] == "private":
                raise TelegramAPIError(403, "Forbidden: bot was blocked by the user")
            if chat["type"] == "channel":
                raise TelegramAPIError(403, "Forbidden: bot is not a member of the channel chat")
            raise TelegramAPIError(403, f"Forbidden: bot was kicked from the {chat['type']} chat")
        return chat

    def _formatted(self, text: str, parse_mode: str | None, entities: Any) -> FormattedText:
        if entities is not None and not isinstance(entities, list):
            raise bad_request("can't parse entities JSON object")
        return parse_formatted_text(text, parse_mode, entities, strict_ampersand=self.strict_html_ampersand)

    def _message_text(self, params: JSON) -> tuple[str, FormattedText]:
        raw = params.get("text")
        raw_text = "" if raw is None else str(raw)
        parsed = self._formatted(raw_text, p_str(params, "parse_mode"), p_json(params, "entities"))
        if not parsed.text:
            raise bad_request("message text is empty")
        if utf16_len(parsed.text) > MAX_MESSAGE_LENGTH:
            raise bad_request("message is too long")
        return raw_text, parsed

    def _caption(self, params: JSON) -> tuple[str | None, FormattedText | None]:
        raw = p_str(params, "caption")
        if raw is None:
            return None, None
        parsed = self._formatted(raw, p_str(params, "parse_mode"), p_json(params, "caption_entities"))
        if utf16_len(parsed.text) > MAX_CAPTION_LENGTH:
            raise bad_request("message caption is too long")
        return raw, parsed

    def _reply_markup(self, params: JSON) -> JSON | None:
        markup = p_json(params, "reply_markup", "reply keyboard markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            if sum(len(r) for r in rows) > MAX_INLINE_BUTTONS:
                raise bad_request("reply markup is too long")
            for row in rows:
                for button in row:
                    self._check_inline_button(button)
        elif "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise bad_request('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    text = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(text, str) or not text:
                        raise bad_request('can\'t parse keyboard button: Field "text" must be of type String')
        elif not markup.get("remove_keyboard") and not markup.get("force_reply"):
            raise bad_request("can't parse reply keyboard markup JSON object")
        return markup

    @staticmethod
    def _check_inline_button(button: Any) -> None:
        if not isinstance(button, dict):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be an Object")
        text = button.get("text")
        if not isinstance(text, str) or not text.strip():
            raise bad_request('can\'t parse inline keyboard button: Field "text" must be of type String')
        actions = [a for a in INLINE_BUTTON_ACTIONS if a in button]
        if not actions:
            raise bad_request("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise bad_request(
                "can't parse inline keyboard button: exactly one of the optional fields must be used, "
                f"got {', '.join(actions)}"
            )
        if "callback_data" in button:
            data = button["callback_data"]
            if not isinstance(data, str) or not 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES:
                raise bad_request("BUTTON_DATA_INVALID")
        if "url" in button and (not isinstance(button["url"], str) or not button["url"].strip()):
            raise bad_request("BUTTON_URL_INVALID")

    def _reply_to(self, params: JSON, chat: JSON) -> JSON | None:
        reply_parameters = p_json(params, "reply_parameters")
        message_id: int | None = None
        allow_missing = p_bool(params, "allow_sending_without_reply")
        if isinstance(reply_parameters, dict):
            message_id = p_int(reply_parameters, "message_id")
            allow_missing = allow_missing or p_bool(reply_parameters, "allow_sending_without_reply")
        if message_id is None:
            message_id = p_int(params, "reply_to_message_id")
        if message_id is None:
            return None
        replied = self._messages.get((chat["id"], message_id))
        if replied is None:
            if allow_missing:
                return None
            raise bad_request("message to be replied not found")
        return {k: v for k, v in replied.items() if k != "reply_to_message"}

    def _check_flood(self, chat: JSON) -> None:
        if self._flood is None:
            return
        retry_after = self._flood.acquire(chat["id"], chat["type"] in _GROUP_TYPES)
        if retry_after:
            raise TelegramAPIError(429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after)

    def _new_bot_message(
        self,
        method: str,
        chat: JSON,
        params: JSON,
        *,
        raw_text: str | None,
        formatted: FormattedText | None,
        is_caption: bool = False,
        extra: JSON | None = None,
        record_extra: JSON | None = None,
    ) -> JSON:
        markup = self._reply_markup(params)
        reply_to = self._reply_to(params, chat)
        self._check_flood(chat)
        chat_id = chat["id"]
        message: JSON = {
            "message_id": self._new_message_id(chat_id),
            "from": dict(self.bot_user),
            "chat": dict(chat),
            "date": int(time.time()),
        }
        if reply_to is not None:
            message["reply_to_message"] = reply_to
        if extra:
            message.update(extra)
        if formatted is not None:
            if is_caption:
                message["caption"] = formatted.text
                if formatted.entities:
                    message["caption_entities"] = formatted.entities
            else:
                message["text"] = formatted.text
                if formatted.entities:
                    message["entities"] = formatted.entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        record = SentMessage(
            chat_id=chat_id,
            message_id=message["message_id"],
            method=method,
            text=formatted.text if formatted is not None else "",
            raw_text=raw_text,
            parse_mode=p_str(params, "parse_mode"),
            reply_markup=markup,
            date=message["date"],
            entities=list(formatted.entities) if formatted is not None else [],
            caption=formatted.text if is_caption and formatted is not None else None,
            reply_to_message_id=reply_to["message_id"] if reply_to else None,
            disable_notification=p_bool(params, "disable_notification"),
            params=dict(params),
            message=message,
            **(record_extra or {}),
        )
        key = (chat_id, message["message_id"])
        self._messages[key] = message
        self._records[key] = record
        self.sent.append(record)
        self._by_chat.setdefault(chat_id, []).append(record)
        self.stats.messages_sent += 1
        moment = time.monotonic()
        if self.stats.first_message_at is None:
            self.stats.first_message_at = moment
        self.stats.last_message_at = moment
        return message

    def _input_file(
        self, params: JSON, files: dict[str, UploadedFile], name: str, kind: str, default_mime: str | None
    ) -> StoredFile:
        value = params.get(name)
        upload: UploadedFile | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = files.get(value[len("attach://") :])
            if upload is None:
                raise bad_request(f'can\'t find attached file "{value}"')
        elif name in files:
            upload = files[name]
        if upload is not None:
            if len(upload.data) > MAX_UPLOAD_BYTES:
                raise TelegramAPIError(413, "Request Entity Too Large")
            if not upload.data:
                raise bad_request("file must be non-empty")
            return self._store_file(upload.data, kind, upload.filename, upload.content_type or default_mime)
        if value is None or value == "":
            raise bad_request(f"there is no {name} in the request")
        value = str(value)
        if value in self.files:
            return self.files[value]
        if value.startswith(("http://", "https://")):
            name_part = value.rsplit("/", 1)[-1] or None
            return self._store_file(b"", kind, name_part, default_mime)
        raise bad_request("wrong file identifier/HTTP URL specified")

    # ---------------------------------------------------------------- API methods

    def _handler_table(self) -> dict[str, _Handler]:
        table: dict[str, _Handler] = {
            "getMe": self._get_me,
            "logOut": self._true,
            "close": self._true,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "editMessageCaption": self._edit_message_caption,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "getChat": self._get_chat,
            "getFile": self._get_file,
        }
        for name in (
            "setMyDescription", "setMyShortDescription", "setMyName", "setChatMenuButton",
            "setMyDefaultAdministratorRights", "pinChatMessage", "unpinChatMessage",
            "unpinAllChatMessages", "leaveChat",
        ):  # fmt: skip
            table[name] = self._true
        return table

    async def _true(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        return True

    async def _get_me(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        return dict(self.bot_user)

    # -- updates

    def _confirm(self, offset: int) -> None:
        pending = self._pending
        if offset < 0:
            while len(pending) > -offset:
                pending.popleft()
            return
        while pending and pending[0].update["update_id"] < offset:
            pending.popleft()

    def _take(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates or DEFAULT_UPDATE_TYPES
        if any(p.kind not in allowed for p in self._pending):
            self._pending = deque(p for p in self._pending if p.kind in allowed)
        batch = list(itertools.islice(self._pending, limit))
        now = time.monotonic()
        for entry in batch:
            if entry.delivered is None:
                entry.delivered = now
        return [entry.update for entry in batch]

    async def _get_updates(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        if self._webhook is not None:
            raise TelegramAPIError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = p_int(params, "offset", 0) or 0
        limit = min(max(p_int(params, "limit", 100) or 100, 1), 100)
        timeout = max(p_float(params, "timeout", 0.0), 0.0)
        allowed = p_json(params, "allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or None
        self._confirm(offset)
        self._poll_generation += 1
        generation = self._poll_generation
        self._updates_signal.notify()  # terminates an older long poll
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise TelegramAPIError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if self._webhook is not None:
                raise TelegramAPIError(409, "Conflict: terminated by setWebhook request")
            batch = self._take(limit)
            remaining = deadline - loop.time()
            if batch or remaining <= 0 or self._closing or self._draining:
                return batch
            await self._updates_signal.wait(remaining)

    # -- webhook

    async def _set_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        url = p_str(params, "url", "") or ""
        if p_bool(params, "drop_pending_updates"):
            self._pending.clear()
        if not url:
            await self._stop_webhook()
            return True
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = p_str(params, "secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(secret):
            raise bad_request("secret token contains unallowed characters")
        allowed = p_json(params, "allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) or None
        self._webhook = {
            "url": url,
            "secret_token": secret,
            "max_connections": p_int(params, "max_connections", 40),
            "ip_address": p_str(params, "ip_address"),
        }
        self._webhook_last_error = None
        self._updates_signal.notify()  # a pending long poll gets 409
        self._ensure_webhook_worker()
        return True

    async def _stop_webhook(self) -> None:
        self._webhook = None
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _delete_webhook(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        if p_bool(params, "drop_pending_updates"):
            self._pending.clear()
        await self._stop_webhook()
        return True

    async def _get_webhook_info(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        info: JSON = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self._webhook:
            info["max_connections"] = self._webhook["max_connections"]
            if self._webhook["ip_address"]:
                info["ip_address"] = self._webhook["ip_address"]
            if self._allowed_updates:
                info["allowed_updates"] = sorted(self._allowed_updates)
            if self._webhook_last_error:
                info["last_error_date"], info["last_error_message"] = self._webhook_last_error
        return info

    def _ensure_webhook_worker(self) -> None:
        if self._webhook is None or self._closing:
            return
        if self._webhook_task is None or self._webhook_task.done():
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # started by the next API call made inside a loop
            self._webhook_task = loop.create_task(self._webhook_worker(), name="fake-telegram-webhook")

    async def _webhook_worker(self) -> None:
        if self._webhook_client is None:
            self._webhook_client = httpx.AsyncClient(transport=self._webhook_transport, timeout=5.0)
        client = self._webhook_client
        while self._webhook is not None and not self._closing:
            if not self._pending:
                await self._updates_signal.wait(None)
                continue
            entry = self._pending[0]
            if entry.kind not in (self._allowed_updates or DEFAULT_UPDATE_TYPES):
                self._pending.popleft()
                continue
            update = entry.update
            webhook = self._webhook
            headers = {"content-type": "application/json"}
            if webhook["secret_token"]:
                headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
            delivered = False
            for attempt, backoff in enumerate((*self._webhook_retry_delays, None), start=1):
                status: int | None = None
                error: str | None = None
                try:
                    response = await client.post(webhook["url"], json=update, headers=headers)
                    status = response.status_code
                    delivered = 200 <= status < 300
                    if not delivered:
                        error = f"Wrong response from the webhook: {status} {response.reason_phrase}"
                except httpx.HTTPError as exc:
                    error = f"Connection error: {exc.__class__.__name__}"
                self.webhook_deliveries.append(
                    WebhookDelivery(update["update_id"], webhook["url"], attempt, delivered, status, error, time.time())
                )
                self._touch()
                if delivered:
                    self.stats.webhook_deliveries += 1
                    break
                self.stats.webhook_failures += 1
                self._webhook_last_error = (int(time.time()), error or "error")
                if backoff is None:
                    break
                await asyncio.sleep(backoff)
            if self._pending and self._pending[0] is entry:
                self._pending.popleft()  # delivered, or given up after the last retry

    # -- messages

    async def _send_message(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._writable_chat(params)
        raw_text, parsed = self._message_text(params)
        return self._new_bot_message("sendMessage", chat, params, raw_text=raw_text, formatted=parsed)

    def _editable(self, params: JSON) -> tuple[JSON, SentMessage]:
        if p_opt(params, "inline_message_id") is not None:
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._writable_chat(params)
        message_id = p_int(params, "message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        key = (chat["id"], message_id)
        record = self._records.get(key)
        if record is None or record.deleted:
            if key in self._messages:
                raise bad_request("message can't be edited")
            raise bad_request("message to edit not found")
        return self._messages[key], record

    @staticmethod
    def _not_modified() -> TelegramAPIError:
        return bad_request(
            "message is not modified: specified new message content and reply markup are exactly the "
            "same as a current content and reply markup of the message"
        )

    def _apply_edit(self, message: JSON, record: SentMessage, params: JSON, markup: JSON | None) -> JSON:
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        else:
            message.pop("reply_markup", None)
        record.reply_markup = markup
        record.edit_count += 1
        record.edit_date = message["edit_date"] = int(time.time())
        record.params = dict(params)
        return message

    async def _edit_message_text(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        message, record = self._editable(params)
        raw_text, parsed = self._message_text(params)
        markup = self._reply_markup(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        if (
            parsed.text == message.get("text")
            and parsed.entities == message.get("entities", [])
            and (markup if markup and "inline_keyboard" in markup else None) == message.get("reply_markup")
        ):
            raise self._not_modified()
        message["text"] = parsed.text
        if parsed.entities:
            message["entities"] = parsed.entities
        else:
            message.pop("entities", None)
        record.text, record.raw_text, record.entities = parsed.text, raw_text, list(parsed.entities)
        record.parse_mode = p_str(params, "parse_mode")
        return self._apply_edit(message, record, params, markup)

    async def _edit_message_caption(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        message, record = self._editable(params)
        raw, parsed = self._caption(params)
        markup = self._reply_markup(params)
        if "text" in message:
            raise bad_request("there is no caption in the message to edit")
        parsed = parsed or FormattedText("", [])
        if (
            parsed.text == message.get("caption", "")
            and parsed.entities == message.get("caption_entities", [])
            and (markup if markup and "inline_keyboard" in markup else None) == message.get("reply_markup")
        ):
            raise self._not_modified()
        message.pop("caption", None)
        message.pop("caption_entities", None)
        if parsed.text:
            message["caption"] = parsed.text
        if parsed.entities:
            message["caption_entities"] = parsed.entities
        record.text = record.caption = parsed.text
        record.raw_text = raw
        record.entities = list(parsed.entities)
        return self._apply_edit(message, record, params, markup)

    async def _edit_message_reply_markup(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        message, record = self._editable(params)
        markup = self._reply_markup(params)
        if (markup if markup and "inline_keyboard" in markup else None) == message.get("reply_markup"):
            raise self._not_modified()
        return self._apply_edit(message, record, params, markup)

    async def _delete_message(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self._chat(params)
        message_id = p_int(params, "message_id")
        key = (chat["id"], message_id or 0)
        if key not in self._messages:
            raise bad_request("message to delete not found")
        del self._messages[key]
        record = self._records.get(key)
        if record is not None:
            record.deleted = True
        return True

    async def _answer_callback_query(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        query_id = p_str(params, "callback_query_id")
        entry = self._callback_queries.get(query_id or "")
        if entry is None or entry["answered"]:
            raise bad_request("query is too old and response timeout expired or query ID is invalid")
        text = p_str(params, "text")
        if text is not None and len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        entry["answered"] = True
        self.callback_answers[query_id or ""] = CallbackAnswer(
            callback_query_id=query_id or "",
            text=text,
            show_alert=p_bool(params, "show_alert"),
            url=p_str(params, "url"),
            cache_time=p_int(params, "cache_time"),
        )
        return True

    async def _send_document(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._writable_chat(params)
        raw, caption = self._caption(params)
        stored = self._input_file(params, files, "document", "documents", "application/octet-stream")
        document: JSON = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
        }
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return self._new_bot_message(
            "sendDocument",
            chat,
            params,
            raw_text=raw,
            formatted=caption,
            is_caption=True,
            extra={"document": document},
            record_extra={
                "document_name": stored.file_name,
                "document_bytes": stored.data,
                "document_mime_type": stored.mime_type,
                "file_id": stored.file_id,
            },
        )

    async def _send_photo(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = self._writable_chat(params)
        raw, caption = self._caption(params)
        stored = self._input_file(params, files, "photo", "photos", "image/jpeg")
        width, height = _image_size(stored.data)
        photo = [
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
                "width": width,
                "height": height,
            }
        ]
        return self._new_bot_message(
            "sendPhoto",
            chat,
            params,
            raw_text=raw,
            formatted=caption,
            is_caption=True,
            extra={"photo": photo},
            record_extra={"photo_bytes": stored.data, "file_id": stored.file_id},
        )

    async def _send_chat_action(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        chat = self._writable_chat(params)
        action = p_str(params, "action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self.chat_actions.append((chat["id"], action))
        return True

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = p_json(params, "scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        return json.dumps(scope, sort_keys=True), p_str(params, "language_code", "") or ""

    async def _set_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        commands = p_json(params, "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON object")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", ""))
            if not _COMMAND_RE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not description.strip() or len(description) > 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._commands_key(params)
        if cleaned:
            self.commands[key] = cleaned
        else:
            self.commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> list[JSON]:
        return list(self.commands.get(self._commands_key(params), []))

    async def _delete_my_commands(self, params: JSON, files: dict[str, UploadedFile]) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    async def _get_chat(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        chat = dict(self._chat(params))
        chat.update(
            {
                "accent_color_id": 0,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": False,
                    "limited_gifts": False,
                    "unique_gifts": False,
                    "premium_subscription": False,
                    "gifts_from_channels": False,
                },
            }
        )
        return chat

    async def _get_file(self, params: JSON, files: dict[str, UploadedFile]) -> JSON:
        file_id = p_str(params, "file_id")
        stored = self.files.get(file_id or "")
        if stored is None:
            raise bad_request("invalid file_id")
        if stored.file_size > MAX_DOWNLOAD_BYTES:
            raise bad_request("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.file_size,
            "file_path": stored.file_path,
        }


def main(argv: list[str] | None = None) -> None:
    """Serve a fake Bot API in its own process (benchmarks): prints ``READY <root url>`` and runs
    until killed. ``GET /_fake/stats``, ``GET /_fake/sent``, ``POST /_fake/chats`` and
    ``POST /_fake/send`` (users' messages) are the test hooks."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.fakes.telegram")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default="123456:TEST-TOKEN")
    parser.add_argument("--global-per-second", type=float, default=0, help="0: no flood limits")
    parser.add_argument("--per-chat-per-second", type=float, default=1)
    parser.add_argument("--group-per-minute", type=float, default=20)
    args = parser.parse_args(argv)
    limits = (
        FloodLimits(args.global_per_second, args.per_chat_per_second, args.group_per_minute)
        if args.global_per_second
        else None
    )

    async def run() -> None:
        fake = FakeTelegram(token=args.token, limits=limits)
        async with fake.serve(port=args.port) as root:
            print(f"READY {root}", flush=True)
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run())
