"""Use case: add a news feed (RSS/Atom) the bot reads."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import NewsSource
from bot.services import audit, news
from bot.services.errors import InvalidFeed
from bot.services.members import Viewer
from bot.services.people import require_admin

FEED_URL = re.compile(r"^https?://\S+$")


async def add_feed(session: AsyncSession, actor: Viewer, url: str, now: datetime) -> NewsSource:
    """An admin adds a feed address (adding one already known changes nothing but the audit log)."""
    require_admin(actor, "news.source")
    url = url.strip()
    if not FEED_URL.match(url):
        raise InvalidFeed(url)
    await news.ensure_sources(session, [url])
    source = await session.scalar(select(NewsSource).where(NewsSource.url == url))
    assert source is not None
    await audit.record(
        session,
        actor,
        "news.source",
        at=now,
        entity_type="news_source",
        entity_id=source.id,
        after={"url": url},
    )
    return source
