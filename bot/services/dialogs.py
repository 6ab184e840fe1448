"""Where a guided, multi-step command stands, per chat and user, kept in the database so that it
survives a restart and works on every channel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import DialogState


async def current(session: AsyncSession, channel: str, chat_id: str, user_id: str) -> DialogState | None:
    return await session.scalar(
        select(DialogState).where(
            DialogState.channel == channel, DialogState.chat_id == chat_id, DialogState.user_id == user_id
        )
    )


async def save(
    session: AsyncSession,
    *,
    channel: str,
    chat_id: str,
    user_id: str,
    name: str,
    step: str,
    data: dict[str, Any],
    now: datetime,
    lifetime: timedelta,
) -> DialogState:
    """Start or advance a dialog (one per chat and user: a new one replaces the old)."""
    state = await current(session, channel, chat_id, user_id)
    if state is None:
        state = DialogState(
            channel=channel,
            chat_id=chat_id,
            user_id=user_id,
            name=name,
            step=step,
            data=data,
            expires_at=now + lifetime,
            updated_at=now,
        )
        session.add(state)
    else:
        state.name, state.step, state.data = name, step, dict(data)
        state.expires_at, state.updated_at = now + lifetime, now
    await session.flush()
    return state


async def end(session: AsyncSession, state: DialogState) -> None:
    await session.delete(state)
    await session.flush()


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    result = await session.execute(delete(DialogState).where(DialogState.expires_at < now))
    return result.rowcount or 0
