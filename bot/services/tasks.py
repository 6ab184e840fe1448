"""Focus tasks (nhiệm vụ trọng tâm) and each unit's progress on them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import lexicon
from bot.errors import UserError
from bot.models import Task, TaskAssignment
from bot.services.units import snapshot_columns, snapshot_of_row
from bot.textnorm import contains_phrase, normalize
from bot.vntime import fmt_date

TASK_STATUSES = {
    "not_started": "chưa thực hiện",
    "in_progress": "đang thực hiện",
    "done": "hoàn thành",
}


def status_name(assignment: TaskAssignment, today: date, due: date | None) -> str:
    """'hoàn thành', 'đang thực hiện (40%)', or 'quá hạn' once the due date has passed."""
    if assignment.status == "done":
        return TASK_STATUSES["done"]
    if due is not None and due < today:
        return "quá hạn"
    text = TASK_STATUSES.get(assignment.status, assignment.status)
    if assignment.status == "in_progress" and assignment.progress:
        text += f" ({assignment.progress}%)"
    return text


def period_of(day: date, half: int | None = None) -> str:
    """'2022-H2' for the half year containing ``day`` (or the given half)."""
    half = half or (1 if day.month <= 6 else 2)
    return f"{day.year}-H{half}"


# A question's reads, built once per shape with bound parameters, as Core selects: loading a year's
# tasks and their assignments as ORM objects cost several times the queries.
@cache
def _tasks_query(by_periods: bool, in_year: bool) -> Select[Any]:
    """Each task's columns, then one of its assignments' (none: NULLs), in one statement."""
    tasks, assignments = Task.__table__.c, TaskAssignment.__table__.c
    query = (
        select(*snapshot_columns(Task), *snapshot_columns(TaskAssignment))
        .outerjoin_from(Task.__table__, TaskAssignment.__table__, assignments.task_id == tasks.id)
        .where(tasks.status != "cancelled")
    )
    if by_periods:
        query = query.where(tasks.period.in_(bindparam("periods", expanding=True)))
    elif in_year:
        query = query.where(tasks.period.like(bindparam("year_prefix")))
    return query.order_by(tasks.due_on.is_(None), tasks.due_on, tasks.id, assignments.id)


async def tasks_for(session: AsyncSession, *, periods: list[str] | None = None, year: int | None = None) -> list[Task]:
    """Tasks not cancelled (of ``periods``, or of ``year``), due first, each with its assignments in
    the order they were made (a tuple); frozen snapshots (:func:`bot.services.units.snapshot`), read only."""
    params: dict[str, object] = {}
    if periods:
        params["periods"] = list(periods)
    elif year is not None:
        params["year_prefix"] = f"{year}%"
    split = len(snapshot_columns(Task))
    found: dict[int, tuple[Any, list[TaskAssignment]]] = {}
    for row in await session.execute(_tasks_query(bool(periods), year is not None), params):
        assigned = found.setdefault(row[0], (row, []))[1]
        if row[split] is not None:  # the assignment's id: NULL for a task without assignments
            assigned.append(snapshot_of_row(TaskAssignment, row, split))
    return [snapshot_of_row(Task, row[:split], assignments=tuple(assigned)) for row, assigned in found.values()]


async def all_tasks(session: AsyncSession) -> tuple[Task, ...]:
    """Every task not cancelled, as :func:`tasks_for` reads them without a filter: what a read-only
    question keeps per content version and filters with :func:`select_tasks`."""
    return tuple(await tasks_for(session))


def select_tasks(every: Sequence[Task], *, periods: list[str] | None = None, year: int | None = None) -> list[Task]:
    """The tasks :func:`tasks_for` would read with these filters, taken from ``every`` (all of them,
    from :func:`all_tasks`): the same filters (``periods`` first; ``year``: a period that begins with
    it, as the SQL ``LIKE '2022%'``), in the same order (``every``'s)."""
    if periods:
        wanted = set(periods)
        return [task for task in every if task.period in wanted]
    if year is not None:
        prefix = str(year)
        return [task for task in every if task.period is not None and task.period.startswith(prefix)]
    return list(every)


# --- Changing tasks (admins) and reporting progress (officers) ------------------------------------

MAX_TITLE = 400
DONE_WORDS = lexicon.DONE_WORDS


async def find_task(session: AsyncSession, reference: str) -> Task | None:
    """A task by its code ("FT1", any case) or its id ("N12")."""
    ref = reference.strip().upper()
    if ref.startswith("N") and ref[1:].isdigit():
        return await session.get(Task, int(ref[1:]))
    return await session.scalar(
        select(Task).where(func.upper(Task.code) == ref, Task.status != "cancelled").order_by(Task.id.desc()).limit(1)
    )


async def next_code(session: AsyncSession, cluster_id: int | None) -> str:
    codes = await session.scalars(select(Task.code).where(Task.cluster_id == cluster_id, Task.code.like("FT%")))
    numbers = [int(c[2:]) for c in codes if c and c[2:].isdigit()]
    return f"FT{max(numbers, default=0) + 1}"


async def new_task(
    session: AsyncSession,
    *,
    cluster_id: int | None,
    title: str,
    due_on: date,
    unit_ids: list[int],
    now: datetime,
    today: date,
) -> Task:
    if not 3 <= len(title.strip()) <= MAX_TITLE:
        raise UserError(f"Tên nhiệm vụ phải dài 3–{MAX_TITLE} ký tự.")
    if due_on < today:
        raise UserError(f"Hạn {fmt_date(due_on)} đã qua; cho một hạn sắp tới, ví dụ 30/{today.month:02d}/{today.year}.")
    if not unit_ids:
        raise UserError("Cần ít nhất một đơn vị thực hiện (hoặc 'cả cụm').")
    task = Task(
        cluster_id=cluster_id,
        code=await next_code(session, cluster_id),
        title=title.strip(),
        period=period_of(due_on),
        starts_on=today,
        due_on=due_on,
        created_at=now,
        updated_at=now,
        assignments=[TaskAssignment(unit_id=unit_id) for unit_id in dict.fromkeys(unit_ids)],
    )
    session.add(task)
    await session.flush()
    return task


def parse_progress(text: str) -> tuple[str, int]:
    """'xong' -> ('done', 100); '40%' -> ('in_progress', 40); 'đang làm' -> ('in_progress', 0)."""
    norm = normalize(text)
    percent = re.search(r"\b(\d{1,3})\s*%", text)
    if percent:
        value = int(percent.group(1))
        if value > 100:
            raise UserError("Tiến độ tối đa 100%.")
        return ("done", 100) if value == 100 else ("in_progress", value) if value else ("not_started", 0)
    if any(contains_phrase(norm, word) for word in DONE_WORDS):
        return "done", 100
    if contains_phrase(norm, "dang") or contains_phrase(norm, "dang thuc hien") or contains_phrase(norm, "dang lam"):
        return "in_progress", 0
    if contains_phrase(norm, "chua"):
        return "not_started", 0
    raise UserError("Viết tiến độ như: 50%, xong, đang thực hiện. Ví dụ: /baocao FT1 50% đã tập huấn khung")


async def report_progress(
    session: AsyncSession,
    task: Task,
    unit_id: int,
    *,
    status: str,
    progress: int,
    note: str | None,
    member_id: int | None,
    now: datetime,
) -> tuple[TaskAssignment, dict[str, object]]:
    """Record a unit's progress; returns the assignment and what it was before."""
    assignment = next((a for a in task.assignments if a.unit_id == unit_id), None)
    if assignment is None:
        raise UserError(f"Đơn vị không được giao nhiệm vụ {task.code or task.id}.")
    before = {"status": assignment.status, "progress": assignment.progress, "report": assignment.report}
    assignment.status, assignment.progress = status, progress
    if note:
        assignment.report = note[:1000]
    assignment.updated_at, assignment.updated_by_member_id = now, member_id
    await session.flush()
    return assignment, before
