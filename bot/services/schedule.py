"""Conferences, meetings and other calendar events; the directives they refer to."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.models import Directive, Event, event_units
from bot.services.reminders import entity_changed
from bot.textnorm import normalize
from bot.views import reminders as reminder_views
from bot.views.common import capitalize, when

EVENT_KINDS = {
    "conference": "Hội nghị",
    "meeting": "Cuộc họp",
    "drill": "Diễn tập",
    "inspection": "Kiểm tra",
    "other": "Sự kiện",
}
CONFERENCE_KINDS = {
    "phat_dong": "phát động thi đua",
    "ky_giao_uoc": "ký kết giao ước",
    "so_ket_quy": "sơ kết quý",
    "so_ket_6t": "sơ kết 6 tháng",
    "tong_ket": "tổng kết năm",
}


def local_day_bounds(start: date, end: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC instants covering local days ``start``..``end`` inclusive."""
    return (
        datetime.combine(start, time(0), tz),
        datetime.combine(end + timedelta(days=1), time(0), tz),
    )


def _concerning(unit_id: int | None):
    if unit_id is None:
        return True
    participant = select(event_units.c.event_id).where(event_units.c.unit_id == unit_id)
    return or_(Event.cluster_wide.is_(True), Event.host_unit_id == unit_id, Event.id.in_(participant))


async def events_between(
    session: AsyncSession,
    start: datetime,
    end: datetime,
    *,
    kinds: tuple[str, ...] | None = None,
    unit_id: int | None = None,
) -> list[Event]:
    """Planned events overlapping [start, end), optionally only those concerning a unit."""
    query = select(Event).where(
        Event.status != "cancelled",
        Event.starts_at < end,
        or_(Event.ends_at >= start, Event.ends_at.is_(None) & (Event.starts_at >= start)),
        _concerning(unit_id),
    )
    if kinds:
        query = query.where(Event.kind.in_(kinds))
    return list(await session.scalars(query.order_by(Event.starts_at, Event.id)))


async def find_conferences(
    session: AsyncSession, *, subkinds: tuple[str, ...] | None, year: int | None, tz: ZoneInfo
) -> list[Event]:
    query = (
        select(Event)
        .options(selectinload(Event.units))
        .where(Event.kind.in_(("conference", "meeting")), Event.status != "cancelled")
    )
    if subkinds:
        query = query.where(Event.subkind.in_(subkinds))
    if year is not None:
        start, end = local_day_bounds(date(year, 1, 1), date(year, 12, 31), tz)
        query = query.where(Event.starts_at >= start, Event.starts_at < end)
    return list(await session.scalars(query.order_by(Event.starts_at)))


async def upcoming_conferences(session: AsyncSession, now: datetime, limit: int = 10) -> list[Event]:
    return list(
        await session.scalars(
            select(Event)
            .options(selectinload(Event.units))
            .where(
                Event.kind.in_(("conference", "meeting", "inspection")),
                Event.status != "cancelled",
                or_(Event.starts_at >= now, Event.ends_at >= now),
            )
            .order_by(Event.starts_at)
            .limit(limit)
        )
    )


async def find_directives(session: AsyncSession, number: str | None, words: str | None) -> list[Directive]:
    query = select(Directive)
    if number:
        query = query.where(or_(Directive.number == number, Directive.number == number.lstrip("0")))
    rows = list(await session.scalars(query.order_by(Directive.id)))
    if words and not number:
        key = normalize(words)
        rows = [d for d in rows if key in normalize(d.title)]
    return rows


async def cancel_event(session: AsyncSession, event: Event, *, now: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """Cancel an event: its pending reminders are cancelled and the chats already reminded are told.
    Returns (reminders cancelled, notices written)."""
    event.status = "cancelled"
    event.version += 1
    event.updated_at = now
    await session.flush()
    what = f"{EVENT_KINDS.get(event.kind, 'Sự kiện')} {event.title}"
    notice = reminder_views.cancel_notice(what, capitalize(when(event, tz)))
    return await entity_changed(
        session, entity_type="event", entity_id=event.id, version=event.version, notice=notice, now=now
    )
