"""/sua and /huy: change or cancel any item, picked from a list or by its code, with a confirmation
showing before and after. Codes: S12 (conference, meeting, drill milestone), T40 (duty shift),
N3 or FT3 (focus task), D2 (a commune's drill plan)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.errors import UserError
from bot.messages import Button, Reply, esc
from bot.models import DrillPlan, DutyShift, Event, Member, Task, Unit
from bot.services import audit, changes, duty, schedule, tasks
from bot.services.reminders import entity_changed, shift_audience, task_audience
from bot.services.schedule import EVENT_KINDS
from bot.services.subscriptions import load_audience
from bot.textnorm import normalize
from bot.views import reminders as reminder_views
from bot.views.common import capitalize, when
from bot.vntime import fmt_date, fmt_weekday_date
from handlers import forms
from handlers.context import Context
from handlers.forms import Field, Form, Value, iso_day, register
from handlers.manage import parse_people, parse_place

_CODE = re.compile(r"^(S|T|N|D|FT)(\d+)$", re.IGNORECASE)
# Fields that can be changed, per kind of item: normalised words -> field key.
FIELDS = {
    "event": {
        "thoi gian": "when",
        "gio": "when",
        "ngay": "when",
        "dia diem": "place",
        "noi dung": "title",
        "ten": "title",
        "thanh phan": "units",
    },
    "shift": {"nguoi": "person", "nguoi truc": "person", "ngay": "day"},
    "task": {"han": "due", "noi dung": "title", "ten": "title"},
}
FIELD_NAMES = {
    "when": "Thời gian",
    "place": "Địa điểm",
    "title": "Nội dung",
    "units": "Thành phần",
    "person": "Người trực",
    "day": "Ngày trực",
    "due": "Hạn",
}


@dataclass(frozen=True)
class Item:
    code: str
    kind: str  # event / shift / task / drill
    id: int


async def find_item(ctx: Context, text: str) -> tuple[Item, object]:
    match = _CODE.match(text.strip().replace(" ", ""))
    if match is None:
        raise UserError(
            "Cho mã mục cần sửa hoặc hủy, ví dụ S12 (hội nghị, họp, mốc diễn tập), T40 (ca trực), "
            "FT3 hoặc N3 (nhiệm vụ), D2 (kế hoạch diễn tập của một xã). Mã có trong /lich, /truc, /nhiemvu."
        )
    prefix, number = match.group(1).upper(), int(match.group(2))
    if prefix == "S":
        row = await ctx.session.scalar(select(Event).options(selectinload(Event.units)).where(Event.id == number))
        kind = "event"
    elif prefix == "T":
        row, kind = await duty.load_shift(ctx.session, number), "shift"
    elif prefix in ("N", "FT"):
        row, kind = await tasks.find_task(ctx.session, f"{prefix}{number}"), "task"
    else:
        row, kind = await ctx.session.get(DrillPlan, number), "drill"
    if row is None:
        raise UserError(f"Không có mục {prefix}{number}.")
    if getattr(row, "status", "") == "cancelled":
        raise UserError(f"Mục {prefix}{number} đã hủy.")
    code = f"{prefix}{number}" if prefix != "FT" else f"N{row.id}"  # type: ignore[attr-defined]
    return Item(code, kind, row.id), row  # type: ignore[attr-defined]


async def describe(ctx: Context, item: Item, row: object) -> str:
    if isinstance(row, Event):
        where = f", tại {row.location}" if row.location else ""
        return f"{EVENT_KINDS.get(row.kind, 'Sự kiện')} {row.title} — {capitalize(when(row, ctx.tz))}{where}"
    if isinstance(row, DutyShift):
        unit = (await ctx.directory()).by_id[row.unit_id]
        return (
            f"{duty.role_name(row.role)} {unit.short_name} {fmt_weekday_date(row.duty_date)}: {duty.person_text(row)}"
        )
    if isinstance(row, Task):
        return f"Nhiệm vụ {row.code or ''} {row.title} — hạn {fmt_date(row.due_on) if row.due_on else '?'}"
    assert isinstance(row, DrillPlan)
    return f"{row.title} (năm {row.year})"


async def _item(ctx: Context, text: str, _values: dict[str, Value]) -> dict[str, Value]:
    item, row = await find_item(ctx, text)
    return {"code": item.code, "kind": item.kind, "id": item.id, "version": getattr(row, "version", 1)}


async def item_choices(ctx: Context, _values: dict[str, Value]) -> list[Button]:
    """Upcoming events and open tasks, newest first (shifts: type their code)."""
    soon = ctx.now + timedelta(days=60)
    events = await ctx.session.scalars(
        select(Event)
        .where(Event.status == "planned", Event.starts_at >= ctx.now, Event.starts_at <= soon)
        .order_by(Event.starts_at)
        .limit(8)
    )
    open_tasks = await ctx.session.scalars(
        select(Task).where(Task.status == "open", Task.due_on >= ctx.today).order_by(Task.due_on).limit(4)
    )
    buttons = [Button(f"S{e.id} {e.title}"[:40], f"dlg:S{e.id}") for e in events]
    buttons += [Button(f"{t.code or 'N' + str(t.id)} {t.title}"[:40], f"dlg:N{t.id}") for t in open_tasks]
    return buttons


async def _field(ctx: Context, text: str, values: dict[str, Value]) -> str:
    options = FIELDS.get(values["item"]["kind"], {})
    if text in options.values():
        return text
    norm = normalize(text)
    for words in sorted(options, key=len, reverse=True):
        if norm.startswith(words):
            return options[words]
    names = ", ".join(dict.fromkeys(FIELD_NAMES[f].lower() for f in options.values())) or "không có gì sửa được"
    raise UserError(f"Với mục này, sửa được: {names}.")


async def field_choices(_ctx: Context, values: dict[str, Value]) -> list[Button]:
    fields = dict.fromkeys(FIELDS.get(values["item"]["kind"], {}).values())
    return [Button(FIELD_NAMES[f], f"dlg:{f}") for f in fields]


async def _value(ctx: Context, text: str, values: dict[str, Value]) -> Value:
    field, item = values["field"], values["item"]
    if field == "when":
        return await forms.parse_when(ctx, text, values)
    if field == "place":
        return await parse_place(ctx, text, values)
    if field == "title":
        return await forms.parse_text(3, 300, "Nội dung")(ctx, text, values)
    if field == "units":
        return await forms.parse_units(ctx, text, values)
    if field == "due":
        return await forms.parse_day(ctx, text, values)
    if field == "day":
        return await forms.parse_day(ctx, text, values)
    shift = await duty.load_shift(ctx.session, item["id"])
    assert shift is not None
    return (await parse_people(ctx, text, {"unit": shift.unit_id}))[0]


def split_change(text: str) -> list[str]:
    """'S12 thời gian 15h00 24/6/2022' -> ['S12', 'thời gian', '15h00 24/6/2022'] (pipes work too)."""
    if "|" in text:
        return [p.strip() for p in text.split("|")]
    code, _, rest = text.strip().partition(" ")
    words = rest.split()
    norm = [normalize(w) for w in words]
    every = {w for options in FIELDS.values() for w in options}
    for size in (2, 1):
        if " ".join(norm[:size]) in every:
            return [code, " ".join(words[:size]), " ".join(words[size:])]
    # An unknown field: let the field parser say which ones exist.
    return [code, words[0], " ".join(words[1:])] if words else [code]


async def _after_text(ctx: Context, values: dict[str, Value]) -> str:
    field, value = values["field"], values["value"]
    if field == "when":
        start = datetime.combine(iso_day(value["date"]), time.fromisoformat(value["time"]), ctx.tz)
        return f"{value['time'].replace(':', 'h')} {fmt_weekday_date(start.date())}"
    if field == "place":
        return str(value["location"])
    if field == "units":
        return (
            "cả cụm"
            if value["cluster_wide"]
            else ", ".join((await ctx.directory()).by_id[i].short_name for i in value["units"])
        )
    if field in ("due", "day"):
        return fmt_weekday_date(iso_day(value))
    if field == "person":
        member_id, label = value
        if member_id:
            member = await ctx.session.get(Member, member_id)
            return " ".join(p for p in (member.rank, member.full_name) if p) if member else "?"
        return str(label)
    return str(value)


async def _change_summary(ctx: Context, values: dict[str, Value]) -> str:
    item, row = await find_item(ctx, values["item"]["code"])
    return (
        f"Mục {item.code}: {esc(await describe(ctx, item, row))}\n{FIELD_NAMES[values['field']]} sẽ đổi thành: "
        f"<b>{esc(await _after_text(ctx, values))}</b>\nNhững chat liên quan sẽ được báo."
    )


async def _save_change(ctx: Context, values: dict[str, Value]) -> Reply:
    item, row = await find_item(ctx, values["item"]["code"])
    if getattr(row, "version", 1) != values["item"]["version"]:
        raise UserError(f"Mục {item.code} vừa được người khác sửa; xem lại rồi làm lại.")
    before = await describe(ctx, item, row)
    field, value = values["field"], values["value"]
    if isinstance(row, Event):
        changes: dict[str, object] = {}
        if field == "when":
            start = datetime.combine(iso_day(value["date"]), time.fromisoformat(value["time"]), ctx.tz)
            end = datetime.combine(start.date(), time.fromisoformat(value["end"]), ctx.tz) if value.get("end") else None
            changes = {"starts_at": start, "ends_at": end, "session": value["session"], "all_day": False}
        elif field == "place":
            changes = {"location": value["location"], "host_unit_id": value["host"]}
        elif field == "title":
            changes = {"title": value}
        elif field == "units":
            units = list(await ctx.session.scalars(select(Unit).where(Unit.id.in_(value["units"]))))
            changes = {"units": units, "cluster_wide": value["cluster_wide"]}
        await schedule.change_event(ctx.session, row, changes, now=ctx.now, tz=ctx.tz)
    elif isinstance(row, DutyShift):
        unit = await ctx.session.get(Unit, row.unit_id)
        assert unit is not None
        old_day_key = ("duty_day", row.unit_id, row.starts_at.isoformat())
        old_chats = shift_audience(await load_audience(ctx.session), row)
        changed = await duty.change_shift(
            ctx.session,
            row,
            person=tuple(value) if field == "person" else None,  # type: ignore[arg-type]
            day=iso_day(value) if field == "day" else None,
            handover=unit.duty_handover or ctx.settings.duty_handover,
            now=ctx.now,
            tz=ctx.tz,
        )
        notice = reminder_views.change_notice("Ca trực", before, await describe(ctx, item, changed))
        await entity_changed(
            ctx.session,
            entity_type="shift",
            entity_id=row.id,
            version=changed.version,
            notice=notice,
            now=ctx.now,
            related=[old_day_key],
            audience=[*old_chats, *shift_audience(await load_audience(ctx.session), changed)],
        )
    elif isinstance(row, Task):
        if field == "due":
            due = iso_day(value)
            if due < ctx.today:
                raise UserError(f"Hạn {fmt_date(due)} đã qua; cho một hạn sắp tới.")
            row.due_on, row.period = due, tasks.period_of(due)
        else:
            row.title = str(value)
        row.version += 1
        row.updated_at = ctx.now
        await ctx.session.flush()
        notice = reminder_views.change_notice("Nhiệm vụ", before, await describe(ctx, item, row))
        await entity_changed(
            ctx.session,
            entity_type="task",
            entity_id=row.id,
            version=row.version,
            notice=notice,
            now=ctx.now,
            audience=task_audience(await load_audience(ctx.session), [a.unit_id for a in row.assignments]),
        )
    else:
        raise UserError("Kế hoạch diễn tập: sửa từng mốc bằng mã S (xem /dientap), hoặc /huy cả kế hoạch.")
    after = await describe(ctx, item, row)
    await audit.record(
        ctx.session,
        ctx.viewer,
        f"{item.kind}.change",
        at=ctx.now,
        entity_type=item.kind,
        entity_id=item.id,
        before={"text": before},
        after={"text": after, "field": field},
    )
    return Reply(f"Đã sửa {item.code}.\nTrước: {esc(before)}\nNay: {esc(after)}")


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
    item, row = await find_item(ctx, values["item"]["code"])
    return f"Hủy {item.code}: {esc(await describe(ctx, item, row))}\nNhững chat liên quan sẽ được báo hủy."


async def _save_cancel(ctx: Context, values: dict[str, Value]) -> Reply:
    item, row = await find_item(ctx, values["item"]["code"])
    what = await describe(ctx, item, row)
    notified = 0
    if isinstance(row, Event):
        _, notified = await schedule.cancel_event(ctx.session, row, now=ctx.now, tz=ctx.tz)
    elif isinstance(row, DutyShift):
        notified = await changes.cancel_shift(ctx.session, row, what=what, now=ctx.now)
    elif isinstance(row, Task):
        notified = await changes.cancel_task(ctx.session, row, what=what, now=ctx.now)
    else:
        assert isinstance(row, DrillPlan)
        row.status = "cancelled"
        milestones = await ctx.session.scalars(
            select(Event)
            .options(selectinload(Event.units))
            .where(Event.drill_plan_id == row.id, Event.status == "planned")
        )
        for event in milestones:
            notified += (await schedule.cancel_event(ctx.session, event, now=ctx.now, tz=ctx.tz))[1]
    await audit.record(
        ctx.session,
        ctx.viewer,
        f"{item.kind}.cancel",
        at=ctx.now,
        entity_type=item.kind,
        entity_id=item.id,
        before={"text": what},
        after={"status": "cancelled"},
    )
    return Reply(f"Đã hủy {item.code}: {esc(what)}. Đã báo {notified} chat.")


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
