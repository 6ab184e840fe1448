"""Calendar feeds (/ical): secret addresses handed out per person, unit or cluster, and what a feed
holds, read with Core selects (a unit may have 100,000 duty shifts; no ORM object is built for one).

A feed covers the past :data:`PAST` and the next :data:`AHEAD` days as of the moment it is served.
Cancelled items stay in it (calendars then show them as cancelled instead of keeping a stale copy).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import Row, String, false, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.errors import NotAllowed, UserError
from bot.models import (
    CalendarFeed,
    ContentVersion,
    DrillPlan,
    DutyShift,
    Event,
    Member,
    Task,
    TaskAssignment,
    Unit,
    event_units,
)
from bot.offsets import Offset
from bot.services import audit, editable
from bot.services.members import Viewer
from bot.services.reminders import REMINDER_KINDS

PAST = timedelta(days=30)
AHEAD = timedelta(days=365)
SCOPES = ("mine", "unit", "cluster")


@dataclass(frozen=True)
class FeedIssued:
    feed: CalendarFeed
    unit_name: str | None
    new: bool  # a new address (the first, or one replacing a revoked one)
    revoked: int  # addresses revoked by this request


@dataclass
class FeedRows:
    """What a calendar holds, as database rows (Core ``Row`` tuples): events (meetings, conferences,
    drill milestones), duty shifts, task deadlines."""

    events: list[Row[Any]] = field(default_factory=list)
    shifts: list[Row[Any]] = field(default_factory=list)
    tasks: list[Row[Any]] = field(default_factory=list)
    unit_name: str | None = None  # a unit's feed: the unit's short name
    unit_names: dict[int, str] = field(default_factory=dict)  # short names of the shifts' units
    people: dict[int, str] = field(default_factory=dict)  # "rank full name" of the people on the shifts


def _owner(viewer: Viewer) -> str:
    return f"{viewer.channel}:{viewer.sender_id}"


async def issue_feed(
    session: AsyncSession,
    viewer: Viewer,
    *,
    scope: str,
    unit_id: int | None = None,
    renew: bool = False,
    now: datetime,
) -> FeedIssued:
    """The asker's feed address of ``scope`` (their own concerns, a unit's, the cluster's): the one
    they already have, or a new one; ``renew`` revokes the old address first (/ical mới). A unit's or
    the cluster's feed is for admins; one's own needs a unit or a place on a roster."""
    if scope not in SCOPES:
        raise ValueError(scope)
    if scope != "mine" and not viewer.at_least("admin"):
        raise NotAllowed(action="ical", role=viewer.role)
    if not viewer.at_least("officer"):
        raise NotAllowed(action="ical", role=viewer.role, needed="officer")
    if scope == "unit" and unit_id is None:
        raise ValueError("a unit feed needs a unit")
    if scope == "mine" and viewer.unit is None and viewer.member is None:
        raise UserError("Đồng chí chưa thuộc đơn vị nào: dùng /ical cụm hoặc /ical <đơn vị>.")
    unit_id = unit_id if scope == "unit" else None
    owner = _owner(viewer)
    active = list(
        await session.scalars(
            select(CalendarFeed).where(
                CalendarFeed.owner == owner,
                CalendarFeed.scope == scope,
                CalendarFeed.unit_id.is_(None) if unit_id is None else CalendarFeed.unit_id == unit_id,
                CalendarFeed.revoked_at.is_(None),
            )
        )
    )
    unit_name = await session.scalar(select(Unit.short_name).where(Unit.id == unit_id)) if unit_id else None
    if active and not renew:
        return FeedIssued(active[0], unit_name, new=False, revoked=0)
    for old in active:
        old.revoked_at = now
    feed = CalendarFeed(
        token=secrets.token_urlsafe(24),
        owner=owner,
        member_id=viewer.member.id if viewer.member else None,
        scope=scope,
        unit_id=unit_id,
        created_at=now,
    )
    session.add(feed)
    await session.flush()
    await audit.record(
        session,
        viewer,
        "ical.renew" if active else "ical.new",
        at=now,
        entity_type="calendar_feed",
        entity_id=feed.id,
        before={"revoked": [old.id for old in active]} if active else None,
        after={"scope": scope, "unit_id": unit_id},
    )
    return FeedIssued(feed, unit_name, new=True, revoked=len(active))


async def active_feed(session: AsyncSession, token: str) -> CalendarFeed | None:
    """The feed of an address; None for an unknown or revoked one."""
    if not 16 <= len(token) <= 64:
        return None
    return await session.scalar(
        select(CalendarFeed).where(CalendarFeed.token == token, CalendarFeed.revoked_at.is_(None))
    )


async def content_version(session: AsyncSession) -> int:
    """The content version (bumped by every change): a feed's ETag follows it."""
    return int(await session.scalar(select(ContentVersion.version).where(ContentVersion.id == 1)) or 0)


def feed_etag(feed: CalendarFeed, version: int, today: date) -> str:
    """The same content version and the same day (the window moves daily): the same feed."""
    return f'"{feed.id}-{version}-{today:%Y%m%d}"'


# --- What a feed holds -------------------------------------------------------------------------------

EVENT_COLUMNS = (
    Event.id,
    Event.kind,
    Event.title,
    Event.starts_at,
    Event.ends_at,
    Event.all_day,
    Event.location,
    Event.status,
    Event.version,
)
# A unit's shifts are read as they are stored: the times as the driver gives them (SQLite: text,
# PostgreSQL: a naive datetime), turned into aware UTC only once per distinct value by
# :func:`utc_moment` (a roster repeats its handover times), and the unit by its id.
SHIFT_COLUMNS = (
    DutyShift.id,
    DutyShift.role,
    type_coerce(DutyShift.starts_at, String).label("starts_at"),
    type_coerce(DutyShift.ends_at, String).label("ends_at"),
    DutyShift.status,
    DutyShift.version,
    DutyShift.reinforced,
    DutyShift.person_label,
    DutyShift.member_id,
    DutyShift.unit_id,
)


MEMBER_COLUMN = 8  # where DutyShift.member_id is in SHIFT_COLUMNS


def utc_moment(stored: str | datetime) -> datetime:
    """A stored UTC time, as the driver gave it (text or a naive datetime), as an aware datetime."""
    moment = datetime.fromisoformat(stored) if isinstance(stored, str) else stored
    return moment.replace(tzinfo=UTC)


TASK_COLUMNS = (Task.id, Task.code, Task.title, Task.due_on, Task.status, Task.version)


def _events_of_unit(unit_id: int):
    participant = select(event_units.c.event_id).where(event_units.c.unit_id == unit_id)
    drills = select(DrillPlan.id).where(or_(DrillPlan.organising_unit_id == unit_id, DrillPlan.area_unit_id == unit_id))
    return or_(
        Event.cluster_wide.is_(True),
        Event.host_unit_id == unit_id,
        Event.id.in_(participant),
        Event.drill_plan_id.in_(drills),
    )


def _shift_query():
    # In no particular order (a calendar orders them itself); sorting 100,000 rows costs a tenth of a second.
    return select(*SHIFT_COLUMNS)


async def feed_rows(session: AsyncSession, feed: CalendarFeed, *, now: datetime) -> FeedRows:
    """Everything ``feed`` shows as of ``now``: from :data:`PAST` before to :data:`AHEAD` after."""
    lo, hi = now - PAST, now + AHEAD
    unit_id = feed.unit_id
    if feed.scope == "mine":
        unit_id = await session.scalar(select(Member.unit_id).where(Member.id == feed.member_id))
    events = select(*EVENT_COLUMNS).where(Event.starts_at >= lo, Event.starts_at < hi)
    shifts = _shift_query().where(DutyShift.starts_at >= lo, DutyShift.starts_at < hi)
    tasks = select(*TASK_COLUMNS).where(Task.due_on >= lo.date(), Task.due_on < hi.date())
    if feed.scope == "mine":
        # One's own shifts (none for an admin from the settings, who is on no roster).
        shifts = shifts.where(DutyShift.member_id == feed.member_id if feed.member_id is not None else false())
    elif feed.scope == "unit":
        # The (unit, duty day) index first: a unit's shifts are found without reading the others'.
        shifts = shifts.where(
            DutyShift.unit_id == unit_id,
            DutyShift.duty_date >= lo.date() - timedelta(days=1),
            DutyShift.duty_date <= hi.date(),
        )
    if feed.scope != "cluster":
        if unit_id is None:
            events = events.where(Event.cluster_wide.is_(True))
            tasks = tasks.where(Task.cluster_wide.is_(True))
        else:
            events = events.where(_events_of_unit(unit_id))
            assigned = select(TaskAssignment.task_id).where(TaskAssignment.unit_id == unit_id)
            tasks = tasks.where(or_(Task.cluster_wide.is_(True), Task.id.in_(assigned)))
    unit_name = await session.scalar(select(Unit.short_name).where(Unit.id == feed.unit_id)) if feed.unit_id else None
    rows = FeedRows(
        unit_name=unit_name,
        events=list(await session.execute(events.order_by(Event.starts_at, Event.id))),
        # Core, not the ORM's result machinery: a tenth of a second less for 100,000 rows.
        shifts=list(await (await session.connection()).execute(shifts)),
        tasks=list(await session.execute(tasks.order_by(Task.due_on, Task.id))),
    )
    return await _with_names(session, rows)


async def _with_names(session: AsyncSession, rows: FeedRows) -> FeedRows:
    """The units' and the people's names the shifts refer to by id, read once each."""
    rows.unit_names = {unit_id: name for unit_id, name in await session.execute(select(Unit.id, Unit.short_name))}
    member_ids = [mid for mid in set(map(itemgetter(MEMBER_COLUMN), rows.shifts)) if mid is not None]
    for first in range(0, len(member_ids), 500):
        chunk = member_ids[first : first + 500]
        found = await session.execute(select(Member.id, Member.rank, Member.full_name).where(Member.id.in_(chunk)))
        rows.people.update({mid: f"{rank} {name}" if rank else name for mid, rank, name in found})
    return rows


async def item_rows(session: AsyncSession, code: str) -> tuple[str, FeedRows]:
    """One item by its code (S12, T40, FT3) as a calendar's rows, for "Thêm vào lịch"; its code as
    shown. Raises ItemNotFound / ItemCancelled like /sua."""
    found = await editable.find_by_code(session, code)
    rows = FeedRows()
    if found.kind.name == "event":
        rows.events = list(await session.execute(select(*EVENT_COLUMNS).where(Event.id == found.row.id)))
    elif found.kind.name == "shift":
        rows.shifts = list(await session.execute(_shift_query().where(DutyShift.id == found.row.id)))
    elif found.kind.name == "task":
        rows.tasks = list(await session.execute(select(*TASK_COLUMNS).where(Task.id == found.row.id)))
    else:  # a drill plan: its milestones
        query = select(*EVENT_COLUMNS).where(Event.drill_plan_id == found.row.id).order_by(Event.starts_at)
        rows.events = list(await session.execute(query))
    return found.code, await _with_names(session, rows)


def reminder_offsets(settings: Settings) -> dict[str, list[Offset]]:
    """The configured reminder offsets per kind: a feed's alarms are the bot's own reminders."""
    return {kind: settings.offsets(kind) for kind in REMINDER_KINDS}
