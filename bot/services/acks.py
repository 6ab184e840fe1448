"""Duty acknowledgement, escalation and snooze.

- The person on duty answers their reminder with "Đã nhận" (:func:`acknowledge`): recorded with its
  time, once per (shift, person).
- Nobody has acknowledged by ``duty_ack_minutes`` before the handover (:func:`escalate_unacknowledged`,
  run with the planner): the unit's commander and the unit's groups are told who has not, once per
  shift version and chat. The outbox's unique dedupe key makes that hold across ticks and replicas.
- An acknowledgement after the escalation went out tells the same chats (a follow-up); an escalation
  not yet sent is cancelled.
- "Nhắc lại sau 1 giờ" (:func:`snooze`): a reminder to a person is written again an hour later, once per
  reminder (the copy's dedupe key is made from the original row's id, and the copy offers no snooze).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.config import Settings
from bot.db import insert_ignore
from bot.models import ChatLink, DutyAck, DutyShift, Member, OutboxMessage, Unit
from bot.services import audit
from bot.services.members import Viewer
from bot.services.notices import Notice, iso, shift_facts, unit_facts
from bot.services.reminders import REMINDER_KINDS, notify
from bot.services.subscriptions import load_audience

ESCALATION = "escalation"
LATE_ACK = "late_ack"
SNOOZE = timedelta(hours=1)
#: the short position of a unit's commander (Chỉ huy trưởng) in the member list.
COMMANDER_POSITION = "CHT"

AckOutcome = Literal["acked", "already", "not_yours", "unknown"]


@dataclass(frozen=True)
class AckResult:
    outcome: AckOutcome
    shift: DutyShift | None = None
    unit: Unit | None = None
    acked_at: datetime | None = None
    late: bool = False  # after the escalation went out
    told: int = 0  # chats told of the late acknowledgement


async def _shift(session: AsyncSession, shift_id: int) -> DutyShift | None:
    return await session.scalar(
        select(DutyShift).options(selectinload(DutyShift.member)).where(DutyShift.id == shift_id)
    )


async def acknowledge(session: AsyncSession, viewer: Viewer, shift_id: int, now: datetime) -> AckResult:
    """The viewer acknowledges their shift; only the person on it may."""
    shift = await _shift(session, shift_id)
    if shift is None or shift.status != "planned":
        return AckResult("unknown")
    unit = await session.get(Unit, shift.unit_id)
    if viewer.member is None or shift.member_id != viewer.member.id:
        return AckResult("not_yours", shift, unit)
    row = {"shift_id": shift.id, "member_id": shift.member_id, "acked_at": now, "channel": viewer.channel}
    if not await insert_ignore(session, DutyAck.__table__, [row], key=["shift_id", "member_id"]):
        earlier = await session.scalar(
            select(DutyAck.acked_at).where(DutyAck.shift_id == shift.id, DutyAck.member_id == shift.member_id)
        )
        return AckResult("already", shift, unit, earlier)
    await audit.record(
        session, viewer, "duty.ack", at=now, entity_type="shift", entity_id=shift.id, after={"acked_at": iso(now)}
    )
    escalation = (
        (OutboxMessage.kind == ESCALATION)
        & (OutboxMessage.entity_type == "shift")
        & (OutboxMessage.entity_id == shift.id)
    )
    await session.execute(
        update(OutboxMessage)
        .where(escalation, OutboxMessage.status.in_(("pending", "claimed")))
        .values(status="cancelled", last_error="đã nhận ca")
    )
    told_chats = list(
        await session.scalars(
            select(ChatLink)
            .where(
                ChatLink.active.is_(True),
                ChatLink.id.in_(select(OutboxMessage.chat_link_id).where(escalation, OutboxMessage.status == "sent")),
            )
            .order_by(ChatLink.id)
        )
    )
    told = 0
    if told_chats and unit is not None:
        notice = Notice(LATE_ACK, {"shift": shift_facts(shift), "unit": unit_facts(unit), "acked_at": iso(now)})
        told = await _tell(session, shift, told_chats, notice, now)
    return AckResult("acked", shift, unit, now, late=bool(told_chats), told=told)


async def _tell(session: AsyncSession, shift: DutyShift, chats: list[ChatLink], notice: Notice, now: datetime) -> int:
    """One notice about ``shift`` to each chat, once per shift version (the outbox's dedupe key)."""
    return await notify(
        session,
        what=notice.kind,
        entity_type="shift",
        entity_id=shift.id,
        version=shift.version,
        chats=chats,
        notice=notice,
        now=now,
    )


async def acknowledged(session: AsyncSession, shifts: list[DutyShift]) -> dict[int, datetime]:
    """When each of ``shifts`` was acknowledged by the person now on it (shift id -> time)."""
    ids = [s.id for s in shifts if s.member_id is not None]
    if not ids:
        return {}
    rows = await session.execute(
        select(DutyAck.shift_id, DutyAck.member_id, DutyAck.acked_at).where(DutyAck.shift_id.in_(ids))
    )
    holder = {s.id: s.member_id for s in shifts}
    return {shift_id: at for shift_id, member_id, at in rows.all() if holder.get(shift_id) == member_id}


async def commander_chats(session: AsyncSession, unit_id: int) -> list[ChatLink]:
    """The private chats of the unit's commander (Chỉ huy trưởng)."""
    return list(
        await session.scalars(
            select(ChatLink)
            .join(Member, Member.id == ChatLink.member_id)
            .where(
                Member.unit_id == unit_id,
                Member.position_short == COMMANDER_POSITION,
                Member.active.is_(True),
                ChatLink.chat_type == "private",
                ChatLink.active.is_(True),
            )
            .order_by(ChatLink.id)
        )
    )


def is_commander_of(member: Member | None, unit_id: int) -> bool:
    return member is not None and member.unit_id == unit_id and member.position_short == COMMANDER_POSITION


async def escalate_unacknowledged(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Tell the commander and the groups of each shift nobody acknowledged in time; returns rows written.

    A shift qualifies once its person was sent a duty reminder, ``duty_ack_minutes`` before the
    handover has come, and the handover is not older than the grace window."""
    lead = timedelta(minutes=settings.duty_ack_minutes)
    grace = timedelta(minutes=settings.grace_minutes)
    reminded = exists().where(
        OutboxMessage.kind == "duty",
        OutboxMessage.entity_type == "shift",
        OutboxMessage.entity_id == DutyShift.id,
        OutboxMessage.status == "sent",
    )
    acked = exists().where(DutyAck.shift_id == DutyShift.id, DutyAck.member_id == DutyShift.member_id)
    shifts = list(
        await session.scalars(
            select(DutyShift)
            .options(selectinload(DutyShift.member))
            .where(
                DutyShift.status == "planned",
                DutyShift.member_id.is_not(None),
                DutyShift.starts_at <= now + lead,
                DutyShift.starts_at > now - grace,
                reminded,
                ~acked,
            )
            .order_by(DutyShift.starts_at, DutyShift.id)
        )
    )
    if not shifts:
        return 0
    audience = await load_audience(session)
    written = 0
    for shift in shifts:
        unit = await session.get(Unit, shift.unit_id)
        assert unit is not None
        chats = [
            *await commander_chats(session, shift.unit_id),
            *audience.for_units("duty", [shift.unit_id], groups_only=True),
        ]
        chats = [c for c in chats if c.member_id != shift.member_id]  # not the person themselves
        if not chats:
            continue
        notice = Notice(
            ESCALATION, {"shift": shift_facts(shift), "unit": unit_facts(unit), "minutes": settings.duty_ack_minutes}
        )
        written += await _tell(session, shift, chats, notice, now)
    return written


# --- Snooze ------------------------------------------------------------------------------------------

SnoozeOutcome = Literal["snoozed", "already", "unknown"]


@dataclass(frozen=True)
class SnoozeResult:
    outcome: SnoozeOutcome
    at: datetime | None = None


async def snooze(session: AsyncSession, *, channel: str, chat_id: str, row_id: int, now: datetime) -> SnoozeResult:
    """The reminder ``row_id`` sent to this chat comes again an hour from now, once."""
    row = await session.get(OutboxMessage, row_id)
    if (
        row is None
        or row.channel != channel
        or row.chat_id != chat_id
        or row.kind not in REMINDER_KINDS
        or row.notice is None
        or (row.payload or {}).get("snoozed")
    ):
        return SnoozeResult("unknown")
    at = now + SNOOZE
    copy = {
        "dedupe_key": f"snooze:{row.id}",
        "slot": f"snooze:{row.id}",
        "kind": row.kind,
        "chat_link_id": row.chat_link_id,
        "channel": row.channel,
        "chat_id": row.chat_id,
        "notice": row.notice,
        "payload": {**(row.payload or {}), "snoozed": True},
        "text": None,
        "buttons": None,
        "entity_type": row.entity_type,
        "entity_id": row.entity_id,
        "occurrence": row.occurrence,
        "entity_version": row.entity_version,
        "due_at": at,
        "send_at": at,
        "next_attempt_at": at,
        "status": "pending",
        "attempts": 0,
        "urgent": True,
        "late": False,
        "created_at": now,
    }
    if not await insert_ignore(session, OutboxMessage.__table__, [copy], key="dedupe_key"):
        earlier = await session.scalar(
            select(OutboxMessage.due_at).where(OutboxMessage.dedupe_key == copy["dedupe_key"])
        )
        return SnoozeResult("already", earlier)
    return SnoozeResult("snoozed", at)
