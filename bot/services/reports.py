"""Use case: a unit reports its progress on a focus task (/baocao)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import ChatLink, OutboxMessage, Task, TaskAssignment, Unit
from bot.services import audit, tasks
from bot.services.errors import AdminOnly, InvalidProgress, NotAssigned, NoUnitToReport, TaskNotFound
from bot.services.members import Viewer


@dataclass(frozen=True)
class TaskReport:
    task: Task
    unit: Unit
    assignment: TaskAssignment
    before: dict[str, object]


def _check_progress(status: str, percent: int) -> None:
    valid = (
        (status == "done" and percent == 100)
        or (status == "in_progress" and 0 <= percent < 100)
        or (status == "not_started" and percent == 0)
    )
    if not valid:
        raise InvalidProgress(status, percent)


async def report_task_progress(
    session: AsyncSession,
    actor: Viewer,
    task_id: int,
    status: str,
    percent: int,
    text: str | None,
    now: datetime,
    unit_id: int | None = None,
) -> TaskReport:
    """Record the progress of the actor's unit (an admin may report for any unit given ``unit_id``) on
    a task. A unit that is done gets no more deadline reminders for it. One audit entry."""
    task = await session.get(Task, task_id)
    if task is None or task.status == "cancelled":
        raise TaskNotFound(task_id)
    own = actor.unit.id if actor.unit else None
    if unit_id is not None and unit_id != own and not actor.at_least("admin"):
        raise AdminOnly("task.report")
    unit_id = unit_id if unit_id is not None else own
    if unit_id is None:
        raise NoUnitToReport()
    _check_progress(status, percent)
    unit = await session.get(Unit, unit_id)
    if unit is None or not any(a.unit_id == unit_id for a in task.assignments):
        raise NotAssigned(task.code or str(task.id), unit_id)
    assignment, before = await tasks.report_progress(
        session,
        task,
        unit_id,
        status=status,
        progress=percent,
        note=text,
        member_id=actor.member.id if actor.member else None,
        now=now,
    )
    if status == "done":  # no more deadline reminders for this unit
        unit_chats = select(ChatLink.id).where(ChatLink.unit_id == unit_id)
        await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.entity_type == "task",
                OutboxMessage.entity_id == task.id,
                OutboxMessage.status == "pending",
                OutboxMessage.chat_link_id.in_(unit_chats),
            )
            .values(status="cancelled", last_error="đơn vị đã hoàn thành")
        )
    await audit.record(
        session,
        actor,
        "task.report",
        at=now,
        entity_type="task",
        entity_id=task.id,
        before=before,
        after={"unit": unit.short_name, "status": status, "progress": percent, "report": assignment.report},
    )
    return TaskReport(task, unit, assignment, before)
