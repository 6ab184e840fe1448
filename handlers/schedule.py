"""/lich (/schedule): conferences, meetings, inspections; and questions about directives."""

from __future__ import annotations

import re

from bot.messages import Reply
from bot.services import schedule
from bot.textnorm import contains_phrase
from bot.views import schedule as views
from bot.views.common import span_label
from handlers.context import Context

# Words naming a kind of conference, normalised.
_CONFERENCE_WORDS = [
    ("so ket quy", ("so_ket_quy",)),
    ("so ket", ("so_ket_6t", "so_ket_quy")),
    ("tong ket", ("tong_ket",)),
    ("phat dong", ("phat_dong",)),
    ("giao uoc", ("ky_giao_uoc",)),
]


async def cmd_schedule(ctx: Context) -> Reply:
    slots = ctx.slots
    subkinds = next((kinds for words, kinds in _CONFERENCE_WORDS if contains_phrase(slots.norm, words)), None)
    if subkinds is not None and slots.span is None:
        year = slots.period.year if slots.period else ctx.today.year
        found = await schedule.find_conferences(ctx.session, subkinds=subkinds, year=year, tz=ctx.tz)
        if re.search(r"\b6 thang|sau thang\b", slots.norm):
            found = [e for e in found if e.subkind == "so_ket_6t"] or found
        if found:
            upcoming = [e for e in found if e.starts_at >= ctx.now]
            shown = upcoming[0] if upcoming else found[-1]
            return views.conference_reply(shown, await ctx.cluster(), ctx.tz, codes=ctx.shows_codes)
    unit = ctx.slots.unit.unit if ctx.slots.unit else ctx.viewer.unit  # an officer sees what concerns their unit
    unit_id = unit.id if unit else None
    if slots.span is not None:
        start, end, label = slots.span
        lo, hi = schedule.local_day_bounds(start, end, ctx.tz)
        events = await schedule.events_between(
            ctx.session, lo, hi, kinds=("conference", "meeting", "inspection", "other"), unit_id=unit_id
        )
        title = f"Lịch hội nghị, họp {span_label(label, start, end)}"
        return views.events_reply(
            events, title, ctx.tz, empty="Không có hội nghị, cuộc họp nào.", codes=ctx.shows_codes
        )
    events = await schedule.upcoming_conferences(ctx.session, ctx.now)
    if unit_id is not None:
        events = [
            e for e in events if e.cluster_wide or e.host_unit_id == unit_id or unit_id in {u.id for u in e.units}
        ]
    return views.events_reply(
        events,
        "Lịch hội nghị, họp, kiểm tra sắp tới",
        ctx.tz,
        empty="Chưa có lịch nào sắp tới.",
        codes=ctx.shows_codes,
    )


async def ask_directive(ctx: Context) -> Reply:
    """'chỉ thị 87 là gì?'"""
    number = ctx.slots.number
    directives = await schedule.find_directives(ctx.session, number, None if number else ctx.slots.text)
    if not number and not directives:
        directives = await schedule.find_directives(ctx.session, None, None)
    return views.directives_reply(directives, number)
