"""What questions read, kept per content version: the small tables (focus tasks, planned events,
drill plans, directives), each cluster's results, and every unit's shifts of the weeks around today.

A read-only question takes them from snapshots made with one select per table (a few for the results,
one indexed select for the shifts) at each content version (:meth:`Context.kept_value`), filtered by
the pure functions of the services, which filter and order as the services' selects do: at a steady
content version such a question sends no statement. A transaction that may write reads them with
those selects, as ever; so does a question about days outside the kept weeks.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from bot.services import drills, duty, results, schedule, tasks
from handlers.context import Context

if TYPE_CHECKING:
    from bot.models import Directive, DutyShift, Event, Task
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


async def results_book(ctx: Context, cluster_id: int) -> results.ResultsBook:
    """The cluster's results whole (:func:`bot.services.results.load_book`), read afresh in a
    transaction that may write (as /xuat's)."""
    return await ctx.kept_value(("results book", cluster_id), lambda: results.load_book(ctx.session, cluster_id))


async def _window(ctx: Context, start: date, end: date) -> duty.RosterWindow | None:
    """The shifts of the weeks around today, when they hold ``start`` to ``end`` and the question
    only reads."""
    first, last = duty.window_around(ctx.today)
    if not ctx.read_only or not first <= start <= end <= last:
        return None
    # The same window serves every day of a week (it starts on the Monday of the week before).
    return await ctx.kept_latest("roster window", first, lambda: duty.roster_window(ctx.session, ctx.today))


async def roster(ctx: Context, unit_id: int, start: date, end: date) -> list[duty.DutyDay]:
    """:func:`bot.services.duty.roster`."""
    window = await _window(ctx, start, end)
    if window is None:
        return await duty.roster(ctx.session, unit_id, start, end)
    return window.roster(unit_id, start, end)


async def rosters_of_day(ctx: Context, unit_ids: list[int], day: date) -> dict[int, duty.DutyDay]:
    """:func:`bot.services.duty.rosters_of_day`."""
    window = await _window(ctx, day, day)
    if window is None:
        return await duty.rosters_of_day(ctx.session, unit_ids, day)
    return window.rosters_of_day(unit_ids, day)


async def shifts_of_member(ctx: Context, member_id: int, start: date, end: date) -> list[DutyShift]:
    """:func:`bot.services.duty.shifts_of_member`."""
    window = await _window(ctx, start, end)
    if window is None:
        return await duty.shifts_of_member(ctx.session, member_id, start, end)
    return window.shifts_of_member(member_id, start, end)
