"""Admin forms: the same fields filled in one line (``/themhop a | b | c``) or step by step.

A :class:`Form` lists its fields; each field parses what people type (or a button's value) into a
JSON-able value and raises :class:`UserError` with a Vietnamese explanation otherwise. One line:
every field at once, then save (or confirm). Step by step: the dialog's state (fields filled so far,
the next one) is kept in the database, so it survives a restart; every step has "Hủy"; a dialog
left alone expires after ``dialog_timeout_minutes``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from bot import lexicon
from bot.errors import DomainError, UserError
from bot.messages import Button, Reply, esc
from bot.services import dialogs
from bot.services.duty import DUTY_ROLES, ROLE_WORDS
from bot.services.units import UnitRef
from bot.textnorm import contains_phrase, normalize
from bot.views.errors import phrase
from bot.vntime import (
    DateParseError,
    fmt_date,
    parse_date,
    parse_date_range,
    parse_datetime,
    parse_period,
    parse_time,
    week_bounds,
)
from handlers.context import Context

if TYPE_CHECKING:
    from bot.models import DialogState

CANCEL, CONFIRM, SKIP = "dlg:cancel", "dlg:ok", "dlg:skip"
CANCEL_WORDS = lexicon.CANCEL_WORDS
Answer = Reply | list[Reply]
Value = Any


@dataclass(frozen=True)
class Field:
    key: str
    prompt: str
    parse: Callable[[Context, str, dict[str, Value]], Awaitable[Value]]
    choices: Callable[[Context, dict[str, Value]], Awaitable[list[Button]]] | None = None
    optional: bool = False


@dataclass(frozen=True)
class Form:
    name: str  # the command, e.g. "themhop"
    title: str
    usage: str
    fields: tuple[Field, ...]
    save: Callable[[Context, dict[str, Value]], Awaitable[Answer]]
    summary: Callable[[Context, dict[str, Value]], Awaitable[str]]
    confirm_label: str = "Lưu"
    # One line still asks for a confirmation (changes, cancellations, broadcasts).
    confirm_line: bool = False
    # One line asks for a confirmation when this says so (e.g. a score sheet with criteria missing).
    confirm_when: Callable[[Context, dict[str, Value]], Awaitable[bool]] | None = None
    # How one line is cut into fields (default: at "|").
    split: Callable[[str], list[str]] | None = None

    def field(self, key: str) -> Field:
        return next(f for f in self.fields if f.key == key)


FORMS: dict[str, Form] = {}


async def worded(call: Coroutine[Any, Any, Value]) -> Value:
    """Await a step of a form; a use case's :class:`DomainError` becomes a :class:`UserError` in
    Vietnamese (bot/views/errors.py), so a dialog re-asks or the router answers it."""
    try:
        return await call
    except DomainError as exc:
        raise UserError(phrase(exc)) from exc


def register(form: Form) -> Form:
    FORMS[form.name] = form
    return form


def cancel_row() -> list[Button]:
    return [Button("Hủy", CANCEL)]


def _rows(buttons: list[Button], per_row: int = 2) -> list[list[Button]]:
    return [buttons[i : i + per_row] for i in range(0, len(buttons), per_row)]


async def _store(ctx: Context, form: Form, step: str, values: dict[str, Value]) -> DialogState:
    incoming = ctx.incoming
    return await dialogs.save(
        ctx.session,
        channel=incoming.channel,
        chat_id=incoming.chat_id,
        user_id=incoming.sender_id,
        name=form.name,
        step=step,
        data={"values": values},
        now=ctx.now,
        lifetime=timedelta(minutes=ctx.settings.dialog_timeout_minutes),
    )


async def prompt(ctx: Context, form: Form, field: Field, values: dict[str, Value], error: str | None = None) -> Reply:
    buttons = _rows(await worded(field.choices(ctx, values))) if field.choices else []
    if field.optional:
        buttons.append([Button("Bỏ qua", SKIP)])
    buttons.append(cancel_row())
    text = (f"{esc(error)}\n" if error else "") + f"<b>{esc(form.title)}</b>\n{field.prompt}"
    return Reply(text, buttons=buttons)


async def confirm(ctx: Context, form: Form, values: dict[str, Value]) -> Reply:
    await _store(ctx, form, "confirm", values)
    text = f"<b>{esc(form.title)}</b>\n{await worded(form.summary(ctx, values))}"
    return Reply(text, buttons=[[Button(form.confirm_label, CONFIRM), Button("Hủy", CANCEL)]])


async def ask_next(ctx: Context, form: Form, values: dict[str, Value]) -> Reply:
    following = next((f for f in form.fields if f.key not in values), None)
    if following is None:
        return await confirm(ctx, form, values)
    await _store(ctx, form, following.key, values)
    return await prompt(ctx, form, following, values)


async def run(ctx: Context, form: Form) -> Answer:
    """The command handler of a form: with arguments, one line; without, step by step."""
    text = ctx.slots.text.strip()
    if not text:
        return await ask_next(ctx, form, {})
    parts = form.split(text) if form.split else [p.strip() for p in text.split("|")]
    if len(parts) > len(form.fields):
        raise UserError(
            f"/{form.name} có nhiều nhất {len(form.fields)} phần, cách nhau bằng dấu |, ví dụ:\n{form.usage}\n"
            f"Hoặc gõ /{form.name} không kèm gì để bot hỏi từng bước."
        )
    values: dict[str, Value] = {}
    for field, part in zip(form.fields, parts, strict=False):
        if part or not field.optional:
            try:
                values[field.key] = await worded(field.parse(ctx, part, values))
            except DateParseError as exc:
                raise UserError(str(exc)) from exc
    required = sum(1 for f in form.fields if not f.optional)
    if len(parts) < required:  # the first parts on one line: keep them, ask the rest step by step
        return await ask_next(ctx, form, values)
    for field in form.fields[len(parts) :]:
        values.setdefault(field.key, None)
    if form.confirm_line or (form.confirm_when is not None and await worded(form.confirm_when(ctx, values))):
        return await confirm(ctx, form, values)
    return await worded(form.save(ctx, values))


async def carry_on(ctx: Context, state: DialogState, text: str) -> Answer:
    """The next message of a dialog in progress."""
    form = FORMS.get(state.name)
    if form is None or state.expires_at < ctx.now:
        await dialogs.end(ctx.session, state)
        minutes = ctx.settings.dialog_timeout_minutes
        return Reply(f"Thao tác trước đã quá {minutes} phút nên đã hủy, chưa lưu gì. Gõ lại lệnh để làm lại.")
    if text == CANCEL or normalize(text) in CANCEL_WORDS:
        await dialogs.end(ctx.session, state)
        return Reply("Đã hủy. Không có gì được lưu.")
    values = dict(state.data.get("values", {}))
    if state.step == "confirm":
        if text != CONFIRM:
            return Reply(
                f"Bấm “{form.confirm_label}” hoặc “Hủy”.",
                buttons=[[Button(form.confirm_label, CONFIRM), Button("Hủy", CANCEL)]],
            )
        try:
            answer = await worded(form.save(ctx, values))
        except UserError as exc:
            raise UserError(
                f"{exc}\nChưa lưu gì. Bấm Hủy rồi làm lại với thông tin đúng.", buttons=[cancel_row()]
            ) from exc
        await dialogs.end(ctx.session, state)
        return answer
    field = form.field(state.step)
    if text == SKIP and field.optional:
        values[field.key] = None
    else:
        try:
            values[field.key] = await worded(field.parse(ctx, text.removeprefix("dlg:"), values))
        except (UserError, DateParseError) as exc:
            return await prompt(ctx, form, field, values, error=str(exc))
    return await ask_next(ctx, form, values)


# --- Field parsers shared by the forms ------------------------------------------------------------

_ALL_UNITS = lexicon.ALL_UNITS_WORDS
_SESSION_TIMES = {"sang": "07:30", "chieu": "13:30", "toi": "19:00"}


async def unit_choices(ctx: Context, _values: dict[str, Value]) -> list[Button]:
    cluster = await ctx.cluster()
    units = cluster.units if cluster else (await ctx.directory()).commands()
    return [Button(u.short_name, f"dlg:u:{u.id}") for u in units]


async def participant_choices(ctx: Context, values: dict[str, Value]) -> list[Button]:
    return [Button("Cả cụm", "dlg:cả cụm"), *await unit_choices(ctx, values)]


async def find_unit(ctx: Context, text: str, *, communes: bool = False) -> UnitRef:
    directory = await ctx.directory()
    token = re.fullmatch(r"u:(\d+)", text.strip())
    if token and int(token.group(1)) in directory.by_id:
        return directory.by_id[int(token.group(1))]
    match = directory.resolve(text, communes=communes)
    if match is None:
        if communes:
            raise UserError(f"Không tìm thấy xã, phường, thị trấn “{text.strip()}”. Viết tên như: xã Thanh Sơn.")
        cluster = await ctx.cluster()
        names = ", ".join(u.short_name for u in cluster.units) if cluster else ""
        raise UserError(
            f"Không tìm thấy đơn vị “{text.strip()}”." + (f" Các đơn vị trong cụm: {names}." if names else "")
        )
    return match.unit


async def parse_unit(ctx: Context, text: str, _values: dict[str, Value]) -> int:
    return (await find_unit(ctx, text)).id


async def parse_units(ctx: Context, text: str, _values: dict[str, Value]) -> dict[str, Value]:
    """'cả cụm' or 'Kim Bảng, Bình Lục' -> {'cluster_wide': ..., 'units': [ids]}."""
    norm = normalize(text)
    if any(contains_phrase(norm, words) for words in _ALL_UNITS):
        return {"cluster_wide": True, "units": []}
    names = [p for p in re.split(r"[,;]| va ", text) if p.strip()] or [text]
    return {"cluster_wide": False, "units": [(await find_unit(ctx, name)).id for name in names]}


def parse_text(minimum: int, maximum: int, what: str) -> Callable[[Context, str, dict[str, Value]], Awaitable[str]]:
    async def parse(_ctx: Context, text: str, _values: dict[str, Value]) -> str:
        cleaned = " ".join(text.split())
        if not minimum <= len(cleaned) <= maximum:
            raise UserError(f"{what} phải dài {minimum}–{maximum} ký tự (đang là {len(cleaned)}).")
        return cleaned

    return parse


async def parse_when(ctx: Context, text: str, _values: dict[str, Value]) -> dict[str, Value]:
    """'14h00 23/6/2022', 'chiều 23/6', '8h thứ Năm tuần sau', '14h-17h 23/6' -> date, time, session, end."""
    end = None
    span = re.match(
        r"^(?P<a>.*?\d{1,2}\s*(?:h|g|giờ|gio|:)\s*\d{0,2})\s*(?:-|–|đến|den)\s*(?P<b>\d{1,2}\s*(?:h|g|giờ|gio|:)\s*\d{0,2})(?P<rest>.*)$",
        text.strip(),
    )
    if span:
        end_time = parse_time(span.group("b"))
        end = end_time.strftime("%H:%M") if end_time else None
        text = f"{span.group('a')} {span.group('rest')}"
    found = parse_datetime(text, ctx.today, prefer="future")
    if found is None:
        raise UserError("Thiếu ngày. Viết như: 14h00 23/6/2022, chiều 23/6 hoặc 8h thứ Năm tuần sau.")
    day, clock, session = found
    if clock is None and session is None:
        raise UserError(
            f"Thiếu giờ cho ngày {fmt_date(day)}. Viết như: 14h00 {fmt_date(day)} hoặc chiều {fmt_date(day)}."
        )
    start = clock.strftime("%H:%M") if clock else _SESSION_TIMES[session]
    return {"date": day.isoformat(), "time": start, "session": session, "end": end}


async def parse_day(ctx: Context, text: str, _values: dict[str, Value]) -> str:
    found = parse_date(text, ctx.today, prefer="future")
    if found is None:
        raise UserError("Thiếu ngày. Viết như: 23/6/2022, mai, thứ Năm tuần sau.")
    return found.isoformat()


async def parse_days(ctx: Context, text: str, _values: dict[str, Value]) -> list[str]:
    """A day, a span ('27/6-3/7') or a week ('tuần 27/6', 'tuần sau') -> ISO days."""
    norm = normalize(text)
    if contains_phrase(norm, "tuan") and not re.search(r"\btuan (nay|sau|toi|truoc)\b", norm):
        day = parse_date(text, ctx.today, prefer="future")
        if day is not None:
            monday, sunday = week_bounds(day)
            return [(monday + timedelta(days=n)).isoformat() for n in range((sunday - monday).days + 1)]
    span = parse_date_range(text, ctx.today)
    if span is None:
        raise UserError("Thiếu ngày. Viết như: 27/6/2022, tuần 27/6 hoặc 27/6-3/7.")
    first, last, _ = span
    if (last - first).days > 31:
        raise UserError("Mỗi lần thêm tối đa 31 ngày trực.")
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


async def parse_role(_ctx: Context, text: str, _values: dict[str, Value]) -> str:
    raw = text.strip()
    if raw in DUTY_ROLES:
        return raw
    norm = normalize(raw)
    for words in sorted(ROLE_WORDS, key=len, reverse=True):
        if contains_phrase(norm, words) or norm == words.removeprefix("truc "):
            return ROLE_WORDS[words]
    raise UserError("Vai trò trực là một trong: " + ", ".join(DUTY_ROLES.values()) + ".")


async def role_choices(_ctx: Context, _values: dict[str, Value]) -> list[Button]:
    return [Button(name, f"dlg:{key}") for key, name in DUTY_ROLES.items()]


async def parse_period_field(ctx: Context, text: str, _values: dict[str, Value]) -> dict[str, Value]:
    spec = parse_period(text, ctx.today)
    if spec is None:
        raise UserError("Viết kỳ như: quý 3, quý III/2022, 6 tháng đầu năm, năm 2022.")
    return {"year": spec.year, "kind": spec.kind, "number": spec.number}


def iso_day(value: Value) -> date:
    return date.fromisoformat(str(value))
