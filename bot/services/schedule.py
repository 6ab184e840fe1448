"""Conferences, meetings and other calendar events; the directives they refer to."""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot import lexicon
from bot.errors import UserError
from bot.models import ChatLink, Directive, Event, Unit, event_units
from bot.services.notices import Notice, event_brief, event_facts, event_time_facts
from bot.services.reminders import entity_changed, event_audience, notify
from bot.services.subscriptions import load_audience
from bot.services.units import snapshot_columns, snapshot_of_row
from bot.textnorm import normalize
from bot.vntime import capitalize, fmt_day_month, fmt_time, fmt_weekday_date

EVENT_KINDS = {
    "conference": "Hội nghị",
    "meeting": "Cuộc họp",
    "drill": "Diễn tập",
    "inspection": "Kiểm tra",
    "other": "Sự kiện",
}


# The kinds of event find_conferences reads.
CONFERENCE_KINDS = ("conference", "meeting")


def labelled_title(kind: str | None, title: str) -> str:
    """The kind before the title ('Hội nghị Sơ kết ...'), once: a title that already begins with its
    kind ('Kiểm tra chéo ...') is not given it again."""
    label = EVENT_KINDS.get(kind or "", "Sự kiện")
    return title if normalize(title).startswith(normalize(label)) else f"{label} {title}"


def local_day_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants covering local days ``start``..``end`` inclusive."""
    return (
        datetime.combine(start, time(0), tz),
        datetime.combine(end + timedelta(days=1), time(0), tz),
    )


# The questions' reads are built once per shape, with bound parameters: building a statement of this
# size (and its cache key) costs more than running it on an index.
@cache
def _between_query(for_unit: bool, by_kind: bool, limited: bool) -> Select[Any]:
    """A Core select of the events' columns (read into snapshots: a day's meetings come with most
    duty questions, and loading them as ORM rows cost more than the query)."""
    events = Event.__table__.c
    start, end = bindparam("start"), bindparam("end")
    query = select(*snapshot_columns(Event)).where(
        events.status != "cancelled",
        events.starts_at < end,
        or_(events.ends_at >= start, events.ends_at.is_(None) & (events.starts_at >= start)),
    )
    if for_unit:
        unit_id = bindparam("unit_id")
        participant = select(event_units.c.event_id).where(event_units.c.unit_id == unit_id)
        query = query.where(
            or_(events.cluster_wide.is_(True), events.host_unit_id == unit_id, events.id.in_(participant))
        )
    if by_kind:
        query = query.where(events.kind.in_(bindparam("kinds", expanding=True)))
    query = query.order_by(events.starts_at, events.id)
    if limited:
        query = query.limit(bindparam("limit", type_=Integer))
    return query


async def events_between(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    kinds: tuple[str, ...] | None = None,
    unit_id: int | None = None,
    limit: int | None = None,
) -> list[Event]:
    """Planned events overlapping [start, end), optionally only those concerning a unit; the first
    ``limit`` of them when given. Frozen snapshots (:func:`bot.services.units.snapshot`), read only."""
    query = _between_query(unit_id is not None, bool(kinds), limit is not None)
    params = {"start": start, "end": end, "unit_id": unit_id, "kinds": list(kinds or ()), "limit": limit}
    rows = await session.execute(query, {k: v for k, v in params.items() if v is not None and v != []})
    return [snapshot_of_row(Event, row) for row in rows]


@dataclass(frozen=True)
class PlannedEvents:
    """Every event not cancelled (:func:`planned_events`), by start then id, each with its participating
    units; their starts and the longest event's length bound, by bisection, the events an interval
    may concern."""

    events: tuple[Event, ...]
    starts: tuple[datetime, ...]
    longest: timedelta  # the longest ends_at - starts_at (none negative)

    @classmethod
    def of(cls, events: tuple[Event, ...]) -> PlannedEvents:
        lengths = [e.ends_at - e.starts_at for e in events if e.ends_at is not None]
        return cls(events, tuple(e.starts_at for e in events), max([timedelta(0), *lengths]))

    def first_not_over(self, moment: datetime) -> int:
        """The index of the first event that may still be going on at ``moment`` (or begin later)."""
        try:
            return bisect_left(self.starts, moment - self.longest)
        except OverflowError:  # an event longer than the calendar before ``moment``
            return 0

    def first_starting(self, moment: datetime) -> int:
        """The index of the first event starting at or after ``moment``."""
        return bisect_left(self.starts, moment)


def events_in(
    planned: PlannedEvents,
    start: datetime,
    end: datetime,
    *,
    kinds: tuple[str, ...] | None = None,
    unit_id: int | None = None,
    limit: int | None = None,
) -> list[Event]:
    """What :func:`events_between` reads with these filters, taken from ``planned``: overlapping
    [start, end) as the SQL has it (an event without an end: starting within it), of ``kinds``,
    concerning ``unit_id``, in the same order."""
    found = [
        event
        for event in planned.events[planned.first_not_over(start) : planned.first_starting(end)]
        if (event.ends_at >= start if event.ends_at is not None else event.starts_at >= start)
        and (not kinds or event.kind in kinds)
        and (
            unit_id is None
            or event.cluster_wide
            or event.host_unit_id == unit_id
            or any(unit.id == unit_id for unit in event.units)
        )
    ]
    return found if limit is None else found[:limit]


@cache
def _conferences_query(by_subkind: bool, in_year: bool, every_kind: bool = False) -> Select[Any]:
    """Each conference's columns (``every_kind``: each planned event's), then one participating unit's
    (none: NULLs), in one statement."""
    events, units = Event.__table__.c, Unit.__table__.c
    query = (
        select(*snapshot_columns(Event), *snapshot_columns(Unit))
        .outerjoin_from(Event.__table__, event_units, event_units.c.event_id == events.id)
        .outerjoin(Unit.__table__, units.id == event_units.c.unit_id)
        .where(events.status != "cancelled")
    )
    if not every_kind:
        query = query.where(events.kind.in_(CONFERENCE_KINDS))
    if by_subkind:
        query = query.where(events.subkind.in_(bindparam("subkinds", expanding=True)))
    if in_year:
        query = query.where(events.starts_at >= bindparam("start"), events.starts_at < bindparam("end"))
    return query.order_by(events.starts_at, events.id, units.id)


async def _events_with_units(session: AsyncSession, query: Select[Any], params: dict[str, object]) -> list[Event]:
    split = len(snapshot_columns(Event))
    found: dict[int, tuple[Any, list[Unit]]] = {}
    for row in await session.execute(query, params):
        units = found.setdefault(row[0], (row, []))[1]
        if row[split] is not None:  # the unit's id: NULL for an event without participating units
            units.append(snapshot_of_row(Unit, row, split))
    return [snapshot_of_row(Event, row[:split], units=tuple(units)) for row, units in found.values()]


async def planned_events(session: AsyncSession) -> PlannedEvents:
    """Every event not cancelled, by start then id, each with its participating units (a tuple, by
    id): what a read-only question keeps per content version and filters with :func:`events_in`,
    :func:`conferences_in` and :func:`upcoming_in`."""
    query = _conferences_query(False, False, every_kind=True)
    return PlannedEvents.of(tuple(await _events_with_units(session, query, {})))


async def find_conferences(
    session: AsyncSession, *, subkinds: tuple[str, ...] | None, year: int | None, tz: ZoneInfo
) -> list[Event]:
    """Conferences and meetings (of ``subkinds``, in ``year``), each with its participating units: frozen
    snapshots (:func:`bot.services.units.snapshot`) read by one Core select built once, read only."""
    params: dict[str, object] = {}
    if subkinds:
        params["subkinds"] = list(subkinds)
    if year is not None:
        params["start"], params["end"] = local_day_bounds(date(year, 1, 1), date(year, 12, 31), tz)
    return await _events_with_units(session, _conferences_query(bool(subkinds), year is not None), params)


def conferences_in(
    planned: PlannedEvents, *, subkinds: tuple[str, ...] | None, year: int | None, tz: ZoneInfo
) -> list[Event]:
    """What :func:`find_conferences` reads, taken from ``planned``."""
    events: Sequence[Event] = planned.events
    if year is not None:  # starting within the year
        start, end = local_day_bounds(date(year, 1, 1), date(year, 12, 31), tz)
        events = events[planned.first_starting(start) : planned.first_starting(end)]
    return [event for event in events if event.kind in CONFERENCE_KINDS and (not subkinds or event.subkind in subkinds)]


UPCOMING_KINDS = ("conference", "meeting", "inspection")


async def upcoming_conferences(session: AsyncSession, now: datetime, limit: int = 10) -> list[Event]:
    return list(
        await session.scalars(
            select(Event)
            .options(selectinload(Event.units))
            .where(
                Event.kind.in_(UPCOMING_KINDS),
                Event.status != "cancelled",
                or_(Event.starts_at >= now, Event.ends_at >= now),
            )
            .order_by(Event.starts_at, Event.id)
            .limit(limit)
        )
    )


def upcoming_in(planned: PlannedEvents, now: datetime, limit: int = 10) -> list[Event]:
    """What :func:`upcoming_conferences` reads, taken from ``planned``: those not over at ``now`` (an
    event without an end: not begun)."""
    found = (
        event
        for event in planned.events[planned.first_not_over(now) :]
        if event.kind in UPCOMING_KINDS
        and (event.starts_at >= now or (event.ends_at is not None and event.ends_at >= now))
    )
    return list(itertools.islice(found, limit))


@cache
def _directives_query(by_number: bool) -> Select[Any]:
    directives = Directive.__table__.c
    query = select(*snapshot_columns(Directive))
    if by_number:
        query = query.where(or_(directives.number == bindparam("number"), directives.number == bindparam("bare")))
    return query.order_by(directives.id)


async def find_directives(session: AsyncSession, number: str | None, words: str | None) -> list[Directive]:
    """Directives of ``number`` (or all), those whose title has ``words`` when no number is given:
    frozen snapshots (:func:`bot.services.units.snapshot`) read by a Core select, read only."""
    params = {"number": number, "bare": number.lstrip("0")} if number else {}
    found = await session.execute(_directives_query(bool(number)), params)
    rows = [snapshot_of_row(Directive, row) for row in found]
    return rows if number else directives_in(rows, None, words)


async def all_directives(session: AsyncSession) -> tuple[Directive, ...]:
    """Every directive, by id: what a read-only question keeps per content version and filters with
    :func:`directives_in`."""
    return tuple(snapshot_of_row(Directive, row) for row in await session.execute(_directives_query(False)))


def directives_in(every: Sequence[Directive], number: str | None, words: str | None) -> list[Directive]:
    """What :func:`find_directives` reads, taken from ``every`` (all of them, by id)."""
    if number:
        bare = number.lstrip("0")
        return [d for d in every if d.number == number or d.number == bare]
    if words:
        key = normalize(words)
        return [d for d in every if key in normalize(d.title)]
    return list(every)


MAX_TITLE = 300
_CONFERENCE_WORDS = lexicon.CONFERENCE_TITLE_WORDS


def guess_kind(title: str) -> tuple[str, str | None]:
    """'Sơ kết thi đua 6 tháng đầu năm' -> ('conference', 'so_ket_6t'); 'Giao ban tuần' -> ('meeting', None)."""
    norm = normalize(title)
    if not any(word in norm for word in _CONFERENCE_WORDS):
        return "meeting", None
    if "tong ket" in norm:
        return "conference", "tong_ket"
    if "so ket" in norm:
        return "conference", "so_ket_6t" if ("6 thang" in norm or "sau thang" in norm) else "so_ket_quy"
    if "giao uoc" in norm:
        return "conference", "ky_giao_uoc"
    if "phat dong" in norm:
        return "conference", "phat_dong"
    return "conference", None


def check_event_fields(
    *, title: str, starts_at: datetime, ends_at: datetime | None, now: datetime | None, tz: ZoneInfo
) -> None:
    """The rules every new or changed event keeps; raises UserError saying what to write instead.
    ``now`` None: the time is not being set, so it may be in the past."""
    if not 3 <= len(title.strip()) <= MAX_TITLE:
        raise UserError(f"Nội dung phải dài 3–{MAX_TITLE} ký tự.")
    if now is not None and starts_at < now:
        raise UserError(
            f"Thời gian {capitalize(fmt_moment(starts_at, tz))} đã qua. Hãy cho thời gian sắp tới, ví dụ 14h00 "
            f"{fmt_day_month((now.astimezone(tz) + timedelta(days=1)).date())}."
        )
    if ends_at is not None and ends_at <= starts_at:
        raise UserError("Giờ kết thúc phải sau giờ bắt đầu, ví dụ 14h00-17h00.")


def fmt_moment(moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return f"{fmt_time(local.time())} {fmt_weekday_date(local.date())}"


async def event_audience_now(session: AsyncSession, event: Event, kind: str) -> list[ChatLink]:
    return event_audience(await load_audience(session), event, kind)


def _reminder_kind(event: Event) -> str:
    return "drill" if event.kind == "drill" else "conference"


async def new_event(
    session: AsyncSession,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime | None,
    session_name: str | None,
    location: str | None,
    host_unit_id: int | None,
    units: list[Unit],
    cluster_wide: bool,
    cluster_id: int | None,
    now: datetime,
    tz: ZoneInfo,
) -> tuple[Event, int]:
    """Add a conference or meeting and tell the chats it concerns. Returns (event, notices)."""
    check_event_fields(title=title, starts_at=starts_at, ends_at=ends_at, now=now, tz=tz)
    kind, subkind = guess_kind(title)
    event = Event(
        cluster_id=cluster_id,
        kind=kind,
        subkind=subkind,
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        session=session_name,
        location=location,
        host_unit_id=host_unit_id,
        cluster_wide=cluster_wide,
        units=units,
        created_at=now,
        updated_at=now,
    )
    session.add(event)
    await session.flush()
    notice = Notice("event_new", {"event": event_facts(event)})
    chats = await event_audience_now(session, event, _reminder_kind(event))
    told = await notify(
        session,
        what="new",
        entity_type="event",
        entity_id=event.id,
        version=event.version,
        chats=chats,
        notice=notice,
        now=now,
    )
    return event, told


async def change_event(
    session: AsyncSession,
    event: Event,
    changes: dict[str, object],
    *,
    now: datetime,
    tz: ZoneInfo,
    allow_past: bool = False,
) -> tuple[int, int]:
    """Apply changes (starts_at, ends_at, session, location, host_unit_id, title, units, cluster_wide)
    as one new version; pending reminders are redone and the chats concerned are told. A new time in
    the past is refused unless ``allow_past`` (the admin confirmed a warning saying so)."""
    before = event_time_facts(event)
    old_where = event.location
    for field, value in changes.items():
        setattr(event, field, value)
    check_event_fields(
        title=event.title,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        now=now if "starts_at" in changes and not allow_past else None,
        tz=tz,
    )
    event.version += 1
    event.updated_at = now
    await session.flush()
    notice = Notice(
        "event_changed",
        {
            "event_kind": event.kind,
            "title": event.title,
            "before": before,
            "after": event_time_facts(event),
            "old_location": old_where,
            "new_location": event.location,
        },
    )
    return await _tell(session, event, notice, now)


async def cancel_event(session: AsyncSession, event: Event, *, now: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """Cancel an event: its pending reminders are cancelled and the chats it concerns are told.
    Returns (reminders cancelled, notices written)."""
    if event.status == "cancelled":
        raise UserError("Việc này đã hủy từ trước.")
    event.status = "cancelled"
    event.version += 1
    event.updated_at = now
    await session.flush()
    return await _tell(session, event, Notice("event_cancelled", {"event": event_brief(event)}), now)


async def _tell(session: AsyncSession, event: Event, notice: Notice, now: datetime) -> tuple[int, int]:
    """A new version of the event: redo its reminders and tell the chats concerned."""
    chats = await event_audience_now(session, event, _reminder_kind(event))
    return await entity_changed(
        session,
        entity_type="event",
        entity_id=event.id,
        version=event.version,
        notice=notice,
        now=now,
        audience=chats,
    )
