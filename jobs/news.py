"""Job: fetch the news feeds (every news_interval_minutes)."""

from __future__ import annotations

from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.news import FetchReport, fetch_all


async def run(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, client: httpx.AsyncClient, now: datetime
) -> list[FetchReport]:
    async with sessions() as session, session.begin():
        return await fetch_all(session, client, settings.news_feeds, now)
