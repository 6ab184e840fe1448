"""/sua and /huy: change or cancel any item, picked from a list or by its code, with a confirmation
showing before and after. Codes: S12 (conference, meeting, drill milestone), T40 (duty shift),
N3 or FT3 (focus task), D2 (a commune's drill plan). What each kind allows is in
:mod:`bot.services.editable`; this module parses what people type and phrases the answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, time

from bot import lexicon
from bot.errors import UserError
from bot.messages import Button, Reply
from bot.services import duty, editable
from bot.services.editable import EditClock, FieldValue, Found, NewParticipants, NewPerson, NewPlace, NewTime
from bot.textnorm import normalize
from bot.views import items as item_views
from bot.views.common import clipped
from bot.views.errors import FIELD_NAMES, editable_text
from bot.vntime import fmt_weekday_date
from handlers import forms
from handlers.context import Context
from handlers.forms import Field, Form, Value, iso_day, register
from handlers.manage import parse_people, parse_place

# The words that name each field in "/sua S12 thời gian ..." (bot/lexicon.py); a kind offers its own.
FIELD_WORDS = lexicon.FIELD_WORDS


def _field_options(kind: str) -> dict[str, str]:
    """Normalised words -> field key, for the fields this kind of item has."""
    return {words: field for field in editable.BY_NAME[kind].fields for words in FIELD_WORDS[field]}


async def find_item(ctx: Context, text: str) -> Found:
    parsed = editable.parse_code(text)
    if parsed is None:
        raise UserError(item_views.BAD_CODE)
    return await editable.find_item(ctx.session, *parsed)


def _clock(ctx: Context, *, allow_past: bool = False) -> EditClock:
    return EditClock(ctx.now, ctx.tz, ctx.settings.duty_handover, allow_past)


async def _item(ctx: Context, text: str, _values: dict[str, Value]) -> dict[str, Value]:
    found = await find_item(ctx, text)
    return {"code": found.code, "kind": found.kind.name, "id": found.id, "version": found.version}


async def item_choices(ctx: Context, _values: dict[str, Value]) -> list[Button]:
    """Upcoming events and open tasks, soonest first (shifts: type their code)."""
    choices = await editable.recent_items(ctx.session, now=ctx.now, today=ctx.today)
    return [Button(clipped(f"{c.shown} {c.title}", 40), f"dlg:{c.code}") for c in choices]


async def _field(ctx: Context, text: str, values: dict[str, Value]) -> str:
    options = _field_options(values["item"]["kind"])
    if text in options.values():
        return text
    norm = normalize(text)
    for words in sorted(options, key=len, reverse=True):
        if norm.startswith(words):
            return options[words]
    raise UserError(editable_text(editable.BY_NAME[values["item"]["kind"]].fields))


async def field_choices(_ctx: Context, values: dict[str, Value]) -> list[Button]:
    return [Button(FIELD_NAMES[f], f"dlg:{f}") for f in editable.BY_NAME[values["item"]["kind"]].fields]


async def _person(ctx: Context, text: str, values: dict[str, Value]) -> Value:
    found = await find_item(ctx, values["item"]["code"])
    return (await parse_people(ctx, text, {"unit": found.facts.unit_id}))[0]


# How a new value is read, per field.
VALUE_PARSERS: dict[str, Callable[[Context, str, dict[str, Value]], Awaitable[Value]]] = {
    "when": forms.parse_when,
    "place": parse_place,
    "title": forms.parse_text(3, 300, "Nội dung"),
    "units": forms.parse_units,
    "due": forms.parse_day,
    "day": forms.parse_day,
    "person": _person,
}


async def _value(ctx: Context, text: str, values: dict[str, Value]) -> Value:
    return await VALUE_PARSERS[values["field"]](ctx, text, values)


def typed_value(ctx: Context, field: str, value: Value) -> FieldValue:
    """The form's stored value (JSON) as the use case takes it."""
    if field == "when":
        start = datetime.combine(iso_day(value["date"]), time.fromisoformat(value["time"]), ctx.tz)
        end = datetime.combine(start.date(), time.fromisoformat(value["end"]), ctx.tz) if value.get("end") else None
        return NewTime(start, end, value["session"])
    if field == "place":
        return NewPlace(value["location"], value["host"])
    if field == "units":
        return NewParticipants(tuple(value["units"]), bool(value["cluster_wide"]))
    if field == "person":
        return NewPerson(value[0], value[1])
    if field in ("due", "day"):
        return iso_day(value)
    return str(value)


def split_change(text: str) -> list[str]:
    """'S12 thời gian 15h00 24/6/2022' -> ['S12', 'thời gian', '15h00 24/6/2022'] (pipes work too)."""
    if "|" in text:
        return [p.strip() for p in text.split("|")]
    code, _, rest = text.strip().partition(" ")
    words = rest.split()
    norm = [normalize(w) for w in words]
    every = {w for words in FIELD_WORDS.values() for w in words}
    for size in (2, 1):
        if " ".join(norm[:size]) in every:
            return [code, " ".join(words[:size]), " ".join(words[size:])]
    # An unknown field: let the field parser say which ones exist.
    return [code, words[0], " ".join(words[1:])] if words else [code]


async def _after_text(ctx: Context, values: dict[str, Value]) -> str:
    """The new value as the confirmation shows it."""
    field, value = values["field"], values["value"]
    if field == "when":
        return f"{value['time'].replace(':', 'h')} {fmt_weekday_date(iso_day(value['date']))}"
    if field == "place":
        return str(value["location"])
    if field == "units":
        if value["cluster_wide"]:
            return "cả cụm"
        return ", ".join((await ctx.directory()).by_id[i].short_name for i in value["units"])
    if field in ("due", "day"):
        return fmt_weekday_date(iso_day(value))
    if field == "person":
        member_id, label = value
        return (await duty.person_names(ctx.session, [(member_id, label)]))[0] if member_id else str(label)
    return str(value)


async def _change_summary(ctx: Context, values: dict[str, Value]) -> str:
    found = await find_item(ctx, values["item"]["code"])
    field = values["field"]
    warnings = await editable.change_warnings(
        ctx.session, found.code, field, typed_value(ctx, field, values["value"]), _clock(ctx)
    )
    after = await _after_text(ctx, values)
    return item_views.change_preview(found.facts, FIELD_NAMES[field], after, ctx.tz, warnings)


async def _save_change(ctx: Context, values: dict[str, Value]) -> Reply:
    item, field = values["item"], values["field"]
    change = await editable.change_item(
        ctx.session,
        ctx.viewer,
        item["code"],
        field,
        typed_value(ctx, field, values["value"]),
        expected_version=item["version"],
        clock=_clock(ctx, allow_past=True),  # confirmed after the preview's warnings
    )
    return Reply(item_views.item_changed(change, ctx.tz))


CHANGE_FORM = register(
    Form(
        name="sua",
        title="Sửa",
        usage="/sua S12 thời gian 15h00 24/6/2022\n/sua T40 người Trung tá Hoàng Văn Hải\n/sua FT3 hạn 15/10/2022",
        fields=(
            Field("item", "Sửa mục nào? Chọn dưới đây, hoặc gõ mã (S12, T40, FT3...).", _item, item_choices),
            Field("field", "Sửa gì?", _field, field_choices),
            Field("value", "Giá trị mới?", _value),
        ),
        save=_save_change,
        summary=_change_summary,
        confirm_label="Xác nhận",
        confirm_line=True,
        split=split_change,
    )
)


async def _cancel_summary(ctx: Context, values: dict[str, Value]) -> str:
    found = await find_item(ctx, values["item"]["code"])
    return item_views.cancel_preview(found.facts, ctx.tz)


async def _save_cancel(ctx: Context, values: dict[str, Value]) -> Reply:
    cancellation = await editable.cancel_item(ctx.session, ctx.viewer, values["item"]["code"], clock=_clock(ctx))
    return Reply(item_views.item_cancelled(cancellation, ctx.tz))


CANCEL_FORM = register(
    Form(
        name="huy",
        title="Hủy",
        usage="/huy S12",
        fields=(Field("item", "Hủy mục nào? Chọn dưới đây, hoặc gõ mã (S12, T40, FT3, D2...).", _item, item_choices),),
        save=_save_cancel,
        summary=_cancel_summary,
        confirm_label="Xác nhận hủy",
        confirm_line=True,
    )
)
