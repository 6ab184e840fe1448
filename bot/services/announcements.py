"""Announcements (thông báo): one text to many chats, through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChatLink
from bot.services.notices import Notice
from bot.services.reminders import Push, write_pushes
from bot.services.subscriptions import Audience


def recipients(audience: Audience, scope: str, unit_id: int | None = None) -> list[ChatLink]:
    """The whole cluster, one unit's chats, or every group chat; only chats subscribed to
    announcements."""
    if scope == "unit":
        return audience.for_units("announcements", [unit_id] if unit_id else [])
    chats = audience.everyone("announcements")
    return [c for c in chats if c.chat_type == "group"] if scope == "groups" else chats


async def queue(
    session: AsyncSession,
    *,
    reference: int,
    chats: list[ChatLink],
    now: datetime,
    notice: Notice | None = None,
    text: str | None = None,
    urgent: bool = False,
) -> int:
    """Write one outbox row per chat; ``reference`` (the audit entry of the broadcast) makes the
    rows idempotent. Either a ``notice`` (rendered at send time) or a finished ``text``. Returns how many
    rows were written."""
    if notice is None:
        assert text is not None, "a notice or a text"
        notice = Notice.finished(text)
    pushes = [
        Push("announcements", "announcement", reference, "once", 1, "now", now, chat, notice, urgent=urgent)
        for chat in chats
    ]
    return await write_pushes(session, pushes, now=now, grace=timedelta(days=365), tz=ZoneInfo("UTC"))
