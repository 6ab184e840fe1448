"""/truc (/duty): who is on duty today, tomorrow, on a day; the roster of a week."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.messages import Reply
from bot.services import acks, duty, schedule
from bot.views import duty as views
from bot.views.common import unit_picker
from bot.vntime import week_bounds
from handlers import kept
from handlers.context import Context

# How far ahead "khi nào tôi trực" looks when no span is named.
PERSON_DAYS_AHEAD = 13


async def ask_duty(ctx: Context) -> Reply:
    """A plain question about duty: a person's days, the officer on duty at a time of day, every
    unit's duty for an admin, or else what /truc answers."""
    slots = ctx.slots
    if len(slots.people) > 1:
        return views.which_person_reply(slots.people, slots.text)
    person = slots.people[0] if slots.people else None
    team = re.search(r"\bto (\d{1,2})\b", slots.norm)
    if team and person is None and slots.operation == "when":
        unit = slots.unit.unit if slots.unit else ctx.viewer.unit
        if unit is not None:
            start, end = (slots.span[0], slots.span[1]) if slots.span else week_bounds(ctx.today)
            label = f"Tổ {team.group(1)}"
            days = await kept.roster(ctx, unit.id, start, end)
            shifts = [s for d in days for s in d.shifts if (s.person_label or "").lower() == label.lower()]
            return views.team_days_reply(label, shifts, start, end, ctx.today)
    if person is None and slots.self_ref and slots.operation in ("when", "exists", "show"):
        member = ctx.viewer.member
        if member is None or not member.full_name:
            return views.self_unknown_reply()
        return await _person_days(ctx, member.id, views.Someone(member.id, _label(member), True))
    if person is not None and slots.role is None and not _asks_who(ctx):
        return await _person_days(ctx, person.id, views.Someone(person.id, person.label, False))
    unit = slots.unit.unit if slots.unit else ctx.viewer.unit
    moment = None
    if slots.moment is not None:
        day = slots.day or ctx.today
        if slots.moment.hour < 7 and re.search(r"\b(dem|khuya|toi) nay\b", slots.norm):
            day += timedelta(days=1)  # "2h đêm nay" is the small hours after today
        moment = datetime.combine(day, slots.moment, ctx.tz)
    if moment is not None and unit is not None and unit.kind != "commune":
        shifts = await duty.on_duty_at(ctx.session, unit.id, moment)
        return views.moment_reply(unit, moment, shifts, slots.role, ctx.tz)
    every_unit = slots.unit is None and ctx.viewer.unit is None and ctx.viewer.at_least("admin")
    if every_unit and (slots.day or _asks_who(ctx)):
        day = slots.day or ctx.today
        cluster = await ctx.cluster()
        units = cluster.units if cluster else (await ctx.directory()).commands()
        if moment is not None:  # each unit's officer at that moment of its 24-hour shift
            running = {u.id: await duty.on_duty_at(ctx.session, u.id, moment) for u in units}
            found = {uid: duty.DutyDay(s[0].duty_date, s) for uid, s in running.items() if s}
            return views.all_units_reply(units, found, day, slots.role, moment=moment)
        found = await kept.rosters_of_day(ctx, [u.id for u in units], day)
        return views.all_units_reply(units, found, day, slots.role)
    return await cmd_duty(ctx)


def _label(member: object) -> str:
    return " ".join(p for p in (getattr(member, "rank", None), getattr(member, "full_name", "")) if p)


def _asks_who(ctx: Context) -> bool:
    return ctx.slots.role is not None or re.search(r"\bai\b", ctx.slots.norm) is not None


async def _person_days(ctx: Context, member_id: int, who: views.Someone) -> Reply:
    if ctx.slots.span is not None:
        start, end, _ = ctx.slots.span
    else:
        start, end = ctx.today, ctx.today + timedelta(days=PERSON_DAYS_AHEAD)
    shifts = await kept.shifts_of_member(ctx, member_id, start, end)
    later = None if shifts else await duty.next_shift_of_member(ctx.session, member_id, end)
    return views.person_days_reply(who, shifts, later, start, end, ctx.today)


async def cmd_duty(ctx: Context) -> Reply:
    slots = ctx.slots
    if len(slots.people) == 1 and re.search(r"(?<!\S)m:\d+", slots.text):  # a person picked with a button
        person = slots.people[0]
        return await _person_days(ctx, person.id, views.Someone(person.id, person.label, False))
    unit = slots.unit.unit if slots.unit else ctx.viewer.unit
    if unit is None or unit.kind == "commune":
        cluster = await ctx.cluster()
        units = cluster.units if cluster else (await ctx.directory()).commands()
        span = f"s:{slots.span[0]:%Y%m%d}-{slots.span[1]:%Y%m%d}" if slots.span else ""
        return unit_picker("truc", units, span, prompt="Xem lịch trực của đơn vị nào?")
    if slots.span is None and _asks_who(ctx):
        slots.span = (ctx.today, ctx.today, "hôm nay")
    if slots.day is not None:
        day = slots.day
        days = await kept.roster(ctx, unit.id, day, day)
        start, end = schedule.local_day_bounds(day, day, ctx.tz)
        kinds = ("conference", "meeting", "inspection")
        events = await kept.events_between(ctx, start, end, kinds=kinds, unit_id=unit.id)
        every = await ctx.kept(("readiness periods",), lambda: duty.readiness_periods_all(ctx.session))
        periods = duty.covering(every, day)
        duty_day = days[0] if days else None
        acks = await _acks(ctx, unit.id, days)
        return views.day_reply(
            unit, day, duty_day, slots.role, events, periods, ctx.tz, codes=ctx.shows_codes, acks=acks
        )
    if slots.span is not None:
        start, end, label = slots.span
    else:
        start, end = week_bounds(ctx.today)
        label = "tuần này"
    if (end - start).days > 62:
        end = start + timedelta(days=62)
    days = await kept.roster(ctx, unit.id, start, end)
    acks = await _acks(ctx, unit.id, days)
    return views.roster_reply(unit, start, end, label, days, ctx.today, ctx.tz, codes=ctx.shows_codes, acks=acks)


async def _acks(ctx: Context, unit_id: int, days: list[duty.DutyDay]) -> dict[int, datetime] | None:
    """Who acknowledged their shift: shown to admins and to the unit's commander only."""
    if not (ctx.viewer.at_least("admin") or acks.is_commander_of(ctx.viewer.member, unit_id)):
        return None
    return await acks.acknowledged(ctx.session, [s for d in days for s in d.shifts])


async def ask_readiness(ctx: Context) -> Reply:
    """'đợt tăng cường trực 2/9 từ ngày nào?'"""
    slots = ctx.slots
    year = slots.period.year if slots.period else (slots.span[0].year if slots.span else ctx.today.year)
    periods = await duty.readiness_periods(ctx.session, year)
    asked = None
    now = re.search(r"\b(bay gio|hien nay|hien tai|dang|luc nay)\b", slots.norm) is not None
    if now and slots.span is None:
        current = next((p for p in periods if p.starts_on <= ctx.today <= p.ends_on), None)
        upcoming = next((p for p in periods if p.starts_on > ctx.today), None)
        return views.readiness_now_reply(current, upcoming, ctx.today)
    if slots.day is not None:
        asked = next((p for p in periods if p.starts_on <= slots.day <= p.ends_on), None)
    elif slots.span is not None:
        start, end, _ = slots.span
        asked = next((p for p in periods if p.starts_on <= end and p.ends_on >= start), None)
    if asked is None:
        asked = duty.period_named(periods, re.sub(r"\bbay gio\b", " ", slots.norm))
    return views.readiness_reply(periods, asked, year)
