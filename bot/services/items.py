"""Admins add items: meetings and conferences, duty shifts, commune drills, focus tasks, scores,
published results, news, announcements.

Each use case takes the acting member and typed arguments; in the caller's transaction it checks the
actor, validates, writes, records the audit entry and queues the notices to the chats concerned
(through the outbox). Refusals are :class:`bot.errors.DomainError` (or, from the lower-level
services, :class:`bot.errors.UserError`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import (
    AlreadyPublished,
    NoCluster,
    NoCriteria,
    NotAllowed,
    PeriodNotFound,
    UnknownCriterion,
)
from bot.models import Criterion, DrillPlan, DutyShift, Event, NewsItem, ReviewPeriod, Task, Unit
from bot.services import announcements, audit, drills, duty, news, schedule, tasks
from bot.services import results as results_service
from bot.services.members import Viewer
from bot.services.notices import Notice, shift_facts, task_facts, unit_facts
from bot.services.reminders import notify, shift_audience, task_audience
from bot.services.results import ResultRow, ResultTable
from bot.services.subscriptions import load_audience
from bot.vntime import PeriodSpec


def require_admin(actor: Viewer, action: str) -> None:
    """Admin-only changes refuse anyone else (the router checks too)."""
    if not actor.at_least("admin"):
        raise NotAllowed(action=action, role=actor.role)


async def _short_names(session: AsyncSession, unit_ids: list[int]) -> list[str]:
    rows = await session.execute(select(Unit.id, Unit.short_name).where(Unit.id.in_(unit_ids)))
    names: dict[int, str] = {unit_id: name for unit_id, name in rows}
    return [names[i] for i in unit_ids if i in names]


# --- Meetings and conferences -----------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingDraft:
    title: str
    starts_at: datetime
    ends_at: datetime | None
    session_name: str | None  # sáng / chiều / tối, when given that way
    location: str
    host_unit_id: int | None
    unit_ids: tuple[int, ...] = ()
    cluster_wide: bool = False


@dataclass(frozen=True)
class MeetingAdded:
    event: Event
    told: int


async def add_meeting(
    session: AsyncSession, actor: Viewer, draft: MeetingDraft, *, cluster_id: int | None, now: datetime, tz: ZoneInfo
) -> MeetingAdded:
    """A conference or meeting (the kind is guessed from the title), its participant units told."""
    require_admin(actor, "event.create")
    units = list(await session.scalars(select(Unit).where(Unit.id.in_(draft.unit_ids))))
    event, told = await schedule.new_event(
        session,
        title=draft.title,
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        session_name=draft.session_name,
        location=draft.location,
        host_unit_id=draft.host_unit_id,
        units=units,
        cluster_wide=draft.cluster_wide,
        cluster_id=cluster_id,
        now=now,
        tz=tz,
    )
    await audit.record(
        session,
        actor,
        "event.create",
        at=now,
        entity_type="event",
        entity_id=event.id,
        after={"title": event.title, "starts_at": draft.starts_at.isoformat(), "location": event.location},
    )
    return MeetingAdded(event, told)


# --- Duty shifts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShiftsDraft:
    unit_id: int
    days: tuple[date, ...]
    role: str
    # (member id, None) or (None, label such as "Tổ 1"): one for every day, or one per day
    people: tuple[tuple[int | None, str | None], ...]


@dataclass(frozen=True)
class ShiftsAdded:
    shifts: list[DutyShift]
    told: int


async def add_shifts(
    session: AsyncSession, actor: Viewer, draft: ShiftsDraft, *, default_handover: time, now: datetime, tz: ZoneInfo
) -> ShiftsAdded:
    """One shift per day; each is told to the person on duty and the unit's chats."""
    require_admin(actor, "duty.create")
    unit = await session.get(Unit, draft.unit_id)
    assert unit is not None
    shifts = await duty.new_shifts(
        session,
        unit_id=unit.id,
        days=list(draft.days),
        role=draft.role,
        people=list(draft.people),
        handover=unit.duty_handover or default_handover,
        now=now,
        tz=tz,
    )
    audience = await load_audience(session)
    told = 0
    for shift in shifts:
        loaded = await duty.load_shift(session, shift.id)
        assert loaded is not None
        told += await notify(
            session,
            what="new",
            entity_type="shift",
            entity_id=shift.id,
            version=shift.version,
            chats=shift_audience(audience, loaded),
            notice=Notice("shift_assigned", {"shift": shift_facts(loaded), "unit": unit_facts(unit)}),
            now=now,
        )
    await audit.record(
        session,
        actor,
        "duty.create",
        at=now,
        entity_type="duty_shift",
        entity_id=shifts[0].id,
        after={"unit": unit.name, "role": draft.role, "days": [d.isoformat() for d in draft.days]},
    )
    return ShiftsAdded(shifts, told)


# --- Commune drills -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrillDraft:
    area_unit_id: int  # the commune
    review_day: date  # kiểm tra, duyệt
    exercise: tuple[date, date] | None = None  # thực hành (default: the two days after the review)


@dataclass(frozen=True)
class DrillAdded:
    plan: DrillPlan
    told: int


async def add_drill_plan(
    session: AsyncSession, actor: Viewer, draft: DrillDraft, *, now: datetime, tz: ZoneInfo
) -> DrillAdded:
    """A commune's drill with its milestones; the commune's and the organiser's chats are told."""
    require_admin(actor, "drill.create")
    area = await session.get(Unit, draft.area_unit_id)
    assert area is not None
    plan = await drills.new_drill(
        session,
        area=area,
        review_day=draft.review_day,
        exercise=draft.exercise,
        now=now,
        today=now.astimezone(tz).date(),
        tz=tz,
    )
    audience = await load_audience(session)
    told = await notify(
        session,
        what="new",
        entity_type="drill_plan",
        entity_id=plan.id,
        version=1,
        chats=audience.for_units("drill", [area.id, plan.organising_unit_id]),
        notice=Notice(
            "drill_plan_new",
            {"title": plan.title, "review_day": draft.review_day.isoformat(), "area_short_name": area.short_name},
        ),
        now=now,
    )
    await audit.record(
        session,
        actor,
        "drill.create",
        at=now,
        entity_type="drill_plan",
        entity_id=plan.id,
        after={"area": area.name, "review": draft.review_day.isoformat()},
    )
    return DrillAdded(plan, told)


# --- Focus tasks --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskDraft:
    title: str
    due_on: date
    unit_ids: tuple[int, ...] = ()
    cluster_wide: bool = False  # every unit of the cluster (``unit_ids`` ignored)


@dataclass(frozen=True)
class TaskAdded:
    task: Task
    unit_names: list[str]  # short names, in the order given
    told: int


async def add_task(
    session: AsyncSession,
    actor: Viewer,
    draft: TaskDraft,
    *,
    cluster_id: int | None,
    cluster_unit_ids: list[int],
    now: datetime,
    today: date,
) -> TaskAdded:
    """A focus task assigned to units (or the whole cluster); their chats are told."""
    require_admin(actor, "task.create")
    unit_ids = cluster_unit_ids if draft.cluster_wide and cluster_id is not None else list(draft.unit_ids)
    task = await tasks.new_task(
        session, cluster_id=cluster_id, title=draft.title, due_on=draft.due_on, unit_ids=unit_ids, now=now, today=today
    )
    names = await _short_names(session, unit_ids)
    told = await notify(
        session,
        what="new",
        entity_type="task",
        entity_id=task.id,
        version=task.version,
        chats=task_audience(await load_audience(session), unit_ids),
        notice=Notice("task_new", {"task": task_facts(task), "units": names}),
        now=now,
    )
    await audit.record(
        session,
        actor,
        "task.create",
        at=now,
        entity_type="task",
        entity_id=task.id,
        after={"code": task.code, "title": task.title, "due": draft.due_on.isoformat(), "units": names},
    )
    return TaskAdded(task, names, told)


# --- Scores and results -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreSheet:
    unit_id: int
    period: PeriodSpec
    points: Mapping[str, str | Decimal]  # criterion code -> points ("18,5", "+1", Decimal)


@dataclass(frozen=True)
class ScoresRecorded:
    period: ReviewPeriod
    changes: dict[str, tuple[Decimal | None, Decimal]]  # code -> (before, after)
    row: ResultRow | None  # the unit's standing now
    ranked: int  # units in the table


def _number(raw: str | Decimal) -> Decimal | None:
    if isinstance(raw, Decimal):
        return raw
    try:
        value = Decimal(str(raw).strip().replace(",", ".").replace("−", "-"))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


async def record_scores(
    session: AsyncSession, actor: Viewer, sheet: ScoreSheet, *, cluster_id: int | None, now: datetime
) -> ScoresRecorded:
    """A unit's points for a review period, each checked against its criterion; totals, ranks and
    grades are recomputed."""
    require_admin(actor, "scores.enter")
    if cluster_id is None:
        raise NoCluster()
    criteria = {c.code.upper(): c for c in await results_service.criteria_of(session, cluster_id)}
    if not criteria:
        raise NoCriteria(cluster_id=cluster_id)
    points: dict[str, Decimal] = {}
    for raw_code, raw in sheet.points.items():
        code = raw_code.upper()
        criterion = criteria.get(code)
        if criterion is None:
            raise UnknownCriterion(code=code, known=tuple(criteria))
        value = _number(raw)
        if value is None:
            raise results_service.invalid_score(criterion, raw, "not_a_number")
        if not criterion.min_points <= value <= criterion.max_points:
            raise results_service.invalid_score(criterion, value, "out_of_range")
        points[code] = value
    period = await results_service.ensure_period(session, cluster_id, sheet.period)
    changes = await results_service.enter_scores(
        session,
        period=period,
        unit_id=sheet.unit_id,
        points=points,
        member_id=actor.member.id if actor.member else None,
        now=now,
    )
    await audit.record(
        session,
        actor,
        "scores.enter",
        at=now,
        entity_type="review_period",
        entity_id=period.id,
        before={c: str(b) if b is not None else None for c, (b, _a) in changes.items()},
        after={"unit_id": sheet.unit_id, **{c: str(a) for c, (_b, a) in changes.items()}},
    )
    table = await results_service.result_table(session, period)
    return ScoresRecorded(period, changes, table.row_of(sheet.unit_id), len(table.rows))


async def criteria_missing(
    session: AsyncSession, *, cluster_id: int | None, period: PeriodSpec, unit_id: int, given: set[str]
) -> list[Criterion]:
    """The required criteria a unit still has no points for in ``period`` once the codes ``given``
    are written (read only): what /chamdiem names before it saves an incomplete sheet."""
    if cluster_id is None:
        raise NoCluster()
    criteria = await results_service.criteria_of(session, cluster_id)
    found = await results_service.find_period(session, cluster_id, period)
    return await results_service.missing_criteria(session, found, unit_id, criteria, {c.upper() for c in given})


@dataclass(frozen=True)
class PublishPreview:
    """What /congbo would publish: the table, the cluster's units with no points at all, and the
    units whose sheet lacks some required criteria (unit -> the codes missing)."""

    table: ResultTable
    unscored: list[Unit]
    incomplete: list[tuple[Unit, list[str]]]


async def results_to_publish(
    session: AsyncSession, cluster_id: int, spec: PeriodSpec, unit_ids: list[int]
) -> PublishPreview:
    """The table /congbo would publish (read only) for the cluster's ``unit_ids``; refused as
    :func:`publish_results` would be."""
    period = await results_service.find_period(session, cluster_id, spec)
    if period is None:
        raise PeriodNotFound(label=spec.label())
    if period.status == "published":
        raise AlreadyPublished(label=spec.label())
    table = await results_service.result_table(session, period)
    scored = {row.unit.id for row in table.rows}
    units = {u.id: u for u in await session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))}
    required = [c.code for c in results_service.required_criteria(table.criteria)]
    incomplete = [
        (row.unit, missing) for row in table.rows if (missing := [c for c in required if c not in row.scores])
    ]
    return PublishPreview(table, [units[i] for i in unit_ids if i in units and i not in scored], incomplete)


@dataclass(frozen=True)
class ResultsPublished:
    period: ReviewPeriod
    queued: int  # announcement rows written


async def publish_results(
    session: AsyncSession,
    actor: Viewer,
    spec: PeriodSpec,
    *,
    cluster_id: int,
    cluster_name: str,
    now: datetime,
) -> ResultsPublished:
    """Publish a review period's results and announce them to the whole cluster."""
    require_admin(actor, "results.publish")
    period = await results_service.find_period(session, cluster_id, spec)
    if period is None:
        raise PeriodNotFound(label=spec.label())
    await results_service.publish(session, period, now)
    entry = await audit.record(
        session,
        actor,
        "results.publish",
        at=now,
        entity_type="review_period",
        entity_id=period.id,
        after={"period": spec.label()},
    )
    chats = announcements.recipients(await load_audience(session), "cluster")
    notice = Notice("results_published", {"period": spec.label(), "cluster": cluster_name})
    queued = await announcements.queue(session, reference=entry.id, notice=notice, chats=chats, now=now)
    return ResultsPublished(period, queued)


# --- News and announcements -----------------------------------------------------------------------


@dataclass(frozen=True)
class NewsDraft:
    title: str
    summary: str | None = None
    link: str | None = None


async def post_news(session: AsyncSession, actor: Viewer, draft: NewsDraft, *, now: datetime) -> NewsItem:
    """A news item typed by an admin: in /tin and the evening digest."""
    require_admin(actor, "news.post")
    item = await news.post_item(
        session,
        title=draft.title,
        summary=draft.summary,
        link=draft.link,
        member_id=actor.member.id if actor.member else None,
        now=now,
    )
    await audit.record(
        session, actor, "news.post", at=now, entity_type="news_item", entity_id=item.id, after={"title": item.title}
    )
    return item
