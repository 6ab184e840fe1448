"""/truc (/duty): who is on duty today, tomorrow, on a day; the roster of a week."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.messages import Reply
from bot.services import duty, schedule
from bot.views import duty as views
from bot.views.common import unit_picker
from bot.vntime import week_bounds
from handlers.context import Context


async def cmd_duty(ctx: Context) -> Reply:
    slots = ctx.slots
    unit = slots.unit.unit if slots.unit else ctx.viewer.unit
    if unit is None or unit.kind == "commune":
        cluster = await ctx.cluster()
        units = cluster.units if cluster else (await ctx.directory()).commands()
        span = f"s:{slots.span[0]:%Y%m%d}-{slots.span[1]:%Y%m%d}" if slots.span else ""
        return unit_picker("truc", units, span, prompt="Xem lịch trực của đơn vị nào?")
    asks_who = slots.role is not None or re.search(r"\bai\b", slots.norm) is not None
    if slots.span is None and asks_who:
        slots.span = (ctx.today, ctx.today, "hôm nay")
    if slots.day is not None:
        day = slots.day
        days = await duty.roster(ctx.session, unit.id, day, day)
        start, end = schedule.local_day_bounds(day, day, ctx.tz)
        events = await schedule.events_between(
            ctx.session, start, end, kinds=("conference", "meeting", "inspection"), unit_id=unit.id
        )
        periods = await duty.reinforced_periods_covering(ctx.session, day)
        duty_day = days[0] if days else None
        return views.day_reply(unit, day, duty_day, slots.role, events, periods, ctx.tz, codes=ctx.shows_codes)
    if slots.span is not None:
        start, end, label = slots.span
    else:
        start, end = week_bounds(ctx.today)
        label = "tuần này"
    if (end - start).days > 62:
        end = start + timedelta(days=62)
    days = await duty.roster(ctx.session, unit.id, start, end)
    return views.roster_reply(unit, start, end, label, days, ctx.today, ctx.tz, codes=ctx.shows_codes)


async def ask_readiness(ctx: Context) -> Reply:
    """'đợt tăng cường trực 2/9 từ ngày nào?'"""
    slots = ctx.slots
    year = slots.period.year if slots.period else (slots.span[0].year if slots.span else ctx.today.year)
    periods = await duty.readiness_periods(ctx.session, year)
    asked = None
    if slots.day is not None:
        asked = next((p for p in periods if p.starts_on <= slots.day <= p.ends_on), None)
    if asked is None:
        asked = duty.period_named(periods, slots.norm)
    return views.readiness_reply(periods, asked, year)
