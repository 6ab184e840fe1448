"""/nhiemvu (/tasks): focus tasks and each unit's progress."""

from __future__ import annotations

import re

from bot.messages import Reply
from bot.services import tasks
from bot.views import tasks as views
from handlers import kept
from handlers.context import Context


async def cmd_tasks(ctx: Context, *, of_year: tuple[int, list[tasks.Task]] | None = None) -> Reply:
    """``of_year``: the tasks of a year already read (a plain question's), filtered here instead of
    read again."""
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
    if of_year is not None and of_year[0] == year:  # every period asked is of that year ("2022-H2")
        found = [t for t in of_year[1] if periods is None or t.period in periods]
    else:
        found = await kept.tasks_for(ctx, periods=periods, year=year)
    unit = slots.unit.unit if slots.unit else ctx.viewer.unit
    directory = await ctx.directory()
    units = {u.id: u for u in directory.commands()}
    # Admins asking for the whole cluster see every unit's status.
    per_unit = unit is None and ctx.viewer.at_least("admin")
    return views.tasks_reply(found, units, ctx.today, unit=unit, title_period=title_period, per_unit=per_unit)


# "Sắp đến hạn": due within this many days.
DUE_SOON_DAYS = 30


async def ask_tasks(ctx: Context) -> Reply:
    """A plain question about tasks: one task by code or topic (what it is, its due date, the units
    that have not reported or finished it), the tasks due soon, or else what /nhiemvu answers."""
    slots = ctx.slots
    year = slots.period.year if slots.period else ctx.today.year
    found = of_year = await kept.tasks_for(ctx, year=year)
    if not found and slots.period is None:
        found = await kept.tasks_for(ctx)
    directory = await ctx.directory()
    units = {u.id: u for u in directory.commands()}
    unit = slots.unit.unit if slots.unit else ctx.viewer.unit
    task = None
    if slots.task_code:
        task = next((t for t in found if (t.code or "").upper() == slots.task_code), None)
        if task is None:
            return views.no_task_reply(slots.task_code, found)
    elif slots.task_topic and slots.operation != "due_soon":
        task = next((t for t in found if t.category == slots.task_topic), None)
    if slots.operation == "not_done":
        reported = bool(re.search(r"\b(bao cao|nop)\b", slots.norm))
        chosen = [task] if task else found
        return views.not_done_reply(chosen, units, ctx.today, reported_only=reported)
    if task is not None and re.search(r"\b(cac don vi|don vi nao|tung don vi|moi don vi|giao cho)\b", slots.norm):
        return views.task_units_reply(task, units, ctx.today)
    if task is not None:
        due_only = slots.operation in ("due", "due_soon", "when")
        return views.task_reply(task, units, ctx.today, unit=unit, due_only=due_only)
    if slots.operation == "done" and task is None:
        return views.done_reply(found, unit=unit)
    if slots.span is not None and slots.operation in ("due", "due_soon", "show", "when") and task is None:
        start, end, _ = slots.span
        return views.due_between_reply(found, ctx.today, start, end)
    if slots.operation == "overdue":
        return views.overdue_reply(found, ctx.today, unit=unit)
    if slots.operation == "due_soon":
        return views.due_soon_reply(found, ctx.today, DUE_SOON_DAYS, unit=unit)
    return await cmd_tasks(ctx, of_year=(year, of_year))
