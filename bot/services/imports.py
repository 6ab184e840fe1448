"""Use cases: import a duty roster or a score sheet from an uploaded table (rows of cell texts).

Every row is checked first; one bad row means nothing is written (:class:`~bot.services.errors.ImportRejected`
lists them all). Reading the file into a table is :func:`bot.imports.read_table`, done by the caller."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.imports import ScoreRow, parse_roster, parse_scores
from bot.models import DutyShift, ReviewPeriod, Unit
from bot.services import audit, changes, duty
from bot.services import results as results_service
from bot.services.errors import (
    FileRowsRejected,
    OutOfRangeRow,
    OutsideClusterRow,
    RowProblem,
    RowsRejected,
    UnitUnknownForRoster,
    UnknownUnitRow,
)
from bot.services.members import Viewer
from bot.services.people import require_admin
from bot.services.units import ClusterView, UnitDirectory, UnitRef
from bot.vntime import PeriodSpec, fmt_date


@dataclass(frozen=True)
class RosterImport:
    created: int  # shifts written
    replaced: int  # older shifts cancelled (with "thay thế")
    unit_ids: list[int]
    first_day: date
    last_day: date


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
) -> RosterImport:
    """An admin imports duty shifts: one row per day, one column per duty role, a unit column or
    ``default_unit_id``. ``replace`` cancels the shifts already there on those days (their chats are told);
    ``handover`` is the default handover time of units that have none."""
    require_admin(actor, "duty.import")
    rows, errors = parse_roster(table, now.astimezone(tz).date())
    if errors:
        raise FileRowsRejected(errors)
    by_unit: dict[int, dict[str, list[tuple[date, str]]]] = defaultdict(lambda: defaultdict(list))
    problems: list[RowProblem] = []
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
        for role, person in row.people.items():
            by_unit[unit_id][role].append((row.day, person))
    if problems:
        raise RowsRejected(problems)
    created, replaced = 0, 0
    for unit_id, roles in by_unit.items():
        unit = await session.get(Unit, unit_id)
        assert unit is not None
        unit_handover = unit.duty_handover or handover
        for role, entries in roles.items():
            if replace:
                for day, _ in entries:
                    start, end = duty.shift_times(day, unit_handover, tz)
                    while (old := await duty.overlapping(session, unit_id, role, start, end)) is not None:
                        what = f"{duty.role_name(role)} {unit.short_name} {fmt_date(old.duty_date)}: "
                        await changes.cancel_shift(session, old, what=what + duty.person_text(old), now=now)
                        replaced += 1
            people = [await duty.resolve_person(session, unit_id, person) for _, person in entries]
            shifts: list[DutyShift] = await duty.new_shifts(
                session,
                unit_id=unit_id,
                days=[day for day, _ in entries],
                role=role,
                people=people,
                handover=unit_handover,
                now=now,
                tz=tz,
            )
            created += len(shifts)
    days = sorted(row.day for row in rows)
    await audit.record(
        session,
        actor,
        "duty.import",
        at=now,
        entity_type="duty_shift",
        after={"file": filename, "shifts": created, "replaced": replaced, "units": len(by_unit)},
    )
    return RosterImport(created, replaced, list(by_unit), days[0], days[-1])


@dataclass(frozen=True)
class ScoreImport:
    period: ReviewPeriod
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
) -> ScoreImport:
    """An admin imports a score sheet (a row per unit of the cluster, a column per criterion) for a
    review period; totals, ranks and grades are recomputed."""
    require_admin(actor, "scores.import")
    criteria = await results_service.criteria_of(session, cluster.id)
    rows, errors = parse_scores(table, [c.code for c in criteria])
    if errors:
        raise FileRowsRejected(errors)
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
    if problems:
        raise RowsRejected(problems)
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
