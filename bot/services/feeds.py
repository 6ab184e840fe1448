"""Use case: add a news feed (RSS/Atom) the bot reads."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import NewsSource
from bot.services import audit, news
from bot.services.errors import FeedUnreachable, InvalidFeed
from bot.services.members import Viewer
from bot.services.people import require_admin

if TYPE_CHECKING:  # checking a feed needs them, a console question does not (bench/startup.py)
    import httpx

FEED_URL = re.compile(r"^https?://\S+$")


#: how long adding a feed waits for it to answer (seconds).
CHECK_TIMEOUT = 5.0


async def check_feed(url: str, client: httpx.AsyncClient | None = None) -> None:
    """Fetch ``url`` once; refuse (:class:`FeedUnreachable`) unless it answers with an RSS or Atom feed."""
    import feedparser
    import httpx

    if client is None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(CHECK_TIMEOUT)) as own:
            return await check_feed(url, own)
    try:
        response = await client.get(url, headers={"User-Agent": news.USER_AGENT}, follow_redirects=True)
    except httpx.TimeoutException as exc:
        raise FeedUnreachable(url, "timeout") from exc
    except httpx.HTTPError as exc:
        raise FeedUnreachable(url, "network") from exc
    if response.status_code >= 400:
        raise FeedUnreachable(url, "status", response.status_code)
    feed = feedparser.parse(response.content)
    if not feed.entries and not feed.get("version"):
        raise FeedUnreachable(url, "not_a_feed")


async def add_feed(
    session: AsyncSession, actor: Viewer, url: str, now: datetime, *, client: httpx.AsyncClient | None = None
) -> NewsSource:
    """An admin adds a feed address, checked by fetching it once (adding one already known changes
    nothing but the audit log)."""
    require_admin(actor, "news.source")
    url = url.strip()
    if not FEED_URL.match(url):
        raise InvalidFeed(url)
    await check_feed(url, client)
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
