"""Acknowledgement, escalation and snooze texts: "Đã nhận", "Chưa nhận ca trực", "Nhắc lại sau 1 giờ"."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply, esc
from bot.models import DutyShift, Unit
from bot.services.acks import AckResult, SnoozeResult
from bot.services.duty import person_text, role_name
from bot.views.common import short_when
from bot.vntime import fmt_weekday_date

ACK_LABEL = "Đã nhận"
SNOOZE_LABEL = "Nhắc lại sau 1 giờ"


def ack_button(shift_id: int) -> Button:
    return Button(ACK_LABEL, f"/danhan {shift_id}")


def snooze_button(outbox_id: int) -> Button:
    return Button(SNOOZE_LABEL, f"/nhaclai {outbox_id}")


def _shift_line(shift: DutyShift, unit: Unit, tz: ZoneInfo) -> str:
    return (
        f"{role_name(shift.role).lower()} {esc(unit.name)} {fmt_weekday_date(shift.duty_date)} "
        f"(nhận ca {short_when(shift.starts_at, tz)})"
    )


def escalation(shift: DutyShift, unit: Unit, minutes: int, tz: ZoneInfo) -> Reply:
    return Reply(
        f"<b>Chưa nhận ca trực</b>: {esc(person_text(shift))} chưa xác nhận đã nhận lời nhắc "
        f"{_shift_line(shift, unit, tz)}.\nCòn {minutes} phút đến giờ giao ca; đề nghị liên hệ đồng chí này."
    )


def late_ack(shift: DutyShift, unit: Unit, acked_at: datetime, tz: ZoneInfo) -> Reply:
    return Reply(
        f"<b>Đã nhận ca trực (muộn)</b>: {esc(person_text(shift))} đã xác nhận lúc {short_when(acked_at, tz)}, "
        f"{_shift_line(shift, unit, tz)}."
    )


def ack_reply(result: AckResult, tz: ZoneInfo) -> Reply:
    if result.outcome == "unknown" or result.shift is None or result.unit is None:
        return Reply("Không tìm thấy ca trực này (có thể đã hủy hoặc đổi). Xem lại: /truc")
    line = _shift_line(result.shift, result.unit, tz)
    if result.outcome == "not_yours":
        return Reply(f"Ca {line} không phải của đồng chí, nên không xác nhận thay được.")
    assert result.acked_at is not None
    if result.outcome == "already":
        return Reply(f"Đồng chí đã xác nhận ca {line} lúc {short_when(result.acked_at, tz)}.")
    text = f"Đã ghi nhận: đồng chí nhận ca {line} lúc {short_when(result.acked_at, tz)}."
    if result.late:
        text += "\nChỉ huy đơn vị và nhóm của đơn vị đã được báo là đồng chí đã nhận."
    return Reply(text)


def snooze_reply(result: SnoozeResult, tz: ZoneInfo) -> Reply:
    if result.outcome == "unknown" or result.at is None:
        return Reply("Lời nhắc này không hẹn lại được (đã hẹn một lần hoặc không còn).")
    if result.outcome == "already":
        return Reply(f"Lời nhắc này đã hẹn nhắc lại lúc {short_when(result.at, tz)}.")
    return Reply(f"Sẽ nhắc lại lúc {short_when(result.at, tz)}.")


def ack_usage() -> Reply:
    return Reply("Bấm “Đã nhận” dưới lời nhắc trực, hoặc gõ /danhan &lt;số ca&gt;.")


def ack_mark(acked_at: datetime | None, tz: ZoneInfo) -> str:
    """What /truc shows admins and the commander after a person's name."""
    if acked_at is None:
        return " — chưa nhận"
    return f" — ✓ đã nhận {short_when(acked_at, tz)}"
