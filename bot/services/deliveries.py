"""The delivery log: what the outbox sent, and what it could not."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OutboxMessage
from bot.services.members import Viewer
from bot.services.people import require_admin


async def delivery_stats(
    session: AsyncSession, since: datetime, failures: int = 5
) -> tuple[dict[str, int], list[OutboxMessage]]:
    """Rows due since ``since`` by status, and the latest ones that failed or were missed."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count()).where(OutboxMessage.due_at >= since).group_by(OutboxMessage.status)
    )
    latest = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.due_at >= since, OutboxMessage.status.in_(("failed", "missed")))
        .order_by(OutboxMessage.id.desc())
        .limit(failures)
    )
    return {status: count for status, count in rows.all()}, list(latest)


async def delivery_log(
    session: AsyncSession, actor: Viewer, since: datetime
) -> tuple[dict[str, int], list[OutboxMessage]]:
    """For an admin: :func:`delivery_stats` since ``since``."""
    require_admin(actor, "delivery.read")
    return await delivery_stats(session, since)
