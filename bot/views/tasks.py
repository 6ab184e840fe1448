"""Focus task texts."""

from __future__ import annotations

from datetime import date

from bot.messages import Button, Reply, esc
from bot.models import Task, Unit
from bot.services.tasks import TASK_STATUSES, status_name
from bot.vntime import fmt_date, fmt_date_range, weekday_name


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


def _due_text(task: Task, today: date) -> str:
    if task.due_on is None:
        return "chưa có hạn"
    left = (task.due_on - today).days
    after = f"còn {left} ngày" if left > 0 else ("hôm nay" if left == 0 else f"quá {-left} ngày")
    return f"hạn {weekday_name(task.due_on)} {fmt_date(task.due_on)} ({after})"


def _all_button() -> list[list[Button]]:
    return [[Button("Tất cả nhiệm vụ", "/nhiemvu")]]


def task_reply(task: Task, units: dict[int, Unit], today: date, *, unit: Unit | None, due_only: bool) -> Reply:
    """'FT3 là gì', 'hạn FT5' -> one task in a line or two."""
    code = f"{esc(task.code)}. " if task.code else ""
    lines = [f"<b>{code}{esc(task.title)}</b> — {_due_text(task, today)}."]
    if not due_only:
        mine = next((a for a in task.assignments if unit is not None and a.unit_id == unit.id), None)
        if mine is not None and unit is not None:
            lines.append(f"{esc(unit.short_name)}: {status_name(mine, today, task.due_on)}.")
            if mine.report:
                lines.append(f"Báo cáo: {esc(mine.report)}")
        done = sum(1 for a in task.assignments if a.status == "done")
        lines.append(f"{done}/{len(task.assignments)} đơn vị đã hoàn thành.")
    return Reply("\n".join(lines), buttons=_all_button())


def no_task_reply(code: str, tasks: list[Task]) -> Reply:
    codes = ", ".join(esc(t.code) for t in tasks if t.code)
    return Reply(f"Không có nhiệm vụ {esc(code)}." + (f" Hiện có: {codes}." if codes else ""), buttons=_all_button())


def due_soon_reply(tasks: list[Task], today: date, days: int, *, unit: Unit | None) -> Reply:
    """'nv nào sắp đến hạn' -> the tasks due within ``days`` not yet done (by the asker's unit)."""

    def open_for(task: Task) -> bool:
        if unit is None:
            return any(a.status != "done" for a in task.assignments) or not task.assignments
        mine = next((a for a in task.assignments if a.unit_id == unit.id), None)
        return mine is not None and mine.status != "done"

    pending = [t for t in tasks if t.due_on is not None and t.due_on >= today and open_for(t)]
    pending.sort(key=lambda t: t.due_on)  # type: ignore[arg-type, return-value]
    soon = [t for t in pending if (t.due_on - today).days <= days]  # type: ignore[operator]
    if soon:
        lines = [f"Nhiệm vụ đến hạn trong {days} ngày tới:"]
        lines.extend(f"• {esc(t.code or '')} {esc(t.title)} — {_due_text(t, today)}" for t in soon)
        return Reply("\n".join(lines), buttons=_all_button())
    if not pending:
        return Reply("Không có nhiệm vụ nào sắp đến hạn.", buttons=_all_button())
    first = pending[0]
    return Reply(
        f"Không có nhiệm vụ nào đến hạn trong {days} ngày tới. Gần nhất: "
        f"{esc(first.code or '')} {esc(first.title)} — {_due_text(first, today)}.",
        buttons=_all_button(),
    )


def not_done_reply(tasks: list[Task], units: dict[int, Unit], today: date, *, reported_only: bool) -> Reply:
    """'các đơn vị chưa báo cáo FT1' -> the units, per task."""
    what = "chưa báo cáo" if reported_only else "chưa hoàn thành"
    lines = []
    for task in tasks:
        if reported_only:
            late = [a for a in task.assignments if not a.report and a.status != "done"]
        else:
            late = [a for a in task.assignments if a.status != "done"]
        names = [units[a.unit_id].short_name for a in late if a.unit_id in units]
        head = f"{esc(task.code)}" if task.code else esc(task.title)
        if names:
            lines.append(f"{head} — {what} ({len(names)}/{len(task.assignments)}): {esc(', '.join(names))}.")
        else:
            lines.append(f"{head}: mọi đơn vị đã {'báo cáo' if reported_only else 'hoàn thành'}.")
    return Reply("\n".join(lines) or "Chưa có nhiệm vụ nào.", buttons=_all_button())


def overdue_reply(tasks: list[Task], today: date, *, unit: Unit | None) -> Reply:
    """'nhiệm vụ nào quá hạn' -> the tasks past their due date and not done."""
    late = [
        t
        for t in tasks
        if t.due_on is not None
        and t.due_on < today
        and any(a.status != "done" for a in t.assignments if unit is None or a.unit_id == unit.id)
    ]
    if not late:
        return Reply("Không có nhiệm vụ nào quá hạn.", buttons=_all_button())
    lines = ["Nhiệm vụ quá hạn:"]
    lines.extend(f"• {esc(t.code or '')} {esc(t.title)} — {_due_text(t, today)}" for t in late)
    return Reply("\n".join(lines), buttons=_all_button())


def done_reply(tasks: list[Task], *, unit: Unit | None) -> Reply:
    """'nhiệm vụ nào đã hoàn thành' -> those tasks (by the asker's unit, or by every unit)."""
    done = [
        t
        for t in tasks
        if t.assignments
        and all(a.status == "done" for a in t.assignments if unit is None or a.unit_id == unit.id)
        and any(unit is None or a.unit_id == unit.id for a in t.assignments)
    ]
    whose = f" ({esc(unit.short_name)})" if unit else ""
    if not done:
        return Reply(f"Chưa có nhiệm vụ nào hoàn thành{whose}.", buttons=_all_button())
    return Reply(
        f"Đã hoàn thành{whose}: " + "; ".join(f"{esc(t.code or '')} {esc(t.title)}" for t in done) + ".",
        buttons=_all_button(),
    )


def due_between_reply(tasks: list[Task], today: date, start: date, end: date) -> Reply:
    """'nhiệm vụ đến hạn tháng 9' -> the tasks due in that span."""
    due = [t for t in tasks if t.due_on is not None and start <= t.due_on <= end]
    span = fmt_date_range(start, end)
    if not due:
        return Reply(f"Không có nhiệm vụ nào đến hạn {span}.", buttons=_all_button())
    lines = [f"Nhiệm vụ đến hạn {span}:"]
    lines.extend(f"• {esc(t.code or '')} {esc(t.title)} — {_due_text(t, today)}" for t in due)
    return Reply("\n".join(lines), buttons=_all_button())


def task_units_reply(task: Task, units: dict[int, Unit], today: date) -> Reply:
    """'tiến độ FT1 các đơn vị' -> each unit's status on one task."""
    code = f"{esc(task.code)}. " if task.code else ""
    lines = [f"<b>{code}{esc(task.title)}</b> — {_due_text(task, today)}."]
    lines.extend(
        f"• {esc(units[a.unit_id].short_name)}: {status_name(a, today, task.due_on)}"
        for a in task.assignments
        if a.unit_id in units
    )
    return Reply("\n".join(lines), buttons=_all_button())
