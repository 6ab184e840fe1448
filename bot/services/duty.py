"""Combat-readiness duty (trực SSCĐ): rosters and shifts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload, selectinload

from bot import lexicon
from bot.errors import UserError
from bot.models import DutyShift, Member, ReadinessPeriod
from bot.services.units import snapshot_columns, snapshot_of_row
from bot.textnorm import contains_phrase, normalize
from bot.vntime import fmt_date, fmt_time

# Roles in the order a roster shows them.
DUTY_ROLES = {
    "truc_chi_huy": "Trực chỉ huy",
    "truc_ban": "Trực ban",
    "truc_chien": "Trực chiến",
    "truc_thong_tin": "Trực thông tin",
    "truc_ban_noi_vu": "Trực ban nội vụ",
}
# Normalised words that name a role in a question live in the lexicon; kept here under the old name.
ROLE_WORDS = lexicon.ROLE_WORDS


def role_name(role: str) -> str:
    return DUTY_ROLES.get(role, role.replace("_", " ").capitalize())


def role_sort_key(role: str) -> int:
    order = list(DUTY_ROLES)
    return order.index(role) if role in order else len(order)


@dataclass(frozen=True)
class DutyDay:
    """Everything on duty for one unit on one duty day, in roster order."""

    day: date
    shifts: list[DutyShift]

    def by_role(self, role: str) -> DutyShift | None:
        return next((s for s in self.shifts if s.role == role), None)


# The questions' reads are built once (building a statement costs more than running it on an index);
# each loads the person on duty in the same statement.
@cache
def _roster_query(one_unit: bool = True) -> Select[Any]:
    """A Core select (a roster is read for most questions, and loading its shifts and people as ORM
    objects cost more than the query): each shift's columns, then its person's; of one unit, or of
    every unit (the roster window)."""
    shifts, members = DutyShift.__table__.c, Member.__table__.c
    query = (
        select(*snapshot_columns(DutyShift), *snapshot_columns(Member))
        .outerjoin_from(DutyShift.__table__, Member.__table__, members.id == shifts.member_id)
        .where(
            shifts.duty_date >= bindparam("start"),
            shifts.duty_date <= bindparam("end"),
            shifts.status != "cancelled",
        )
        .order_by(shifts.duty_date, shifts.id)
    )
    return query.where(shifts.unit_id == bindparam("unit_id")) if one_unit else query


@cache
def _running_query() -> Select[tuple[DutyShift]]:
    return (
        select(DutyShift)
        .options(joinedload(DutyShift.member))
        .where(
            DutyShift.unit_id == bindparam("unit_id"),
            DutyShift.status != "cancelled",
            DutyShift.starts_at <= bindparam("moment"),
            DutyShift.ends_at > bindparam("moment"),
        )
    )


@cache
def _member_shifts_query() -> Select[tuple[DutyShift]]:
    return (
        select(DutyShift)
        .options(joinedload(DutyShift.member))
        .where(
            DutyShift.member_id == bindparam("member_id"),
            DutyShift.status != "cancelled",
            DutyShift.duty_date >= bindparam("start"),
            DutyShift.duty_date <= bindparam("end"),
        )
        .order_by(DutyShift.duty_date, DutyShift.id)
    )


@cache
def _covering_query() -> Select[tuple[ReadinessPeriod]]:
    return (
        select(ReadinessPeriod)
        .where(ReadinessPeriod.starts_on <= bindparam("day"), ReadinessPeriod.ends_on >= bindparam("day"))
        .order_by(ReadinessPeriod.id)
    )


async def roster(session: AsyncSession, unit_id: int, start: date, end: date) -> list[DutyDay]:
    """Shifts of a unit from ``start`` to ``end`` (inclusive), grouped by day; days without shifts
    are left out. The shifts (with their ``member``) are frozen snapshots
    (:func:`bot.services.units.snapshot`), read only."""
    rows = await session.execute(_roster_query(), {"unit_id": unit_id, "start": start, "end": end})
    return _duty_days(_shift_snapshots(rows))


def _shift_snapshots(rows: Any) -> list[DutyShift]:
    """Snapshots of rows of :func:`_roster_query`'s columns (each shift with its ``member``, one
    snapshot per person)."""
    split = len(snapshot_columns(DutyShift))
    people: dict[int, Member] = {}
    shifts = []
    for row in rows:
        member = None
        if row.member_id is not None:
            member = people.get(row.member_id)
            if member is None:
                member = people[row.member_id] = snapshot_of_row(Member, row, split)
        shifts.append(snapshot_of_row(DutyShift, row, member=member))
    return shifts


def _duty_days(shifts: list[DutyShift]) -> list[DutyDay]:
    """Shifts in (day, id) order grouped by day, each day's in roster order."""
    days: dict[date, list[DutyShift]] = {}
    for shift in shifts:
        days.setdefault(shift.duty_date, []).append(shift)
    return [DutyDay(day, sorted(shifts, key=lambda s: role_sort_key(s.role))) for day, shifts in days.items()]


# Duty questions are mostly about the days around today (today, tomorrow, this week, next week, a
# person's coming days): the shifts of every unit over these weeks are read once per content version
# (and per day: the window moves with today) and such questions are answered from them.
WINDOW_DAYS_BEFORE = 7  # from the Monday of last week
WINDOW_DAYS = 35  # to the Sunday three weeks ahead


@dataclass(frozen=True)
class RosterWindow:
    """Every unit's shifts (not cancelled) from ``start`` to ``end`` inclusive: snapshots, read only.
    Each query answers exactly what the function of the same name reads from the database, for spans
    the window :meth:`covers`."""

    start: date
    end: date
    # Per unit, per day (in day order): the day's shifts in roster order.
    days: dict[int, dict[date, DutyDay]]
    # Per member, their shifts in (day, id) order.
    of_member: dict[int, tuple[DutyShift, ...]]

    def covers(self, start: date, end: date) -> bool:
        return self.start <= start and end <= self.end

    def roster(self, unit_id: int, start: date, end: date) -> list[DutyDay]:
        return [day for when, day in self.days.get(unit_id, {}).items() if start <= when <= end]

    def rosters_of_day(self, unit_ids: list[int], day: date) -> dict[int, DutyDay]:
        found = {}
        for unit_id in unit_ids:
            duty_day = self.days.get(unit_id, {}).get(day)
            if duty_day is not None:
                found[unit_id] = duty_day
        return found

    def shifts_of_member(self, member_id: int, start: date, end: date) -> list[DutyShift]:
        return [s for s in self.of_member.get(member_id, ()) if start <= s.duty_date <= end]


def window_around(today: date) -> tuple[date, date]:
    """The days a :class:`RosterWindow` read on ``today`` holds."""
    start = today - timedelta(days=today.weekday() + WINDOW_DAYS_BEFORE)
    return start, start + timedelta(days=WINDOW_DAYS - 1)


async def roster_window(session: AsyncSession, today: date) -> RosterWindow:
    start, end = window_around(today)
    shifts = _shift_snapshots(await session.execute(_roster_query(one_unit=False), {"start": start, "end": end}))
    per_unit: dict[int, list[DutyShift]] = {}
    of_member: dict[int, list[DutyShift]] = {}
    for shift in shifts:
        per_unit.setdefault(shift.unit_id, []).append(shift)
        if shift.member_id is not None:
            of_member.setdefault(shift.member_id, []).append(shift)
    days = {unit_id: {d.day: d for d in _duty_days(unit_shifts)} for unit_id, unit_shifts in per_unit.items()}
    return RosterWindow(start, end, days, {member: tuple(found) for member, found in of_member.items()})


def person_text(shift: DutyShift, *, with_position: bool = True) -> str:
    """'Trung tá Lê Quang Cường (Phó CHT–TMT)', or the team label ('Tổ 1')."""
    member: Member | None = shift.member
    if member is None:
        return shift.person_label or "chưa phân công"
    name = " ".join(part for part in (member.rank, member.full_name) if part)
    if with_position and member.position_short:
        name += f" ({member.position_short})"
    return name


async def readiness_periods(session: AsyncSession, year: int) -> list[ReadinessPeriod]:
    rows = await session.scalars(
        select(ReadinessPeriod)
        .where(ReadinessPeriod.starts_on <= date(year, 12, 31), ReadinessPeriod.ends_on >= date(year, 1, 1))
        .order_by(ReadinessPeriod.starts_on)
    )
    return list(rows)


async def readiness_periods_all(session: AsyncSession) -> list[ReadinessPeriod]:
    """Every readiness period (a small table), in the order :func:`reinforced_periods_covering` gives."""
    return list(await session.scalars(select(ReadinessPeriod).order_by(ReadinessPeriod.id)))


def covering(periods: list[ReadinessPeriod], day: date) -> list[ReadinessPeriod]:
    """Those of ``periods`` that cover ``day``."""
    return [p for p in periods if p.starts_on <= day <= p.ends_on]


async def reinforced_periods_covering(session: AsyncSession, day: date) -> list[ReadinessPeriod]:
    return list(await session.scalars(_covering_query(), {"day": day}))


def period_named(periods: list[ReadinessPeriod], norm_text: str) -> ReadinessPeriod | None:
    """The period a question names: 'tết', 'giỗ tổ', '30/4', 'quốc khánh'..."""
    for period in periods:
        words = normalize(period.name).split()
        names = {" ".join(words[:2]), *(w for w in words if "/" in w)}
        if len(words[0]) >= 3:
            names.add(words[0])
        if any(contains_phrase(norm_text, name) for name in names):
            return period
    return None


# --- Changing rosters (admins) ------------------------------------------------------------------


async def resolve_person(session: AsyncSession, unit_id: int, text: str) -> tuple[int | None, str | None]:
    """A roster entry as typed: a person of the unit ("Trung tá Lê Quang Cường", "Cường") or a team
    ("Tổ 1"). Returns (member id, None) or (None, label)."""
    people = list(await session.scalars(select(Member).where(Member.unit_id == unit_id, Member.active.is_(True))))
    return person_among(people, text)


def person_among(people: list[Member], text: str) -> tuple[int | None, str | None]:
    """:func:`resolve_person` among the given members of a unit."""
    norm = normalize(text)
    full = [p for p in people if contains_phrase(norm, normalize(p.full_name))]
    if len(full) == 1:
        return full[0].id, None
    given = [p for p in people if normalize(p.full_name).split()[-1] == norm.split()[-1]] if norm else []
    if len(norm.split()) == 1 and len(given) == 1:
        return given[0].id, None
    if not text.strip() or len(text) > 120:
        raise UserError("Tên người trực phải có, tối đa 120 ký tự.")
    return None, " ".join(text.split())


def shift_times(day: date, handover: time, tz: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, handover, tz)
    return start, start + timedelta(days=1)


async def overlapping(
    session: AsyncSession, unit_id: int, role: str, start: datetime, end: datetime, exclude: int | None = None
) -> DutyShift | None:
    query = (
        select(DutyShift)
        .options(selectinload(DutyShift.member))
        .where(
            DutyShift.unit_id == unit_id,
            DutyShift.role == role,
            DutyShift.status != "cancelled",
            DutyShift.starts_at < end,
            DutyShift.ends_at > start,
        )
    )
    if exclude is not None:
        query = query.where(DutyShift.id != exclude)
    return await session.scalar(query.limit(1))


async def new_shifts(
    session: AsyncSession,
    *,
    unit_id: int,
    days: list[date],
    role: str,
    people: list[tuple[int | None, str | None]],
    handover: time,
    now: datetime,
    tz: ZoneInfo,
) -> list[DutyShift]:
    """Add one shift per day (one person for all days, or one per day); nothing is written if any
    day is in the past or overlaps a shift of the same role."""
    if role not in DUTY_ROLES:
        raise UserError("Vai trò trực phải là: " + ", ".join(DUTY_ROLES.values()) + ".")
    if len(people) not in (1, len(days)):
        raise UserError(
            f"Có {len(days)} ngày nhưng {len(people)} người: cho 1 người cho cả đợt, hoặc {len(days)} người."
        )
    created = []
    for index, day in enumerate(days):
        start, end = shift_times(day, handover, tz)
        if start < now:
            raise UserError(
                f"Ngày {fmt_date(day)} đã qua (ca bắt đầu {fmt_time(handover)}); chỉ thêm lịch trực sắp tới."
            )
        clash = await overlapping(session, unit_id, role, start, end)
        if clash is not None:
            raise UserError(
                f"Đã có {role_name(role).lower()} ngày {fmt_date(clash.duty_date)}: {person_text(clash)} "
                f"[T{clash.id}]. Dùng /sua T{clash.id} người ... để đổi người."
            )
        member_id, label = people[index if len(people) > 1 else 0]
        reinforced = bool(await reinforced_periods_covering(session, day))
        shift = DutyShift(
            unit_id=unit_id,
            duty_date=day,
            role=role,
            member_id=member_id,
            person_label=label,
            starts_at=start,
            ends_at=end,
            reinforced=reinforced,
            updated_at=now,
        )
        session.add(shift)
        created.append(shift)
    await session.flush()
    return created


async def load_shift(session: AsyncSession, shift_id: int) -> DutyShift | None:
    return await session.scalar(
        select(DutyShift).options(selectinload(DutyShift.member)).where(DutyShift.id == shift_id)
    )


async def change_shift(
    session: AsyncSession,
    shift: DutyShift,
    *,
    person: tuple[int | None, str | None] | None = None,
    day: date | None = None,
    handover: time,
    now: datetime,
    tz: ZoneInfo,
    allow_past: bool = False,
) -> DutyShift:
    """Another person, or another day (same role; it must not overlap another shift). The caller
    tells the chats concerned (bot/services/reminders.entity_changed). A day already past is refused
    unless ``allow_past`` (the admin confirmed a warning saying so)."""
    if shift.status == "cancelled":
        raise UserError(f"Ca trực T{shift.id} đã hủy.")
    if day is not None:
        start, end = shift_times(day, handover, tz)
        if start < now and not allow_past:
            raise UserError(f"Ngày {fmt_date(day)} đã qua; chỉ chuyển ca sang ngày sắp tới.")
        clash = await overlapping(session, shift.unit_id, shift.role, start, end, exclude=shift.id)
        if clash is not None:
            raise UserError(
                f"Ngày {fmt_date(day)} đã có {role_name(shift.role).lower()}: {person_text(clash)} [T{clash.id}]."
            )
        shift.duty_date, shift.starts_at, shift.ends_at = day, start, end
        shift.reinforced = bool(await reinforced_periods_covering(session, day))
    if person is not None:
        shift.member_id, shift.person_label = person
    shift.version += 1
    shift.updated_at = now
    await session.flush()
    # Load the new person: the shift's member was loaded before the change, and reading the shift
    # again would hand back the same object with the old one (the "after" of the notice was wrong).
    await session.refresh(shift, ["member"])
    return shift


async def person_names(session: AsyncSession, people: list[tuple[int | None, str | None]]) -> list[str]:
    """How roster entries read: a member's rank and name, or the label typed ("Tổ 1")."""
    names = []
    for member_id, label in people:
        member = await session.get(Member, member_id) if member_id else None
        names.append(" ".join(p for p in (member.rank, member.full_name) if p) if member else str(label))
    return names


# --- Questions about one moment or one person ---------------------------------------------------


async def on_duty_at(session: AsyncSession, unit_id: int, moment: datetime) -> list[DutyShift]:
    """The shifts of a unit running at ``moment`` (a 24-hour shift that began the day before counts)."""
    rows = await session.scalars(_running_query(), {"unit_id": unit_id, "moment": moment})
    return sorted(rows, key=lambda s: role_sort_key(s.role))


async def shifts_of_member(session: AsyncSession, member_id: int, start: date, end: date) -> list[DutyShift]:
    """A person's shifts from ``start`` to ``end`` (inclusive), by day."""
    return list(await session.scalars(_member_shifts_query(), {"member_id": member_id, "start": start, "end": end}))


async def next_shift_of_member(session: AsyncSession, member_id: int, after: date) -> DutyShift | None:
    return await session.scalar(
        select(DutyShift)
        .where(DutyShift.member_id == member_id, DutyShift.status != "cancelled", DutyShift.duty_date > after)
        .order_by(DutyShift.duty_date)
        .limit(1)
    )


async def rosters_of_day(session: AsyncSession, unit_ids: list[int], day: date) -> dict[int, DutyDay]:
    """Every given unit's duty on one day (units without shifts are left out)."""
    rows = await session.scalars(
        select(DutyShift)
        .options(joinedload(DutyShift.member))
        .where(DutyShift.unit_id.in_(unit_ids), DutyShift.duty_date == day, DutyShift.status != "cancelled")
        .order_by(DutyShift.id)
    )
    grouped: dict[int, list[DutyShift]] = {}
    for shift in rows:
        grouped.setdefault(shift.unit_id, []).append(shift)
    return {uid: DutyDay(day, sorted(s, key=lambda x: role_sort_key(x.role))) for uid, s in grouped.items()}
