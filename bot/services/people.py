"""Use cases for people: joining with an invite, issuing invites, granting and revoking the admin role,
and the reads admins need (the bot's users, the audit log).

Channel-neutral: a chat on "telegram", "zalo" or "console" is one ``(channel, chat_id)`` pair of a
:class:`~bot.models.ChatLink`, and one :class:`~bot.models.Member` may hold chat links on several channels.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AuditEntry, ChatLink, Invite, Member, Unit
from bot.services import audit, members
from bot.services.errors import (
    AdminOnly,
    AmbiguousMember,
    MemberNotFound,
    PersonNotInUnit,
    SelfDemotion,
    UnitNotFound,
)
from bot.services.members import Viewer
from bot.textnorm import contains_phrase, normalize

BOT_ROLES = ("officer", "admin")
MAX_AUDIT_ENTRIES = 50


def require_admin(actor: Viewer, action: str) -> None:
    """Refuse ``action`` (an audit action name) to anyone but an admin."""
    if not actor.at_least("admin"):
        raise AdminOnly(action)


# --- joining and invites -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Membership:
    """What joining gave: the member, their unit, the chat now linked to them, and their role from now on
    (a bootstrap admin from the settings stays admin whatever the invite says)."""

    member: Member
    unit: Unit
    chat: ChatLink
    role: str


async def join_with_invite(
    session: AsyncSession, actor: Viewer, code: str, *, chat_id: str, now: datetime
) -> Membership:
    """The sender of a private chat on ``actor.channel`` joins with an invite code: their chat is linked to
    the invite's person (or a new member), unit and role, subscribed to everything; one audit entry."""
    member, unit = await members.join_with_invite(
        session, code=code, channel=actor.channel, chat_id=chat_id, sender_name=actor.sender_name, now=now
    )
    chat = await members.find_chat(session, actor.channel, chat_id)
    assert chat is not None
    role = "admin" if actor.role == "admin" else (member.role or "officer")
    await audit.record(
        session,
        replace(actor, role=role, member=member, chat_link=chat),
        "member.join",
        at=now,
        entity_type="member",
        entity_id=member.id,
        after={"unit": unit.name, "role": member.role, "invite": code},
    )
    return Membership(member, unit, chat, role)


async def create_invite(
    session: AsyncSession,
    actor: Viewer,
    unit_id: int,
    role: str,
    max_uses: int,
    valid_for: timedelta,
    person_id: int | None,
    now: datetime,
) -> Invite:
    """An admin issues an invite code for a unit (for one named person of it, when ``person_id``)."""
    require_admin(actor, "invite.create")
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise UnitNotFound(unit_id)
    person = None
    if person_id is not None:
        person = await session.get(Member, person_id)
        if person is None or person.unit_id != unit_id or not person.active:
            raise PersonNotInUnit(person_id, unit_id)
    invite = await members.create_invite(
        session,
        unit=unit,
        role=role,
        created_by=actor.member,
        now=now,
        max_uses=max_uses,
        valid_for=valid_for,
        person=person,
    )
    await audit.record(
        session,
        actor,
        "invite.create",
        at=now,
        entity_type="invite",
        entity_id=invite.id,
        after={"unit": unit.name, "role": role, "max_uses": invite.max_uses},
    )
    return invite


async def person_named(session: AsyncSession, unit_id: int, text: str) -> Member | None:
    """A person of the unit whose full name appears in ``text`` (for an invite to that person)."""
    return await members.find_person(session, unit_id, text)


# --- the bot's users and their roles -------------------------------------------------------------------


@dataclass(frozen=True)
class ChatPresence:
    """One chat link of a member: its channel, and whether the bot can still reach it."""

    channel: str
    active: bool


@dataclass(frozen=True)
class BotUser:
    member: Member
    chats: list[ChatPresence]


async def _bot_users(session: AsyncSession, unit_id: int | None = None) -> list[BotUser]:
    query = select(Member).where(Member.role.in_(BOT_ROLES), Member.active.is_(True))
    if unit_id is not None:
        query = query.where(Member.unit_id == unit_id)
    people = list(await session.scalars(query.order_by(Member.unit_id, Member.id)))
    chats: dict[int, list[ChatPresence]] = {}
    for link in await session.scalars(select(ChatLink).where(ChatLink.member_id.in_([m.id for m in people]))):
        assert link.member_id is not None
        chats.setdefault(link.member_id, []).append(ChatPresence(link.channel, link.active))
    return [BotUser(m, chats.get(m.id, [])) for m in people]


async def bot_users(session: AsyncSession, actor: Viewer, unit_id: int | None = None) -> list[BotUser]:
    """Active officers and admins (of one unit, when given), with the channels they use."""
    require_admin(actor, "member.list")
    return await _bot_users(session, unit_id)


async def find_bot_user(session: AsyncSession, actor: Viewer, reference: str) -> Member:
    """A bot user by code ("M12") or by a part of their name that only one of them has."""
    require_admin(actor, "member.find")
    text = reference.strip()
    code = re.fullmatch(r"[Mm](\d+)", text)
    if code:
        member = await session.get(Member, int(code.group(1)))
        if member is not None and member.role in BOT_ROLES:
            return member
    else:
        norm = normalize(text)
        found = [
            u.member for u in await _bot_users(session) if norm and contains_phrase(normalize(u.member.full_name), norm)
        ]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise AmbiguousMember(text, len(found))
    raise MemberNotFound(text)


@dataclass(frozen=True)
class RoleChange:
    member: Member
    before: str | None
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


async def _set_role(session: AsyncSession, actor: Viewer, member_id: int, role: str, now: datetime) -> RoleChange:
    require_admin(actor, "member.role")
    member = await session.get(Member, member_id)
    if member is None or member.role not in BOT_ROLES:
        raise MemberNotFound(f"M{member_id}")
    if actor.member is not None and member.id == actor.member.id and role != "admin":
        raise SelfDemotion(member.id)
    change = RoleChange(member, member.role, role)
    if not change.changed:
        return change
    member.role = role
    await session.flush()
    await audit.record(
        session,
        actor,
        "member.role",
        at=now,
        entity_type="member",
        entity_id=member.id,
        before={"role": change.before},
        after={"role": role},
    )
    return change


async def grant_admin(session: AsyncSession, actor: Viewer, member_id: int, now: datetime) -> RoleChange:
    """Make a bot user an admin (nothing written if they already are)."""
    return await _set_role(session, actor, member_id, "admin", now)


async def revoke_admin(session: AsyncSession, actor: Viewer, member_id: int, now: datetime) -> RoleChange:
    """Make an admin an officer again; never one's own role."""
    return await _set_role(session, actor, member_id, "officer", now)


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]  # newest first
    names: audit.AuditNames  # what their ids name


async def audit_log(session: AsyncSession, actor: Viewer, limit: int = 15) -> AuditPage:
    """The latest audit entries, newest first (1 to 50), with the names they refer to."""
    require_admin(actor, "audit.read")
    entries = await audit.latest(session, min(max(limit, 1), MAX_AUDIT_ENTRIES))
    return AuditPage(entries, await audit.names_for(session, entries))
