"""The delivery log (/guitin): what went out in the last 24 hours, and what did not."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.messages import Reply, esc, to_plain
from bot.models import OutboxMessage
from bot.views.common import short_when

STATUS_NAMES = {
    "sent": "đã gửi",
    "pending": "đang chờ",
    "claimed": "đang gửi",
    "failed": "thất bại",
    "missed": "lỡ (bot không chạy)",
    "cancelled": "đã hủy",
}


def deliveries_reply(counts: dict[str, int], failures: list[OutboxMessage], tz: ZoneInfo) -> Reply:
    lines = ["<b>Gửi tin 24 giờ qua</b>"]
    for status, name in STATUS_NAMES.items():
        lines.append(f"• {name}: {counts.get(status, 0)}")
    if failures:
        lines.append("<b>Lỗi gần nhất</b>")
        for row in failures:
            first_line = to_plain(row.text).split("\n", 1)[0]
            first_line = first_line if len(first_line) <= 60 else first_line[:59] + "…"
            lines.append(
                f"• {short_when(row.due_at, tz)} {esc(row.channel)}:{esc(row.chat_id)} — "
                f"{STATUS_NAMES.get(row.status, row.status)}: {esc(row.last_error or '?')} ({esc(first_line)})"
            )
    return Reply("\n".join(lines))
