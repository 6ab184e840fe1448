"""Use cases: what pushes the chat a message came from gets (subscriptions) and when it stays quiet.

The chat is the actor's own (``actor.chat_link``): a person's private chat, or a group, whose settings
only admins change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChatLink
from bot.services import audit, subscriptions
from bot.services.errors import AdminOnly, ChatNotJoined, InvalidQuietHours, UnknownKinds
from bot.services.members import Viewer


@dataclass(frozen=True)
class ChatSettings:
    chat: ChatLink
    kinds: set[str]

    @property
    def quiet(self) -> tuple[time | None, time | None]:
        return self.chat.quiet_start, self.chat.quiet_end


def _own_chat(actor: Viewer, action: str) -> ChatLink:
    link = actor.chat_link
    if link is None or not link.active:
        raise ChatNotJoined()
    if link.chat_type == "group" and not actor.at_least("admin"):
        raise AdminOnly(action)
    return link


async def settings_of(session: AsyncSession, actor: Viewer) -> ChatSettings:
    """The subscriptions and quiet hours of the actor's chat."""
    link = _own_chat(actor, "settings.read")
    return ChatSettings(link, await subscriptions.subscriptions_of(session, link))


def _known(kinds: list[str]) -> list[str]:
    unknown = [k for k in kinds if k not in subscriptions.KINDS]
    if unknown or not kinds:
        raise UnknownKinds(unknown)
    return kinds


async def subscribe(session: AsyncSession, actor: Viewer, kinds: list[str], now: datetime) -> ChatSettings:
    """Turn on kinds of pushes for the actor's chat; returns its settings after."""
    link = _own_chat(actor, "subscription.on")
    await subscriptions.subscribe(session, link, _known(kinds))
    await audit.record(
        session, actor, "subscription.on", at=now, entity_type="chat_link", entity_id=link.id, after={"kinds": kinds}
    )
    return await settings_of(session, actor)


async def unsubscribe(session: AsyncSession, actor: Viewer, kinds: list[str], now: datetime) -> ChatSettings:
    """Turn off kinds of pushes for the actor's chat; returns its settings after."""
    link = _own_chat(actor, "subscription.off")
    await subscriptions.unsubscribe(session, link, _known(kinds))
    await audit.record(
        session, actor, "subscription.off", at=now, entity_type="chat_link", entity_id=link.id, after={"kinds": kinds}
    )
    return await settings_of(session, actor)


async def set_quiet_hours(
    session: AsyncSession, actor: Viewer, start: time | None, end: time | None, now: datetime
) -> ChatSettings:
    """Quiet hours [start, end) for the actor's chat (spanning midnight if start > end); both None clears
    them. Reminders falling in them wait until they end; notices do not."""
    link = _own_chat(actor, "settings.quiet")
    if (start is None) != (end is None) or (start is not None and start == end):
        raise InvalidQuietHours()
    link.quiet_start, link.quiet_end = start, end
    await session.flush()
    if start is None or end is None:
        await audit.record(session, actor, "settings.quiet_off", at=now, entity_type="chat_link", entity_id=link.id)
    else:
        await audit.record(
            session,
            actor,
            "settings.quiet",
            at=now,
            entity_type="chat_link",
            entity_id=link.id,
            after={"quiet": f"{start:%H:%M}-{end:%H:%M}"},
        )
    return await settings_of(session, actor)
