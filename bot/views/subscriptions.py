"""Subscription and settings texts: which pushes a chat gets, and its quiet hours."""

from __future__ import annotations

from datetime import time

from bot.messages import Button, Reply, esc
from bot.services.subscriptions import KINDS
from bot.vntime import fmt_time


def quiet_text(start: time | None, end: time | None) -> str:
    if start is None or end is None:
        return "không đặt"
    return f"{fmt_time(start)}–{fmt_time(end)} (nhắc việc chờ đến hết giờ yên lặng, trừ tin khẩn)"


def chat_title(group: bool, group_title: str | None, person: str | None) -> str:
    """Whose settings these are: the group's name, or the person's ('đồng chí Vũ Thành Long')."""
    if group:
        return f"nhóm {group_title}" if group_title else "nhóm"
    return f"đồng chí {person}" if person else "chat riêng"


def settings_reply(title: str, kinds: set[str], quiet_start: time | None, quiet_end: time | None) -> Reply:
    """The chat's subscriptions with one toggle button per kind."""
    lines = [f"<b>Cài đặt nhận tin — {esc(title)}</b>"]
    for kind, name in KINDS.items():
        lines.append(f"{'✅' if kind in kinds else '⬜'} {name}")
    lines.append(f"Giờ yên lặng: {quiet_text(quiet_start, quiet_end)}")
    lines.append("Bấm để bật/tắt. Đặt giờ yên lặng: /caidat yên lặng 22h-6h; bỏ: /caidat bỏ yên lặng")
    buttons = []
    items = list(KINDS.items())
    for index in range(0, len(items), 2):
        row = []
        for kind, name in items[index : index + 2]:
            on = kind in kinds
            row.append(Button(f"{'✅' if on else '⬜'} {name}", f"/{'huydangky' if on else 'dangky'} k:{kind}"))
        buttons.append(row)
    return Reply("\n".join(lines), buttons=buttons)
