"""Commune-level defensive combat drills (diễn tập chiến đấu phòng thủ) and their milestones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UserError
from bot.models import DrillPlan, Event, Unit
from bot.services.units import snapshot_columns, snapshot_of_row
from bot.vntime import fmt_date

if TYPE_CHECKING:
    from bot.services.units import UnitRef

# Steps of a drill, in order (DOMAIN.md §3).
DRILL_STEPS = {
    "quyet_dinh": "QĐ thành lập BCĐ",
    "ke_hoach": "Kế hoạch",
    "khao_sat": "Khảo sát",
    "tap_huan": "Tập huấn khung",
    "van_kien": "Soạn văn kiện",
    "kiem_tra_duyet": "Kiểm tra, duyệt",
    "thuc_hanh": "Thực hành (3 giai đoạn)",
    "rut_kinh_nghiem": "Rút kinh nghiệm",
    "tong_ket": "Tổng kết",
}


def step_order(step: str | None) -> int:
    steps = list(DRILL_STEPS)
    return steps.index(step) if step in steps else len(steps)


@dataclass(frozen=True)
class DrillView:
    plan: DrillPlan
    area: Unit | UnitRef | None
    milestones: tuple[Event, ...]  # not cancelled, by start then id


# The questions' reads, built once with bound parameters: Core selects read into frozen snapshots
# (:func:`bot.services.units.snapshot`), each plan with its area and its milestones in one statement.
@cache
def _plans_query(of_area: bool, every: bool = False) -> Select[Any]:
    """Each plan's columns, its area's (a commune's plan is asked by its area: known, not read), then
    one of its milestones' (none: NULLs). ``of_area``: a commune's plans, newest first; else a
    district's programme of a year (``every``: all plans), in the order the plans were made."""
    plans, events, units = DrillPlan.__table__.c, Event.__table__.c, Unit.__table__.c
    area = () if of_area else snapshot_columns(Unit)
    query = select(*snapshot_columns(DrillPlan), *area, *snapshot_columns(Event))
    joined = (
        DrillPlan.__table__
        if of_area
        else DrillPlan.__table__.outerjoin(Unit.__table__, units.id == plans.area_unit_id)
    )
    query = query.select_from(
        joined.outerjoin(Event.__table__, (events.drill_plan_id == plans.id) & (events.status != "cancelled"))
    ).where(plans.status != "cancelled")
    if of_area:
        query = query.where(plans.area_unit_id == bindparam("area_id")).order_by(plans.year.desc(), plans.id)
    elif every:
        query = query.order_by(plans.id)
    else:
        query = query.where(
            plans.organising_unit_id == bindparam("organiser_id"), plans.year == bindparam("year")
        ).order_by(plans.id)
    return query.order_by(events.starts_at, events.id)


async def _read_views(
    session: AsyncSession,
    of_area: bool,
    params: dict[str, Any],
    area: Unit | UnitRef | None = None,
    every: bool = False,
) -> list[DrillView]:
    plan_end = len(snapshot_columns(DrillPlan))
    event_start = plan_end if of_area else plan_end + len(snapshot_columns(Unit))
    found: dict[int, tuple[Any, Any, list[Event]]] = {}
    for row in await session.execute(_plans_query(of_area, every), params):
        if row[0] not in found:
            if of_area:
                known = area
            else:
                known = snapshot_of_row(Unit, row, plan_end) if row[plan_end] is not None else None
            found[row[0]] = (snapshot_of_row(DrillPlan, row[:plan_end]), known, [])
        if row[event_start] is not None:  # the milestone's id: NULL for a plan without milestones
            found[row[0]][2].append(snapshot_of_row(Event, row, event_start))
    return [DrillView(plan, known, tuple(milestones)) for plan, known, milestones in found.values()]


async def drills_of_area(session: AsyncSession, area: Unit | UnitRef) -> list[DrillView]:
    """The drills of one commune (``area``, the row or its snapshot, is the area of each view)."""
    return await _read_views(session, True, {"area_id": area.id}, area)


async def programme(session: AsyncSession, organiser_id: int, year: int) -> tuple[DrillView | None, list[DrillView]]:
    """A district's drill programme for a year: the shared plan and the commune drills."""
    return _split_programme(await _read_views(session, False, {"organiser_id": organiser_id, "year": year}))


def _split_programme(views: list[DrillView]) -> tuple[DrillView | None, list[DrillView]]:
    shared = next((v for v in views if v.plan.area_unit_id is None), None)
    drills = [v for v in views if v.plan.area_unit_id is not None]
    drills.sort(key=lambda v: v.milestones[0].starts_at if v.milestones else v.plan.id)
    return shared, drills


async def all_drills(session: AsyncSession) -> tuple[DrillView, ...]:
    """Every plan not cancelled, in the order made, with its area and its milestones: what a
    read-only question keeps per content version and filters with :func:`drills_of_area_in` and
    :func:`programme_in`."""
    return tuple(await _read_views(session, False, {}, every=True))


def drills_of_area_in(every: Sequence[DrillView], area: Unit | UnitRef) -> list[DrillView]:
    """What :func:`drills_of_area` reads, taken from ``every`` (:func:`all_drills`): the commune's
    plans, newest year first, then in the order made."""
    found = sorted((v for v in every if v.plan.area_unit_id == area.id), key=lambda v: -v.plan.year)
    return [DrillView(v.plan, area, v.milestones) for v in found]


def programme_in(every: Sequence[DrillView], organiser_id: int, year: int) -> tuple[DrillView | None, list[DrillView]]:
    """What :func:`programme` reads, taken from ``every`` (:func:`all_drills`)."""
    return _split_programme([v for v in every if v.plan.organising_unit_id == organiser_id and v.plan.year == year])


async def new_drill(
    session: AsyncSession,
    *,
    area: Unit,
    review_day: date,
    exercise: tuple[date, date] | None,
    now: datetime,
    today: date,
    tz: ZoneInfo,
) -> DrillPlan:
    """A commune drill with its three milestones (kiểm tra, duyệt; thực hành; rút kinh nghiệm), under
    the district's programme of that year if there is one."""
    if area.kind != "commune" or area.parent_id is None:
        raise UserError("Diễn tập chiến đấu phòng thủ cấp xã: hãy cho tên xã, phường hoặc thị trấn.")
    if review_day <= today:
        raise UserError(f"Ngày kiểm tra, duyệt {fmt_date(review_day)} đã qua hoặc là hôm nay; cho một ngày sắp tới.")
    first, last = exercise or (review_day + timedelta(days=1), review_day + timedelta(days=2))
    if first < review_day or last < first:
        raise UserError("Ngày thực hành phải sau ngày kiểm tra, duyệt, và ngày cuối không trước ngày đầu.")
    year = review_day.year
    existing = await session.scalar(
        select(DrillPlan).where(
            DrillPlan.area_unit_id == area.id, DrillPlan.year == year, DrillPlan.status != "cancelled"
        )
    )
    if existing is not None:
        raise UserError(f"{area.name} đã có kế hoạch diễn tập năm {year} [D{existing.id}]. Dùng /sua hoặc /huy.")
    programme = await session.scalar(
        select(DrillPlan).where(
            DrillPlan.organising_unit_id == area.parent_id, DrillPlan.year == year, DrillPlan.area_unit_id.is_(None)
        )
    )
    plan = DrillPlan(
        organising_unit_id=area.parent_id,
        area_unit_id=area.id,
        parent_id=programme.id if programme else None,
        year=year,
        kind="dtcdpt_xa",
        title=f"Diễn tập chiến đấu phòng thủ {area.name}",
    )
    session.add(plan)
    await session.flush()
    steps = [
        ("kiem_tra_duyet", "Kiểm tra, duyệt", review_day, review_day, None),
        ("thuc_hanh", "Thực hành (3 giai đoạn)", first, last, None),
        ("rut_kinh_nghiem", "Rút kinh nghiệm", last, last, "chieu"),
    ]
    for step, title, start, end, session_name in steps:
        session.add(
            Event(
                kind="drill",
                subkind=step,
                title=title,
                drill_plan_id=plan.id,
                all_day=True,
                session=session_name,
                starts_at=datetime.combine(start, time(0), tz),
                ends_at=datetime.combine(end, time(23, 59), tz),
                host_unit_id=area.parent_id,
                units=[area],
                created_at=now,
                updated_at=now,
            )
        )
    await session.flush()
    return plan


async def commune_without_plan(session: AsyncSession, year: int, district: UnitRef | Unit | None) -> str | None:
    """The name of a commune (of ``district`` if given) with no drill plan that year: a template's example."""
    planned = select(DrillPlan.area_unit_id).where(
        DrillPlan.year == year, DrillPlan.status != "cancelled", DrillPlan.area_unit_id.is_not(None)
    )
    query = select(Unit.short_name).where(Unit.kind == "commune", Unit.id.not_in(planned))
    if district is not None:
        query = query.where(Unit.parent_id == district.id)
    return await session.scalar(query.order_by(Unit.id).limit(1))
