"""/dientap (/drills): drill plans by commune or by district."""

from __future__ import annotations

from datetime import timedelta

from bot.messages import Reply
from bot.views import drills as views
from bot.views.common import unit_picker
from handlers import kept
from handlers.context import Context


async def cmd_drills(ctx: Context) -> Reply:
    slots = ctx.slots
    directory = await ctx.directory()
    if slots.area is not None:
        views_ = await kept.drills_of_area(ctx, slots.area.unit)
        organisers = {u.id: u for u in directory.units if u.kind != "commune"}
        return views.area_reply(slots.area.unit, views_, organisers, slots.area.note, ctx.tz, codes=ctx.shows_codes)
    organiser = slots.unit.unit if slots.unit else ctx.viewer.unit
    year = slots.period.year if slots.period else (slots.span[0].year if slots.span else ctx.today.year)
    if organiser is None or not directory.communes_of(organiser):
        cluster = await ctx.cluster()
        units = cluster.units if cluster else directory.commands()
        districts = [u for u in units if directory.communes_of(u)]
        prompt = "Diễn tập cấp xã do Ban CHQS huyện tổ chức. Xem kế hoạch của đơn vị nào?"
        return unit_picker("dientap", districts, f"p:{year}y", prompt=prompt)
    shared, plans = await kept.programme(ctx, organiser.id, year)
    if slots.span is not None and slots.span[1] - slots.span[0] < timedelta(days=62):
        start, end, _ = slots.span
        return views.drills_between_reply(organiser, plans, start, end, ctx.tz)
    communes = len(directory.communes_of(organiser))
    if slots.operation == "count":
        return views.count_reply(organiser, year, shared, plans, communes, ctx.tz)
    return views.programme_reply(organiser, year, shared, plans, communes, ctx.tz, codes=ctx.shows_codes)
