"""Focus tasks (nhiệm vụ trọng tâm) and each unit's progress on them."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.models import Task, TaskAssignment

TASK_STATUSES = {
    "not_started": "chưa thực hiện",
    "in_progress": "đang thực hiện",
    "done": "hoàn thành",
}
TASK_CATEGORIES = {
    "dien_tap": "Diễn tập",
    "truc_sscd": "Trực SSCĐ",
    "lanh_dao_dang": "Lãnh đạo của Đảng",
    "hau_can_tai_chinh": "Hậu cần, tài chính",
    "huan_luyen": "Huấn luyện",
    "kiem_tra": "Kiểm tra",
    "thi_dua": "Thi đua, khen thưởng",
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


async def tasks_for(session: AsyncSession, *, periods: list[str] | None = None, year: int | None = None) -> list[Task]:
    query = select(Task).where(Task.status != "cancelled")
    if periods:
        query = query.where(Task.period.in_(periods))
    elif year is not None:
        query = query.where(Task.period.like(f"{year}%"))
    return list(await session.scalars(query.order_by(Task.due_on.is_(None), Task.due_on, Task.id)))


async def task_periods(session: AsyncSession) -> list[str]:
    return sorted(p for p in await session.scalars(select(Task.period).distinct().where(Task.period.is_not(None))) if p)
