"""Use cases: import a duty roster or a score sheet from an uploaded table (rows of cell texts).

Every row is checked first; one bad row means nothing is written (:class:`~bot.services.errors.ImportRejected`
lists them all). Reading the file into a table is :func:`bot.imports.read_table`, done by the caller."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.errors import UserError
from bot.imports import DRILL_SHEET, TASK_SHEET, RowError, ScoreRow, parse_items, parse_roster, parse_scores
from bot.models import DutyShift, Member, ReadinessPeriod, ReviewPeriod, Unit
from bot.services import audit, changes, duty, items
from bot.services import results as results_service
from bot.services.errors import (
    OutOfRangeRow,
    OutsideClusterRow,
    PastDayRow,
    RefusedRow,
    RowProblem,
    RowsRejected,
    TakenShiftRow,
    UnitUnknownForRoster,
    UnknownUnitRow,
)
from bot.services.members import Viewer
from bot.services.notices import Notice, shift_facts, unit_facts
from bot.services.people import require_admin
from bot.services.reminders import notify, shift_audience
from bot.services.subscriptions import load_audience
from bot.services.units import ClusterView, UnitDirectory, UnitRef
from bot.textnorm import contains_phrase, normalize
from bot.vntime import PeriodSpec, fmt_date

# on_progress(done, total): how many rows of a file a long import has checked or written so far.
Progress = Callable[[int, int], Awaitable[None]]
PROGRESS_STEP = 1000


class _Counter:
    """Rows done out of ``total``, told to ``on_progress`` at every PROGRESS_STEP rows and at the end.
    Rows are counted by position: entries of one row come together and rows in file order."""

    def __init__(self, total: int, on_progress: Progress | None) -> None:
        self.total = total
        self.on_progress = on_progress
        self.rows: set[int] = set()
        self.told = 0

    def due(self, row: int) -> bool:
        """Whether ``row`` starts a new step (the rows before it make a whole step)."""
        return row not in self.rows and len(self.rows) > 0 and len(self.rows) % PROGRESS_STEP == 0

    async def at_row(self, row: int) -> None:
        if row in self.rows:
            return
        done = len(self.rows)
        self.rows.add(row)
        if self.on_progress is not None and done and done % PROGRESS_STEP == 0 and done > self.told:
            self.told = done
            await self.on_progress(done, self.total)

    async def finish(self) -> None:
        if self.on_progress is not None and self.total > self.told:
            self.told = self.total
            await self.on_progress(self.total, self.total)


@dataclass(frozen=True)
class RosterImport:
    created: int  # shifts written (or, for a check, that would be)
    replaced: int  # older shifts cancelled (with "thay thế")
    unit_ids: list[int]
    first_day: date
    last_day: date
    told: int = 0  # notices queued


@dataclass(frozen=True)
class _Entry:
    row: int
    unit_id: int
    role: str
    day: date
    person: str


async def import_duty_roster(
    session: AsyncSession,
    actor: Viewer,
    table: list[list[str]],
    *,
    directory: UnitDirectory,
    default_unit_id: int | None,
    replace: bool,
    filename: str | None,
    handover: time,
    now: datetime,
    tz: ZoneInfo,
    write: bool = True,
    on_progress: Progress | None = None,
) -> RosterImport:
    """An admin imports duty shifts: one row per day, one column per duty role, a unit column or
    ``default_unit_id``. ``replace`` cancels the shifts already there on those days (their chats are told);
    ``handover`` is the default handover time of units that have none. ``on_progress(done, total)``
    is awaited every :data:`PROGRESS_STEP` rows (rows checked, or with ``write`` rows written) and
    once all are.

    Every error of the file is found before anything is written (:class:`RowsRejected` lists them
    all); ``write=False`` stops there and says what an import would do (the preview). Written shifts
    are told to the person on duty and the unit's groups, as a shift added by hand is."""
    require_admin(actor, "duty.import")
    rows, unreadable = parse_roster(table, now.astimezone(tz).date())
    problems: list[RowProblem] = []
    entries: list[_Entry] = []
    for row in rows:
        if row.unit:
            match = directory.resolve(row.unit)
            if match is None:
                problems.append(UnknownUnitRow(row.row, row.unit))
                continue
            unit_id = match.unit.id
        elif default_unit_id is not None:
            unit_id = default_unit_id
        else:
            raise UnitUnknownForRoster()
        entries.extend(_Entry(row.row, unit_id, role, row.day, person) for role, person in row.people.items())
    units = {u.id: u for u in await session.scalars(select(Unit).where(Unit.id.in_({e.unit_id for e in entries})))}
    times = {id(e): duty.shift_times(e.day, units[e.unit_id].duty_handover or handover, tz) for e in entries}
    taken = await _shifts_held(session, entries)
    old: dict[int, DutyShift] = {}
    checked = _Counter(len(rows), None if write else on_progress)
    for entry in entries:
        await checked.at_row(entry.row)
        start, end = times[id(entry)]
        if start < now:
            problems.append(PastDayRow(entry.row, entry.day))
            continue
        for shift in taken.get((entry.unit_id, entry.role), []):
            if shift.starts_at < end and shift.ends_at > start:
                if replace:
                    old[shift.id] = shift
                else:
                    problems.append(TakenShiftRow(entry.row, entry.role, entry.day, duty.person_text(shift), shift.id))
    if problems or unreadable:
        raise RowsRejected(_unique(problems), unreadable)
    await checked.finish()
    days = sorted(row.day for row in rows)
    unit_ids = list(dict.fromkeys(e.unit_id for e in entries))
    if not write:
        return RosterImport(len(entries), len(old), unit_ids, days[0], days[-1])
    told = 0
    for shift in old.values():
        unit = units[shift.unit_id]
        what = f"{duty.role_name(shift.role)} {unit.short_name} {fmt_date(shift.duty_date)}: "
        told += await changes.cancel_shift(session, shift, what=what + duty.person_text(shift), now=now)
    shifts = await _new_shifts(session, entries, times, now, _Counter(len(rows), on_progress))
    told += await _tell_shifts(session, shifts, units, now)
    await audit.record(
        session,
        actor,
        "duty.import",
        at=now,
        entity_type="duty_shift",
        after={"file": filename, "shifts": len(shifts), "replaced": len(old), "units": len(unit_ids)},
    )
    return RosterImport(len(shifts), len(old), unit_ids, days[0], days[-1], told)


def _unique(problems: list[RowProblem]) -> list[RowProblem]:
    return list(dict.fromkeys(problems))


async def _shifts_held(session: AsyncSession, entries: list[_Entry]) -> dict[tuple[int, str], list[DutyShift]]:
    """The planned shifts of the entries' units and roles around their days, by (unit, role): one query."""
    if not entries:
        return {}
    first = min(e.day for e in entries) - timedelta(days=1)
    last = max(e.day for e in entries) + timedelta(days=1)
    found = await session.scalars(
        select(DutyShift)
        .options(selectinload(DutyShift.member))
        .where(
            DutyShift.unit_id.in_({e.unit_id for e in entries}),
            DutyShift.role.in_({e.role for e in entries}),
            DutyShift.status != "cancelled",
            DutyShift.duty_date >= first,
            DutyShift.duty_date <= last,
        )
    )
    held: dict[tuple[int, str], list[DutyShift]] = defaultdict(list)
    for shift in found:
        held[(shift.unit_id, shift.role)].append(shift)
    return held


async def _new_shifts(
    session: AsyncSession,
    entries: list[_Entry],
    times: dict[int, tuple[datetime, datetime]],
    now: datetime,
    written: _Counter,
) -> list[DutyShift]:
    """The shifts of the entries, people resolved against each unit's members (one query per unit),
    reinforced inside a readiness period (one query); written :data:`PROGRESS_STEP` rows at a time,
    each step counted on ``written``."""
    people: dict[int, list[Member]] = defaultdict(list)
    members = await session.scalars(
        select(Member).where(Member.unit_id.in_({e.unit_id for e in entries}), Member.active.is_(True))
    )
    for member in members:
        people[member.unit_id or 0].append(member)
    first, last = min(e.day for e in entries), max(e.day for e in entries)
    periods = list(
        await session.scalars(
            select(ReadinessPeriod).where(ReadinessPeriod.starts_on <= last, ReadinessPeriod.ends_on >= first)
        )
    )
    shifts: list[DutyShift] = []
    step: list[DutyShift] = []
    found: dict[tuple[int, str], tuple[int | None, str | None]] = {}
    for entry in entries:
        if written.due(entry.row) and step:  # a step of rows done: write it (then it is counted)
            session.add_all(step)
            await session.flush()
            shifts.extend(step)
            step = []
        await written.at_row(entry.row)
        start, end = times[id(entry)]
        key = (entry.unit_id, entry.person)
        if key not in found:  # a roster names the same few people day after day
            found[key] = duty.person_among(people[entry.unit_id], entry.person)
        member_id, label = found[key]
        step.append(
            DutyShift(
                unit_id=entry.unit_id,
                duty_date=entry.day,
                role=entry.role,
                member_id=member_id,
                person_label=label,
                starts_at=start,
                ends_at=end,
                reinforced=any(p.starts_on <= entry.day <= p.ends_on for p in periods),
                updated_at=now,
            )
        )
    session.add_all(step)
    await session.flush()
    shifts.extend(step)
    await written.finish()
    return shifts


async def _tell_shifts(session: AsyncSession, shifts: list[DutyShift], units: dict[int, Unit], now: datetime) -> int:
    """Each new shift told to the person on duty and the unit's groups (the notice of /themtruc)."""
    audience = await load_audience(session)
    members = {
        m.id: m
        for m in await session.scalars(
            select(Member).where(Member.id.in_({s.member_id for s in shifts if s.member_id}))
        )
    }
    told = 0
    for shift in shifts:
        chats = shift_audience(audience, shift)
        if not chats:
            continue
        shift.member = members.get(shift.member_id or 0)
        facts = shift_facts(shift)
        told += await notify(
            session,
            what="new",
            entity_type="shift",
            entity_id=shift.id,
            version=shift.version or 1,
            chats=chats,
            notice=Notice("shift_assigned", {"shift": facts, "unit": unit_facts(units[shift.unit_id])}),
            now=now,
        )
    return told


@dataclass(frozen=True)
class ScoreImport:
    period: ReviewPeriod | None  # None for a check (``write=False``)
    units: int  # units whose scores were written


async def import_scores(
    session: AsyncSession,
    actor: Viewer,
    table: list[list[str]],
    *,
    cluster: ClusterView,
    period: PeriodSpec,
    directory: UnitDirectory,
    now: datetime,
    write: bool = True,
) -> ScoreImport:
    """An admin imports a score sheet (a row per unit of the cluster, a column per criterion) for a
    review period; totals, ranks and grades are recomputed. Every error is found first; ``write=False``
    stops there (the preview)."""
    require_admin(actor, "scores.import")
    criteria = await results_service.criteria_of(session, cluster.id)
    rows, unreadable = parse_scores(table, [c.code for c in criteria])
    by_code = {c.code.upper(): c for c in criteria}
    problems: list[RowProblem] = []
    resolved: list[tuple[UnitRef, ScoreRow]] = []
    members = set(cluster.unit_ids())
    for row in rows:
        match = directory.resolve(row.unit)
        if match is None or match.unit.id not in members:
            problems.append(OutsideClusterRow(row.row, row.unit))
            continue
        for code, value in row.points.items():
            criterion = by_code[code]
            if not criterion.min_points <= value <= criterion.max_points:
                problems.append(OutOfRangeRow(row.row, code, value, criterion.min_points, criterion.max_points))
        resolved.append((match.unit, row))
    if problems or unreadable:
        raise RowsRejected(problems, unreadable)
    if not write:
        return ScoreImport(None, len(resolved))
    review = await results_service.ensure_period(session, cluster.id, period)
    for unit, row in resolved:
        await results_service.enter_scores(
            session,
            period=review,
            unit_id=unit.id,
            points=row.points,
            member_id=actor.member.id if actor.member else None,
            now=now,
        )
    await audit.record(
        session,
        actor,
        "scores.import",
        at=now,
        entity_type="review_period",
        entity_id=review.id,
        after={"period": period.label(), "units": len(resolved)},
    )
    return ScoreImport(review, len(resolved))


# --- focus tasks and commune drills: each row through its single-item use case ------------------------


@dataclass(frozen=True)
class ItemsImport:
    count: int  # items written (or, for a check, that would be)
    told: int  # notices queued


async def _rows_through(
    session: AsyncSession,
    rows: list[tuple[int, str, str, Callable[[], Awaitable[int]]]],
    problems: list[RowProblem],
    unreadable: list[RowError],
    *,
    write: bool,
) -> ItemsImport:
    """Run each row's use case (row, column, cell, call returning the chats told) in its own savepoint,
    so that every refused row is found; everything is undone unless all rows pass and ``write``."""
    outer = await session.begin_nested()
    told = 0
    for row, column, value, call in rows:
        try:
            async with session.begin_nested():
                told += await call()
        except UserError as exc:
            problems.append(RefusedRow(row, column, value, str(exc)))
    if problems or unreadable or not write:
        await outer.rollback()
    else:
        await outer.commit()
    if problems or unreadable:
        raise RowsRejected(sorted(problems, key=lambda p: p.row), unreadable)
    return ItemsImport(len(rows), told if write else 0)


async def import_tasks(
    session: AsyncSession,
    actor: Viewer,
    table: list[list[str]],
    *,
    cluster: ClusterView | None,
    directory: UnitDirectory,
    now: datetime,
    tz: ZoneInfo,
    write: bool = True,
) -> ItemsImport:
    """An admin imports focus tasks: a row per task (title, due date, units or "cả cụm"); each is added
    as /themnhiemvu adds one (its units' chats told, audited)."""
    require_admin(actor, "task.create")
    today = now.astimezone(tz).date()
    rows, unreadable = parse_items(table, TASK_SHEET, today)
    problems: list[RowProblem] = []
    calls = []
    for row in rows:
        units_text = row.texts["units"]
        whole = contains_phrase(normalize(units_text), "ca cum")
        unit_ids: list[int] = []
        if not whole:
            for name in (n.strip() for n in re.split(r"[,;\n]", units_text)):
                match = directory.resolve(name) if name else None
                if name and match is None:
                    problems.append(UnknownUnitRow(row.row, name))
                elif match is not None:
                    unit_ids.append(match.unit.id)
        draft = items.TaskDraft(row.texts["title"], row.dates["due"][0], tuple(unit_ids), cluster_wide=whole)

        async def add(draft: items.TaskDraft = draft) -> int:
            added = await items.add_task(
                session,
                actor,
                draft,
                cluster_id=cluster.id if cluster else None,
                cluster_unit_ids=list(cluster.unit_ids()) if cluster else [],
                now=now,
                today=today,
            )
            return added.told

        calls.append((row.row, TASK_SHEET.names["title"], row.texts["title"][:60], add))
    return await _rows_through(session, calls, problems, unreadable, write=write)


async def import_drills(
    session: AsyncSession,
    actor: Viewer,
    table: list[list[str]],
    *,
    directory: UnitDirectory,
    now: datetime,
    tz: ZoneInfo,
    write: bool = True,
) -> ItemsImport:
    """An admin imports commune drill plans: a row per commune (its review day, optionally the exercise
    days); each is added as /themdientap adds one (the commune's and the organiser's chats told)."""
    require_admin(actor, "drill.create")
    rows, unreadable = parse_items(table, DRILL_SHEET, now.astimezone(tz).date())
    problems: list[RowProblem] = []
    calls = []
    for row in rows:
        match = directory.resolve(row.texts["area"], communes=True)
        if match is None or match.unit.kind != "commune":
            problems.append(UnknownUnitRow(row.row, row.texts["area"]))
            continue
        draft = items.DrillDraft(match.unit.id, row.dates["review"][0], row.dates.get("exercise"))

        async def add(draft: items.DrillDraft = draft) -> int:
            return (await items.add_drill_plan(session, actor, draft, now=now, tz=tz)).told

        calls.append((row.row, DRILL_SHEET.names["review"], row.texts["review"], add))
    return await _rows_through(session, calls, problems, unreadable, write=write)
