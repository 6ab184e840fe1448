"""Job: the daily, weekly and news digests (checked every minute; each period runs once)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services.digests import DigestRun, run_digest
from bot.services.readiness import notify_gaps

KINDS = ("daily", "weekly", "news")


async def run(sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> list[DigestRun]:
    done = []
    for kind in KINDS:
        async with sessions() as session, session.begin():
            result = await run_digest(session, settings, kind, now)
            if result is not None and kind == "daily" and not result.missed:
                await notify_gaps(session, settings, now)  # the admins hear of roster gaps with it
        if result is not None:
            done.append(result)
    return done
