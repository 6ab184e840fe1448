"""Duty swaps (đổi ca trực): an officer hands over a shift, the colleague agrees, an approver approves.

Three kinds of request: ``swap`` (my shift for a colleague's), ``give`` (a named colleague takes mine)
and ``offer`` (anyone of my unit takes it). A request is ``asked`` until the colleague agrees
(``agreed``) or refuses (``refused``); an agreed request waits for the approver: the cluster's admins,
or the unit's commander when the unit says so (``Unit.swap_approver``), who approves (``approved``: both
shifts change in one transaction) or not (``rejected``). A request not settled by the earlier of 24 hours
or the shift's start is ``expired`` (:func:`expire_due`, run by the planner). Every step is audited and
tells the people concerned once; the wording is in :mod:`bot.views.swaps`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.errors import DomainError
from bot.models import ChatLink, DutyShift, DutySwap, Member, Unit
from bot.services import audit, duty
from bot.services.members import Viewer
from bot.services.notices import Notice, member_facts, shift_facts, unit_facts
from bot.services.reminders import notify, withdraw_reminders
from bot.services.subscriptions import load_audience
from bot.textnorm import contains_phrase, normalize

#: how long a request waits at most (it also ends when the shift starts)
LIFETIME = timedelta(hours=24)
OPEN = ("asked", "agreed")
COMMANDER_POSITION = "chi huy truong"
DAY_SHIFT = timedelta(hours=24)


class SwapRefused(DomainError):
    """A request refused; ``reason`` names why (see :func:`bot.views.swaps.refusal_text`), the other
    facts say about what: ``day``, ``name``, ``clash`` (facts of the shift in the way), ``status``."""

    reason: str


@dataclass(frozen=True)
class SwapView:
    """A request and what the views need to show it."""

    swap: DutySwap
    unit: Unit
    shift: DutyShift
    other: DutyShift | None
    requester: Member
    target: Member | None


# --- Reading ---------------------------------------------------------------------------------------


async def _shift_on(session: AsyncSession, member_id: int, day: date) -> DutyShift | None:
    return await session.scalar(
        select(DutyShift)
        .options(selectinload(DutyShift.member))
        .where(DutyShift.member_id == member_id, DutyShift.duty_date == day, DutyShift.status != "cancelled")
        .order_by(DutyShift.id)
        .limit(1)
    )


async def _colleague(session: AsyncSession, unit_id: int, text: str) -> Member:
    """A person named in full (or by given name when only one has it) in the unit; named but of another
    unit, or unknown: refused."""
    norm = normalize(text)
    people = list(await session.scalars(select(Member).where(Member.active.is_(True))))

    def named(p: Member) -> bool:
        full = normalize(p.full_name)
        return contains_phrase(norm, full) or (len(norm.split()) == 1 and full.split()[-1:] == norm.split())

    found = [p for p in people if named(p)]
    mine = [p for p in found if p.unit_id == unit_id]
    if len(mine) == 1:
        return mine[0]
    if len(mine) > 1:
        raise SwapRefused(reason="which_person", name=text.strip(), names=[p.full_name for p in mine])
    if found:
        raise SwapRefused(reason="outside_unit", name=found[0].full_name)
    raise SwapRefused(reason="unknown_person", name=text.strip())


async def _clash(session: AsyncSession, member_id: int, taking: DutyShift, leaving: set[int]) -> None:
    """Refused when ``member_id`` would then hold two shifts at once, or two 24-hour shifts back to back."""
    near = await duty.shifts_of_member(
        session, member_id, taking.duty_date - timedelta(days=2), taking.duty_date + timedelta(days=2)
    )
    rows = [
        s
        for s in near
        if s.id not in (taking.id, *leaving) and s.starts_at <= taking.ends_at and s.ends_at >= taking.starts_at
    ]
    for other in rows:
        if other.starts_at < taking.ends_at and other.ends_at > taking.starts_at:
            raise SwapRefused(reason="two_at_once", name=other.member.full_name, clash=shift_facts(other))
        long = taking.ends_at - taking.starts_at >= DAY_SHIFT and other.ends_at - other.starts_at >= DAY_SHIFT
        if long:
            raise SwapRefused(reason="back_to_back", name=other.member.full_name, clash=shift_facts(other))


def _not_past(shift: DutyShift, now: datetime) -> None:
    if shift.starts_at <= now:
        raise SwapRefused(reason="past", day=shift.duty_date.isoformat())


async def _check(session: AsyncSession, requester: int, shift: DutyShift, other: DutyShift | None, taker: int) -> None:
    """The shifts as they would be: the taker holds ``shift`` (and gives up ``other``), the requester
    holds ``other``."""
    await _clash(session, taker, shift, {other.id} if other else set())
    if other is not None:
        await _clash(session, requester, other, {shift.id})


async def load(session: AsyncSession, swap_id: int) -> SwapView:
    swap = await session.get(DutySwap, swap_id)
    if swap is None:
        raise SwapRefused(reason="not_found", number=swap_id)
    return await _view(session, swap)


async def _view(session: AsyncSession, swap: DutySwap) -> SwapView:
    async def shift(shift_id: int | None) -> DutyShift | None:
        if shift_id is None:
            return None
        return await session.scalar(
            select(DutyShift).options(selectinload(DutyShift.member)).where(DutyShift.id == shift_id)
        )

    main = await shift(swap.shift_id)
    unit = await session.get(Unit, swap.unit_id)
    requester = await session.get(Member, swap.requester_member_id)
    assert main is not None and unit is not None and requester is not None
    target = await session.get(Member, swap.target_member_id) if swap.target_member_id else None
    return SwapView(swap, unit, main, await shift(swap.other_shift_id), requester, target)


def facts(view: SwapView) -> dict[str, Any]:
    """A request as JSON facts, for the notices."""
    swap = view.swap
    return {
        "id": swap.id,
        "kind": swap.kind,
        "status": swap.status,
        "expires_at": swap.expires_at.isoformat(),
        "unit": unit_facts(view.unit),
        "shift": shift_facts(view.shift),
        "other": shift_facts(view.other) if view.other else None,
        "requester": member_facts(view.requester),
        "target": member_facts(view.target),
    }


def is_commander(member: Member | None, unit_id: int) -> bool:
    return member is not None and member.unit_id == unit_id and normalize(member.position or "") == COMMANDER_POSITION


def may_approve(viewer: Viewer, unit: Unit) -> bool:
    """Admins approve every unit's swaps; a commander their own unit's, when the unit says so."""
    if viewer.at_least("admin"):
        return True
    return unit.swap_approver == "commander" and is_commander(viewer.member, unit.id)


async def waiting_for(session: AsyncSession, viewer: Viewer, now: datetime) -> list[SwapView]:
    """Open requests that concern the viewer: to answer, to take, to approve, or their own."""
    member = viewer.member
    if member is None:
        return []
    query = select(DutySwap).where(DutySwap.status.in_(OPEN), DutySwap.expires_at > now)
    if not viewer.at_least("admin"):
        query = query.where(
            or_(
                DutySwap.requester_member_id == member.id,
                DutySwap.target_member_id == member.id,
                DutySwap.unit_id == member.unit_id,  # offers to the unit; its commander's approvals
            )
        )
    views = [await _view(session, s) for s in await session.scalars(query.order_by(DutySwap.id))]
    return [v for v in views if _concerns(v, viewer)]


def _concerns(view: SwapView, viewer: Viewer) -> bool:
    member_id = viewer.member.id if viewer.member else None
    swap = view.swap
    if member_id in (swap.requester_member_id, swap.target_member_id):
        return True
    if swap.kind == "offer" and swap.status == "asked" and viewer.member and viewer.member.unit_id == swap.unit_id:
        return True
    return swap.status == "agreed" and may_approve(viewer, view.unit)


# --- Telling people --------------------------------------------------------------------------------


async def _private_chats(session: AsyncSession, member_ids: list[int | None]) -> list[ChatLink]:
    ids = [i for i in member_ids if i is not None]
    if not ids:
        return []
    return list(
        await session.scalars(
            select(ChatLink)
            .where(ChatLink.member_id.in_(ids), ChatLink.chat_type == "private", ChatLink.active.is_(True))
            .order_by(ChatLink.id)
        )
    )


async def approver_chats(session: AsyncSession, unit: Unit) -> list[ChatLink]:
    if unit.swap_approver == "commander":
        people = await session.scalars(select(Member).where(Member.unit_id == unit.id, Member.active.is_(True)))
        commanders = [p.id for p in people if is_commander(p, unit.id)]
        if commanders:
            return await _private_chats(session, list(commanders))
    admins = await session.scalars(select(Member.id).where(Member.role == "admin", Member.active.is_(True)))
    return await _private_chats(session, list(admins))


async def _unit_people_chats(session: AsyncSession, unit_id: int, but: int) -> list[ChatLink]:
    members = await session.scalars(
        select(Member.id).where(Member.unit_id == unit_id, Member.active.is_(True), Member.id != but)
    )
    return await _private_chats(session, list(members))


async def _tell(session: AsyncSession, view: SwapView, kind: str, chats: list[ChatLink], now: datetime) -> int:
    """One notice of this step to each chat (once, however often it is written)."""
    return await notify(
        session,
        what="swap",
        entity_type="swap",
        entity_id=view.swap.id,
        version=view.swap.step,
        chats=chats,
        notice=Notice(kind, facts(view)),
        now=now,
    )


async def _step(session: AsyncSession, swap: DutySwap, status: str, now: datetime) -> SwapView:
    swap.status, swap.step = status, swap.step + 1
    if status not in OPEN:
        swap.decided_at = now
    await session.flush()
    return await _view(session, swap)


async def _record(session: AsyncSession, viewer: Viewer, view: SwapView, action: str, now: datetime) -> None:
    await audit.record(
        session, viewer, f"swap.{action}", at=now, entity_type="swap", entity_id=view.swap.id, after=facts(view)
    )


# --- The use cases ---------------------------------------------------------------------------------


async def request(
    session: AsyncSession,
    viewer: Viewer,
    *,
    day: date,
    colleague: str | None,
    other_day: date | None,
    now: datetime,
) -> SwapView:
    """Ask to swap my shift of ``day`` with ``colleague``'s of ``other_day``, or to have ``colleague``
    take it, or (no colleague) offer it to anyone of my unit."""
    me = viewer.member
    if me is None or me.unit_id is None:
        raise SwapRefused(reason="no_unit")
    shift = await _shift_on(session, me.id, day)
    if shift is None:
        raise SwapRefused(reason="no_shift", day=day.isoformat())
    _not_past(shift, now)
    target = other = None
    if colleague is not None:
        target = await _colleague(session, shift.unit_id, colleague)
        if target.id == me.id:
            raise SwapRefused(reason="self")
        if other_day is not None:
            other = await _shift_on(session, target.id, other_day)
            if other is None:
                raise SwapRefused(reason="no_other_shift", day=other_day.isoformat(), name=target.full_name)
            _not_past(other, now)
    already = await session.scalar(
        select(DutySwap.id).where(
            DutySwap.status.in_(OPEN),
            DutySwap.expires_at > now,
            DutySwap.shift_id.in_([shift.id, *([other.id] if other else [])])
            | DutySwap.other_shift_id.in_([shift.id, *([other.id] if other else [])]),
        )
    )
    if already is not None:
        raise SwapRefused(reason="already_asked", number=already)
    if target is not None:
        await _check(session, me.id, shift, other, target.id)
    swap = DutySwap(
        unit_id=shift.unit_id,
        kind="swap" if other else ("give" if target else "offer"),
        shift_id=shift.id,
        other_shift_id=other.id if other else None,
        requester_member_id=me.id,
        target_member_id=target.id if target else None,
        status="asked",
        step=1,
        created_at=now,
        expires_at=min(now + LIFETIME, shift.starts_at, *([other.starts_at] if other else [])),
    )
    session.add(swap)
    await session.flush()
    view = await _view(session, swap)
    await _record(session, viewer, view, "asked", now)
    if target is not None:
        chats = await _private_chats(session, [target.id])
    else:
        chats = await _unit_people_chats(session, shift.unit_id, but=me.id)
    await _tell(session, view, "swap_asked", chats, now)
    return view


async def _open(session: AsyncSession, swap_id: int, status: str, now: datetime) -> SwapView:
    view = await load(session, swap_id)
    swap = view.swap
    if swap.status in OPEN and swap.expires_at <= now:
        raise SwapRefused(reason="expired", number=swap.id)
    if swap.status != status:
        raise SwapRefused(reason="not_open", number=swap.id, status=swap.status)
    return view


async def answer(session: AsyncSession, viewer: Viewer, swap_id: int, *, agree: bool, now: datetime) -> SwapView:
    """The colleague agrees or refuses; for an offer, agreeing is taking it (anyone of the unit)."""
    view = await _open(session, swap_id, "asked", now)
    swap = view.swap
    me = viewer.member
    if swap.kind == "offer":
        if me is None or me.unit_id != swap.unit_id or me.id == swap.requester_member_id:
            raise SwapRefused(reason="not_yours", number=swap.id)
        if not agree:
            raise SwapRefused(reason="offer_no_refusal", number=swap.id)
        swap.target_member_id = me.id
    elif me is None or me.id != swap.target_member_id:
        raise SwapRefused(reason="not_yours", number=swap.id)
    _not_past(view.shift, now)
    if agree:
        assert swap.target_member_id is not None
        await _check(session, swap.requester_member_id, view.shift, view.other, swap.target_member_id)
    view = await _step(session, swap, "agreed" if agree else "refused", now)
    await _record(session, viewer, view, "agreed" if agree else "refused", now)
    requester = await _private_chats(session, [swap.requester_member_id])
    if agree:
        await _tell(session, view, "swap_agreed", requester, now)
        # The approver's own notice, with the buttons (a later step: its own version).
        swap.step += 1
        await session.flush()
        await _tell(session, view, "swap_to_approve", await approver_chats(session, view.unit), now)
    else:
        await _tell(session, view, "swap_refused", requester, now)
    return view


async def decide(session: AsyncSession, viewer: Viewer, swap_id: int, *, approve: bool, now: datetime) -> SwapView:
    """The approver approves (both shifts change, reminders are planned again, everyone concerned is
    told once, naming the new person) or not."""
    view = await _open(session, swap_id, "agreed", now)
    swap = view.swap
    if not may_approve(viewer, view.unit):
        raise SwapRefused(reason="not_approver", number=swap.id)
    people = [swap.requester_member_id, swap.target_member_id]
    if not approve:
        view = await _step(session, swap, "rejected", now)
        await _record(session, viewer, view, "rejected", now)
        await _tell(session, view, "swap_rejected", await _private_chats(session, people), now)
        return view
    _not_past(view.shift, now)
    assert swap.target_member_id is not None
    if view.shift.member_id != swap.requester_member_id or (
        view.other is not None and view.other.member_id != swap.target_member_id
    ):
        raise SwapRefused(reason="changed_since", number=swap.id)
    await _check(session, swap.requester_member_id, view.shift, view.other, swap.target_member_id)
    told: dict[int, ChatLink] = {}
    for shift, person in ((view.shift, swap.target_member_id), (view.other, swap.requester_member_id)):
        if shift is None:
            continue
        related = [("duty_day", shift.unit_id, shift.starts_at.isoformat())]
        _, chats = await withdraw_reminders(session, "shift", shift.id, related)
        told.update((c.id, c) for c in chats)
        shift.member_id, shift.person_label = person, None
        shift.version += 1
        shift.updated_at = now
    await session.flush()
    for shift in (view.shift, view.other):
        if shift is not None:
            await session.refresh(shift, ["member"])
    swap.approver_member_id = viewer.member.id if viewer.member else None
    view = await _step(session, swap, "approved", now)
    await _record(session, viewer, view, "approved", now)
    audience = await load_audience(session)
    groups = audience.for_units("duty", [swap.unit_id], groups_only=True)
    chats = [
        *await _private_chats(session, [*people, swap.approver_member_id]),
        *groups,
        *told.values(),
    ]
    await _tell(session, view, "swap_approved", chats, now)
    return view


async def expire_due(session: AsyncSession, now: datetime) -> int:
    """Requests not settled in time end, and their people are told so. Returns how many."""
    rows = list(
        await session.scalars(
            select(DutySwap)
            .where(DutySwap.status.in_(OPEN), DutySwap.expires_at <= now)
            .order_by(DutySwap.id)
            .with_for_update(skip_locked=True)
        )
    )
    for swap in rows:
        view = await _step(session, swap, "expired", swap.expires_at)
        await audit.record(
            session,
            Viewer("guest", "system", "planner", "bot"),
            "swap.expired",
            at=now,
            entity_type="swap",
            entity_id=swap.id,
            after=facts(view),
        )
        chats = await _private_chats(session, [swap.requester_member_id, swap.target_member_id])
        await _tell(session, view, "swap_expired", chats, now)
    return len(rows)
