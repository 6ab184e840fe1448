"""Combat-readiness duty (trực SSCĐ): rosters and shifts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.models import DutyShift, Member, ReadinessPeriod
from bot.textnorm import contains_phrase, normalize

# Roles in the order a roster shows them.
DUTY_ROLES = {
    "truc_chi_huy": "Trực chỉ huy",
    "truc_ban": "Trực ban",
    "truc_chien": "Trực chiến",
    "truc_thong_tin": "Trực thông tin",
    "truc_ban_noi_vu": "Trực ban nội vụ",
}
# Normalised words that name a role in a question ("ai trực chỉ huy", "trực ban tác chiến").
ROLE_WORDS = {
    "truc chi huy": "truc_chi_huy",
    "ai chi huy": "truc_chi_huy",
    "truc ban noi vu": "truc_ban_noi_vu",
    "truc ban": "truc_ban",
    "truc chien": "truc_chien",
    "truc thong tin": "truc_thong_tin",
}


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


async def roster(session: AsyncSession, unit_id: int, start: date, end: date) -> list[DutyDay]:
    """Shifts of a unit from ``start`` to ``end`` (inclusive), grouped by day; days without shifts
    are left out."""
    rows = await session.scalars(
        select(DutyShift)
        .options(selectinload(DutyShift.member))
        .where(
            DutyShift.unit_id == unit_id,
            DutyShift.duty_date >= start,
            DutyShift.duty_date <= end,
            DutyShift.status != "cancelled",
        )
        .order_by(DutyShift.duty_date, DutyShift.id)
    )
    days: dict[date, list[DutyShift]] = {}
    for shift in rows:
        days.setdefault(shift.duty_date, []).append(shift)
    return [DutyDay(day, sorted(shifts, key=lambda s: role_sort_key(s.role))) for day, shifts in days.items()]


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


async def reinforced_periods_covering(session: AsyncSession, day: date) -> list[ReadinessPeriod]:
    rows = await session.scalars(
        select(ReadinessPeriod).where(ReadinessPeriod.starts_on <= day, ReadinessPeriod.ends_on >= day)
    )
    return list(rows)


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
