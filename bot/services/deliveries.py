"""The delivery log: what the outbox sent, and what it could not."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import OutboxMessage
from bot.services.digests import MissedDigest, missed_digests
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


@dataclass(frozen=True)
class DeliveryLog:
    counts: dict[str, int]  # outbox rows due since then, by status
    failures: list[OutboxMessage]  # the latest that failed or were missed
    missed_digests: list[MissedDigest]  # digests whose time passed while the bot was not running


async def delivery_log(session: AsyncSession, actor: Viewer, since: datetime) -> DeliveryLog:
    """For an admin: :func:`delivery_stats` since ``since``, and the digests missed since then."""
    require_admin(actor, "delivery.read")
    counts, failures = await delivery_stats(session, since)
    return DeliveryLog(counts, failures, await missed_digests(session, since))
