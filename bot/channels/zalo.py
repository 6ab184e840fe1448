"""Zalo through the Zalo Bot API (ZALO.md §1), with httpx: updates become :class:`Incoming`, replies
become plain-text messages with numbered options.

The API looks like Telegram's but is not: every call is ``POST {root}/bot{token}/{method}`` with a JSON
body; the answer is an ``{ok, result}`` or ``{ok: false, error_code, description}`` envelope, often with
HTTP 200 even for errors, so the JSON decides, not the status. ``getUpdates`` hands out one update per
call, answers 408 when idle, and may hand consumed updates out again: each is recorded by its
``message_id`` in the database (:mod:`bot.services.channel_state`) and a repeat is dropped, across
restarts and replicas. No buttons, no HTML, 2,000 characters per message, no deep links.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.base import (
    ChatOrderedPipeline,
    ChatUnreachable,
    DeliveryError,
    RateLimits,
    Rejected,
    RetryLater,
    StartupError,
    TemporaryFailure,
)
from bot.channels.seen import SeenKeys
from bot.config import Settings
from bot.messages import ChannelInfo, Document, Incoming, ProgressSink, Reply, split_text, to_plain, utf16_len
from bot.models import utcnow
from bot.services import channel_state
from bot.views import common as common_views
from bot.web import Malformed, Webhook
from handlers.router import Dispatcher

log = logging.getLogger(__name__)
NAME = "zalo"
SECRET_HEADER = "X-Bot-Api-Secret-Token"
TEXT_LIMIT = 2000
TEXT_EVENTS = {"message.text.received"}
# Zalo answers immediately while updates are queued; keep at least this much between two polls.
MIN_POLL_INTERVAL = 1.0
# A little more, since what counts is when Zalo receives the polls (a busy loop sends one a few ms late).
POLL_MARGIN = 0.05
QUOTA_WARNING = 0.8
# Past this share of the month's quota, digests and news are no longer sent to Zalo: what is left is
# kept for reminders, changes and announcements, which concern one person or one duty.
QUOTA_RESERVE = 0.95
RATIONED_KINDS = frozenset({"digest_daily", "digest_weekly", "news"})
FILES_KEPT = timedelta(days=7)
# Updates answered at once while the next is fetched (one chat's still in order).
IN_FLIGHT = 8
# Webhook updates left in the inbox this long by a process that died are answered by another; it is
# swept this often, and an update whose answer failed this many times is given up.
INBOX_OVERDUE = timedelta(seconds=30)
INBOX_SWEEP_EVERY = 10.0
INBOX_ATTEMPTS = 3


class ZaloError(Exception):
    """The Zalo Bot API said no (``ok: false``); ``code`` is its ``error_code`` (or the HTTP status)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"Zalo {code}: {description}")
        self.code = code
        self.description = description


class ZaloUnavailable(Exception):
    """No usable answer: a network error, a timeout, or a body that is not the API's JSON."""


@dataclass(frozen=True)
class ZaloBot:
    id: str
    name: str
    account_name: str
    can_join_groups: bool


class ZaloBotClient:
    """The ten methods of the Zalo Bot API are all one call; this is that call. The token is only in
    the URL path, and no message or exception raised here contains the URL."""

    def __init__(
        self, token: str, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = 15.0
    ) -> None:
        self._root = f"{base_url.rstrip('/')}/bot{token}"
        self._client = httpx.AsyncClient(transport=transport, timeout=timeout)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(self, method: str, payload: dict[str, Any] | None = None, *, wait: float | None = None) -> Any:
        """One API call; ``wait`` overrides the read timeout (a long poll waits longer)."""
        try:
            response = await self._client.post(
                f"{self._root}/{method}",
                json=payload or {},
                timeout=httpx.USE_CLIENT_DEFAULT if wait is None else wait,
            )
        except httpx.TimeoutException:
            raise ZaloUnavailable(f"{method}: hết thời gian chờ") from None
        except httpx.HTTPError as exc:
            raise ZaloUnavailable(f"{method}: lỗi mạng ({type(exc).__name__})") from None
        try:
            data = response.json()
        except ValueError:
            raise ZaloUnavailable(f"{method}: HTTP {response.status_code}, không phải JSON") from None
        if not isinstance(data, dict):
            raise ZaloUnavailable(f"{method}: HTTP {response.status_code}, câu trả lời lạ")
        if data.get("ok") is True:
            return data.get("result")
        code = data.get("error_code")
        try:
            code = int(code) if code is not None else response.status_code
        except (TypeError, ValueError):
            code = response.status_code
        raise ZaloError(code, str(data.get("description") or "")[:200])

    async def get_me(self) -> ZaloBot:
        me = await self.call("getMe")
        me = me if isinstance(me, dict) else {}
        return ZaloBot(
            id=str(me.get("id", "")),
            name=str(me.get("display_name") or me.get("account_name") or "Bot"),
            account_name=str(me.get("account_name", "")),
            can_join_groups=bool(me.get("can_join_groups", False)),
        )

    async def get_updates(self, poll_seconds: int) -> list[dict[str, Any]]:
        """Waits up to ``poll_seconds``; [] when idle (Zalo's 408). The read timeout is 10 s longer."""
        try:
            result = await self.call("getUpdates", {"timeout": poll_seconds}, wait=poll_seconds + 10)
        except ZaloError as exc:
            if exc.code == 408:
                return []
            raise
        return updates_of(result)

    async def send_message(self, chat_id: str, text: str) -> None:
        await self.call("sendMessage", {"chat_id": chat_id, "text": text})

    async def send_photo(self, chat_id: str, url: str, caption: str | None = None) -> None:
        payload = {"chat_id": chat_id, "photo": url}
        if caption:
            payload["caption"] = caption
        await self.call("sendPhoto", payload)


def updates_of(body: Any) -> list[dict[str, Any]]:
    """Updates in any of the shapes seen: the ``{ok, result}`` envelope or a bare update, one or a list."""
    if isinstance(body, dict) and "result" in body and "message" not in body:
        body = body["result"]
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list):
        return [item for item in body if isinstance(item, dict)]
    return []


def update_key(update: dict[str, Any]) -> str | None:
    """What makes an update the same one when Zalo hands it out again (None: nothing to tell by)."""
    message = update.get("message")
    if not isinstance(message, dict) or not message.get("message_id"):
        return None
    return f"{update.get('event_name', '')}:{message['message_id']}"


def render(reply: Reply) -> str:
    """A reply as Zalo shows it: plain text, then the buttons as numbered options."""
    text = to_plain(reply.text)
    labels = [button.text for row in reply.buttons for button in row]
    if labels:
        text = f"{text}\n\n{common_views.numbered_options(labels)}"
    return text


class ZaloChannel:
    """One Zalo bot: long polling (``start``) or webhook (``start_webhook`` + ``feed``), replies to
    what arrives, and outbox delivery (``deliver``), counted against the monthly quota."""

    name = NAME

    def __init__(
        self,
        dispatcher: Dispatcher,
        settings: Settings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], datetime] = utcnow,
        min_poll_interval: float = MIN_POLL_INTERVAL,
    ) -> None:
        if settings.zalo_token is None:
            raise ValueError("QTBOT_ZALO_TOKEN is not set")
        self.dispatcher = dispatcher
        self.sessions: async_sessionmaker[AsyncSession] = dispatcher.sessions
        self.settings = settings
        self.clock = clock
        self.client = ZaloBotClient(settings.zalo_token.get_secret_value(), settings.zalo_base_url, transport=transport)
        self.limits = RateLimits(
            settings.zalo_rate_per_second, settings.zalo_private_interval_seconds, settings.zalo_group_per_minute
        )
        self.bot: ZaloBot | None = None
        self.min_poll_interval = min_poll_interval
        self._polling: asyncio.Task[None] | None = None
        self._sweeping: asyncio.Task[None] | None = None
        self._pipeline = ChatOrderedPipeline(IN_FLIGHT)
        # Numbered options go to the database with the answered updates' batches (bot/channels/seen.py).
        self.seen = SeenKeys(
            self.sessions, NAME, clock, options=dispatcher.options_behind(NAME), take_sessions=dispatcher.take_sessions
        )
        self._unsaved_sent = 0
        self._month_sent = 0  # as last read from the database (all replicas), plus what is unsaved
        self._last_saved = time.monotonic()
        self.updates_in = 0
        self.replies_out = 0
        # A picture already stored (its content's hash) -> its address and when it was stored: the
        # same chart asked again is not stored again.
        self._pictures: dict[bytes, tuple[str, datetime]] = {}

    # --- lifecycle -----------------------------------------------------------------------------------

    async def open(self) -> None:
        """Check the token (getMe). A rejected token or an unreachable API stops start-up with one line."""
        if self.bot is not None:
            return
        try:
            self.bot = await self.client.get_me()
        except ZaloError as exc:
            if exc.code == 401:
                raise StartupError(
                    "QTBOT_ZALO_TOKEN: Zalo từ chối token này (401); lấy lại token trong Zalo Bot Creator."
                ) from None
            raise StartupError(f"QTBOT_ZALO_TOKEN: Zalo trả lời lỗi {exc.code} khi kiểm tra token.") from None
        except ZaloUnavailable:
            raise StartupError(
                f"QTBOT_ZALO_BASE_URL: không kết nối được Zalo Bot API tại {self.settings.zalo_base_url}."
            ) from None
        async with self.sessions() as session:
            self._month_sent = await channel_state.sent_this_month(session, NAME, self._month())

    def _month(self) -> str:
        return self.clock().astimezone(self.settings.tz).strftime("%Y-%m")

    async def start(self) -> None:
        """Long polling. A webhook left registered would keep getUpdates from working: it is removed."""
        await self.open()
        with contextlib.suppress(ZaloError, ZaloUnavailable):
            info = await self.client.call("getWebhookInfo")
            if isinstance(info, dict) and info.get("url"):
                log.info("Zalo: removing the registered webhook to poll instead")
                await self.client.call("deleteWebhook")
        await self.seen.start()
        self._polling = asyncio.create_task(self._poll_forever(), name="zalo-polling")

    async def start_webhook(self, url: str, secret: str) -> None:
        """Webhook mode; updates a crashed process left unanswered in the inbox are answered too."""
        await self.open()
        await self.seen.start()
        try:
            await self.client.call("setWebhook", {"url": url, "secret_token": secret})
        except ZaloError as exc:
            raise StartupError(
                f"QTBOT_PUBLIC_URL: Zalo không nhận địa chỉ webhook {url} ({exc.description})."
            ) from None
        self._sweeping = asyncio.create_task(self._sweep_forever(), name="zalo-inbox")

    async def stop(self) -> None:
        for task in (self._polling, self._sweeping):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._polling = self._sweeping = None
        await self._pipeline.drain()
        await self.seen.stop()
        with contextlib.suppress(Exception):
            await self._save_usage(force=True)
        await self.client.aclose()

    def info(self) -> ChannelInfo:
        return ChannelInfo(name=NAME, buttons=False, text_limit=TEXT_LIMIT, formatting="plain")

    # --- incoming ------------------------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        """One update per getUpdates. After a new message, poll again at once (the next one may be
        waiting); after a repeat or an error, keep ``min_poll_interval`` between polls, since Zalo
        answers at once, again and again, while consumed updates are still handed out."""
        backoff = 1.0
        while True:
            started = time.monotonic()
            try:
                updates = await self.client.get_updates(self.settings.zalo_poll_timeout)
                backoff = 1.0
            except (ZaloError, ZaloUnavailable) as exc:
                log.warning("Zalo getUpdates failed: %s; retrying in %.0f s", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 60.0)
                continue
            fresh = False
            for update in updates:
                fresh = await self._take(update) or fresh
            if not fresh:
                await asyncio.sleep(max(0.0, self.min_poll_interval + POLL_MARGIN - (time.monotonic() - started)))

    def _readable(self, update: dict[str, Any]) -> tuple[Incoming, str | None] | None:
        """The message an update carries and its key for repeats; None when there is nothing to answer."""
        if not isinstance(update.get("message"), dict):
            log.info("Zalo: ignored an update without a message (%s)", str(update.get("event_name"))[:60])
            return None
        incoming = self.incoming(update)
        return None if incoming is None else (incoming, update_key(update))

    async def _take(self, update: dict[str, Any]) -> bool:
        """Hand a polled update to the pipeline; False for a copy of one already taken. The next poll
        starts while it is answered (Zalo hands out one update per call)."""
        readable = self._readable(update)
        if readable is None:
            return False
        incoming, key = readable
        if key is not None and not self.seen.claim(key):
            return False
        await self._pipeline.submit(incoming.chat_id, lambda: self._answer(incoming, key))
        return True

    async def feed(self, body: Any) -> None:
        """What the webhook received (either shape). Each update is stored in the inbox and answered in
        the background, so the platform gets its 200 without waiting for the answer; errors of the
        database propagate (the caller answers 5xx, so the platform may deliver it again)."""
        updates = updates_of(body)
        if not updates or not any(isinstance(u.get("message"), dict) for u in updates):
            raise Malformed("no message")
        for update in updates:
            readable = self._readable(update)
            if readable is None:
                continue
            incoming, key = readable
            if key is None:
                await self._answer(incoming, None)  # nothing to store it by: answered before the 200
            elif await self.seen.take(key, update):
                await self._pipeline.submit(incoming.chat_id, lambda i=incoming, k=key: self._answer(i, k))

    async def sweep_inbox(self, older_than: timedelta = INBOX_OVERDUE) -> int:
        """Answer the inbox updates a process that died left unanswered; how many were taken."""
        taken = await self.seen.overdue(older_than, INBOX_ATTEMPTS)
        for key, update in taken:
            readable = self._readable(update) if isinstance(update, dict) else None
            if readable is None:
                self.seen.answered(key)
                continue
            incoming = readable[0]
            await self._pipeline.submit(incoming.chat_id, lambda i=incoming, k=key: self._answer(i, k))
        return len(taken)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                if await self.sweep_inbox():
                    log.info("Zalo: answering updates another process took and did not answer")
            except Exception as exc:
                log.warning("Zalo: the inbox could not be swept (%s)", type(exc).__name__)
            await asyncio.sleep(INBOX_SWEEP_EVERY)

    def webhook(self, path: str, secret: str) -> Webhook:
        return Webhook(NAME, path, SECRET_HEADER, secret, self.feed)

    def healthy(self) -> bool:
        return self.bot is not None

    async def _answer(self, incoming: Incoming, key: str | None) -> None:
        self.updates_in += 1
        log.debug("Zalo: message from %s in %s", incoming.sender_id, incoming.chat_id)
        try:
            replies = await self.dispatcher.handle(incoming, self.info(), progress=self._progress(incoming.chat_id))
            for reply in replies:
                await self.send(incoming.chat_id, reply)
        except Exception:
            if key is not None:
                self.seen.release(key)
            raise
        if key is not None:
            self.seen.answered(key)

    def incoming(self, update: dict[str, Any]) -> Incoming | None:
        message = update["message"]
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        chat_id = str(chat.get("id") or sender.get("id") or "")
        sender_id = str(sender.get("id") or chat_id)
        if not chat_id or not sender_id or sender.get("is_bot"):
            return None
        is_group = str(chat.get("chat_type", "")).upper() == "GROUP"
        text = message.get("text") if update.get("event_name", "message.text.received") in TEXT_EVENTS else None
        text = text if isinstance(text, str) else None
        addressed = True
        if is_group:
            text, mentioned = self._without_mention(text or "")
            replied = bool(message.get("reply_to_message") or message.get("quote"))
            addressed = mentioned or replied or text.startswith("/")
        if text is None:
            text = ""  # a picture or a sticker: the dispatcher says what it can read
        return Incoming(
            channel=NAME,
            chat_id=chat_id,
            chat_type="group" if is_group else "private",
            sender_id=sender_id,
            sender_name=str(sender.get("display_name") or "")[:100],
            received_at=self.clock(),
            text=text,
            chat_title=str(chat.get("title") or chat.get("name") or "") or None,
            addressed=addressed,
        )

    def _without_mention(self, text: str) -> tuple[str, bool]:
        """Group messages name the bot ("@Bot Quyết Thắng mai ai trực"): strip the mention."""
        names = [n for n in ((self.bot.name, self.bot.account_name) if self.bot else ()) if n]
        stripped = text.lstrip()
        for name in sorted(names, key=len, reverse=True):
            mention = f"@{name}"
            if stripped.lower().startswith(mention.lower()):
                return stripped[len(mention) :].lstrip(" ,:"), True
            if mention.lower() in stripped.lower():
                start = stripped.lower().index(mention.lower())
                return (stripped[:start] + stripped[start + len(mention) :]).strip(), True
        return stripped, False

    # --- outgoing ------------------------------------------------------------------------------------

    async def _parts(self, reply: Reply) -> list[str]:
        text = render(reply)
        if reply.document is not None:
            text = f"{text}\n\n{await self._document_line(reply)}"
        return split_text(text, TEXT_LIMIT, measure=utf16_len)

    async def _address(self, document: Document, mime_type: str) -> str:
        """Zalo cannot carry a file: it is kept for a week at an unguessable address of the web app
        (call only with QTBOT_PUBLIC_URL set)."""
        async with self.sessions() as session, session.begin():
            token = await channel_state.store_file(
                session,
                filename=document.filename,
                mime_type=mime_type,
                content=document.content,
                now=self.clock(),
                keep=FILES_KEPT,
            )
        return f"{self.settings.public_url}/files/{token}"

    async def _document_line(self, reply: Reply) -> str:
        document = reply.document
        assert document is not None
        if not self.settings.public_url:
            return common_views.file_needs_public_url(document.filename)
        return common_views.file_link(document.filename, await self._address(document, "application/octet-stream"))

    def _progress(self, chat_id: str) -> ProgressSink:
        """Zalo cannot edit a message: each progress text is a message of its own (counted like any).
        Nothing here touches the database."""

        async def show(text: str) -> None:
            try:
                await self.client.send_message(chat_id, to_plain(text))
            except (ZaloError, ZaloUnavailable) as exc:
                log.info("Zalo: progress not shown (%s)", type(exc).__name__)
                return
            self.replies_out += 1
            # Counted, but saved with the answer's messages: the answer's transaction is still open
            # (on SQLite a write from here would wait for it).
            self._unsaved_sent += 1

        return show

    async def _photo(self, chat_id: str, photo: Document) -> bool:
        """A picture goes by address (Zalo's sendPhoto takes a URL, not an upload). Without
        QTBOT_PUBLIC_URL there is no address: the picture is left out (the text beside it says the
        same), and False is returned."""
        if not self.settings.public_url:
            log.debug("zalo: picture %s left out, QTBOT_PUBLIC_URL is not set", photo.filename)
            return False
        key = hashlib.sha256(photo.content).digest()
        now = self.clock()
        known = self._pictures.get(key)
        if known is None or now - known[1] > FILES_KEPT / 2:
            if len(self._pictures) > 1000:
                self._pictures.clear()
            known = (await self._address(photo, "image/png"), now)
            self._pictures[key] = known
        await self.client.send_photo(chat_id, known[0], photo.caption)
        return True

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Answer a message; a 429 is waited out once (a reply is expected now, not later)."""
        if reply.photo is not None and await self._photo(chat_id, reply.photo):
            self.replies_out += 1
            await self._counted(1)
        for part in await self._parts(reply):
            try:
                await self.client.send_message(chat_id, part)
            except ZaloError as exc:
                if exc.code != 429:
                    raise
                await asyncio.sleep(1.0)
                await self.client.send_message(chat_id, part)
            self.replies_out += 1
            await self._counted(1)

    async def deliver(self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "", first_part: int = 0) -> None:
        """Send one outbox message; Zalo's errors become the outbox's (bot/channels/base.py)."""
        del is_group
        if kind in RATIONED_KINDS and self._near_quota():
            raise Rejected("Zalo: sắp hết hạn mức tin trong tháng, bản tin nhường chỗ cho nhắc việc")
        parts = await self._parts(reply)
        sent = first_part
        try:
            for part in parts[first_part:]:
                await self.client.send_message(chat_id, part)
                sent += 1
                await self._counted(1)
        except (ZaloError, ZaloUnavailable) as exc:
            error = delivery_error(exc)
            error.parts_sent = sent
            raise error from None
        if reply.buttons:  # "1" answered to a pushed message presses its first option
            try:
                await self.dispatcher.remember_options(NAME, chat_id, [reply], now=self.clock())
                # Stored now, not with the next batch: the outbox marks the message sent on its own.
                await self.seen.flush()
            except Exception:  # sent is sent: never a reason to send it again
                log.exception("Zalo: the options of a pushed message could not be kept")

    # --- the monthly quota ---------------------------------------------------------------------------

    def _near_quota(self) -> bool:
        quota = self.settings.zalo_monthly_quota
        return bool(quota) and self._month_sent + self._unsaved_sent >= QUOTA_RESERVE * quota

    async def _counted(self, sent: int) -> None:
        self._unsaved_sent += sent
        await self._save_usage()

    async def _save_usage(self, *, force: bool = False) -> None:
        """Add the messages sent to the month's count, at most every few seconds (one write, not one
        per message); warn the admins once when 80 % of the quota is used."""
        recent = time.monotonic() - self._last_saved < 5
        if not self._unsaved_sent or (not force and recent and self._unsaved_sent < 50):
            return
        sent, self._unsaved_sent, self._last_saved = self._unsaved_sent, 0, time.monotonic()
        now, month = self.clock(), self._month()
        quota = self.settings.zalo_monthly_quota
        async with self.sessions() as session, session.begin():
            usage = await channel_state.count_sent(session, NAME, month, sent)
            self._month_sent = usage.sent
            near = quota and usage.sent >= QUOTA_WARNING * quota
            if near and await channel_state.mark_warned(session, usage, now=now):
                text = common_views.quota_warning(usage.sent, quota, month)
                await channel_state.warn_admins(session, usage, text, now=now)
                log.warning("Zalo: %s of %s messages used this month", usage.sent, quota)


def delivery_error(exc: ZaloError | ZaloUnavailable) -> DeliveryError:
    """What a Zalo error means for the outbox (bot/channels/base.py)."""
    if isinstance(exc, ZaloUnavailable):
        return TemporaryFailure(str(exc))
    if exc.code == 429:
        return RetryLater(60.0, "Zalo: hết hạn mức gửi (429)")
    if exc.code == 404:
        return ChatUnreachable(f"Zalo {exc.code}: {exc.description}")
    if exc.code in (400, 403):
        return Rejected(f"Zalo {exc.code}: {exc.description}")
    return TemporaryFailure(f"Zalo {exc.code}: {exc.description}")
