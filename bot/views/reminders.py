"""Reminder and change-notice texts: what, when (Thứ, dd/mm, 14h00), where, who."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Reply, esc
from bot.models import DutyShift, Event, Task, TaskAssignment, Unit
from bot.offsets import Offset
from bot.services.duty import person_text, role_name, role_sort_key
from bot.services.editable import ItemFacts, describe_item
from bot.services.schedule import labelled_title
from bot.services.tasks import status_name
from bot.views.common import area_label, short_when, when
from bot.vntime import fmt_time, fmt_weekday_date


def lead_text(
    offset: Offset, start: datetime | date | None = None, now: datetime | None = None, *, tz: ZoneInfo
) -> str:
    """'(ngày mai)', '(còn 7 ngày)', '(hôm nay)', '(còn 2 giờ)'. With ``start`` and ``now`` (the moment
    the reminder goes out), what is left then: a "2 hours before" reminder sent late says "còn 30 phút"."""
    if start is not None and now is not None:
        if offset.before is not None and isinstance(start, datetime):
            return _time_left(start - now)
        day = start.astimezone(tz).date() if isinstance(start, datetime) else start
        return _days_left((day - now.astimezone(tz).date()).days)
    if offset.before is not None:
        return _time_left(offset.before)
    return _days_left(offset.days or 0)


def _time_left(left: timedelta) -> str:
    minutes = math.ceil(left.total_seconds() / 60)
    if minutes <= 0:
        return "đã bắt đầu"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"còn {minutes} phút"
    return f"còn {hours} giờ" + (f" {minutes} phút" if minutes else "")


def _days_left(days: int) -> str:
    if days == 0:
        return "hôm nay"
    if days == 1:
        return "ngày mai"
    if days < 0:
        return f"đã quá {-days} ngày"
    return f"còn {days} ngày"


def _participants(event: Event) -> str:
    if event.cluster_wide:
        return "toàn cụm"
    return ", ".join(esc(u.short_name) for u in event.units)


def event_reminder(
    event: Event, offset: Offset, tz: ZoneInfo, *, area: Unit | None = None, now: datetime | None = None
) -> Reply:
    """``now``: the moment it is sent, to say how long is left then."""
    lead = lead_text(offset, event.starts_at, now, tz=tz)
    if event.kind == "drill":
        where = f" — {area_label(area)}" if area else ""
        head = f"<b>Nhắc diễn tập ({lead})</b>: {esc(event.title)}{where}"
        return Reply(f"{head}\nThời gian: {when(event, tz)}.")
    what = esc(labelled_title(event.kind, event.title))
    return _event_card(f"<b>Nhắc lịch ({lead})</b>: {what}", event, tz)


def _event_card(head: str, event: Event, tz: ZoneInfo) -> Reply:
    """The head line, then when, where and who."""
    lines = [head, f"Thời gian: {when(event, tz)}."]
    if event.location:
        lines.append(f"Địa điểm: {esc(event.location)}.")
    who = _participants(event)
    if who:
        lines.append(f"Thành phần: {who}.")
    return Reply("\n".join(lines))


def duty_reminder_person(
    shift: DutyShift, unit: Unit, offset: Offset, tz: ZoneInfo, now: datetime | None = None
) -> Reply:
    lead = lead_text(offset, shift.starts_at, now, tz=tz)
    return Reply(
        f"<b>Nhắc trực ({lead})</b>: đồng chí {role_name(shift.role).lower()} {esc(unit.name)} "
        f"{fmt_weekday_date(shift.duty_date)}.\n"
        f"Nhận ca {short_when(shift.starts_at, tz)}, giao ca {short_when(shift.ends_at, tz)}."
        + (f"\nGhi chú: {esc(shift.note)}" if shift.note else "")
    )


def duty_reminder_group(
    shifts: list[DutyShift], unit: Unit, offset: Offset, tz: ZoneInfo, now: datetime | None = None
) -> Reply:
    first = shifts[0]
    lead = lead_text(offset, first.starts_at, now, tz=tz)
    lines = [
        f"<b>Nhắc trực ({lead})</b>: {esc(unit.name)} {fmt_weekday_date(first.duty_date)}",
        f"Ca {short_when(first.starts_at, tz)} → {short_when(first.ends_at, tz)}"
        f" (giao ca {fmt_time(first.ends_at.astimezone(tz).time())}).",
    ]
    for shift in sorted(shifts, key=lambda s: role_sort_key(s.role)):
        lines.append(f"• {role_name(shift.role)}: {esc(person_text(shift))}")
    return Reply("\n".join(lines))


def task_reminder(
    task: Task, assignment: TaskAssignment, unit: Unit, offset: Offset, tz: ZoneInfo, now: datetime | None = None
) -> Reply:
    code = f"{esc(task.code)}. " if task.code else ""
    overdue = (offset.days or 0) < 0
    head = "Nhiệm vụ quá hạn" if overdue else f"Nhắc hạn nhiệm vụ ({lead_text(offset, task.due_on, now, tz=tz)})"
    assert task.due_on is not None
    status = status_name(assignment, task.due_on, task.due_on)  # as of the due date
    return Reply(
        f"<b>{head}</b>: {code}{esc(task.title)}\n"
        f"Hạn: {fmt_weekday_date(task.due_on)}. {esc(unit.short_name)}: {status}.\n"
        f"Báo cáo tiến độ: /baocao {esc(task.code or task.id)} &lt;phần trăm hoặc xong&gt;"
    )


def change_notice(what: str, before: str, after: str) -> Reply:
    """'Thay đổi: Hội nghị ... — trước: 14h00 Thứ Năm 23/06/2022; nay: 15h00 Thứ Năm 23/06/2022.'"""
    return Reply(f"<b>Thay đổi</b>: {esc(what)}\nTrước: {esc(before)}\nNay: {esc(after)}")


def cancel_notice(what: str, when_text: str) -> Reply:
    return Reply(f"<b>Hủy</b>: {esc(what)} ({esc(when_text)}) đã hủy. Các lời nhắc về việc này sẽ không gửi nữa.")


def new_event_notice(event: Event, tz: ZoneInfo) -> Reply:
    if event.kind == "drill":
        return _event_card(f"<b>Lịch diễn tập mới</b>: {esc(event.title)}", event, tz)
    return _event_card(f"<b>Lịch mới</b>: {esc(labelled_title(event.kind, event.title))}", event, tz)


def new_task_notice(task: Task, unit_names: list[str]) -> Reply:
    code = f"{esc(task.code)}. " if task.code else ""
    due = f" — hạn {fmt_weekday_date(task.due_on)}" if task.due_on else ""
    return Reply(
        f"<b>Nhiệm vụ mới</b>: {code}{esc(task.title)}{due}\nĐơn vị thực hiện: {esc(', '.join(unit_names))}.\n"
        f"Báo cáo tiến độ: /baocao {esc(task.code or task.id)} &lt;phần trăm hoặc xong&gt;"
    )


def shift_notice(shift: DutyShift, unit: Unit, tz: ZoneInfo, *, title: str = "Phân công trực") -> Reply:
    return Reply(
        f"<b>{esc(title)}</b>: {role_name(shift.role)} {esc(unit.name)} {fmt_weekday_date(shift.duty_date)} — "
        f"{esc(person_text(shift))}.\nCa {short_when(shift.starts_at, tz)} → {short_when(shift.ends_at, tz)}."
    )


def item_line(item: ItemFacts, tz: ZoneInfo) -> str:
    """One line naming an item that is changed or cancelled (plain text); the audit log keeps it too."""
    return describe_item(item, tz)


def new_drill_plan_notice(title: str, review_day: date, area_short_name: str) -> Reply:
    return Reply(
        f"<b>Lịch diễn tập mới</b>: {esc(title)} — kiểm tra, duyệt {fmt_weekday_date(review_day)}. "
        "Xem: /dientap " + esc(area_short_name)
    )


def results_published_text(period_label: str, cluster_name: str) -> str:
    return (
        f"<b>Công bố kết quả thi đua</b> {period_label} của {esc(cluster_name)}. "
        f"Xem bảng xếp hạng: /xephang {period_label}; kết quả đơn vị: /ketqua {period_label}"
    )


def announcement_text(text: str) -> str:
    return f"<b>Thông báo</b>: {esc(text)}"
