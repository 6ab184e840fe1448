"""/themtangcuong (/addreinforced): an admin adds a reinforced duty period (dates | units | note), in
one line or step by step (a :class:`handlers.forms.Form`); /thongke trực (/stats): duty load per person."""

from __future__ import annotations

import re

from bot.errors import UserError
from bot.messages import Reply, esc
from bot.services import readiness
from bot.textnorm import contains_phrase, normalize
from bot.views import readiness as views
from bot.views.common import unit_picker
from bot.vntime import fmt_date_range, parse_date_range
from handlers import forms
from handlers.context import Context
from handlers.forms import Field, Form, Value, iso_day, register

MAX_DAYS = 62
NAME_LENGTH = 120


async def _dates(ctx: Context, text: str, _values: dict[str, Value]) -> list[str]:
    span = parse_date_range(text, ctx.today)
    if span is None:
        raise UserError("Thiếu ngày. Viết như: 31/8-5/9/2022 hoặc 29/4/2022-3/5/2022.")
    first, last, _ = span
    if last < ctx.today:
        raise UserError(f"Đợt {fmt_date_range(first, last)} đã qua; cho ngày từ hôm nay trở đi.")
    if (last - first).days + 1 > MAX_DAYS:
        raise UserError(f"Một đợt tăng cường trực dài tối đa {MAX_DAYS} ngày.")
    return [first.isoformat(), last.isoformat()]


async def _units_text(ctx: Context, value: dict[str, Value]) -> str:
    if value.get("cluster_wide"):
        return "cả cụm"
    directory = await ctx.directory()
    return ", ".join(directory.by_id[i].short_name for i in value["units"])


async def _summary(ctx: Context, values: dict[str, Value]) -> str:
    first, last = (iso_day(d) for d in values["dates"])
    return (
        f"Thời gian: {fmt_date_range(first, last)}\nĐơn vị: {esc(await _units_text(ctx, values['units']))}\n"
        f"Ghi chú: {esc(values['note'])}"
    )


async def _save(ctx: Context, values: dict[str, Value]) -> Reply:
    first, last = (iso_day(d) for d in values["dates"])
    note = values["note"]
    draft = readiness.PeriodDraft(
        name=note[:NAME_LENGTH],
        starts_on=first,
        ends_on=last,
        unit_ids=tuple(values["units"]["units"]),
        note=note if len(note) > NAME_LENGTH else None,
    )
    period = await readiness.add_period(ctx.session, ctx.viewer, draft, now=ctx.now, today=ctx.today)
    return views.period_added(period.name, period.starts_on, period.ends_on, await _units_text(ctx, values["units"]))


READINESS_FORM = register(
    Form(
        name="themtangcuong",
        title="Thêm đợt tăng cường trực",
        usage="/themtangcuong 31/8-5/9/2022 | cả cụm | Quốc khánh 2/9",
        fields=(
            Field("dates", "Từ ngày nào đến ngày nào? Ví dụ: 31/8-5/9/2022.", _dates),
            Field("units", "Đơn vị: cả cụm hay những đơn vị nào?", forms.parse_units, forms.participant_choices),
            Field("note", "Tên đợt, ghi chú? Ví dụ: Quốc khánh 2/9.", forms.parse_text(3, 300, "Ghi chú")),
        ),
        save=_save,
        summary=_summary,
    )
)


# --- /thongke trực <tháng> ------------------------------------------------------------------------------

_MONTH_YEAR = re.compile(r"\b(\d{1,2})\s*[/-]\s*(\d{4})\b")
_MONTH = re.compile(r"\bthang\s*(\d{1,2})\b")


async def cmd_stats(ctx: Context) -> Reply:
    """'/thongke trực 6/2022 [đơn vị]': duty count and hours per person in a month (default: this one)."""
    norm = normalize(ctx.slots.text)
    if not contains_phrase(norm, "truc"):
        return views.stats_usage()
    month, year = ctx.today.month, ctx.today.year
    if found := _MONTH_YEAR.search(norm):
        month, year = int(found.group(1)), int(found.group(2))
    elif found := _MONTH.search(norm):
        month = int(found.group(1))
    if not 1 <= month <= 12 or not 2000 <= year <= 2100:
        raise UserError(f"Tháng {month}/{year} không hợp lệ. Viết như: /thongke trực 6/2022.")
    unit = ctx.slots.unit.unit if ctx.slots.unit else ctx.viewer.unit
    if unit is None or unit.kind == "commune":
        cluster = await ctx.cluster()
        units = cluster.units if cluster else (await ctx.directory()).commands()
        return unit_picker("thongke", units, f"trực {month}/{year}", prompt="Thống kê trực của đơn vị nào?")
    first, last = readiness.month_days(year, month)
    loads = await readiness.duty_load(ctx.session, unit.id, first, last)
    cluster = await ctx.cluster()
    return views.load_reply(
        unit.name,
        month,
        year,
        loads,
        short_name=unit.short_name,
        illustrative=bool(cluster and cluster.illustrative),
    )
