"""/lich (/schedule): conferences, meetings, inspections; and questions about directives."""

from __future__ import annotations

import re

from bot import lexicon
from bot.messages import Reply
from bot.services import schedule
from bot.textnorm import contains_phrase
from bot.views import schedule as views
from handlers import kept
from handlers.context import Context


async def cmd_schedule(ctx: Context) -> Reply:
    slots = ctx.slots
    subkinds = next((kinds for words, kinds in lexicon.CONFERENCE_WORDS if contains_phrase(slots.norm, words)), None)
    if subkinds is not None and slots.span is None:
        year = slots.period.year if slots.period else ctx.today.year
        found = await kept.find_conferences(ctx, subkinds=subkinds, year=year)
        if re.search(r"\b6 thang|sau thang\b", slots.norm):
            found = [e for e in found if e.subkind == "so_ket_6t"] or found
        if found:
            upcoming = [e for e in found if e.starts_at >= ctx.now]
            shown = upcoming[0] if upcoming else found[-1]
            return views.conference_reply(shown, await ctx.cluster(), ctx.tz, codes=ctx.shows_codes)
    unit = ctx.slots.unit.unit if ctx.slots.unit else ctx.viewer.unit  # an officer sees what concerns their unit
    unit_id = unit.id if unit else None
    kinds = (slots.event_kind,) if slots.event_kind else ("conference", "meeting", "inspection", "other")
    if slots.span is None and slots.period is not None:  # "lịch họp quý 3"
        first, last = slots.period.bounds()
        slots.span = (first, last, slots.period.label())
    if slots.span is not None:
        start, end, label = slots.span
        lo, hi = schedule.local_day_bounds(start, end, ctx.tz)
        events = await kept.events_between(ctx, lo, hi, kinds=kinds, unit_id=unit_id)
        title = views.span_title(slots.event_kind, label, start, end)
        empty = views.nothing_in_span(slots.event_kind)
        return views.events_reply(events, title, ctx.tz, empty=empty, codes=ctx.shows_codes)
    events = await kept.upcoming_conferences(ctx)
    if slots.event_kind:
        events = [e for e in events if e.kind == slots.event_kind]
    if unit_id is not None:
        events = [
            e for e in events if e.cluster_wide or e.host_unit_id == unit_id or unit_id in {u.id for u in e.units}
        ]
    title = views.upcoming_title(slots.event_kind)
    return views.events_reply(events, title, ctx.tz, empty="Chưa có lịch nào sắp tới.", codes=ctx.shows_codes)


async def ask_directive(ctx: Context) -> Reply:
    """'chỉ thị 87 là gì?'"""
    number = ctx.slots.number
    directives = await kept.find_directives(ctx, number, None if number else ctx.slots.text)
    if not number and not directives:
        directives = await kept.find_directives(ctx, None, None)
    return views.directives_reply(directives, number)
