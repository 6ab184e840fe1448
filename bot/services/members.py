"""Who is speaking (admin / officer / guest), invites and joining, chat links."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChatLink, Invite, Member, Unit
from bot.services.errors import InvalidInvite, InviteRefused, PersonNotFound
from bot.services.subscriptions import KINDS, subscribe
from bot.services.units import UnitDirectory, UnitRef
from bot.textnorm import contains_phrase, normalize

ROLE_ORDER = {"guest": 0, "officer": 1, "admin": 2}
ROLE_NAMES = {"guest": "khách", "officer": "cán bộ", "admin": "quản trị"}


@dataclass
class Viewer:
    """The sender of a message, as the bot sees them."""

    role: str  # admin / officer / guest
    channel: str
    sender_id: str
    sender_name: str
    member: Member | None = None
    unit: UnitRef | None = None
    chat_link: ChatLink | None = None  # the chat this message came from, when known

    def at_least(self, role: str) -> bool:
        return ROLE_ORDER[self.role] >= ROLE_ORDER[role]

    @property
    def label(self) -> str:
        """How audit entries name this person."""
        name = self.member.full_name if self.member else self.sender_name
        return f"{name} ({self.channel}:{self.sender_id})"


async def find_chat(session: AsyncSession, channel: str, chat_id: str) -> ChatLink | None:
    return await session.scalar(select(ChatLink).where(ChatLink.channel == channel, ChatLink.chat_id == chat_id))


async def resolve_viewer(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    sender_id: str,
    sender_name: str,
    config_admin: bool,
    directory: UnitDirectory,
) -> Viewer:
    """The sender's role comes from their own private chat link (made when they joined) or from the
    settings (bootstrap admins). In a group linked to a unit, that unit is the default one. One query."""
    rows = (
        await session.execute(
            select(ChatLink, Member)
            .outerjoin(Member, Member.id == ChatLink.member_id)
            .where(ChatLink.channel == channel, ChatLink.chat_id.in_({chat_id, sender_id}))
        )
    ).all()
    member = next(
        (m for link, m in rows if link.chat_id == sender_id and link.chat_type == "private" and link.active), None
    )
    chat = next((link for link, _ in rows if link.chat_id == chat_id), None)
    if member is not None and not member.active:
        member = None
    role = member.role if member is not None and member.role in ("officer", "admin") else "guest"
    if config_admin:
        role = "admin"
    unit_id = member.unit_id if member is not None and member.unit_id else None
    if chat is not None and chat.chat_type == "group" and chat.unit_id:
        unit_id = chat.unit_id  # in a unit's group, "đơn vị tôi" means the group's unit
    unit = directory.by_id.get(unit_id) if unit_id else None
    return Viewer(role, channel, sender_id, sender_name, member, unit, chat)


async def create_invite(
    session: AsyncSession,
    *,
    unit: UnitRef | Unit,
    role: str = "officer",
    created_by: Member | None,
    now: datetime,
    valid_for: timedelta = timedelta(days=7),
    max_uses: int = 1,
    person: Member | None = None,
) -> Invite:
    if role not in ("officer", "admin"):
        raise InvalidInvite("role", role)
    if not 1 <= max_uses <= 500:
        raise InvalidInvite("max_uses", max_uses)
    invite = Invite(
        code=secrets.token_urlsafe(9).replace("-", "x").replace("_", "y"),
        unit_id=unit.id,
        role=role,
        expires_at=now + valid_for,
        max_uses=1 if person else max_uses,
        member_id=person.id if person else None,
        created_by_member_id=created_by.id if created_by else None,
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    return invite


async def join_with_invite(
    session: AsyncSession,
    *,
    code: str,
    channel: str,
    chat_id: str,
    sender_name: str,
    now: datetime,
) -> tuple[Member, Unit]:
    """Make the sender of a private chat an officer (or admin) of the invite's unit (no audit entry:
    :func:`bot.services.people.join_with_invite` is the use case)."""
    invite = await session.scalar(select(Invite).where(Invite.code == code.strip()))
    if invite is None or invite.revoked:
        raise InviteRefused(code, "unknown" if invite is None else "revoked")
    if invite.expires_at is not None and invite.expires_at < now:
        raise InviteRefused(code, "expired")
    # Count the use atomically, so two people racing for the last use cannot both get in.
    used = await session.execute(
        update(Invite).where(Invite.id == invite.id, Invite.uses < Invite.max_uses).values(uses=Invite.uses + 1)
    )
    if used.rowcount != 1:
        raise InviteRefused(code, "used_up")
    unit = await session.get(Unit, invite.unit_id)
    assert unit is not None
    link = await find_chat(session, channel, chat_id)
    member = await session.get(Member, invite.member_id) if invite.member_id else None
    if member is None and link is not None and link.member_id:
        member = await session.get(Member, link.member_id)
    if member is None:
        member = Member(full_name=sender_name or "Chưa rõ tên", created_at=now)
        session.add(member)
    member.unit_id = unit.id
    member.active = True
    # An invite never lowers a role: an admin who joins a unit stays admin.
    if member.role != "admin":
        member.role = invite.role
    await session.flush()
    if link is None:
        link = ChatLink(channel=channel, chat_id=chat_id, chat_type="private", created_at=now)
        session.add(link)
    link.member_id = member.id
    link.unit_id = unit.id
    link.active = True
    link.deactivated_reason = None
    await session.flush()
    # New officers hear about everything that concerns their unit until they choose otherwise.
    await subscribe(session, link, KINDS)
    return member, unit


async def ensure_local_identity(
    session: AsyncSession, *, channel: str, chat_id: str, role: str, unit: UnitRef | None, name: str
) -> ChatLink:
    """A trusted local user (the console): their chat link and member, created on first use."""
    link = await find_chat(session, channel, chat_id)
    if link is None:
        member = Member(full_name=name, role=None if role == "guest" else role, unit_id=unit.id if unit else None)
        session.add(member)
        await session.flush()
        link = ChatLink(
            channel=channel,
            chat_id=chat_id,
            chat_type="private",
            member_id=member.id,
            unit_id=unit.id if unit else None,
        )
        session.add(link)
        await session.flush()
        await subscribe(session, link, KINDS)
    return link


async def ensure_person_chat(session: AsyncSession, *, channel: str, name: str) -> ChatLink:
    """A trusted local user speaking as a person of the roster (``qtbot chat --as person:"Vũ Thành
    Long"``): their own chat, linked to that member, who is then an officer of their unit."""
    norm = normalize(name)
    people = list(await session.scalars(select(Member).where(Member.active.is_(True), Member.unit_id.is_not(None))))
    found = [p for p in people if normalize(p.full_name) == norm] or [
        p for p in people if contains_phrase(normalize(p.full_name), norm)
    ]
    if len(found) != 1:
        raise PersonNotFound(name=name, names=[p.full_name for p in found])
    member = found[0]
    if member.role not in ("officer", "admin"):
        member.role = "officer"
    chat_id = f"person:{member.id}"
    link = await find_chat(session, channel, chat_id)
    if link is None:
        link = ChatLink(
            channel=channel, chat_id=chat_id, chat_type="private", member_id=member.id, unit_id=member.unit_id
        )
        session.add(link)
        await session.flush()
        await subscribe(session, link, KINDS)
    return link


async def ensure_admin_chat(session: AsyncSession, *, channel: str, chat_id: str, name: str) -> ChatLink:
    """A bootstrap admin (from settings) who writes for the first time gets a chat link, so reminders,
    digests and delivery reports reach them too."""
    link = await find_chat(session, channel, chat_id)
    if link is None:
        member = Member(full_name=name or "Quản trị", role="admin")
        session.add(member)
        await session.flush()
        link = ChatLink(channel=channel, chat_id=chat_id, chat_type="private", member_id=member.id)
        session.add(link)
        await session.flush()
        await subscribe(session, link, KINDS)
    return link


async def find_person(session: AsyncSession, unit_id: int, text: str) -> Member | None:
    """A person of the unit whose full name appears in ``text`` ("/moi Kim Bảng Phạm Minh Dũng")."""
    norm = normalize(text)
    people = await session.scalars(select(Member).where(Member.unit_id == unit_id, Member.active.is_(True)))
    found = [p for p in people if contains_phrase(norm, normalize(p.full_name))]
    return max(found, key=lambda p: len(p.full_name)) if found else None
