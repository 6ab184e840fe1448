"""Readiness of the duty roster: gaps in the next days, and reinforced periods (tăng cường trực).

- A gap is a role a unit keeps (it has shifts of that role on its roster lately or soon) with nobody
  on a day of the next :data:`GAP_DAYS` days. The unit's morning digest lists them; the admins are
  told once per gap day (the outbox's dedupe key: unit, day, chat).
- A reinforced period (Tết, 30/4, 2/9...) is added by an admin (/themtangcuong: dates, units, note),
  audited; the chats of its units hear of it on its first day at :data:`PERIOD_REMINDER_AT` (once: the
  dedupe key), and the digests of those days say "Đang trong đợt tăng cường trực".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from bot.errors import DueDatePassed
from bot.models import ChatLink, DutyShift, Member, ReadinessPeriod, Unit
from bot.services import audit
from bot.services.duty import person_text, role_sort_key
from bot.services.items import require_admin
from bot.services.members import Viewer
from bot.services.notices import Notice, iso, unit_facts
from bot.services.reminders import Push, write_pushes
from bot.services.subscriptions import load_audience

GAP_DAYS = 7
# A role counts as kept by a unit when it is on the unit's roster this far back (or in the coming days).
ROSTER_LOOKBACK = timedelta(days=14)
PERIOD_REMINDER_AT = time(7, 0)
GAP = "duty_gap"
PERIOD_START = "readiness_start"


@dataclass(frozen=True)
class DutyGap:
    day: date
    roles: list[str]  # truc_chi_huy, truc_ban... in roster order


async def duty_gaps(session: AsyncSession, unit_id: int, today: date, days: int = GAP_DAYS) -> list[DutyGap]:
    """The days from ``today`` on (``days`` of them) where a role the unit keeps has nobody."""
    last = today + timedelta(days=days - 1)
    shifts = list(
        await session.scalars(
            select(DutyShift).where(
                DutyShift.unit_id == unit_id,
                DutyShift.status == "planned",
                DutyShift.duty_date >= today - ROSTER_LOOKBACK,
                DutyShift.duty_date <= last,
            )
        )
    )
    roles = sorted({s.role for s in shifts}, key=role_sort_key)
    covered = {(s.duty_date, s.role) for s in shifts if s.member_id is not None or s.person_label}
    gaps = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        missing = [role for role in roles if (day, role) not in covered]
        if missing:
            gaps.append(DutyGap(day, missing))
    return gaps


def gap_facts(gaps: list[DutyGap]) -> list[dict]:
    return [{"day": g.day.isoformat(), "roles": g.roles} for g in gaps]


async def admin_chats(session: AsyncSession, unit_id: int) -> list[ChatLink]:
    """The private chats of the admins of a unit, and of the cluster's admins (who belong to none)."""
    return list(
        await session.scalars(
            select(ChatLink)
            .join(Member, Member.id == ChatLink.member_id)
            .where(
                Member.role == "admin",
                Member.active.is_(True),
                or_(Member.unit_id == unit_id, Member.unit_id.is_(None)),
                ChatLink.chat_type == "private",
                ChatLink.active.is_(True),
            )
            .order_by(ChatLink.id)
        )
    )


async def notify_gaps(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Tell the admins of each unit with a roster about its gap days, once per gap day and chat."""
    today = now.astimezone(settings.tz).date()
    unit_ids = set(
        await session.scalars(
            select(DutyShift.unit_id).where(
                DutyShift.status == "planned",
                DutyShift.duty_date >= today - ROSTER_LOOKBACK,
                DutyShift.duty_date < today + timedelta(days=GAP_DAYS),
            )
        )
    )
    pushes = []
    for unit_id in sorted(unit_ids):
        gaps = await duty_gaps(session, unit_id, today)
        if not gaps:
            continue
        unit = await session.get(Unit, unit_id)
        assert unit is not None
        chats = await admin_chats(session, unit_id)
        for gap in gaps:
            notice = Notice(GAP, {"unit": unit_facts(unit), "gaps": gap_facts([gap])})
            pushes += [
                Push(GAP, "unit", unit_id, gap.day.isoformat(), 1, "notice", now, chat, notice, urgent=True)
                for chat in chats
            ]
    return await write_pushes(session, pushes, now=now, grace=timedelta(days=365), tz=settings.tz)


# --- Reinforced periods ----------------------------------------------------------------------------


def applies_to(period: ReadinessPeriod, unit_id: int | None) -> bool:
    """A period without units concerns the whole cluster."""
    return not period.unit_ids or (unit_id is not None and unit_id in period.unit_ids)


async def periods_on(session: AsyncSession, day: date, unit_id: int | None) -> list[ReadinessPeriod]:
    """The reinforced periods running on ``day`` that concern the unit."""
    rows = await session.scalars(
        select(ReadinessPeriod)
        .where(ReadinessPeriod.starts_on <= day, ReadinessPeriod.ends_on >= day)
        .order_by(ReadinessPeriod.starts_on)
    )
    return [p for p in rows if applies_to(p, unit_id)]


def period_facts(period: ReadinessPeriod, unit_names: list[str]) -> dict:
    return {
        "id": period.id,
        "name": period.name,
        "starts_on": iso(period.starts_on),
        "ends_on": iso(period.ends_on),
        "note": period.note,
        "units": unit_names,
        "illustrative": bool(period.illustrative),
    }


@dataclass(frozen=True)
class PeriodDraft:
    name: str
    starts_on: date
    ends_on: date
    unit_ids: tuple[int, ...] = ()  # empty: the whole cluster
    note: str | None = None


async def _unit_names(session: AsyncSession, unit_ids: list[int]) -> list[str]:
    rows = dict((await session.execute(select(Unit.id, Unit.short_name).where(Unit.id.in_(unit_ids)))).all())
    return [rows[i] for i in unit_ids if i in rows]


async def add_period(
    session: AsyncSession, actor: Viewer, draft: PeriodDraft, *, now: datetime, today: date
) -> ReadinessPeriod:
    """An admin adds a reinforced period; audited. Its start is reminded by the planner."""
    require_admin(actor, "readiness.add")
    if draft.ends_on < today:
        raise DueDatePassed(due=draft.ends_on, today=today)
    period = ReadinessPeriod(
        key=f"RP-{draft.starts_on:%Y%m%d}-{secrets.token_hex(4)}",
        name=draft.name,
        starts_on=min(draft.starts_on, draft.ends_on),
        ends_on=max(draft.starts_on, draft.ends_on),
        level="tang_cuong",
        unit_ids=list(draft.unit_ids) or None,
        note=draft.note,
        illustrative=False,
    )
    session.add(period)
    await session.flush()
    await audit.record(
        session,
        actor,
        "readiness.add",
        at=now,
        entity_type="readiness_period",
        entity_id=period.id,
        after=period_facts(period, await _unit_names(session, list(draft.unit_ids))),
    )
    return period


async def remind_period_starts(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """On a period's first day at 07h00, its units' chats (subscribed to duty) hear of it, once."""
    tz = settings.tz
    grace = timedelta(minutes=settings.grace_minutes)
    first, last = (now - grace).astimezone(tz).date(), now.astimezone(tz).date()
    periods = await session.scalars(
        select(ReadinessPeriod).where(ReadinessPeriod.starts_on >= first, ReadinessPeriod.starts_on <= last)
    )
    audience = None
    pushes = []
    for period in periods:
        fire = datetime.combine(period.starts_on, PERIOD_REMINDER_AT, tz)
        if not now - grace <= fire <= now:
            continue
        audience = audience or await load_audience(session)
        units = list(period.unit_ids or [])
        chats = audience.for_units("duty", units) if units else audience.everyone("duty")
        notice = Notice(PERIOD_START, period_facts(period, await _unit_names(session, units)))
        pushes += [
            Push(
                PERIOD_START, "readiness_period", period.id, iso(period.starts_on) or "", 1, "start", fire, chat, notice
            )
            for chat in chats
        ]
    return await write_pushes(session, pushes, now=now, grace=grace, tz=tz)


# --- Load: duty count and hours per person ----------------------------------------------------------


@dataclass(frozen=True)
class DutyLoad:
    label: str  # "Thiếu tá Vũ Thành Long" or a team ("Tổ 1")
    shifts: int
    hours: float


def month_days(year: int, month: int) -> tuple[date, date]:
    first = date(year, month, 1)
    following = date(year + (month == 12), month % 12 + 1, 1)
    return first, following - timedelta(days=1)


async def duty_load(session: AsyncSession, unit_id: int, first: date, last: date) -> list[DutyLoad]:
    """Per person (or team) on the unit's roster from ``first`` to ``last``: shifts and hours on duty,
    most hours first."""
    shifts = await session.scalars(
        select(DutyShift)
        .options(selectinload(DutyShift.member))
        .where(
            DutyShift.unit_id == unit_id,
            DutyShift.status == "planned",
            DutyShift.duty_date >= first,
            DutyShift.duty_date <= last,
        )
    )
    totals: dict[str, list[float]] = {}
    for shift in shifts:
        label = person_text(shift, with_position=False)
        count_hours = totals.setdefault(label, [0, 0.0])
        count_hours[0] += 1
        count_hours[1] += (shift.ends_at - shift.starts_at).total_seconds() / 3600
    loads = [DutyLoad(label, int(n), hours) for label, (n, hours) in totals.items()]
    return sorted(loads, key=lambda load: (-load.hours, load.label))
