"""Use case: an admin broadcasts an announcement to the whole cluster, one unit's chats or every group."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChatLink
from bot.services import announcements, audit
from bot.services.errors import NoRecipients
from bot.services.members import Viewer
from bot.services.notices import Notice
from bot.services.people import require_admin
from bot.services.subscriptions import load_audience


async def announcement_recipients(
    session: AsyncSession, actor: Viewer, scope: str, unit_id: int | None = None
) -> list[ChatLink]:
    """The chats an announcement to ``scope`` ("cluster", "unit", "groups") would reach."""
    require_admin(actor, "announcement.send")
    return announcements.recipients(await load_audience(session), scope, unit_id)


@dataclass(frozen=True)
class Broadcast:
    audit_id: int
    queued: int  # outbox rows written


async def send_announcement(
    session: AsyncSession,
    actor: Viewer,
    scope: str,
    unit_id: int | None,
    text: str,
    now: datetime,
) -> Broadcast:
    """Queue the announcement ``text`` (a notice, worded by the views when it is sent) for every chat of
    the scope subscribed to announcements; one audit entry, which keys the outbox rows."""
    chats = await announcement_recipients(session, actor, scope, unit_id)
    if not chats:
        raise NoRecipients(scope, unit_id)
    entry = await audit.record(
        session,
        actor,
        "announcement.send",
        at=now,
        entity_type="announcement",
        after={"scope": {"scope": scope, "unit": unit_id}, "text": text, "chats": len(chats)},
    )
    notice = Notice("announcement", {"text": text})
    queued = await announcements.queue(session, reference=entry.id, notice=notice, chats=chats, now=now)
    return Broadcast(entry.id, queued)
