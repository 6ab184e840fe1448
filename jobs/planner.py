"""Job: plan the reminders due soon (every minute)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.services import swaps
from bot.services.acks import escalate_unacknowledged
from bot.services.readiness import remind_period_starts
from bot.services.reminders import PlanResult, plan_reminders


async def run(sessions: async_sessionmaker[AsyncSession], settings: Settings, now: datetime) -> PlanResult:
    """Reminders, escalations of duty nobody acknowledged, reinforced periods starting: one transaction."""
    async with sessions() as session, session.begin():
        # Swap requests not settled in time end first (their people are told in the same delivery).
        await swaps.expire_due(session, now)
        result = await plan_reminders(session, settings, now)
        escalated = await escalate_unacknowledged(session, settings, now)
        started = await remind_period_starts(session, settings, now)
        return replace(result, written=result.written + escalated + started)
