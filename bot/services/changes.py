"""Cancelling a duty shift or a task: one new version, its pending reminders cancelled, and the
chats concerned told (conferences and meetings: bot/services/schedule.cancel_event)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import DutyShift, Task
from bot.services.notices import Notice
from bot.services.reminders import entity_changed, shift_audience, task_audience
from bot.services.subscriptions import load_audience


def cancelled(subject: str, what: str | dict) -> Notice:
    """The cancel notice of a shift or task: ``what`` is the item's facts (editable.ItemFacts as JSON) or a
    description already composed by the caller (imports)."""
    return Notice(
        "item_cancelled",
        {"subject": subject, "item": what} if isinstance(what, dict) else {"subject": subject, "what": what},
    )


async def cancel_shift(session: AsyncSession, shift: DutyShift, *, what: str | dict, now: datetime) -> int:
    """Returns how many chats were told."""
    shift.status, shift.version, shift.updated_at = "cancelled", shift.version + 1, now
    await session.flush()
    _, told = await entity_changed(
        session,
        entity_type="shift",
        entity_id=shift.id,
        version=shift.version,
        notice=cancelled("shift", what),
        now=now,
        related=[("duty_day", shift.unit_id, shift.starts_at.isoformat())],
        audience=shift_audience(await load_audience(session), shift),
    )
    return told


async def cancel_task(session: AsyncSession, task: Task, *, what: str | dict, now: datetime) -> int:
    task.status, task.version, task.updated_at = "cancelled", task.version + 1, now
    await session.flush()
    _, told = await entity_changed(
        session,
        entity_type="task",
        entity_id=task.id,
        version=task.version,
        notice=cancelled("task", what),
        now=now,
        audience=task_audience(await load_audience(session), [a.unit_id for a in task.assignments]),
    )
    return told
