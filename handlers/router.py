"""The command table and the dispatcher every channel calls.

One message in, a list of replies out: open a session and a transaction, find out who is speaking,
route a command, a button or a plain question to its handler, and turn refusals and bad input into
short Vietnamese answers (rolling the transaction back). Nothing here knows which chat app is used.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import cache, cached_property, partial
from typing import TYPE_CHECKING, Any, TypeVar

from bot.cache import VersionedCache, VersionWatch
from bot.config import Settings
from bot.db import DatabaseUnavailable, unreachable
from bot.errors import DomainError, UserError
from bot.messages import ChannelInfo, Incoming, ProgressSink, Reply, esc
from bot.services import dialogs, options
from bot.services.members import ROLE_ORDER, Viewer, ensure_admin_chat, resolve_viewer
from bot.services.units import ReferenceData
from bot.views import help as help_views
from bot.views.errors import phrase
from bot.vntime import DateParseError
from handlers.context import Context
from handlers.nlu import Reading, guess_subject, parse_query, read

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from bot.metrics import Metrics

log = logging.getLogger(__name__)

Answer = Reply | list[Reply]
Handler = Callable[[Context], Awaitable[Answer]]

# The modules that register guided forms (handlers/forms.FORMS): all of them are loaded before a form
# is started or carried on.
FORM_MODULES = ("handlers.manage", "handlers.edit", "handlers.people", "handlers.readiness")


def load_forms() -> None:
    for module in FORM_MODULES:
        importlib.import_module(module)


@cache
def resolve(path: str) -> Handler:
    """``"duty:cmd_duty"`` -> handlers.duty.cmd_duty; the module is imported on first use, so a
    console question loads only the handlers it needs (bench/startup.py)."""
    name, _, function = path.partition(":")
    module = f"handlers.{name}"
    if module in FORM_MODULES:
        load_forms()
    handler: Handler = getattr(importlib.import_module(module), function)
    return handler


@dataclass(frozen=True)
class Lazy:
    """A handler named by its module in handlers/ and its function (``"duty:cmd_duty"``), imported
    when first called. tests/test_startup.py checks that every name in the tables resolves."""

    path: str

    async def __call__(self, ctx: Context) -> Answer:
        return await resolve(self.path)(ctx)


_Plain = TypeVar("_Plain")


def _shallow(instance: _Plain) -> _Plain:
    """A shallow copy of an instance kept in its ``__dict__`` (a dataclass without slots or
    ``__post_init__``: Reply, Viewer): what ``copy.copy`` makes, at a third of its cost or of
    ``dataclasses.replace``'s."""
    made = object.__new__(type(instance))
    made.__dict__.update(instance.__dict__)
    return made


def _target(handler: Handler) -> Handler:
    """The function a handler names: a :class:`Lazy` resolved (once per path), so that answering
    does not go through one more coroutine."""
    return resolve(handler.path) if isinstance(handler, Lazy) else handler


# A plain question longer than this is not a question; commands that take a text say so.
MAX_QUESTION = 1000
# An invite code as bot/services/members.create_invite makes them (12 letters and digits).
INVITE_CODE = re.compile(r"[A-Za-z0-9]{12}")
MAX_TEXT_ARGUMENT = 3500
APOLOGY = "Xin lỗi, bot gặp lỗi khi xử lý yêu cầu này. Đồng chí thử lại sau ít phút nhé."


@dataclass(frozen=True)
class Command:
    names: tuple[str, ...]  # Vietnamese name first, then the English alias, then other spellings
    handler: Handler
    role: str  # the least role allowed: guest / officer / admin
    description: str
    menu: bool = True
    long_text: bool = False
    # The arguments name a unit: words that match nothing are an unknown unit, said so.
    unit_arg: bool = False
    # A read-only answer that depends only on the content (so it may be cached per content version).
    cacheable: bool = True


def ask(names: tuple[str, ...], handler: str, role: str, description: str, **options: bool) -> Command:
    """A question: read-only, so its answer may be cached. ``handler``: "duty:cmd_duty" (handlers/duty.py)."""
    return Command(names, Lazy(handler), role, description, **options)


def act(names: tuple[str, ...], handler: str, role: str, description: str, **options: bool) -> Command:
    """An action: it changes something (never cached)."""
    return Command(names, Lazy(handler), role, description, cacheable=False, **options)


COMMANDS: list[Command] = [
    act(("start", "batdau"), "access:cmd_start", "guest", "Bắt đầu; tham gia bằng mã mời", menu=False),
    ask(("trogiup", "help", "huongdan"), "access:cmd_help", "guest", "Hướng dẫn sử dụng"),
    # Members' questions.
    ask(("lich", "schedule"), "schedule:cmd_schedule", "officer", "Lịch hội nghị, họp, kiểm tra"),
    ask(("truc", "duty"), "duty:cmd_duty", "officer", "Lịch trực SSCĐ: hôm nay, mai, tuần này", unit_arg=True),
    ask(("dientap", "drills"), "drills:cmd_drills", "officer", "Kế hoạch diễn tập chiến đấu phòng thủ", unit_arg=True),
    ask(("nhiemvu", "tasks"), "tasks:cmd_tasks", "officer", "Nhiệm vụ trọng tâm và tiến độ", unit_arg=True),
    ask(("ketqua", "results"), "results:cmd_results", "officer", "Kết quả chấm điểm của đơn vị", unit_arg=True),
    ask(("xephang", "ranking"), "results:cmd_ranking", "officer", "Bảng xếp hạng thi đua của cụm"),
    ask(("thongke", "stats"), "readiness:cmd_stats", "officer", "Thống kê trực: số ca, số giờ mỗi người trong tháng"),
    ask(("donvi", "units"), "units:cmd_units", "officer", "Các đơn vị trong cụm, cụm trưởng, cụm phó", unit_arg=True),
    ask(("tin", "news"), "news:cmd_news", "officer", "Tin tức mới"),
    act(("ical", "calendar"), "calendar:cmd_ical", "officer", "Địa chỉ lịch cho điện thoại; /ical mới để đổi"),
    # Members' own settings and reports.
    act(("doica", "swap"), "swaps:cmd_swap", "officer", "Đổi ca trực, nhờ trực thay; trả lời, duyệt đổi ca"),
    act(("danhan", "ack"), "acks:cmd_ack", "officer", "Xác nhận đã nhận ca trực", menu=False),
    act(("nhaclai", "snooze"), "acks:cmd_snooze", "officer", "Nhắc lại một lời nhắc sau 1 giờ", menu=False),
    act(("baocao", "report"), "people:cmd_report", "officer", "Báo cáo tiến độ nhiệm vụ của đơn vị"),
    act(("dangky", "subscribe"), "subscriptions:cmd_subscribe", "officer", "Nhận nhắc lịch, bản tin"),
    act(("huydangky", "unsubscribe"), "subscriptions:cmd_unsubscribe", "officer", "Thôi nhận một loại tin"),
    act(("caidat", "settings"), "subscriptions:cmd_settings", "officer", "Cài đặt nhận tin, giờ yên lặng"),
    # Admins: adding, changing, cancelling (one line or step by step).
    act(("themhop", "addmeeting"), "manage:cmd_form", "admin", "Thêm hội nghị, cuộc họp"),
    act(("themtruc", "addduty"), "manage:cmd_form", "admin", "Thêm lịch trực (một ngày hoặc cả tuần)"),
    act(("themdientap", "adddrill"), "manage:cmd_form", "admin", "Thêm kế hoạch diễn tập của một xã"),
    act(("themtangcuong", "addreinforced"), "manage:cmd_form", "admin", "Thêm đợt tăng cường trực"),
    act(("themnhiemvu", "addtask"), "manage:cmd_form", "admin", "Thêm nhiệm vụ trọng tâm"),
    act(("chamdiem", "score"), "manage:cmd_form", "admin", "Nhập điểm thi đua của một đơn vị"),
    act(("congbo", "publish"), "manage:cmd_form", "admin", "Công bố kết quả chấm điểm một kỳ"),
    act(("themtin", "addnews"), "manage:cmd_form", "admin", "Đăng một tin", long_text=True),
    act(("sua", "edit"), "manage:cmd_form", "admin", "Sửa một mục (hội nghị, ca trực, nhiệm vụ)"),
    act(("huy", "cancel"), "manage:cmd_form", "admin", "Hủy một mục"),
    act(("xuat", "export"), "exports:cmd_export", "officer", "Xuất lịch trực, kết quả, nhiệm vụ ra tệp Excel/CSV"),
    act(("mau", "template"), "exports:cmd_template", "admin", "Mẫu tệp Excel để nhập lịch trực, bảng điểm"),
    act(("nhap", "import"), "imports:cmd_import", "admin", "Nhập lịch trực, điểm, nhiệm vụ, diễn tập từ Excel/CSV"),
    act(
        ("thongbao", "announce"),
        "manage:cmd_form",
        "admin",
        "Gửi thông báo tới cả cụm, một đơn vị, các nhóm",
        long_text=True,
    ),
    # Admins: people, groups, feeds, logs.
    act(("moi", "invite"), "access:cmd_invite", "admin", "Tạo mã mời cho một đơn vị", unit_arg=True),
    act(("thanhvien", "members"), "people:cmd_members", "admin", "Danh sách người dùng bot", unit_arg=True),
    act(("capquyen", "grant"), "people:cmd_grant", "admin", "Cấp quyền quản trị"),
    act(("thuhoi", "revoke"), "people:cmd_revoke", "admin", "Thu hồi quyền quản trị"),
    act(("lienket", "link"), "admin:cmd_link_group", "admin", "Liên kết nhóm chat với đơn vị", unit_arg=True),
    act(("themnguon", "addfeed"), "admin:cmd_add_feed", "admin", "Thêm nguồn tin RSS/Atom"),
    act(("guitin", "deliveries"), "admin:cmd_deliveries", "admin", "Nhật ký gửi tin 24 giờ qua"),
    act(("nhatky", "auditlog"), "people:cmd_audit_log", "admin", "Nhật ký thay đổi"),
]
# Buttons under a pushed reminder ("Đã nhận", "Nhắc lại sau 1 giờ") answer in a message of their own:
# the reminder stays as it was.
ANSWERED_APART = {"danhan", "ack", "nhaclai", "snooze"}
COMMAND_BY_NAME = {name: command for command in COMMANDS for name in command.names}

# Plain questions: the one table from a question's subject (bot/lexicon.SUBJECT_PATTERNS names the
# same subjects; a test keeps the two in step) to the command whose permission applies and the handler
# that answers.
INTENTS: dict[str, tuple[str, Handler]] = {
    "help": ("trogiup", Lazy("access:cmd_help")),
    "start": ("start", Lazy("access:cmd_help")),
    "smalltalk": ("trogiup", Lazy("access:small_talk")),
    "out_of_scope": ("trogiup", Lazy("access:out_of_scope")),
    "duty": ("truc", Lazy("duty:ask_duty")),
    "readiness": ("truc", Lazy("duty:ask_readiness")),
    "swap": ("doica", Lazy("swaps:ask_swap")),
    "schedule": ("lich", Lazy("schedule:cmd_schedule")),
    "directives": ("lich", Lazy("schedule:ask_directive")),
    "drills": ("dientap", Lazy("drills:cmd_drills")),
    "tasks": ("nhiemvu", Lazy("tasks:ask_tasks")),
    "results": ("ketqua", Lazy("results:ask_results")),
    "ranking": ("xephang", Lazy("results:ask_results")),
    "units": ("donvi", Lazy("units:ask_units")),
    "news": ("tin", Lazy("news:cmd_news")),
}


def split_command(text: str) -> tuple[str, str] | None:
    """'/truc@qtbot tuần sau' -> ('truc', 'tuần sau'); None for plain text."""
    if not text.startswith("/"):
        return None
    head, _, rest = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return name, rest.strip()


def menu_for(role: str) -> list[tuple[str, str, str]]:
    return list(_menu(role))


@cache
def _menu(role: str) -> tuple[tuple[str, str, str], ...]:
    """A role's commands, worked out once (every message's context has its asker's)."""
    return tuple(
        (c.names[0], c.names[1], c.description) for c in COMMANDS if c.menu and ROLE_ORDER[role] >= ROLE_ORDER[c.role]
    )


@dataclass(frozen=True)
class Asker:
    """An asker as resolved at one content version."""

    viewer: Viewer
    in_dialog: bool

    @cached_property
    def key(self) -> tuple[object, ...]:
        """What a cacheable answer may depend on: the role, the unit, and the position too (a unit's
        commander sees more of its roster: who acknowledged their shift)."""
        viewer = self.viewer
        position = viewer.member.position_short if viewer.member else None
        return (viewer.role, viewer.unit.id if viewer.unit else None, self.in_dialog, position)


@dataclass(frozen=True)
class Route:
    """What a message asks for, decided from its text alone (no database)."""

    key: tuple[str, ...]  # identifies the question for the answer cache
    run: Callable[[Context], Awaitable[Answer]]
    cacheable: bool
    # Writes nothing: answered on the read-only engine when the asker is already known.
    read_only: bool = False


class Dispatcher:
    """Answers one incoming message; shared by every channel.

    Read-only questions are answered from a cache keyed by the content version (bot/cache.py), the
    asker's role and unit, the channel and the minute; everything else runs in one transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        versions: VersionWatch | None = None,
        admin_ids: Callable[[Incoming], bool] | None = None,
        metrics: Metrics | None = None,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
        take_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self.metrics = metrics
        self.sessions = sessions
        self.read_sessions = read_sessions or sessions
        # Webhook updates are taken into the inbox on these (bot.db.create_take_engine).
        self.take_sessions = take_sessions or sessions
        self.settings = settings
        self.reference = ReferenceData()
        self.versions = versions or VersionWatch()
        self.answers = VersionedCache(size=5000)
        # Askers resolved at the current content version (members and chat links are content, so
        # a join, a role change or a revoked link empties it).
        self._viewers = VersionedCache(size=20000)
        self._is_config_admin = admin_ids or self._settings_admin
        # Chats that may hold numbered options (channels without buttons): only those need clearing.
        self._offered: dict[tuple[str, str], bool] = {}
        # Per channel, options stored in the background with the channel's answered updates (Zalo).
        self._behind: dict[str, options.WrittenBehind] = {}
        # The metrics' counters of each channel (a labelled child is looked up under a lock).
        self._counters: dict[str, tuple[Any, Any]] = {}

    def options_behind(self, channel: str) -> options.WrittenBehind:
        """The options of ``channel`` to be stored in the background by whoever attaches to it (the
        channel's batches of answered updates, bot/channels/seen.py); written directly while nobody is."""
        if channel not in self._behind:
            self._behind[channel] = options.WrittenBehind(channel)
        return self._behind[channel]

    def _settings_admin(self, incoming: Incoming) -> bool:
        """Bootstrap admins come from settings, per channel (QTBOT_ADMIN_TELEGRAM_IDS, QTBOT_ADMIN_ZALO_IDS)."""
        if incoming.channel == "telegram":
            sender = incoming.sender_id
            return sender.lstrip("-").isdigit() and int(sender) in self.settings.admin_telegram_ids
        if incoming.channel == "zalo":
            return incoming.sender_id in self.settings.admin_zalo_ids
        return False

    async def handle(
        self, incoming: Incoming, channel: ChannelInfo, *, progress: ProgressSink | None = None
    ) -> list[Reply]:
        """The replies to one message; ``progress`` shows a long answer's progress in that chat meanwhile."""
        if not channel.buttons:
            incoming = await self._press_numbered_option(incoming)
        replies = await self._replies(incoming, channel, progress)
        if not channel.buttons:
            await self._remember_options(incoming, replies)
        if self.metrics is not None:
            counters = self._counters.get(incoming.channel)
            if counters is None:
                counters = self._counters[incoming.channel] = (
                    self.metrics.updates_in.labels(incoming.channel),
                    self.metrics.replies_out.labels(incoming.channel),
                )
            counters[0].inc()
            counters[1].inc(len(replies))
        return replies

    async def _press_numbered_option(self, incoming: Incoming) -> Incoming:
        """On a channel without buttons, "2" presses the second option the chat was last offered."""
        number = options.as_number(incoming.text) if incoming.callback_data is None else None
        if number is None:
            return incoming
        lifetime = timedelta(minutes=self.settings.dialog_timeout_minutes)
        behind = self._behind.get(incoming.channel)
        unstored = behind.offered(incoming.chat_id) if behind is not None else None
        if unstored is not None:  # offered a moment ago, not yet stored: what was offered counts
            data = options.choose(unstored, number, now=incoming.received_at, lifetime=lifetime)
        else:
            async with self.sessions() as session:
                data = await options.chosen(
                    session, incoming.channel, incoming.chat_id, number, now=incoming.received_at, lifetime=lifetime
                )
        return incoming if data is None else replace(incoming, text=None, callback_data=data)

    async def _remember_options(self, incoming: Incoming, replies: list[Reply]) -> None:
        if replies:
            await self.remember_options(incoming.channel, incoming.chat_id, replies, now=incoming.received_at)

    async def remember_options(self, channel: str, chat_id: str, replies: list[Reply], *, now: datetime) -> None:
        """What ``chat_id`` was just sent, on a channel without buttons: its options become what the
        numbers mean there (a message without options clears them). Pushed messages call this too."""
        offered = [(b.text, b.data) for reply in replies for row in reply.buttons for b in row]
        chat = (channel, chat_id)
        if not offered and self._offered.get(chat) is False:
            return
        behind = self._behind.get(channel)
        if behind is not None and behind.active:
            behind.offer(chat_id, offered or None, now=now)
        else:
            async with self.sessions() as session, session.begin():
                if offered:
                    await options.offer(session, *chat, offered, now=now)
                else:
                    await options.clear(session, *chat)
        if len(self._offered) > 50_000:
            self._offered.clear()
        self._offered[chat] = bool(offered)

    async def _replies(
        self, incoming: Incoming, channel: ChannelInfo, progress: ProgressSink | None = None
    ) -> list[Reply]:
        try:
            route = self.route(incoming)
            answer: Answer = [] if route is None else await self._answer(incoming, channel, route, progress)
        except UserError as exc:
            answer = Reply(esc(str(exc)), buttons=exc.buttons)
        except DomainError as exc:  # a use case refused; the handler left the wording to us
            answer = Reply(esc(phrase(exc, group_chat=incoming.chat_type == "group")), buttons=exc.buttons)
        except DateParseError as exc:
            answer = Reply(esc(str(exc)))
        except Exception as exc:
            if unreachable(exc):  # not handled: a webhook asks the platform to deliver it again
                raise DatabaseUnavailable(str(exc)) from exc
            log.exception("handler failed for %s chat %s", incoming.channel, incoming.chat_id)
            answer = Reply(APOLOGY)
        # Copies: a cached answer is shared between askers.
        replies = [_shallow(r) for r in (answer if isinstance(answer, list) else [answer])]
        # A button's answer replaces its message, unless it is an answer apart ("Đã nhận" under a
        # reminder) or carries a file: that comes as a new message. A picture beside the text (a
        # unit's chart) follows the replaced text as a new message.
        pressed = split_command(incoming.callback_data) if incoming.callback_data is not None else None
        first = replies[0] if replies else None
        if (
            incoming.callback_data is not None
            and first is not None
            and (pressed is None or pressed[0] not in ANSWERED_APART)
            and first.document is None
        ):
            replies[0] = replace(replies[0], edit=True)
        return replies

    def route(self, incoming: Incoming) -> Route | None:
        """None: the message is not for the bot (plain talk in a group). A dialog in progress may
        still take the message (see :meth:`_answer`)."""
        text = (incoming.callback_data if incoming.callback_data is not None else incoming.text or "").strip()
        command = split_command(text)
        if text.startswith("dlg:") or (incoming.attachment is not None and command is None):
            return Route(("dialog",), _no_dialog, cacheable=False)
        if command is None and incoming.chat_type != "private" and not incoming.addressed:
            return None
        if not text:
            if incoming.chat_type != "private":
                return None
            return Route(("empty",), _not_understood, cacheable=True, read_only=True)
        if command is not None:
            name, args = command
            spec = COMMAND_BY_NAME.get(name)
            if spec is None:
                return Route(("unknown", name), partial(_unknown_command, name=name), cacheable=True, read_only=True)
            run = partial(
                self._run,
                command_name=spec.names[0],
                handler=spec.handler,
                args=args,
                long_text=spec.long_text,
                unit_arg=spec.unit_arg,
            )
            return Route(("cmd", spec.names[0], args), run, cacheable=spec.cacheable, read_only=spec.cacheable)
        if incoming.chat_type == "private" and INVITE_CODE.fullmatch(text):
            # Zalo has no deep links: a bare invite code sent by a guest is "/start CODE".
            return Route(("maybe_code", text), partial(self._bare_code, text=text), cacheable=False)
        reading = read(text)  # once for the subject, whether the asker is named and the parser
        intent = reading.subject[0]
        if intent is None:
            return Route(
                ("text", text), partial(self._fallback, text=text, reading=reading), cacheable=True, read_only=True
            )
        command_name, handler = INTENTS[intent]
        run = partial(
            self._run, command_name=command_name, handler=handler, args=text, long_text=False, reading=reading
        )
        # "khi nào tôi trực" depends on who asks, not only on their role and unit: never cached.
        # Plain questions read, except a swap asked in words ("ai nhận giúp ca 24/6").
        read_only = COMMAND_BY_NAME[command_name].cacheable
        cacheable = read_only and not reading.asker
        return Route(("text", text), run, cacheable=cacheable, read_only=read_only)

    async def _answer(
        self, incoming: Incoming, channel: ChannelInfo, route: Route, progress: ProgressSink | None = None
    ) -> Answer:
        now = (incoming.received_at or datetime.now(UTC)).astimezone(self.settings.tz)
        minute = now.replace(second=0, microsecond=0)
        version = await self.versions.current(self.sessions)
        self.reference.use(version)
        asker_key = (incoming.channel, incoming.chat_id, incoming.sender_id)
        known: Asker | None = self._viewers.get(version, asker_key)
        if known is not None and not known.in_dialog:
            if route.cacheable:
                cached = self.answers.get(version, (route.key, known.key, channel.name, minute))
                if cached is not None:
                    return cached
            if route.read_only:
                answer = await self._read(incoming, channel, route, known, now, progress)
                if route.cacheable:
                    self.answers.put(version, (route.key, known.key, channel.name, minute), answer)
                return answer
        async with self.sessions() as session, session.begin():
            viewer = await resolve_viewer(
                session,
                channel=incoming.channel,
                chat_id=incoming.chat_id,
                sender_id=incoming.sender_id,
                sender_name=incoming.sender_name,
                config_admin=self._is_config_admin(incoming),
                directory=await self.reference.directory(session),
            )
            if viewer.role == "admin" and viewer.member is None and incoming.chat_type == "private":
                await ensure_admin_chat(
                    session, channel=incoming.channel, chat_id=incoming.chat_id, name=incoming.sender_name
                )
            ctx = self._context(incoming, session, viewer, channel, now, route, progress)
            answer = await self._with_dialog(ctx, route)
            # Only admins have guided dialogs (every form is an admin command).
            in_dialog = viewer.at_least("admin") and (
                await dialogs.current(session, incoming.channel, incoming.chat_id, incoming.sender_id) is not None
            )
        asker = Asker(viewer, in_dialog)
        self._viewers.put(version, asker_key, asker)
        if route.cacheable and not in_dialog:
            self.answers.put(version, (route.key, asker.key, channel.name, minute), answer)
        return answer

    def _context(
        self,
        incoming: Incoming,
        session: AsyncSession,
        viewer: Viewer,
        channel: ChannelInfo,
        now: datetime,
        route: Route,
        progress: ProgressSink | None,
    ) -> Context:
        return Context(
            incoming,
            session,
            viewer,
            self.settings,
            channel,
            now,
            reference=self.reference,
            menu=menu_for(viewer.role),
            menu_of=menu_for,
            read_only=route.read_only,
            progress=progress,
        )

    async def _read(
        self,
        incoming: Incoming,
        channel: ChannelInfo,
        route: Route,
        known: Asker,
        now: datetime,
        progress: ProgressSink | None = None,
    ) -> Answer:
        """A read-only question from an asker already resolved at this content version: no asker
        query, no dialog check (a dialog begun since would have changed the version), and one
        session on the read-only engine without a transaction to open or commit."""
        try:
            return await self._read_once(incoming, channel, route, known, now, progress)
        except Exception as exc:
            if not unreachable(exc):
                raise
            # A pooled connection found dead (the database restarted): once more on a fresh one.
            return await self._read_once(incoming, channel, route, known, now, progress)

    async def _read_once(
        self,
        incoming: Incoming,
        channel: ChannelInfo,
        route: Route,
        known: Asker,
        now: datetime,
        progress: ProgressSink | None = None,
    ) -> Answer:
        # A copy (handlers get a Viewer they may change), named as in this message.
        viewer = _shallow(known.viewer)
        viewer.sender_name = incoming.sender_name
        async with self.read_sessions() as session:
            return await route.run(self._context(incoming, session, viewer, channel, now, route, progress))

    async def _with_dialog(self, ctx: Context, route: Route) -> Answer:
        """A dialog in progress takes every message but a command; a command ends it."""
        incoming = ctx.incoming
        state = None
        if ctx.viewer.at_least("admin"):  # every dialog is an admin's: others cost no query
            state = await dialogs.current(ctx.session, incoming.channel, incoming.chat_id, incoming.sender_id)
        if state is None:
            return await route.run(ctx)
        text = (incoming.callback_data if incoming.callback_data is not None else incoming.text or "").strip()
        if split_command(text) is None:
            load_forms()
            from handlers import forms, imports

            if state.name in forms.FORMS:
                return await forms.carry_on(ctx, state, text)
            return await imports.carry_on(ctx, state, text)
        await dialogs.end(ctx.session, state)
        answer = await route.run(ctx)
        if not ctx.viewer.at_least("officer"):
            return answer
        left = Reply("(Đã bỏ thao tác đang làm dở, chưa lưu gì.)")
        return [left, *(answer if isinstance(answer, list) else [answer])]

    async def _run(
        self,
        ctx: Context,
        *,
        command_name: str,
        handler: Handler,
        args: str,
        long_text: bool,
        unit_arg: bool = False,
        reading: Reading | None = None,
    ) -> Answer:
        limit = MAX_TEXT_ARGUMENT if long_text else MAX_QUESTION
        if len(args) > limit:
            return help_views.too_long_reply(len(args), limit)
        required = COMMAND_BY_NAME[command_name].role
        if not ctx.viewer.at_least(required):
            if ctx.viewer.role == "guest":
                return Reply(help_views.GUEST_TEXT)
            return Reply("Lệnh này chỉ dành cho cán bộ quản trị cụm.")
        directory = await ctx.directory()
        home = ctx.viewer.unit.id if ctx.viewer.unit else None
        ctx.command = command_name
        people = await ctx.people()
        query = parse_query(
            args, today=ctx.today, directory=directory, home_district=home, people=people, reading=reading
        )
        ctx.slots = query.slots
        if unit_arg and ctx.slots.leftover and ctx.slots.unit is None and ctx.slots.area is None:
            ctx.slots.unit = directory.resolve(ctx.slots.leftover)  # a near spelling: "kim bangg"
        if unit_arg and ctx.slots.leftover and ctx.slots.unit is None and ctx.slots.area is None:
            cluster = await ctx.cluster()
            names = ", ".join(u.short_name for u in cluster.units) if cluster else ""
            raise UserError(
                f"Không tìm thấy đơn vị “{args.strip()}”." + (f" Các đơn vị trong cụm: {names}." if names else "")
            )
        return await _target(handler)(ctx)

    async def _bare_code(self, ctx: Context, *, text: str) -> Answer:
        if ctx.viewer.role == "guest":
            return await self._run(
                ctx, command_name="start", handler=Lazy("access:cmd_start"), args=text, long_text=False
            )
        return await self._fallback(ctx, text=text)

    async def _fallback(self, ctx: Context, *, text: str, reading: Reading | None = None) -> Answer:
        """No keyword matched: a unit or a period alone still means something."""
        if len(text) > MAX_QUESTION:
            return help_views.too_long_reply(len(text), MAX_QUESTION)
        if not ctx.viewer.at_least("officer"):
            return help_views.help_reply("guest", ctx.menu)
        directory, people = await ctx.directory(), await ctx.people()
        slots = parse_query(text, today=ctx.today, directory=directory, people=people, reading=reading).slots
        run = partial(self._run, ctx, args=text, long_text=False, reading=reading)
        if slots.span is not None and not slots.people:
            return help_views.span_choice_reply(slots.unit.unit if slots.unit else None, slots.span)
        if slots.people and len(slots.people) == 1:
            return await run(command_name="truc", handler=Lazy("duty:ask_duty"))
        if slots.period is not None:
            return await run(command_name="ketqua", handler=Lazy("results:ask_results"))
        if slots.unit is not None or slots.area is not None:
            return await run(command_name="donvi", handler=Lazy("units:cmd_units"))
        guess = guess_subject(text)
        if guess is not None:  # a misspelt question: ask rather than guess
            return help_views.did_you_mean_reply(guess, INTENTS[guess][0])
        return help_views.not_understood_reply()


async def _no_dialog(ctx: Context) -> Answer:
    if ctx.incoming.attachment is not None:
        return Reply(
            "Đã nhận tệp. Để nhập lịch trực, điểm, nhiệm vụ hoặc diễn tập, gửi tệp kèm chú thích /nhap (xem /nhap)."
        )
    return Reply("Thao tác này đã kết thúc hoặc đã hết hạn. Gõ lại lệnh nếu cần.")


async def _not_understood(_ctx: Context) -> Answer:
    return help_views.not_understood_reply()


async def _unknown_command(ctx: Context, *, name: str) -> Answer:
    return Reply(f"Không có lệnh /{esc(name)}.\n" + help_views.commands_text(ctx.menu))
