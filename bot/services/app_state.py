"""Facts about the database as a whole (table ``app_state``): whether it is the demo, and its clock."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import AppState

DEMO_CLOCK = "demo_clock"


async def get(session: AsyncSession, key: str) -> str | None:
    row = await session.get(AppState, key)
    return row.value if row is not None else None


async def put(session: AsyncSession, key: str, value: str) -> None:
    row = await session.get(AppState, key)
    if row is None:
        session.add(AppState(key=key, value=value))
    else:
        row.value = value
    await session.flush()
