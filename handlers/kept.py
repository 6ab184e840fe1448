"""The small tables questions read (focus tasks, planned events, drill plans, directives).

A read-only question takes them from snapshots of each whole table, made with one select per table
at each content version (:meth:`Context.kept_value`) and filtered by the pure functions of the
services, which filter and order as the services' selects do: at a steady content version such a
question sends no statement. A transaction that may write reads them with those selects, as ever.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from bot.services import drills, schedule, tasks
from handlers.context import Context

if TYPE_CHECKING:
    from bot.models import Directive, Event, Task
    from bot.services.units import UnitRef


async def tasks_for(ctx: Context, *, periods: list[str] | None = None, year: int | None = None) -> list[Task]:
    """:func:`bot.services.tasks.tasks_for`."""
    if not ctx.read_only:
        return await tasks.tasks_for(ctx.session, periods=periods, year=year)
    every = await ctx.kept_value(("tasks",), lambda: tasks.all_tasks(ctx.session))
    return tasks.select_tasks(every, periods=periods, year=year)


async def _events(ctx: Context) -> schedule.PlannedEvents:
    return await ctx.kept_value(("planned events",), lambda: schedule.planned_events(ctx.session))


async def events_between(
    ctx: Context, start: datetime, end: datetime, *, kinds: tuple[str, ...] | None = None, unit_id: int | None = None
) -> list[Event]:
    """:func:`bot.services.schedule.events_between`."""
    if not ctx.read_only:
        return await schedule.events_between(ctx.session, start, end, kinds=kinds, unit_id=unit_id)
    return schedule.events_in(await _events(ctx), start, end, kinds=kinds, unit_id=unit_id)


async def find_conferences(ctx: Context, *, subkinds: tuple[str, ...] | None, year: int | None) -> list[Event]:
    """:func:`bot.services.schedule.find_conferences` (in the cluster's time zone)."""
    if not ctx.read_only:
        return await schedule.find_conferences(ctx.session, subkinds=subkinds, year=year, tz=ctx.tz)
    return schedule.conferences_in(await _events(ctx), subkinds=subkinds, year=year, tz=ctx.tz)


async def upcoming_conferences(ctx: Context) -> list[Event]:
    """:func:`bot.services.schedule.upcoming_conferences` from now."""
    if not ctx.read_only:
        return await schedule.upcoming_conferences(ctx.session, ctx.now)
    return schedule.upcoming_in(await _events(ctx), ctx.now)


async def find_directives(ctx: Context, number: str | None, words: str | None) -> list[Directive]:
    """:func:`bot.services.schedule.find_directives`."""
    if not ctx.read_only:
        return await schedule.find_directives(ctx.session, number, words)
    every = await ctx.kept_value(("directives",), lambda: schedule.all_directives(ctx.session))
    return schedule.directives_in(every, number, words)


async def _drills(ctx: Context) -> tuple[drills.DrillView, ...]:
    return await ctx.kept_value(("drill plans",), lambda: drills.all_drills(ctx.session))


async def drills_of_area(ctx: Context, area: UnitRef) -> list[drills.DrillView]:
    """:func:`bot.services.drills.drills_of_area`."""
    if not ctx.read_only:
        return await drills.drills_of_area(ctx.session, area)
    return drills.drills_of_area_in(await _drills(ctx), area)


async def programme(
    ctx: Context, organiser_id: int, year: int
) -> tuple[drills.DrillView | None, list[drills.DrillView]]:
    """:func:`bot.services.drills.programme`."""
    if not ctx.read_only:
        return await drills.programme(ctx.session, organiser_id, year)
    return drills.programme_in(await _drills(ctx), organiser_id, year)
