"""/nhiemvu (/tasks): focus tasks and each unit's progress."""

from __future__ import annotations

from bot.messages import Reply
from bot.services import tasks
from bot.views import tasks as views
from handlers.context import Context


async def cmd_tasks(ctx: Context) -> Reply:
    slots = ctx.slots
    periods: list[str] | None = None
    year = ctx.today.year
    title_period = None
    if slots.period is not None:
        year = slots.period.year
        if slots.period.kind == "half":
            title_period = f"{year}-H{slots.period.number}"
            periods = [title_period]
        elif slots.period.kind == "quarter":
            title_period = tasks.period_of(slots.period.bounds()[0])
            periods = [title_period, f"{year}-Q{slots.period.number}"]
    found = await tasks.tasks_for(ctx.session, periods=periods, year=year)
    unit = slots.unit.unit if slots.unit else ctx.viewer.unit
    directory = await ctx.directory()
    units = {u.id: u for u in directory.commands()}
    # Admins asking for the whole cluster see every unit's status.
    per_unit = unit is None and ctx.viewer.at_least("admin")
    return views.tasks_reply(found, units, ctx.today, unit=unit, title_period=title_period, per_unit=per_unit)
