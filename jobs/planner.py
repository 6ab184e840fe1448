"""Job: plan the reminders due soon (every minute)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services import swaps
from bot.services.reminders import PlanResult, plan_reminders


async def run(sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> PlanResult:
    async with sessions() as session, session.begin():
        # Swap requests not settled in time end first (their people are told in the same delivery).
        await swaps.expire_due(session, now)
        return await plan_reminders(session, settings, now)
