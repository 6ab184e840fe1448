"""News items: the latest ones, from feeds or posted by admins."""

from __future__ import annotations

import html
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import insert_ignore
from bot.models import NewsItem, NewsSource

if TYPE_CHECKING:  # fetching needs them, reading news does not (a console question: bench/startup.py)
    import httpx

log = logging.getLogger(__name__)
_TAGS = re.compile(r"<[^>]+>")
USER_AGENT = "qtbot/0.1 (+https://github.com/)"


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


@dataclass(frozen=True)
class FetchReport:
    url: str
    status: str  # new / not_modified / error
    added: int = 0
    error: str | None = None


def _plain(text: str | None, limit: int) -> str | None:
    if not text:
        return None
    plain = " ".join(html.unescape(_TAGS.sub(" ", text)).split())
    return plain if len(plain) <= limit else plain[: limit - 1] + "…"


def _moment(entry: dict, fallback: datetime) -> datetime:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    return datetime(*parsed[:6], tzinfo=UTC) if parsed else fallback


async def ensure_sources(session: AsyncSession, urls: list[str]) -> None:
    """Feeds named in settings become news sources (admins add others with /themnguon)."""
    known = set(await session.scalars(select(NewsSource.url)))
    session.add_all(NewsSource(url=url) for url in urls if url not in known)
    await session.flush()


async def fetch_source(
    session: AsyncSession, client: httpx.AsyncClient, source: NewsSource, now: datetime
) -> FetchReport:
    """Fetch one feed (conditional GET) and store its new items; a bad feed is reported, not raised."""
    import feedparser
    import httpx

    headers = {"User-Agent": USER_AGENT}
    if source.etag:
        headers["If-None-Match"] = source.etag
    if source.last_modified:
        headers["If-Modified-Since"] = source.last_modified
    source.last_fetched_at = now
    try:
        response = await client.get(source.url, headers=headers, follow_redirects=True)
        if response.status_code == 304:
            source.last_error = None
            return FetchReport(source.url, "not_modified")
        response.raise_for_status()
        feed = feedparser.parse(response.content)
        if feed.bozo and not feed.entries:
            raise ValueError(f"không đọc được nguồn tin: {feed.bozo_exception}")
    except (httpx.HTTPError, ValueError) as exc:
        source.last_error = f"{type(exc).__name__}: {exc}"[:500]
        log.warning("news feed %s failed: %s", source.url, source.last_error)
        return FetchReport(source.url, "error", error=source.last_error)
    source.etag = response.headers.get("ETag")
    source.last_modified = response.headers.get("Last-Modified")
    source.last_error = None
    if not source.name and feed.feed.get("title"):
        source.name = str(feed.feed["title"])[:200]
    rows = []
    for entry in feed.entries:
        title = _plain(entry.get("title"), 500)
        link = entry.get("link")
        if not title:
            continue
        guid = str(entry.get("id") or link or f"{source.url}#{title}")[:500]
        rows.append(
            {
                "source_id": source.id,
                "guid": guid,
                "title": title,
                "link": link[:1000] if link else None,
                "summary": _plain(entry.get("summary"), 1000),
                "published_at": _moment(entry, now),
                "created_at": now,
            }
        )
    added = await insert_ignore(session, NewsItem.__table__, rows, key="guid")
    return FetchReport(source.url, "new", added=added)


async def fetch_all(
    session: AsyncSession, client: httpx.AsyncClient, feeds: list[str], now: datetime
) -> list[FetchReport]:
    await ensure_sources(session, feeds)
    sources = list(await session.scalars(select(NewsSource).where(NewsSource.active.is_(True)).order_by(NewsSource.id)))
    return [await fetch_source(session, client, source, now) for source in sources]


async def post_item(
    session: AsyncSession, *, title: str, summary: str | None, link: str | None, member_id: int | None, now: datetime
) -> NewsItem:
    item = NewsItem(
        guid=f"manual:{uuid.uuid4()}",
        title=title,
        summary=summary,
        link=link,
        published_at=now,
        created_at=now,
        posted_by_member_id=member_id,
    )
    session.add(item)
    await session.flush()
    return item
