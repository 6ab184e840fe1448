"""Telegram through python-telegram-bot 22: updates become :class:`Incoming`, replies become messages.

Long polling by default (``run``); ``base_url`` comes from settings so a local Bot API server or the
project's fake (tests/fakes/telegram/) can stand in for api.telegram.org.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import warnings
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application, ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.warnings import PTBUserWarning

from bot.channels.base import (
    ChatLocks,
    ChatMoved,
    ChatUnreachable,
    DeliveryError,
    Pacer,
    RateLimits,
    Rejected,
    RetryLater,
    StartupError,
    TemporaryFailure,
)
from bot.config import Settings
from bot.messages import (
    MAX_TEXT,
    Attachment,
    Button,
    ChannelInfo,
    Document,
    Incoming,
    ProgressSink,
    Reply,
    split_text,
    utf16_len,
)
from bot.models import utcnow
from bot.web import Malformed, Webhook
from handlers.router import Dispatcher, menu_for

# PTB 22 gives RetryAfter.retry_after as a timedelta with this (and warns without it).
os.environ.setdefault("PTB_TIMEDELTA", "true")
# Answers are sent with Bot.do_api_request("sendMessage"/"sendPhoto") on purpose (TelegramChannel._send_text,
# _send_photo): the sent message is never read back.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.send(Message|Photo)'", category=PTBUserWarning)

log = logging.getLogger(__name__)
NAME = "telegram"
PHOTO_IDS_KEPT = 512
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in reply.buttons]
    )


# The keyboards of answers sent by _send_text, as the object Telegram is sent: a role's menu comes
# under most answers, so building it as PTB objects and converting them back for each was waste.
_KEYBOARDS: dict[tuple[tuple[Button, ...], ...], dict[str, Any]] = {}


def keyboard_markup(reply: Reply) -> dict[str, Any] | None:
    """:func:`keyboard`'s ``reply_markup`` as the JSON object PTB would send, made once per layout
    (treat it as read-only: it is shared)."""
    if not reply.buttons:
        return None
    layout = tuple(map(tuple, reply.buttons))  # Buttons are frozen: equal text and data, equal key
    found = _KEYBOARDS.get(layout)
    if found is None:
        if len(_KEYBOARDS) >= 1024:
            _KEYBOARDS.clear()
        rows = [[{"text": b.text, "callback_data": b.data} for b in row] for row in layout]
        found = _KEYBOARDS[layout] = {"inline_keyboard": rows}
    return found


class _NoCookies(httpx.Cookies):
    """The Bot API sets no cookies: httpx would still read every answer's headers for them (on a
    short answer's round trip, more CPU than encoding the request)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class _BotApiClient(httpx.AsyncClient):
    def __init__(self, **kwargs: Any) -> None:
        self._no_cookies = _NoCookies()
        super().__init__(**kwargs)

    @property  # type: ignore[override]
    def cookies(self) -> httpx.Cookies:
        return self._no_cookies

    @cookies.setter
    def cookies(self, value: Any) -> None:
        del value


class BotApiRequest(HTTPXRequest):
    """PTB's HTTPX request with a JSON body for every call without a file, as the Bot API accepts.

    PTB sends a form, whose percent-encoding (pure Python ``urllib.parse.quote``, three bytes out for
    each Vietnamese letter's byte) cost about as much CPU as building the rest of the request, and
    the server decodes it again; ``json.dumps`` is C. Calls with files stay multipart.

    A JSON call's ``httpx.Request`` is built here and given to the client's public ``send``:
    ``AsyncClient.request`` merged the client's headers, URL and cookies on every call, and
    ``Request(content=...)`` worked out the Host and Content-Length headers through httpx's
    case-insensitive header lookups. Here the headers of each method's URL are made once (Host, the
    client's, ours: the order httpx sends them in), the request gets its body as a stream with its
    Content-Length added, and the timeouts PTB leaves unset are made into httpx's form once."""

    def _build_client(self) -> httpx.AsyncClient:
        self._urls: dict[str, tuple[httpx.URL, httpx.Headers]] = {}
        client = _BotApiClient(**self._client_kwargs)
        self._default_extensions = {"timeout": client.timeout.as_dict()}
        return client

    def _url(self, url: str) -> tuple[httpx.URL, httpx.Headers]:
        """The method's URL parsed once (httpx parses a string URL on every request; a bot calls a
        handful of methods) and the headers of a JSON call to it but its Content-Length."""
        known = self._urls.get(url)
        if known is None:
            if len(self._urls) >= 64:
                self._urls.clear()
            parsed = httpx.URL(url)
            headers = httpx.Headers({"Host": parsed.netloc.decode("ascii")})
            headers.update(self._client.headers)
            headers.update(_JSON_HEADERS)
            known = self._urls[url] = (parsed, headers)
        return known

    def _extensions(self, read: Any, write: Any, connect: Any, pool: Any) -> dict[str, Any]:
        """httpx's request extensions for the timeouts PTB passed (its "not set" marker: the client's)."""
        if (
            isinstance(read, _DefaultValue)
            and isinstance(write, _DefaultValue)
            and isinstance(connect, _DefaultValue)
            and isinstance(pool, _DefaultValue)
        ):
            return self._default_extensions
        defaults = self._client.timeout
        timeout = httpx.Timeout(
            connect=_given(connect, defaults.connect),
            read=_given(read, defaults.read),
            write=_given(write, defaults.write),
            pool=_given(pool, defaults.pool),
        )
        return {"timeout": timeout.as_dict()}

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | JsonCall | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if request_data is None or request_data.contains_files:
            return await super().do_request(
                url,
                method,
                request_data,  # type: ignore[arg-type]
                read_timeout,
                write_timeout,
                connect_timeout,
                pool_timeout,
            )
        target, headers = self._url(url)
        body = json.dumps(request_data.parameters, ensure_ascii=False).encode()
        request = httpx.Request(
            method,
            target,
            headers=headers,
            stream=httpx.ByteStream(body),
            extensions=self._extensions(read_timeout, write_timeout, connect_timeout, pool_timeout),
        )
        request.headers["Content-Length"] = str(len(body))
        request.read()  # as Request(content=...) does: the body is at hand as request.content
        try:
            answer = await self._client.send(request)
        except httpx.TimeoutException as exc:
            raise TimedOut("Pool timeout" if isinstance(exc, httpx.PoolTimeout) else None) from exc
        except httpx.HTTPError as exc:
            raise NetworkError(f"httpx.{type(exc).__name__}: {exc}") from exc
        return answer.status_code, answer.content


class JsonCall:
    """A Bot API call's parameters as JSON values, for :meth:`BotApiRequest.do_request` (which reads
    only ``parameters`` and ``contains_files`` of PTB's ``RequestData``): what PTB's ``Bot`` would make
    of plain str/int/dict arguments, without converting each through ``RequestParameter``."""

    __slots__ = ("parameters",)
    contains_files = False

    def __init__(self, parameters: dict[str, Any]) -> None:
        self.parameters = parameters


_JSON_HEADERS = {"User-Agent": HTTPXRequest.USER_AGENT, "Content-Type": "application/json"}
_DefaultValue = type(BaseRequest.DEFAULT_NONE)


def _given(value: Any, default: float | None) -> float | None:
    """A timeout PTB passed, or the request's own when PTB passed its "not set" marker."""
    return default if isinstance(value, _DefaultValue) else value


def _parts(text: str) -> list[str]:
    """``split_text`` by UTF-16 units as Telegram counts them; a text of at most half the limit in
    characters fits whatever they are (a character is one or two units), without encoding it."""
    if len(text) * 2 <= MAX_TEXT:
        return [text]
    return split_text(text, measure=utf16_len)


def retry_seconds(error: RetryAfter) -> float:
    value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramChannel:
    name = NAME
    # info() as last made, with the username it was made for.
    _info: tuple[str | None, ChannelInfo] | None = None

    def __init__(
        self,
        dispatcher: Dispatcher,
        settings: Settings,
        *,
        request: BaseRequest | None = None,
        get_updates_request: BaseRequest | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if settings.telegram_token is None:
            raise ValueError("QTBOT_TELEGRAM_TOKEN is not set")
        self.dispatcher = dispatcher
        self.settings = settings
        self.clock = clock
        root = settings.telegram_base_url
        builder = (
            ApplicationBuilder()
            .token(settings.telegram_token.get_secret_value())
            .base_url(f"{root}/bot{{token}}")
            .base_file_url(f"{root}/file/bot{{token}}")
            .post_init(self._register_commands)
        )
        # PTB's defaults (a pool of 256 for calls, one connection for getUpdates), JSON bodies.
        builder = builder.request(request or BotApiRequest(connection_pool_size=256))
        builder = builder.get_updates_request(get_updates_request or BotApiRequest())
        self.application: Application = builder.build()
        self._handlers = (
            CallbackQueryHandler(self._on_callback),
            # A text is never a service message: only other messages are checked against the ~25
            # kinds of status update (each its own filter call).
            MessageHandler(filters.UpdateType.MESSAGE & (filters.TEXT | ~filters.StatusUpdate.ALL), self._on_message),
        )
        for handler in self._handlers:
            self.application.add_handler(handler)
        self.application.add_error_handler(self._on_error)
        self._username: str | None = None
        self._opened = False
        self._chat_locks = ChatLocks()
        self.limits = RateLimits(
            settings.telegram_rate_per_second,
            settings.telegram_private_interval_seconds,
            settings.telegram_group_per_minute,
        )
        # The token's overall limit, shared with the outbox once the scheduler runs (pace_with).
        self.pacer: Pacer | None = None
        # Uploaded pictures' file_ids by a digest of their bytes (_send_photo), least recent first.
        self._photo_ids: OrderedDict[bytes, str] = OrderedDict()

    def pace_with(self, pacer: Pacer) -> None:
        """Replies take slots of the token's overall limit too: Telegram counts every message the token
        sends, and replies sent beside a broadcast at 98 % of the limit drew most of the 429s
        (bench/replicas.py: 2 replies a second on top of 98 broadcast messages make 100)."""
        self.pacer = pacer

    # --- lifecycle -----------------------------------------------------------------------------------

    async def open(self) -> None:
        """Ready to send (the outbox can deliver) without receiving updates. A rejected token or an
        unreachable Bot API stops start-up with one line naming the setting."""
        if not self._opened:
            try:
                await self.application.initialize()
            except InvalidToken:
                raise StartupError(
                    "QTBOT_TELEGRAM_TOKEN: Telegram từ chối token này; lấy lại token từ @BotFather."
                ) from None
            except NetworkError:
                raise StartupError(
                    "QTBOT_TELEGRAM_BASE_URL: không kết nối được Telegram Bot API tại "
                    f"{self.settings.telegram_base_url}."
                ) from None
            self._username = self.application.bot.username
            self._opened = True

    async def start(self, *, poll_timeout: int = 30) -> None:
        await self.open()
        if self.application.post_init:
            await self.application.post_init(self.application)
        await self.application.start()
        assert self.application.updater is not None
        await self.application.updater.start_polling(
            poll_interval=0, timeout=poll_timeout, allowed_updates=["message", "callback_query"]
        )

    async def start_webhook(self, url: str, secret: str) -> None:
        """Receive updates through a webhook (bot/web.py feeds them in); Telegram is told the URL and
        the secret it must send back. Several replicas may do this: the last call wins, same URL."""
        await self.open()
        if self.application.post_init:
            await self.application.post_init(self.application)
        await self.application.start()
        await self.application.bot.set_webhook(
            url, secret_token=secret, allowed_updates=["message", "callback_query"], max_connections=40
        )

    async def feed(self, data: object) -> None:
        """One update received by the webhook, handled before the call returns; an update PTB cannot
        read is :class:`Malformed`, a database that cannot be reached raises."""
        if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
            raise Malformed("no update_id")
        try:
            update = Update.de_json(data, self.application.bot)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise Malformed(type(exc).__name__) from None
        # Handled here, before Telegram gets its answer (not through PTB's queue, which would answer
        # 200 first): a database that cannot be reached becomes a 503 and Telegram sends it again.
        # Telegram makes several calls at once; one chat's are handled in the order they came.
        chat = update.effective_chat
        async with self._chat_locks.hold(str(chat.id) if chat is not None else ""):
            for handler in self._handlers:
                check = handler.check_update(update)
                if check is not None and check is not False:
                    await handler.callback(update, None)  # type: ignore[arg-type]
                    return

    def webhook(self, path: str, secret: str) -> Webhook:
        return Webhook(NAME, path, SECRET_HEADER, secret, self.feed)

    def healthy(self) -> bool:
        return self._opened and self.application.running

    async def stop(self) -> None:
        if self.application.updater and self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        if self._opened:
            await self.application.shutdown()
            self._opened = False

    def info(self) -> ChannelInfo:
        """What this channel can do; made once per bot username (it changes only when opened)."""
        username = self._username
        made = self._info
        if made is not None and made[0] == username:
            return made[1]

        def deep_link(code: str) -> str | None:
            return f"https://t.me/{username}?start={code}" if username else None

        info = ChannelInfo(name=NAME, buttons=True, deep_link=deep_link, edits=True)
        self._info = (username, info)
        return info

    async def _register_commands(self, application: Application) -> None:
        """The command menu: officers' commands for everyone, the admin menu for configured admins."""
        bot = application.bot
        try:
            await bot.set_my_commands(
                [BotCommand(vi, desc) for vi, _en, desc in menu_for("officer")], scope=BotCommandScopeDefault()
            )
            for admin_id in self.settings.admin_telegram_ids:
                try:
                    await bot.set_my_commands(
                        [BotCommand(vi, desc) for vi, _en, desc in menu_for("admin")],
                        scope=BotCommandScopeChat(admin_id),
                    )
                except BadRequest as exc:  # the admin has not opened a chat with the bot yet
                    log.info("admin menu not set for %s: %s", admin_id, exc.message)
        except TelegramError as exc:
            log.warning("could not register the command menu: %s", exc)

    # --- incoming ------------------------------------------------------------------------------------

    def _incoming(self, update: Update) -> Incoming | None:
        message = update.effective_message
        chat = update.effective_chat
        user = update.effective_user
        if chat is None or user is None:
            return None
        callback = update.callback_query
        text = None if callback else (message.text or message.caption if message else None)
        chat_type = "private" if chat.type == "private" else "group"
        addressed = chat_type == "private" or bool(callback) or self._addressed(message)
        attachment = None
        if message is not None and message.document is not None and callback is None:
            document = message.document

            async def fetch(file_id: str = document.file_id) -> bytes:
                telegram_file = await self.application.bot.get_file(file_id)
                return bytes(await telegram_file.download_as_bytearray())

            attachment = Attachment(document.file_name or "tep", document.mime_type, document.file_size, fetch)
        return Incoming(
            channel=NAME,
            chat_id=str(chat.id),
            chat_type=chat_type,
            sender_id=str(user.id),
            sender_name=user.full_name,
            received_at=self.clock(),
            text=text,
            callback_data=callback.data if callback else None,
            attachment=attachment,
            chat_title=chat.title,
            addressed=addressed,
        )

    def _addressed(self, message: Message | None) -> bool:
        if message is None:
            return False
        text = message.text or message.caption or ""
        if text.startswith("/"):
            return True
        if self._username and f"@{self._username}".lower() in text.lower():
            return True
        replied = message.reply_to_message
        return bool(replied and replied.from_user and replied.from_user.id == self.application.bot.id)

    async def _on_message(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        incoming = self._incoming(update)
        if incoming is None:
            return
        replies = await self.dispatcher.handle(incoming, self.info(), progress=self._progress(incoming.chat_id))
        for reply in replies:
            await self.send(incoming.chat_id, reply)

    async def _on_callback(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        incoming = self._incoming(update)
        if query is None or incoming is None:
            return
        replies = await self.dispatcher.handle(incoming, self.info(), progress=self._progress(incoming.chat_id))
        notice = next((r.notice for r in replies if r.notice), None)
        try:
            await query.answer(notice[:200] if notice else None)
        except BadRequest as exc:  # too old: the user pressed long ago
            log.info("callback answer failed: %s", exc.message)
        for reply in replies:
            if reply.edit and isinstance(query.message, Message) and len(reply.text) <= 4096:
                try:
                    await query.message.edit_text(reply.text, parse_mode=ParseMode.HTML, reply_markup=keyboard(reply))
                    if reply.photo is not None:  # the picture beside the text comes under it
                        await self._send_photo(incoming.chat_id, reply.photo)
                    continue
                except BadRequest as exc:
                    if "not modified" in exc.message:  # pressed again: text and picture already shown
                        continue
                    log.info("edit failed, sending instead: %s", exc.message)
            await self.send(incoming.chat_id, reply)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update", exc_info=context.error)
        if isinstance(update, Update) and update.effective_chat and not isinstance(context.error, Forbidden):
            chat_id = update.effective_chat.id
            with contextlib.suppress(TelegramError):
                await self._paced(lambda: context.bot.send_message(chat_id, "Xin lỗi, bot gặp lỗi. Thử lại sau nhé."))

    # --- outgoing ------------------------------------------------------------------------------------

    async def send(self, chat_id: str, reply: Reply) -> None:
        """Send a reply, split at 4096 characters, buttons on the last part, each message in a slot of
        the token's overall limit. A flood-control answer (429) is waited out once (by every sender of
        the token); anything else is raised to the caller."""
        bot = self.application.bot
        parts = _parts(reply.text)
        for index, part in enumerate(parts):
            markup = keyboard_markup(reply) if index == len(parts) - 1 else None
            await self._paced(lambda p=part, m=markup: self._send_text(chat_id, p, m))
        if reply.photo is not None:
            await self._send_photo(chat_id, reply.photo)
        if reply.document is not None:
            document = reply.document
            await self._paced(
                lambda: bot.send_document(
                    chat_id, document.content, filename=document.filename, caption=document.caption
                )
            )

    def _progress(self, chat_id: str) -> ProgressSink:
        """Progress of one answer as one message: sent the first time, then edited (editMessageText)
        with each new text. A failed edit is logged and skipped: progress is a courtesy, the answer
        still comes."""
        bot = self.application.bot
        shown: list[int] = []  # the progress message's id, once sent

        async def show(text: str) -> None:
            try:
                if not shown:
                    await self._turn()
                    message = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML)
                    shown.append(message.message_id)
                else:
                    await bot.edit_message_text(text, chat_id=chat_id, message_id=shown[0], parse_mode=ParseMode.HTML)
            except TelegramError as exc:
                if isinstance(exc, RetryAfter) and self.pacer is not None:
                    await self.pacer.flood(retry_seconds(exc))
                log.info("progress not shown: %s", exc)

        return show

    async def _send_text(self, chat_id: str, text: str, markup: dict[str, Any] | None) -> None:
        """sendMessage without reading the sent message back into PTB objects (its entities, its
        keyboard): an answer never needs it, and for a long reply with buttons that cost more than
        the rest of sending it. ``markup``: :func:`keyboard_markup`. Errors are raised as by
        ``Bot.send_message``."""
        arguments: dict[str, object] = {"chat_id": chat_id, "text": text, "parse_mode": ParseMode.HTML}
        if markup is not None:
            arguments["reply_markup"] = markup
        await self._api("sendMessage", arguments)

    async def _api(self, endpoint: str, arguments: dict[str, Any]) -> Any:
        """``Bot.do_api_request(endpoint, api_kwargs=arguments)`` for arguments that are plain JSON
        values (str, int, dicts and lists of them): the same body, result and errors. Made straight
        through the bot's request object (``Bot.request.post``, PTB's public request interface, with
        our :class:`BotApiRequest`): ``do_api_request`` would warn (a filtered warning, still made on
        every call), copy the arguments, look for defaults and the rate limiter, and wrap each argument
        in a ``RequestParameter`` only for ``BotApiRequest`` to read them back. A bot with defaults or
        a rate limiter, or another request class, goes through ``do_api_request``."""
        bot = self.application.bot
        request = bot.request
        if not isinstance(request, BotApiRequest) or bot.defaults is not None or bot.rate_limiter is not None:
            return await bot.do_api_request(endpoint, api_kwargs=arguments)
        parameters = {key: value for key, value in arguments.items() if value is not None}
        try:
            return await request.post(f"{bot.base_url}/{endpoint}", JsonCall(parameters))  # type: ignore[arg-type]
        except InvalidToken as exc:  # what do_api_request makes of a 404 once the bot is initialised
            raise EndPointNotFound(f"Endpoint '{endpoint}' not found in Bot API") from exc

    async def _send_photo(self, chat_id: str, photo: Document) -> None:
        """A picture is uploaded once; later sends of the same bytes give Telegram the file_id of the
        first upload, as its API asks (a chart is the same picture until its data change). An id
        Telegram no longer takes is forgotten and the picture uploaded again."""
        bot = self.application.bot
        key = hashlib.blake2b(photo.content, digest_size=16).digest()
        file_id = self._photo_ids.get(key)
        if file_id is not None:
            arguments = {"chat_id": chat_id, "photo": file_id, "caption": photo.caption}
            try:
                await self._paced(lambda: self._api("sendPhoto", arguments))
                self._photo_ids.move_to_end(key)
                return
            except BadRequest as exc:
                log.info("photo sent again by upload: %s", exc.message)
                self._photo_ids.pop(key, None)
        message = await self._paced(lambda: bot.send_photo(chat_id, photo.content, caption=photo.caption))
        if isinstance(message, Message) and message.photo:
            self._photo_ids[key] = message.photo[-1].file_id
            if len(self._photo_ids) > PHOTO_IDS_KEPT:
                self._photo_ids.popitem(last=False)

    async def deliver(self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "", first_part: int = 0) -> None:
        """Send one outbox message; Telegram's errors become the outbox's (bot/channels/base.py)."""
        del is_group  # Telegram tells groups by their negative ids; the throttle already knows
        parts = _parts(reply.text)
        sent = first_part
        try:
            for index in range(first_part, len(parts)):
                markup = keyboard_markup(reply) if index == len(parts) - 1 else None
                if index > first_part:  # the outbox took the first part's slot
                    await self._turn()
                await self._send_text(chat_id, parts[index], markup)
                sent = index + 1
        except TelegramError as exc:
            error = delivery_error(exc)
            error.parts_sent = sent
            raise error from exc

    async def _turn(self) -> None:
        """A slot of the token's overall limit for a message the outbox does not pace."""
        if self.pacer is not None:
            await self.pacer.overall_turn()

    async def _paced(self, call: Callable[[], object]) -> object:
        """One message in its slot; a 429 is waited out once, by every sender of the token when the
        outbox shares its limit (its flood wait), then the message is sent again."""
        await self._turn()
        try:
            return await call()  # type: ignore[misc]
        except RetryAfter as exc:
            if self.pacer is None:
                await asyncio.sleep(retry_seconds(exc))
            else:
                await self.pacer.flood(retry_seconds(exc))
                await self._turn()  # waits the flood out
            return await call()  # type: ignore[misc]


def delivery_error(exc: TelegramError) -> DeliveryError:
    """What a Telegram error means for the outbox (bot/channels/base.py)."""
    if isinstance(exc, RetryAfter):
        return RetryLater(retry_seconds(exc), exc.message)
    if isinstance(exc, Forbidden):
        return ChatUnreachable(exc.message)
    if isinstance(exc, ChatMigrated):
        return ChatMoved(str(exc.new_chat_id))
    if isinstance(exc, BadRequest):
        lowered = exc.message.lower()
        if "chat not found" in lowered or "user is deactivated" in lowered or "bot was kicked" in lowered:
            return ChatUnreachable(exc.message)
        return Rejected(exc.message)
    if isinstance(exc, NetworkError):  # includes TimedOut and 5xx answers
        return TemporaryFailure(exc.message)
    return TemporaryFailure(f"{type(exc).__name__}: {exc.message}")
