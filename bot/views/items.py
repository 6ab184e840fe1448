"""What admins are told after adding, changing or cancelling an item (/themhop ... /sua, /huy)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.messages import esc
from bot.models import Criterion, DrillPlan, DutyShift, Event, Task
from bot.services.duty import role_name
from bot.services.editable import EditWarning, ItemCancellation, ItemChange, ItemFacts
from bot.services.items import PublishPreview, ScoresRecorded
from bot.views.common import capitalize, when
from bot.views.reminders import item_line
from bot.vntime import fmt_date, fmt_date_range, fmt_points, fmt_time, fmt_weekday_date


def meeting_added(event: Event, told: int, tz: ZoneInfo) -> str:
    return (
        f"Đã thêm [S{event.id}] {esc(event.title)} — {capitalize(when(event, tz))}, tại "
        f"{esc(event.location or '?')}. Đã báo {told} chat. Sửa: /sua S{event.id}; hủy: /huy S{event.id}."
    )


def shifts_added(shifts: list[DutyShift], unit_name: str, role: str, told: int) -> str:
    days = [s.duty_date for s in shifts]
    ids = ", ".join(f"T{s.id}" for s in shifts)
    return (
        f"Đã thêm {len(shifts)} ca {role_name(role).lower()} của {esc(unit_name)} "
        f"({fmt_date_range(days[0], days[-1])}) [{ids}]. Đã báo {told} chat."
    )


def drill_added(plan: DrillPlan, area_short_name: str, told: int) -> str:
    return f"Đã thêm [D{plan.id}] {esc(plan.title)}; xem /dientap {esc(area_short_name)}. Đã báo {told} chat."


def task_added(task: Task, units: int, told: int) -> str:
    return (
        f"Đã thêm nhiệm vụ {esc(task.code)}: {esc(task.title)} — hạn {fmt_date(task.due_on)}; {units} đơn vị. "
        f"Đã báo {told} chat. Sửa: /sua {esc(task.code)}; hủy: /huy {esc(task.code)}."
    )


def scores_recorded(recorded: ScoresRecorded, unit_short_name: str, period_label: str) -> str:
    status = (
        "đã công bố"
        if recorded.period.status == "published"
        else "chưa công bố (chỉ quản trị xem được; /congbo để công bố)"
    )
    row = recorded.row
    total = f"tổng {fmt_points(row.result.total)} điểm, tạm xếp thứ {row.result.rank}/{recorded.ranked}" if row else ""
    return f"Đã ghi điểm {esc(unit_short_name)} — {period_label}: {total}. Kết quả {status}."


def scores_preview(unit_name: str, period_label: str, points: dict[str, Decimal], missing: list[Criterion]) -> str:
    """What /chamdiem is about to write; a sheet lacking required criteria says which, before it is saved."""
    given = ", ".join(f"{code}={fmt_points(value)}" for code, value in points.items())
    lines = [f"Đơn vị: {esc(unit_name)}", f"Kỳ: {period_label}", f"Điểm: {given}"]
    if missing:
        names = "; ".join(f"{esc(c.code)} ({esc(c.name)})" for c in missing)
        lines.append(
            f"⚠️ Còn thiếu điểm {len(missing)} tiêu chí: {names}. Nếu lưu, tổng điểm và xếp hạng tạm tính "
            "không có các tiêu chí này; nhập bổ sung sau bằng /chamdiem."
        )
    return "\n".join(lines)


def publish_preview(preview: PublishPreview, period_label: str) -> str:
    lines = [f"Công bố kết quả {period_label} cho cả cụm:"]
    lines += [
        f"{r.result.rank}. {esc(r.unit.short_name)}: {fmt_points(r.result.total)} — {esc(r.result.grade or '')}"
        for r in preview.table.rows
    ]
    total = len(preview.table.rows) + len(preview.unscored)
    if preview.unscored:
        names = ", ".join(esc(u.short_name) for u in preview.unscored)
        lines.append(
            f"⚠️ {len(preview.unscored)}/{total} đơn vị chưa có điểm: {names}. "
            "Công bố bây giờ thì các đơn vị này không có trong bảng xếp hạng."
        )
    if preview.incomplete:
        parts = "; ".join(f"{esc(u.short_name)} (thiếu {', '.join(codes)})" for u, codes in preview.incomplete)
        lines.append(f"⚠️ Chưa đủ điểm các tiêu chí: {parts}.")
    return "\n".join(lines)


def results_published(period_label: str, queued: int) -> str:
    return f"Đã công bố kết quả {period_label}; đang gửi thông báo tới {queued} chat."


def news_posted(title: str) -> str:
    return f"Đã đăng tin: <b>{esc(title)}</b>. Tin sẽ có trong /tin và bản tin chiều."


# --- /sua and /huy ----------------------------------------------------------------------------------


def change_preview(
    item: ItemFacts, field_name: str, after: str, tz: ZoneInfo, warnings: list[EditWarning] | None = None
) -> str:
    lines = [
        f"Mục {item.code}: {esc(item_line(item, tz))}",
        f"{field_name} sẽ đổi thành: <b>{esc(after)}</b>",
        *(f"⚠️ {esc(edit_warning(w, tz))}" for w in warnings or []),
        "Những chat liên quan sẽ được báo." + (" Vẫn lưu thì bấm Xác nhận." if warnings else ""),
    ]
    return "\n".join(lines)


def _moment(value: datetime | date | None, tz: ZoneInfo) -> str:
    if isinstance(value, datetime):
        local = value.astimezone(tz)
        return f"{fmt_time(local.time())} {fmt_weekday_date(local.date())}"
    return fmt_weekday_date(value) if value is not None else "?"


def edit_warning(warning: EditWarning, tz: ZoneInfo) -> str:
    """One warning of a change's confirmation (plain text)."""
    match warning.reason:
        case "past" if isinstance(warning.moment, datetime):
            return f"Thời gian mới ({_moment(warning.moment, tz)}) đã qua."
        case "past":
            return f"Ngày mới ({_moment(warning.moment, tz)}) đã qua."
        case "before_previous":
            return (
                f"Mốc này sẽ đứng trước mốc liền trước của kế hoạch: {warning.other} ({_moment(warning.moment, tz)})."
            )
        case "after_next":
            return f"Mốc này sẽ đứng sau mốc tiếp theo của kế hoạch: {warning.other} ({_moment(warning.moment, tz)})."
        case "outside_plan" if warning.months is not None:
            first, last = warning.months
            span = (
                f"{first:%m/%Y}"
                if (first.year, first.month) == (last.year, last.month)
                else f"{first:%m/%Y}–{last:%m/%Y}"
            )
            return f"Ngày mới nằm ngoài thời gian của kế hoạch (tháng {span})."
    return "Hãy xem lại thay đổi này."


def item_changed(change: ItemChange, tz: ZoneInfo) -> str:
    return f"Đã sửa {change.code}.\nTrước: {esc(item_line(change.before, tz))}\nNay: {esc(item_line(change.after, tz))}"


def cancel_preview(item: ItemFacts, tz: ZoneInfo) -> str:
    return f"Hủy {item.code}: {esc(item_line(item, tz))}\nNhững chat liên quan sẽ được báo hủy."


def item_cancelled(cancellation: ItemCancellation, tz: ZoneInfo) -> str:
    return f"Đã hủy {cancellation.code}: {esc(item_line(cancellation.facts, tz))}. Đã báo {cancellation.told} chat."


BAD_CODE = (
    "Cho mã mục cần sửa hoặc hủy, ví dụ S12 (hội nghị, họp, mốc diễn tập), T40 (ca trực), "
    "FT3 hoặc N3 (nhiệm vụ), D2 (kế hoạch diễn tập của một xã). Mã có trong /lich, /truc, /nhiemvu."
)
