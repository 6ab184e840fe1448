"""Shared pieces of wording: people, units, event times, illustrative-data labels."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply, esc
from bot.models import Unit
from bot.vntime import capitalize, fmt_date_range, fmt_day_month, fmt_time, when

__all__ = ["capitalize", "when"]  # the wording of event times lives in bot.vntime (services use it too)

ILLUSTRATIVE = "số liệu minh họa"


def area_label(unit: Unit) -> str:
    """How a commune is named in a list: 'TT Ba Sao', 'P. Lam Hạ', 'Thanh Sơn' (a xã)."""
    if unit.kind != "commune":
        return esc(unit.short_name)
    prefix = {"thi_tran": "TT ", "phuong": "P. "}.get(unit.area_type or "", "")
    return esc(prefix + unit.short_name)


def short_when(moment: datetime, tz: ZoneInfo) -> str:
    """'07h30 22/06'."""
    local = moment.astimezone(tz)
    return f"{fmt_time(local.time())} {fmt_day_month(local.date())}"


def span_label(label: str, start: date, end: date, *, parenthesised: bool = True) -> str:
    """A span as asked and as dates: 'tuần sau (27/06–03/07/2022)'; a label that is itself a date
    ('23/06/2022', '27/6-3/7') is not followed by the same dates again."""
    dates = fmt_date_range(start, end)
    if not label or any(ch.isdigit() for ch in label):
        return dates
    return f"{label} ({dates})" if parenthesised else f"{label} {dates}"


def clipped(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters, cut on a word with "…" when it is longer."""
    if len(text) <= width:
        return text
    cut = text[: width - 1].rsplit(" ", 1)[0] if " " in text[: width - 1] else text[: width - 1]
    return cut.rstrip(" ,;:–-") + "…"


def code_tag(code: str, shown: bool) -> str:
    """'[S12] ' before an item, for admins (the code /sua and /huy take); nothing for others."""
    return f"[{code}] " if shown else ""


def unit_list(units: list[Unit]) -> str:
    return ", ".join(area_label(u) for u in units)


def unit_picker(command: str, units: list[Unit], extra: str = "", prompt: str = "Chọn đơn vị:") -> Reply:
    """Buttons that re-run ``command`` for one unit (two per row)."""
    rows = [
        [Button(u.short_name, f"/{command} u:{u.id} {extra}".strip()) for u in units[index : index + 2]]
        for index in range(0, len(units), 2)
    ]
    return Reply(prompt, buttons=rows)


# --- Channels without buttons or files (Zalo) ------------------------------------------------------------


def numbered_options(labels: list[str]) -> str:
    """Buttons as numbered lines, for a channel without buttons: the user answers with the number."""
    lines = [f"{number}. {label}" for number, label in enumerate(labels, start=1)]
    numbers = ", ".join(str(n) for n in range(1, min(len(labels), 3) + 1))
    lines.append(f"(Trả lời {numbers}{'…' if len(labels) > 3 else ''} để chọn.)")
    return "\n".join(lines)


def file_link(filename: str, url: str) -> str:
    return f"Tệp {filename}: {url} (tải được trong 7 ngày)"


def file_needs_public_url(filename: str) -> str:
    return f"(Tệp {filename} không gửi được qua kênh này khi bot chưa có địa chỉ công khai QTBOT_PUBLIC_URL.)"


def quota_warning(sent: int, quota: int, month: str) -> str:
    year, _, number = month.partition("-")
    return (
        f"Cảnh báo: bot Zalo đã gửi {sent:,}".replace(",", ".")
        + f"/{quota:,}".replace(",", ".")
        + f" tin trong tháng {int(number)}/{year} ({sent * 100 // quota}% hạn mức). "
        "Khi hết hạn mức, Zalo ngừng nhận tin cho đến tháng sau."
    )
