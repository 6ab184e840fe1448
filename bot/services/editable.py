"""The items admins change or cancel (/sua, /huy), one entry per kind in :data:`KINDS`.

A kind is found by the prefix of an item's code: S12 (conference, meeting, drill milestone), T40 (duty
shift), N3 or FT3 (focus task), D2 (a commune's drill plan). Each kind says how to load an item by its
code, describe it (structured :class:`ItemFacts`, rendered by :mod:`bot.views`), which fields can be
changed, how to change one and how to cancel the item. :func:`change_item` and :func:`cancel_item`
are the use cases: they check the actor, write one new version, tell the chats concerned and write
the audit entry, in the caller's transaction.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.errors import DueDatePassed, FieldNotEditable, ItemCancelled, ItemNotFound, StaleItem
from bot.models import DrillPlan, DutyShift, Event, Task, Unit
from bot.services import audit, changes, drills, duty, schedule, tasks
from bot.services.items import require_admin
from bot.services.members import Viewer
from bot.services.notices import Notice, item_facts
from bot.services.reminders import entity_changed, shift_audience, task_audience
from bot.services.subscriptions import load_audience
from bot.vntime import capitalize, fmt_date, fmt_weekday_date, when

CODE = re.compile(r"^(S|T|N|D|FT)(\d+)$", re.IGNORECASE)


# --- What an item is, and what a change says ----------------------------------------------------------


@dataclass(frozen=True)
class ItemFacts:
    """An item as the views need it; which fields are set depends on ``kind``."""

    kind: str  # event / shift / task / drill
    code: str  # S12, T40, N3, D2
    title: str = ""
    # event (conference, meeting, drill milestone)
    event_kind: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    all_day: bool = False
    session: str | None = None
    location: str | None = None
    # duty shift
    role: str | None = None
    unit_id: int | None = None
    unit_name: str | None = None  # short name
    duty_date: date | None = None
    person: str | None = None
    # task
    task_code: str | None = None
    due_on: date | None = None
    # drill plan
    year: int | None = None


def describe_item(item: ItemFacts, tz: ZoneInfo) -> str:
    """One line naming an item that is changed or cancelled (plain text), e.g. 'Hội nghị Sơ kết ... —
    14h00 Thứ Năm 23/06/2022, tại Ban CHQS huyện Kim Bảng'."""
    if item.kind == "event":
        where = f", tại {item.location}" if item.location else ""
        return f"{schedule.labelled_title(item.event_kind, item.title)} — {capitalize(when(item, tz))}{where}"
    if item.kind == "shift":
        assert item.role is not None and item.duty_date is not None
        return f"{duty.role_name(item.role)} {item.unit_name} {fmt_weekday_date(item.duty_date)}: {item.person}"
    if item.kind == "task":
        return f"Nhiệm vụ {item.title} — hạn {fmt_date(item.due_on) if item.due_on else '?'}"
    return f"{item.title} (năm {item.year})"


@dataclass(frozen=True)
class NewTime:
    starts_at: datetime
    ends_at: datetime | None
    session: str | None


@dataclass(frozen=True)
class NewPlace:
    location: str
    host_unit_id: int | None


@dataclass(frozen=True)
class NewParticipants:
    unit_ids: tuple[int, ...]
    cluster_wide: bool


@dataclass(frozen=True)
class NewPerson:
    member_id: int | None
    label: str | None


# when / place / title / units (events); person / day (shifts); due / title (tasks)
FieldValue = NewTime | NewPlace | NewParticipants | NewPerson | str | date


@dataclass(frozen=True)
class EditClock:
    """The moment of a change, the cluster's time zone and the default duty handover time."""

    now: datetime
    tz: ZoneInfo
    default_handover: time
    # The admin confirmed a change that moves the item into the past (the preview warned them).
    allow_past: bool = False

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()


@dataclass(frozen=True)
class EditableKind:
    name: str  # also the audit entity type
    prefixes: tuple[str, ...]  # the first one makes the item's code
    fields: tuple[str, ...]  # what /sua can change, in the order offered
    load: Callable[[AsyncSession, str, int], Awaitable[Any | None]]
    describe: Callable[[AsyncSession, Any], Awaitable[ItemFacts]]
    change: Callable[[AsyncSession, Any, str, FieldValue, ItemFacts, EditClock], Awaitable[None]] | None
    cancel: Callable[[AsyncSession, Any, ItemFacts, EditClock], Awaitable[int]]

    def code(self, item_id: int) -> str:
        return f"{self.prefixes[0]}{item_id}"


@dataclass(frozen=True)
class Found:
    kind: EditableKind
    code: str
    row: Any
    facts: ItemFacts

    @property
    def id(self) -> int:
        return int(self.row.id)

    @property
    def version(self) -> int:
        return int(getattr(self.row, "version", 1))


@dataclass(frozen=True)
class ItemChange:
    code: str
    field: str
    before: ItemFacts
    after: ItemFacts


@dataclass(frozen=True)
class ItemCancellation:
    code: str
    facts: ItemFacts
    told: int  # chats told


@dataclass(frozen=True)
class Choice:
    """An item offered in the /sua and /huy pickers."""

    code: str  # what the button sends
    shown: str  # what the button shows (a task's own code, FT3)
    title: str


# --- Events ---------------------------------------------------------------------------------------


async def _load_event(session: AsyncSession, _prefix: str, number: int) -> Event | None:
    return await session.scalar(select(Event).options(selectinload(Event.units)).where(Event.id == number))


async def _describe_event(_session: AsyncSession, row: Event) -> ItemFacts:
    return ItemFacts(
        "event",
        f"S{row.id}",
        row.title,
        event_kind=row.kind,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        all_day=row.all_day,
        session=row.session,
        location=row.location,
    )


async def _units(session: AsyncSession, ids: tuple[int, ...] | list[int]) -> list[Unit]:
    return list(await session.scalars(select(Unit).where(Unit.id.in_(ids))))


async def _change_event(
    session: AsyncSession, row: Event, field: str, value: FieldValue, _before: ItemFacts, clock: EditClock
) -> None:
    updates: dict[str, object] = {}
    if isinstance(value, NewTime):
        updates = {"starts_at": value.starts_at, "ends_at": value.ends_at, "session": value.session, "all_day": False}
    elif isinstance(value, NewPlace):
        updates = {"location": value.location, "host_unit_id": value.host_unit_id}
    elif isinstance(value, NewParticipants):
        updates = {"units": await _units(session, value.unit_ids), "cluster_wide": value.cluster_wide}
    elif field == "title":
        updates = {"title": str(value)}
    await schedule.change_event(session, row, updates, now=clock.now, tz=clock.tz, allow_past=clock.allow_past)


async def _cancel_event(session: AsyncSession, row: Event, _facts: ItemFacts, clock: EditClock) -> int:
    return (await schedule.cancel_event(session, row, now=clock.now, tz=clock.tz))[1]


# --- Duty shifts ----------------------------------------------------------------------------------


async def _load_shift(session: AsyncSession, _prefix: str, number: int) -> DutyShift | None:
    return await duty.load_shift(session, number)


async def _describe_shift(session: AsyncSession, row: DutyShift) -> ItemFacts:
    unit = await session.get(Unit, row.unit_id)
    return ItemFacts(
        "shift",
        f"T{row.id}",
        role=row.role,
        unit_id=row.unit_id,
        unit_name=unit.short_name if unit else "?",
        duty_date=row.duty_date,
        person=duty.person_text(row),
    )


async def _change_shift(
    session: AsyncSession, row: DutyShift, field: str, value: FieldValue, before: ItemFacts, clock: EditClock
) -> None:
    unit = await session.get(Unit, row.unit_id)
    assert unit is not None
    old_day_key = ("duty_day", row.unit_id, row.starts_at.isoformat())
    old_chats = shift_audience(await load_audience(session), row)
    changed = await duty.change_shift(
        session,
        row,
        person=(value.member_id, value.label) if isinstance(value, NewPerson) else None,
        day=value if field == "day" and isinstance(value, date) else None,
        handover=unit.duty_handover or clock.default_handover,
        now=clock.now,
        tz=clock.tz,
        allow_past=clock.allow_past,
    )
    after = await _describe_shift(session, changed)
    notice = Notice("item_changed", {"subject": "shift", "before": item_facts(before), "after": item_facts(after)})
    await entity_changed(
        session,
        entity_type="shift",
        entity_id=row.id,
        version=changed.version,
        notice=notice,
        now=clock.now,
        related=[old_day_key],
        audience=[*old_chats, *shift_audience(await load_audience(session), changed)],
    )


async def _cancel_shift(session: AsyncSession, row: DutyShift, facts: ItemFacts, clock: EditClock) -> int:
    return await changes.cancel_shift(session, row, what=item_facts(facts), now=clock.now)


# --- Tasks ----------------------------------------------------------------------------------------


async def _load_task(session: AsyncSession, prefix: str, number: int) -> Task | None:
    return await tasks.find_task(session, f"{prefix}{number}")


async def _describe_task(_session: AsyncSession, row: Task) -> ItemFacts:
    # A task's own code (FT3) is its one code everywhere; N<id> stays an alias (tasks without a code).
    return ItemFacts("task", row.code or f"N{row.id}", row.title, task_code=row.code, due_on=row.due_on)


async def _change_task(
    session: AsyncSession, row: Task, field: str, value: FieldValue, before: ItemFacts, clock: EditClock
) -> None:
    if field == "due":
        assert isinstance(value, date)
        if value < clock.today:
            raise DueDatePassed(due=value, today=clock.today)
        row.due_on, row.period = value, tasks.period_of(value)
    else:
        row.title = str(value)
    row.version += 1
    row.updated_at = clock.now
    await session.flush()
    after = await _describe_task(session, row)
    notice = Notice("item_changed", {"subject": "task", "before": item_facts(before), "after": item_facts(after)})
    await entity_changed(
        session,
        entity_type="task",
        entity_id=row.id,
        version=row.version,
        notice=notice,
        now=clock.now,
        audience=task_audience(await load_audience(session), [a.unit_id for a in row.assignments]),
    )


async def _cancel_task(session: AsyncSession, row: Task, facts: ItemFacts, clock: EditClock) -> int:
    return await changes.cancel_task(session, row, what=item_facts(facts), now=clock.now)


# --- Drill plans ----------------------------------------------------------------------------------


async def _load_drill(session: AsyncSession, _prefix: str, number: int) -> DrillPlan | None:
    return await session.get(DrillPlan, number)


async def _describe_drill(_session: AsyncSession, row: DrillPlan) -> ItemFacts:
    return ItemFacts("drill", f"D{row.id}", row.title, year=row.year)


async def _cancel_drill(session: AsyncSession, row: DrillPlan, _facts: ItemFacts, clock: EditClock) -> int:
    """The plan and every milestone still planned (each milestone tells its own chats)."""
    row.status = "cancelled"
    milestones = await session.scalars(
        select(Event).options(selectinload(Event.units)).where(Event.drill_plan_id == row.id, Event.status == "planned")
    )
    told = 0
    for event in milestones:
        told += (await schedule.cancel_event(session, event, now=clock.now, tz=clock.tz))[1]
    return told


KINDS: tuple[EditableKind, ...] = (
    EditableKind(
        "event", ("S",), ("when", "place", "title", "units"), _load_event, _describe_event, _change_event, _cancel_event
    ),
    EditableKind("shift", ("T",), ("person", "day"), _load_shift, _describe_shift, _change_shift, _cancel_shift),
    EditableKind("task", ("N", "FT"), ("due", "title"), _load_task, _describe_task, _change_task, _cancel_task),
    # A drill plan is changed milestone by milestone (their S codes), or cancelled as a whole.
    EditableKind("drill", ("D",), (), _load_drill, _describe_drill, None, _cancel_drill),
)
BY_PREFIX = {prefix: kind for kind in KINDS for prefix in kind.prefixes}
BY_NAME = {kind.name: kind for kind in KINDS}


# --- Reads for the pickers and confirmations --------------------------------------------------------


def parse_code(text: str) -> tuple[str, int] | None:
    """'s12', 'FT 3' -> ('S', 12), ('FT', 3); None when it is not an item code."""
    match = CODE.match(text.strip().replace(" ", ""))
    return (match.group(1).upper(), int(match.group(2))) if match else None


async def find_item(session: AsyncSession, prefix: str, number: int) -> Found:
    """The item a code names, not cancelled."""
    kind = BY_PREFIX[prefix.upper()]
    typed = f"{prefix.upper()}{number}"
    row = await kind.load(session, prefix.upper(), number)
    if row is None:
        raise ItemNotFound(code=typed)
    if getattr(row, "status", "") == "cancelled":
        raise ItemCancelled(code=typed)
    facts = await kind.describe(session, row)
    return Found(kind, facts.code, row, facts)


async def find_by_code(session: AsyncSession, code: str) -> Found:
    parsed = parse_code(code)
    if parsed is None:
        raise ItemNotFound(code=code)
    return await find_item(session, *parsed)


async def recent_items(session: AsyncSession, *, now: datetime, today: date) -> list[Choice]:
    """Upcoming events (60 days) and open tasks, soonest first (shifts: their code is typed)."""
    events = await session.scalars(
        select(Event)
        .where(Event.status == "planned", Event.starts_at >= now, Event.starts_at <= now + timedelta(days=60))
        .order_by(Event.starts_at)
        .limit(8)
    )
    open_tasks = await session.scalars(
        select(Task).where(Task.status == "open", Task.due_on >= today).order_by(Task.due_on).limit(4)
    )
    choices = [Choice(f"S{e.id}", f"S{e.id}", e.title) for e in events]
    choices += [Choice(t.code or f"N{t.id}", t.code or f"N{t.id}", t.title) for t in open_tasks]
    return choices


@dataclass(frozen=True)
class EditWarning:
    """Something to know before a change is saved (facts; bot/views phrase them): the new time has
    passed ("past"), or a drill milestone would come before the previous step of its plan
    ("before_previous"), after the next one ("after_next"), or outside the months of its plan
    ("outside_plan")."""

    reason: str
    moment: datetime | date | None = None  # the new time (past), or the other milestone's start
    other: str | None = None  # the other milestone's title
    months: tuple[date, date] | None = None  # outside_plan: first and last day of the plan's months


def _month_span(days: list[date]) -> tuple[date, date]:
    first, last = min(days), max(days)
    after = date(last.year + (last.month == 12), last.month % 12 + 1, 1)
    return first.replace(day=1), after - timedelta(days=1)


def _shown(event: Event, tz: ZoneInfo) -> datetime | date:
    """When a milestone is, as it is shown: its day alone when it has no time."""
    return event.starts_at.astimezone(tz).date() if event.all_day else event.starts_at


async def _milestone_warnings(session: AsyncSession, row: Event, start: datetime, tz: ZoneInfo) -> list[EditWarning]:
    same_plan = select(Event).where(
        Event.drill_plan_id == row.drill_plan_id, Event.id != row.id, Event.status != "cancelled"
    )
    siblings = list(await session.scalars(same_plan))
    if not siblings:
        return []
    own = drills.step_order(row.subkind)
    earlier = [e for e in siblings if drills.step_order(e.subkind) < own]
    later = [e for e in siblings if drills.step_order(e.subkind) > own]
    found: list[EditWarning] = []
    previous = max(earlier, key=lambda e: (drills.step_order(e.subkind), e.starts_at), default=None)
    following = min(later, key=lambda e: (drills.step_order(e.subkind), e.starts_at), default=None)
    if previous is not None and start < previous.starts_at:
        found.append(EditWarning("before_previous", _shown(previous, tz), previous.title))
    if following is not None and start > following.starts_at:
        found.append(EditWarning("after_next", _shown(following, tz), following.title))
    first, last = _month_span([e.starts_at.astimezone(tz).date() for e in siblings])
    if not first <= start.astimezone(tz).date() <= last:
        found.append(EditWarning("outside_plan", months=(first, last)))
    return found


async def change_warnings(
    session: AsyncSession, code: str, field: str, value: FieldValue, clock: EditClock
) -> list[EditWarning]:
    """What the confirmation of a change should warn about (read only)."""
    found = await find_by_code(session, code)
    warnings: list[EditWarning] = []
    if isinstance(value, NewTime):
        if value.starts_at < clock.now:
            warnings.append(EditWarning("past", value.starts_at))
        row = found.row
        if isinstance(row, Event) and row.kind == "drill" and row.drill_plan_id is not None:
            warnings += await _milestone_warnings(session, row, value.starts_at, clock.tz)
    elif field == "day" and isinstance(value, date) and value < clock.today:
        warnings.append(EditWarning("past", value))
    return warnings


# --- The use cases --------------------------------------------------------------------------------


async def change_item(
    session: AsyncSession,
    actor: Viewer,
    code: str,
    field: str,
    value: FieldValue,
    *,
    expected_version: int | None,
    clock: EditClock,
) -> ItemChange:
    """Change one field of an item as one new version: pending reminders are redone, the chats
    concerned (and those already reminded) are told, the audit log gets before and after.
    ``expected_version``: the version the actor saw (None: whatever it is now)."""
    require_admin(actor, f"{field}.change")
    found = await find_by_code(session, code)
    kind = found.kind
    if expected_version is not None and found.version != expected_version:
        raise StaleItem(code=found.code, expected=expected_version, actual=found.version)
    if kind.change is None or field not in kind.fields:
        raise FieldNotEditable(code=found.code, kind=kind.name, field=field, editable=kind.fields)
    before = found.facts
    await kind.change(session, found.row, field, value, before, clock)
    after = await kind.describe(session, found.row)
    await audit.record(
        session,
        actor,
        f"{kind.name}.change",
        at=clock.now,
        entity_type=kind.name,
        entity_id=found.id,
        before={"text": describe_item(before, clock.tz)},
        after={"text": describe_item(after, clock.tz), "field": field},
    )
    return ItemChange(found.code, field, before, after)


async def cancel_item(session: AsyncSession, actor: Viewer, code: str, *, clock: EditClock) -> ItemCancellation:
    """Cancel an item: its pending reminders are cancelled, the chats concerned told, the audit
    log written."""
    require_admin(actor, "item.cancel")
    found = await find_by_code(session, code)
    kind = found.kind
    told = await kind.cancel(session, found.row, found.facts, clock)
    await audit.record(
        session,
        actor,
        f"{kind.name}.cancel",
        at=clock.now,
        entity_type=kind.name,
        entity_id=found.id,
        before={"text": describe_item(found.facts, clock.tz)},
        after={"status": "cancelled"},
    )
    return ItemCancellation(found.code, found.facts, told)
