"""Use case: link a group chat, on any channel, to a unit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChatLink, OutboxMessage, Unit
from bot.services import audit, subscriptions
from bot.services.errors import NotAGroup, UnitNotFound
from bot.services.members import Viewer, find_chat
from bot.services.people import require_admin


@dataclass(frozen=True)
class GroupLink:
    chat: ChatLink
    unit: Unit
    subscribed: list[str]  # the kinds newly subscribed


async def link_group(
    session: AsyncSession,
    actor: Viewer,
    channel: str,
    chat_id: str,
    title: str | None,
    unit_id: int,
    now: datetime,
) -> GroupLink:
    """An admin links the group ``(channel, chat_id)`` to a unit: it gets the unit's pushes and digests
    (every kind subscribed), and is reactivated if the bot had been removed from it."""
    require_admin(actor, "group.link")
    unit = await session.get(Unit, unit_id)
    if unit is None:
        raise UnitNotFound(unit_id)
    link = await find_chat(session, channel, chat_id)
    if link is not None and link.chat_type != "group":
        raise NotAGroup(channel, chat_id)
    before = {"unit_id": link.unit_id, "active": link.active} if link else None
    if link is None:
        link = ChatLink(channel=channel, chat_id=chat_id, chat_type="group", created_at=now)
        session.add(link)
    link.unit_id, link.active, link.deactivated_reason = unit.id, True, None
    link.title = title or link.title
    await session.flush()
    added = await subscriptions.subscribe(session, link, subscriptions.KINDS)
    await audit.record(
        session,
        actor,
        "group.link",
        at=now,
        entity_type="chat_link",
        entity_id=link.id,
        before=before,
        after={"unit_id": unit.id, "subscribed": added},
    )
    return GroupLink(link, unit, added)


async def move_chat(session: AsyncSession, link_id: int, new_chat_id: str) -> None:
    """A group that got a new id (Telegram: upgraded to a supergroup) keeps its unit, subscriptions and
    pending messages under the new id. When the bot already knows the new id as another chat, that
    chat is the group from now on and the old link is retired."""
    link = await session.get(ChatLink, link_id)
    if link is None or link.chat_id == new_chat_id:
        return
    known = await session.scalar(
        select(ChatLink).where(ChatLink.channel == link.channel, ChatLink.chat_id == new_chat_id)
    )
    if known is not None:
        link.active, link.deactivated_reason = False, f"moved to {new_chat_id}"
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.chat_link_id == link_id, OutboxMessage.status == "pending")
            .values(chat_link_id=known.id, chat_id=new_chat_id)
        )
        return
    link.chat_id = new_chat_id
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.chat_link_id == link_id, OutboxMessage.status == "pending")
        .values(chat_id=new_chat_id)
    )
    await session.flush()
