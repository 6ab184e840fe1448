"""Cancelling a duty shift or a task: one new version, its pending reminders cancelled, and the
chats concerned told (conferences and meetings: bot/services/schedule.cancel_event)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import DutyShift, Task
from bot.services.reminders import entity_changed, shift_audience, task_audience
from bot.services.subscriptions import load_audience
from bot.views import reminders as reminder_views


async def cancel_shift(session: AsyncSession, shift: DutyShift, *, what: str, now: datetime) -> int:
    """Returns how many chats were told."""
    shift.status, shift.version, shift.updated_at = "cancelled", shift.version + 1, now
    await session.flush()
    _, told = await entity_changed(
        session,
        entity_type="shift",
        entity_id=shift.id,
        version=shift.version,
        notice=reminder_views.cancel_notice("Ca trực", what),
        now=now,
        related=[("duty_day", shift.unit_id, shift.starts_at.isoformat())],
        audience=shift_audience(await load_audience(session), shift),
    )
    return told


async def cancel_task(session: AsyncSession, task: Task, *, what: str, now: datetime) -> int:
    task.status, task.version, task.updated_at = "cancelled", task.version + 1, now
    await session.flush()
    _, told = await entity_changed(
        session,
        entity_type="task",
        entity_id=task.id,
        version=task.version,
        notice=reminder_views.cancel_notice("Nhiệm vụ", what),
        now=now,
        audience=task_audience(await load_audience(session), [a.unit_id for a in task.assignments]),
    )
    return told
