"""/nhap (/import): the preview of a checked file and the answers once it is written."""

from __future__ import annotations

from bot.messages import Button, Reply, esc
from bot.vntime import fmt_date_range

CONFIRM_LABEL = "Nhập"


def _preview(what: str, filename: str, confirm: str, cancel: str) -> Reply:
    text = f"Tệp {esc(filename)} không có lỗi. Sẽ nhập: {what}.\nChưa ghi gì: bấm {CONFIRM_LABEL} để ghi, Hủy để bỏ."
    return Reply(text, buttons=[[Button(CONFIRM_LABEL, confirm), Button("Hủy", cancel)]])


def roster_preview(
    filename: str, created: int, replaced: int, units: list[str], first, last, *, confirm: str, cancel: str
) -> Reply:
    what = f"{created} ca trực của {', '.join(units)} ({fmt_date_range(first, last)})"
    if replaced:
        what += f", thay {replaced} ca cũ"
    return _preview(esc(what), filename, confirm, cancel)


def scores_preview(filename: str, units: int, period: str, *, confirm: str, cancel: str) -> Reply:
    return _preview(esc(f"điểm của {units} đơn vị, {period}"), filename, confirm, cancel)


def roster_done(created: int, replaced: int, units: list[str], first, last, told: int) -> Reply:
    extra = f"; thay {replaced} ca cũ" if replaced else ""
    notices = f" Đã báo {told} chat liên quan." if told else ""
    return Reply(
        f"Đã nhập {created} ca trực của {esc(', '.join(units))} ({fmt_date_range(first, last)}){extra}.{notices} "
        "Xem: /truc"
    )


def scores_done(units: int, period: str, published: bool) -> Reply:
    state = "đã công bố" if published else "chưa công bố; xem /xephang, công bố bằng /congbo"
    return Reply(f"Đã nhập điểm {units} đơn vị, {esc(period)} ({state}).")


CANCELLED = Reply("Đã hủy nhập tệp.")
WAITING_FILE = "Bot đang chờ tệp .xlsx hoặc .csv (hoặc bấm Hủy)."
WAITING_CONFIRM = f"Bấm {CONFIRM_LABEL} để ghi tệp đã kiểm tra, hoặc Hủy để bỏ."


_ITEMS = {"tasks": ("nhiệm vụ", "/nhiemvu"), "drills": ("kế hoạch diễn tập", "/dientap")}


def items_preview(filename: str, kind: str, count: int, *, confirm: str, cancel: str) -> Reply:
    return _preview(f"{count} {_ITEMS[kind][0]}", filename, confirm, cancel)


def items_done(kind: str, count: int, told: int) -> Reply:
    what, command = _ITEMS[kind]
    notices = f" Đã báo {told} chat liên quan." if told else ""
    return Reply(f"Đã nhập {count} {what}.{notices} Xem: {command}")


def progress(filename: str, done: int, total: int, *, writing: bool) -> str:
    """A long import's progress: 'Đang ghi lich.xlsx: 3.000/5.000 dòng (60%)…' (Telegram edits one
    message with it; elsewhere each is a line of its own)."""
    verb = "Đang ghi" if writing else "Đang kiểm tra"
    count = f"{done:,}/{total:,}".replace(",", ".")
    return f"{verb} {esc(filename)}: {count} dòng ({done * 100 // max(total, 1)}%)…"
