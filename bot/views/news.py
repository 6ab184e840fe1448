"""News texts."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.messages import Reply, esc
from bot.models import NewsItem
from bot.vntime import fmt_date


def news_reply(items: list[NewsItem], tz: ZoneInfo) -> Reply:
    if not items:
        return Reply("Chưa có tin nào.")
    lines = ["<b>Tin mới</b>"]
    for item in items:
        day = fmt_date(item.published_at.astimezone(tz).date())
        lines.append(f"• <b>{esc(item.title)}</b> ({day})")
        if item.summary:
            summary = item.summary if len(item.summary) <= 300 else item.summary[:297] + "…"
            lines.append(f"  {esc(summary)}")
        if item.link:
            lines.append(f"  {esc(item.link)}")
    return Reply("\n".join(lines))
