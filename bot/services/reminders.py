"""The reminder planner: what is due soon, for whom, written once into the outbox.

Each run looks at fire times in [covered-until (or now − grace), now + horizon]. A reminder is one
outbox row per (kind, entity, occurrence, offset, chat): its ``slot``. The row's ``dedupe_key`` adds
the entity's version, and inserts skip existing keys, so running twice, or on two replicas, writes
nothing twice; a slot already served by an earlier version is not served again. Fire times older than
the grace window are written as ``missed``: never silently dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from bot.db import insert_ignore
from bot.models import (
    ChatLink,
    DutyShift,
    Event,
    JobRun,
    OutboxMessage,
    Task,
    TaskAssignment,
    Unit,
)
from bot.offsets import Offset
from bot.services.notices import (
    FINISHED_TEXT,
    Notice,
    assignment_facts,
    event_facts,
    shift_facts,
    task_facts,
    unit_facts,
)
from bot.services.subscriptions import Audience, in_quiet_hours, load_audience

EVENT_KINDS_BY_REMINDER = {"conference": ("conference", "meeting", "inspection", "other"), "drill": ("drill",)}
REMINDER_KINDS = ("conference", "duty", "drill", "task")
# How far back a restarted planner looks at most (beyond grace, the rows are only recorded as missed).
MAX_CATCH_UP = timedelta(days=7)
PLANNER_JOB = "planner"


@dataclass(frozen=True)
class Push:
    """One message to write into the outbox."""

    kind: str
    entity_type: str
    entity_id: int
    occurrence: str
    version: int
    offset: str
    due_at: datetime
    chat: ChatLink
    notice: Notice
    urgent: bool = False

    @property
    def slot(self) -> str:
        return f"{self.kind}:{self.entity_type}:{self.entity_id}:{self.occurrence}:{self.offset}:{self.chat.id}"

    @property
    def dedupe_key(self) -> str:
        return f"{self.slot}:v{self.version}"


def _notice_columns(notice: Notice) -> dict:
    """A finished text goes into ``text`` (as before 0004); a notice into its kind and payload."""
    if notice.kind == FINISHED_TEXT:
        return {"text": notice.payload["text"], "notice": None, "payload": None}
    return {"text": None, "notice": notice.kind, "payload": notice.payload}


def outbox_row(push: Push, *, now: datetime, grace: timedelta, tz: ZoneInfo) -> dict:
    """The outbox row for a push: quiet hours move ``send_at``; too old means ``missed``."""
    send_at = push.due_at
    if not push.urgent:
        send_at = in_quiet_hours(push.due_at, push.chat.quiet_start, push.chat.quiet_end, tz) or push.due_at
    missed = push.due_at < now - grace
    return {
        "dedupe_key": push.dedupe_key,
        "slot": push.slot,
        "kind": push.kind,
        "chat_link_id": push.chat.id,
        "channel": push.chat.channel,
        "chat_id": push.chat.chat_id,
        **_notice_columns(push.notice),
        "buttons": None,
        "entity_type": push.entity_type,
        "entity_id": push.entity_id,
        "occurrence": push.occurrence,
        "entity_version": push.version,
        "due_at": push.due_at,
        "send_at": send_at,
        "next_attempt_at": send_at,
        "status": "missed" if missed else "pending",
        "attempts": 0,
        "urgent": push.urgent,
        "late": False,
        "last_error": "quá thời gian nhắc khi bot không chạy" if missed else None,
        "created_at": now,
    }


async def write_pushes(
    session: AsyncSession, pushes: list[Push], *, now: datetime, grace: timedelta, tz: ZoneInfo
) -> int:
    """Insert pushes whose slot was not already sent by an earlier version; returns rows inserted."""
    if not pushes:
        return 0
    slots = {p.slot for p in pushes}
    served: set[str] = set()
    slot_list = list(slots)
    for start in range(0, len(slot_list), 500):
        served.update(
            await session.scalars(
                select(OutboxMessage.slot).where(
                    OutboxMessage.slot.in_(slot_list[start : start + 500]),
                    OutboxMessage.status.in_(("sent", "claimed", "missed")),
                )
            )
        )
    rows = [outbox_row(p, now=now, grace=grace, tz=tz) for p in pushes if p.slot not in served]
    return await insert_ignore(session, OutboxMessage.__table__, rows, key="dedupe_key")


# --- What fires when ------------------------------------------------------------------------------


def _start_window(offset: Offset, lo: datetime, hi: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Starts whose fire time for ``offset`` can fall in [lo, hi] (a superset; exact check later)."""
    if offset.before is not None:
        return lo + offset.before, hi + offset.before
    assert offset.days is not None
    first = datetime.combine(lo.astimezone(tz).date() + timedelta(days=offset.days), time(0), tz)
    last = datetime.combine(hi.astimezone(tz).date() + timedelta(days=offset.days + 1), time(0), tz)
    return first, last


@dataclass
class PlanContext:
    session: AsyncSession
    settings: Settings
    audience: Audience
    lo: datetime
    hi: datetime
    now: datetime

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    def fires(self, fire: datetime | None, changed_at: datetime) -> bool:
        """In the window, and not before the entity was last changed (then it never was due)."""
        return fire is not None and self.lo <= fire <= self.hi and fire >= changed_at


def event_audience(audience: Audience, event: Event, kind: str) -> list[ChatLink]:
    """Who an event concerns: everyone if cluster-wide, else its host's and participants' chats."""
    if event.cluster_wide:
        return audience.everyone(kind)
    unit_ids = {u.id for u in event.units} | ({event.host_unit_id} if event.host_unit_id else set())
    return audience.for_units(kind, unit_ids)


def shift_audience(audience: Audience, shift: DutyShift) -> list[ChatLink]:
    """The person on duty (if they use the bot) and the unit's group chats."""
    return [
        *audience.for_member("duty", shift.member_id),
        *audience.for_units("duty", [shift.unit_id], groups_only=True),
    ]


def task_audience(audience: Audience, unit_ids: Iterable[int]) -> list[ChatLink]:
    return audience.for_units("task", unit_ids)


async def _event_pushes(plan: PlanContext, kind: str, units: dict[int, Unit]) -> list[Push]:
    pushes: list[Push] = []
    for offset in plan.settings.offsets(kind):
        start_lo, start_hi = _start_window(offset, plan.lo, plan.hi, plan.tz)
        events = await plan.session.scalars(
            select(Event)
            .options(selectinload(Event.units))
            .where(
                Event.kind.in_(EVENT_KINDS_BY_REMINDER[kind]),
                Event.status == "planned",
                Event.starts_at >= start_lo,
                Event.starts_at < start_hi,
            )
        )
        for event in events:
            fire = offset.fire_time(event.starts_at, plan.tz, all_day=event.all_day)
            if not plan.fires(fire, event.updated_at):
                continue
            assert fire is not None
            chats = event_audience(plan.audience, event, kind)
            area = next((units.get(u.id) for u in event.units if u.kind == "commune"), None)
            notice = Notice(
                "event_reminder",
                {"event": event_facts(event), "offset": offset.code, "area": unit_facts(area) if area else None},
            )
            pushes.extend(
                Push(
                    kind, "event", event.id, event.starts_at.isoformat(), event.version, offset.code, fire, chat, notice
                )
                for chat in chats
            )
    return pushes


async def _duty_pushes(plan: PlanContext, units: dict[int, Unit]) -> list[Push]:
    """The person on duty gets their shift; the unit's groups get the day's roster, once."""
    pushes: list[Push] = []
    for offset in plan.settings.offsets("duty"):
        start_lo, start_hi = _start_window(offset, plan.lo, plan.hi, plan.tz)
        shifts = list(
            await plan.session.scalars(
                select(DutyShift)
                .options(selectinload(DutyShift.member))
                .where(DutyShift.status == "planned", DutyShift.starts_at >= start_lo, DutyShift.starts_at < start_hi)
                .order_by(DutyShift.unit_id, DutyShift.starts_at, DutyShift.id)
            )
        )
        days: dict[tuple[int, datetime], list[DutyShift]] = {}
        for shift in shifts:
            fire = offset.fire_time(shift.starts_at, plan.tz)
            if not plan.fires(fire, shift.updated_at):
                continue
            assert fire is not None
            days.setdefault((shift.unit_id, shift.starts_at), []).append(shift)
            unit = units[shift.unit_id]
            notice = Notice(
                "duty_reminder", {"shift": shift_facts(shift), "unit": unit_facts(unit), "offset": offset.code}
            )
            for chat in plan.audience.for_member("duty", shift.member_id):
                pushes.append(
                    Push(
                        "duty",
                        "shift",
                        shift.id,
                        shift.starts_at.isoformat(),
                        shift.version,
                        offset.code,
                        fire,
                        chat,
                        notice,
                    )
                )
        for (unit_id, starts_at), day_shifts in days.items():
            fire = offset.fire_time(starts_at, plan.tz)
            assert fire is not None
            version = sum(s.version for s in day_shifts)
            notice = Notice(
                "duty_roster_reminder",
                {
                    "shifts": [shift_facts(s) for s in day_shifts],
                    "unit": unit_facts(units[unit_id]),
                    "offset": offset.code,
                },
            )
            for chat in plan.audience.for_units("duty", [unit_id], groups_only=True):
                pushes.append(
                    Push("duty", "duty_day", unit_id, starts_at.isoformat(), version, offset.code, fire, chat, notice)
                )
    return pushes


async def _task_pushes(plan: PlanContext, units: dict[int, Unit]) -> list[Push]:
    """Every assigned unit that has not finished hears of the deadline (and of being overdue)."""
    pushes: list[Push] = []
    for offset in plan.settings.offsets("task"):
        if offset.days is None:
            continue  # tasks have a due date, not a time
        first = plan.lo.astimezone(plan.tz).date() + timedelta(days=offset.days)
        last = plan.hi.astimezone(plan.tz).date() + timedelta(days=offset.days)
        rows = await plan.session.execute(
            select(Task, TaskAssignment)
            .join(TaskAssignment, TaskAssignment.task_id == Task.id)
            .where(
                Task.status == "open",
                Task.due_on >= first,
                Task.due_on <= last,
                TaskAssignment.status != "done",
            )
        )
        for task, assignment in rows.all():
            assert task.due_on is not None
            fire = offset.fire_time_for_day(task.due_on, plan.tz)
            if not plan.fires(fire, task.updated_at):
                continue
            assert fire is not None
            unit = units[assignment.unit_id]
            notice = Notice(
                "task_reminder",
                {
                    "task": task_facts(task),
                    "assignment": assignment_facts(assignment),
                    "unit": unit_facts(unit),
                    "offset": offset.code,
                },
            )
            for chat in plan.audience.for_units("task", [assignment.unit_id]):
                pushes.append(
                    Push(
                        "task", "task", task.id, task.due_on.isoformat(), task.version, offset.code, fire, chat, notice
                    )
                )
    return pushes


async def covered_until(session: AsyncSession) -> datetime | None:
    """The end of the window the last planner run covered."""
    last = await session.scalar(select(func.max(JobRun.period)).where(JobRun.job == PLANNER_JOB))
    return datetime.fromisoformat(last).replace(tzinfo=UTC) if last else None


@dataclass(frozen=True)
class PlanResult:
    window: tuple[datetime, datetime]
    written: int  # rows written, the missed ones included
    missed: int = 0  # rows written as missed (due before the grace window)


async def plan_reminders(session: AsyncSession, settings: Settings, now: datetime) -> PlanResult:
    """Write the outbox rows of every reminder firing in the window (idempotent)."""
    grace = timedelta(minutes=settings.grace_minutes)
    hi = now + timedelta(minutes=settings.planner_horizon_minutes)
    previous = await covered_until(session)
    lo = now - grace if previous is None else min(previous, now - grace)
    lo = max(lo, now - MAX_CATCH_UP)
    audience = await load_audience(session)
    units = {u.id: u for u in await session.scalars(select(Unit))}
    plan = PlanContext(session, settings, audience, lo, hi, now)
    pushes = [
        *await _event_pushes(plan, "conference", units),
        *await _event_pushes(plan, "drill", units),
        *await _duty_pushes(plan, units),
        *await _task_pushes(plan, units),
    ]
    # Pushes too old to send are written as missed; counted apart, so the tick reports them.
    too_old = [p for p in pushes if p.due_at < now - grace]
    missed = await write_pushes(session, too_old, now=now, grace=grace, tz=settings.tz)
    on_time = [p for p in pushes if p.due_at >= now - grace]
    written = missed + await write_pushes(session, on_time, now=now, grace=grace, tz=settings.tz)
    # Recording the window is the last step of the same transaction: a crash redoes the whole run.
    period = hi.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")  # sortable as text
    run = {"job": PLANNER_JOB, "period": period, "started_at": now, "finished_at": now, "detail": f"{written}"}
    await insert_ignore(session, JobRun.__table__, [run], key=["job", "period"])  # same window twice: once
    return PlanResult((lo, hi), written, missed)


# --- Changes and cancellations --------------------------------------------------------------------


def _entity_filter(entity_type: str, entity_id: int, extra: Iterable[tuple[str, int, str]] = ()):
    clauses = [and_(OutboxMessage.entity_type == entity_type, OutboxMessage.entity_id == entity_id)]
    clauses += [
        and_(OutboxMessage.entity_type == t, OutboxMessage.entity_id == i, OutboxMessage.occurrence == o)
        for t, i, o in extra
    ]
    return or_(*clauses)


async def notify(
    session: AsyncSession,
    *,
    what: str,
    entity_type: str,
    entity_id: int,
    version: int,
    chats: Iterable[ChatLink],
    notice: Notice,
    now: datetime,
) -> int:
    """Tell chats about a new, changed or cancelled item, once per (item, version, chat). Notices are
    urgent (quiet hours do not hold them) and never "missed"."""
    unique = {chat.id: chat for chat in chats}
    pushes = [
        Push(what, entity_type, entity_id, f"v{version}", version, "notice", now, chat, notice, urgent=True)
        for chat in unique.values()
    ]
    return await write_pushes(session, pushes, now=now, grace=timedelta(days=365), tz=ZoneInfo("UTC"))


async def entity_changed(
    session: AsyncSession,
    *,
    entity_type: str,
    entity_id: int,
    version: int,
    notice: Notice,
    now: datetime,
    related: Iterable[tuple[str, int, str]] = (),
    audience: Iterable[ChatLink] = (),
) -> tuple[int, int]:
    """An event, shift or task changed or was cancelled: cancel its pending reminders (the planner
    writes new ones for the new version) and tell the chats already reminded, plus ``audience`` (the
    chats it concerns now). Returns (cancelled, notified). ``related``: other (entity_type,
    entity_id, occurrence) rows it feeds (a duty day)."""
    cancelled, told = await withdraw_reminders(session, entity_type, entity_id, related)
    notified = await notify(
        session,
        what="change",
        entity_type=entity_type,
        entity_id=entity_id,
        version=version,
        chats=[*told, *audience],
        notice=notice,
        now=now,
    )
    return cancelled, notified


async def withdraw_reminders(
    session: AsyncSession, entity_type: str, entity_id: int, related: Iterable[tuple[str, int, str]] = ()
) -> tuple[int, list[ChatLink]]:
    """Cancel an item's pending reminders (the planner writes new ones for its new version); returns
    how many, and the chats already reminded of it (to be told of the change)."""
    match = _entity_filter(entity_type, entity_id, related)
    cancelled = await session.execute(
        update(OutboxMessage)
        .where(match, OutboxMessage.status.in_(("pending", "claimed")), OutboxMessage.kind.in_(REMINDER_KINDS))
        .values(status="cancelled", last_error="đã thay đổi hoặc hủy")
    )
    told = list(
        await session.scalars(
            select(ChatLink)
            .where(
                ChatLink.active.is_(True),
                ChatLink.id.in_(
                    select(OutboxMessage.chat_link_id).where(
                        match, OutboxMessage.status == "sent", OutboxMessage.kind.in_(REMINDER_KINDS)
                    )
                ),
            )
            .order_by(ChatLink.id)
        )
    )
    return cancelled.rowcount or 0, told
