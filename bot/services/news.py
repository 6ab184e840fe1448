"""News items: the latest ones, from feeds or posted by admins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import NewsItem


async def latest_news(session: AsyncSession, now: datetime, limit: int = 5) -> list[NewsItem]:
    """Items published up to ``now``, newest first."""
    return list(
        await session.scalars(
            select(NewsItem)
            .where(NewsItem.published_at <= now)
            .order_by(NewsItem.published_at.desc(), NewsItem.id.desc())
            .limit(limit)
        )
    )
