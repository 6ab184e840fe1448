"""Commune-level defensive combat drills (diễn tập chiến đấu phòng thủ) and their milestones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import UserError
from bot.models import DrillPlan, Event, Unit
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
    area: Unit | None
    milestones: list[Event]


# The questions' reads, built once with bound parameters.
@cache
def _milestones_query() -> Select[tuple[Event]]:
    return (
        select(Event)
        .where(Event.drill_plan_id.in_(bindparam("plan_ids", expanding=True)), Event.status != "cancelled")
        .order_by(Event.starts_at, Event.id)
    )


@cache
def _units_query() -> Select[tuple[Unit]]:
    return select(Unit).where(Unit.id.in_(bindparam("unit_ids", expanding=True)))


@cache
def _area_plans_query() -> Select[tuple[DrillPlan]]:
    return (
        select(DrillPlan)
        .where(DrillPlan.area_unit_id == bindparam("area_id"), DrillPlan.status != "cancelled")
        .order_by(DrillPlan.year.desc())
    )


async def _milestones(session: AsyncSession, plan_ids: list[int]) -> dict[int, list[Event]]:
    events = await session.scalars(_milestones_query(), {"plan_ids": plan_ids})
    grouped: dict[int, list[Event]] = {pid: [] for pid in plan_ids}
    for event in events:
        grouped[event.drill_plan_id].append(event)  # type: ignore[index]
    return grouped


async def _views(
    session: AsyncSession, plans: list[DrillPlan], known: dict[int, Unit] | None = None
) -> list[DrillView]:
    """``known``: areas the caller already has (by id); the others are read."""
    if not plans:
        return []
    milestones = await _milestones(session, [p.id for p in plans])
    areas = dict(known or {})
    area_ids = [p.area_unit_id for p in plans if p.area_unit_id and p.area_unit_id not in areas]
    if area_ids:
        areas.update((u.id, u) for u in await session.scalars(_units_query(), {"unit_ids": area_ids}))
    return [DrillView(p, areas.get(p.area_unit_id), milestones[p.id]) for p in plans]


async def drills_of_area(session: AsyncSession, area: Unit | UnitRef) -> list[DrillView]:
    """The drills of one commune (``area``, the row or its snapshot, is the area of each view)."""
    plans = await session.scalars(_area_plans_query(), {"area_id": area.id})
    return await _views(session, list(plans), {area.id: area})  # type: ignore[dict-item]


async def programme(session: AsyncSession, organiser_id: int, year: int) -> tuple[DrillView | None, list[DrillView]]:
    """A district's drill programme for a year: the shared plan and the commune drills."""
    plans = list(
        await session.scalars(
            select(DrillPlan)
            .where(
                DrillPlan.organising_unit_id == organiser_id,
                DrillPlan.year == year,
                DrillPlan.status != "cancelled",
            )
            .order_by(DrillPlan.id)
        )
    )
    views = await _views(session, plans)
    shared = next((v for v in views if v.plan.area_unit_id is None), None)
    drills = [v for v in views if v.plan.area_unit_id is not None]
    drills.sort(key=lambda v: v.milestones[0].starts_at if v.milestones else v.plan.id)
    return shared, drills


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
