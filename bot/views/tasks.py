"""Focus task texts."""

from __future__ import annotations

from datetime import date

from bot.messages import Reply, esc
from bot.models import Task, Unit
from bot.services.tasks import TASK_STATUSES, status_name
from bot.vntime import fmt_date


def _period_label(period: str | None) -> str:
    if not period:
        return ""
    year, _, part = period.partition("-")
    return {"H1": f"6 tháng đầu năm {year}", "H2": f"6 tháng cuối năm {year}"}.get(part, f"năm {year}")


def tasks_reply(
    tasks: list[Task],
    units: dict[int, Unit],
    today: date,
    *,
    unit: Unit | None,
    title_period: str | None,
    per_unit: bool = False,
) -> Reply:
    """The focus tasks with their due dates; for a unit, its own status; otherwise an overview."""
    heading = "Nhiệm vụ trọng tâm"
    if title_period:
        heading += f" {_period_label(title_period)}"
    if unit is not None:
        heading += f" — {esc(unit.short_name)}"
    if not tasks:
        return Reply(f"<b>{heading}</b>\nChưa có nhiệm vụ nào.")
    lines = [f"<b>{heading}</b>"]
    for task in tasks:
        due = f" — hạn {fmt_date(task.due_on)}" if task.due_on else ""
        code = f"{esc(task.code)}. " if task.code else ""
        lines.append(f"• <b>{code}{esc(task.title)}</b>{due}")
        if unit is not None:
            mine = next((a for a in task.assignments if a.unit_id == unit.id), None)
            if mine is None:
                lines.append("   Đơn vị không được giao nhiệm vụ này.")
            else:
                lines.append(f"   Trạng thái: {status_name(mine, today, task.due_on)}")
                if mine.report:
                    lines.append(f"   Báo cáo: {esc(mine.report)}")
        else:
            counts = {key: 0 for key in TASK_STATUSES}
            for assignment in task.assignments:
                counts[assignment.status] = counts.get(assignment.status, 0) + 1
            lines.append(
                f"   {len(task.assignments)} đơn vị: {counts['done']} hoàn thành, "
                f"{counts['in_progress']} đang thực hiện, {counts['not_started']} chưa thực hiện"
            )
            if per_unit:
                lines.extend(
                    f"   – {esc(units[a.unit_id].short_name)}: {status_name(a, today, task.due_on)}"
                    + (f" — {esc(a.report)}" if a.report else "")
                    for a in task.assignments
                    if a.unit_id in units
                )
    return Reply("\n".join(lines))
