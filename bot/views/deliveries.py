"""The delivery log (/guitin): what went out in the last 24 hours, and what did not.

What the platforms answer when a send fails is English (“Forbidden: bot was blocked by the user”)
and stays in the logs; an admin reads what it means, in Vietnamese (:func:`delivery_error`)."""

from __future__ import annotations

import re
from datetime import date
from zoneinfo import ZoneInfo

from bot.messages import Reply, esc, to_plain
from bot.services.deliveries import DeliveryLog
from bot.services.subscriptions import KINDS
from bot.views.common import short_when
from bot.vntime import fmt_date, fmt_time

STATUS_NAMES = {
    "sent": "đã gửi",
    "pending": "đang chờ",
    "claimed": "đang gửi",
    "failed": "thất bại",
    "missed": "lỡ (bot không chạy)",
    "cancelled": "đã hủy",
}

#: (what the platform's error says, lower case, as a pattern) -> what it means; the first match wins.
ERROR_PHRASES: tuple[tuple[str, str], ...] = (
    (r"blocked by the user", "người nhận đã chặn bot"),
    (r"kicked|not a member|bot was removed", "bot đã bị mời ra khỏi nhóm"),
    (r"user is deactivated", "tài khoản người nhận không còn"),
    (r"chat not found|zalo 404", "không tìm thấy cuộc trò chuyện (đã xóa, hoặc người nhận chưa nhắn cho bot)"),
    (r"upgraded to a supergroup|moved to", "nhóm đã nâng cấp lên siêu nhóm (đổi mã nhóm)"),
    (r"sắp hết hạn mức", "Zalo sắp hết hạn mức tin của tháng; bản tin nhường chỗ cho nhắc việc"),
    (r"too many requests|flood|retry after|zalo 429|hết hạn mức", "gửi quá nhanh hoặc hết hạn mức; sẽ gửi lại sau"),
    (r"can't parse entities|can't find end", "định dạng của tin không hợp lệ"),
    (r"message is too long", "tin quá dài"),
    (r"message text is empty", "tin trống"),
    (r"zalo 403", "Zalo không cho bot nhắn người này"),
    (r"zalo 400", "Zalo từ chối tin (nội dung không hợp lệ)"),
    (r"timed? ?out|timeout|hết thời gian chờ", "mạng chậm, hết thời gian chờ"),
    (
        r"internal server error|bad gateway|service unavailable|gateway|zalo 5\d\d|\b5\d\d\b",
        "máy chủ của nền tảng đang lỗi",
    ),
    (r"network|connect|lỗi mạng", "lỗi mạng khi gửi"),
    (r"chờ tin trước", "chờ tin trước của cùng chat"),
    (r"quá thời gian nhắc", "quá giờ nhắc khi bot không chạy"),
)
_UNKNOWN = "lỗi khác (chi tiết trong nhật ký của bot)"
_GONE = "chat không còn nhận tin: "


def delivery_error(raw: str | None) -> str:
    """What a stored delivery error means, in Vietnamese; never the platform's own words."""
    text = (raw or "").strip()
    if text.startswith(_GONE):
        return _GONE + delivery_error(text.removeprefix(_GONE))
    lowered = text.lower()
    for pattern, phrase in ERROR_PHRASES:
        if re.search(pattern, lowered):
            return phrase
    return _UNKNOWN


def _reason(status: str, raw: str | None) -> str:
    if raw:
        return delivery_error(raw)
    return "quá giờ nhắc khi bot không chạy" if status == "missed" else "không rõ"


DIGEST_NAMES = {"daily": KINDS["digest_daily"], "weekly": KINDS["digest_weekly"], "news": "Bản tin tin tức"}


def digest_run_line(kind: str, day: date, written: int, *, missed: bool) -> str:
    """What `qtbot tick` says of a digest run: 'Bản tin sáng 22/06/2022: 3 tin.'"""
    done = "lỡ (quá giờ gửi bù; xem /guitin)" if missed else f"{written} tin"
    return f"{DIGEST_NAMES.get(kind, kind)} {fmt_date(day)}: {done}."


def deliveries_reply(log: DeliveryLog, tz: ZoneInfo) -> Reply:
    lines = ["<b>Gửi tin 24 giờ qua</b>"]
    for status, name in STATUS_NAMES.items():
        lines.append(f"• {name}: {log.counts.get(status, 0)}")
    if log.missed_digests:
        lines.append("<b>Bản tin lỡ</b> (bot không chạy, quá giờ gửi bù)")
        for digest in log.missed_digests:
            due = digest.due_at.astimezone(tz)
            name = DIGEST_NAMES.get(digest.kind, digest.kind)
            lines.append(f"• {name} {fmt_time(due.time())} {fmt_date(due.date())}: không gửi")
    if log.failures:
        lines.append("<b>Lỗi gần nhất</b>")
        for row in log.failures:
            first_line = to_plain(row.text).split("\n", 1)[0]
            first_line = first_line if len(first_line) <= 60 else first_line[:59] + "…"
            lines.append(
                f"• {short_when(row.due_at, tz)} {esc(row.channel)}:{esc(row.chat_id)} — "
                f"{STATUS_NAMES.get(row.status, row.status)}: {esc(_reason(row.status, row.last_error))} "
                f"({esc(first_line)})"
            )
    return Reply("\n".join(lines))
