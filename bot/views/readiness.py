"""Roster gaps and reinforced periods (tăng cường trực): digest lines, notices, /themtangcuong."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.messages import Document, Reply, esc
from bot.services.charts import BarChart, render_png
from bot.services.duty import role_name
from bot.services.readiness import DutyLoad
from bot.textnorm import normalize
from bot.views.common import ILLUSTRATIVE
from bot.vntime import fmt_date_range, fmt_day_month, fmt_weekday_date, weekday_name


def _roles(roles: list[str]) -> str:
    return ", ".join(role_name(r).lower() for r in roles)


def gap_lines(gaps: list[dict[str, Any]]) -> list[str]:
    """'• Thứ Hai 27/06: chưa có trực chỉ huy, trực ban'."""
    lines = []
    for gap in gaps:
        day = date.fromisoformat(gap["day"])
        lines.append(f"• {weekday_name(day)} {fmt_day_month(day)}: chưa có {_roles(gap['roles'])}")
    return lines


def gaps_section(gaps: list[dict[str, Any]]) -> str:
    return "<b>Lịch trực còn trống (7 ngày tới)</b>\n" + "\n".join(gap_lines(gaps))


def reinforced_line(period: dict[str, Any]) -> str:
    """The digest line of a reinforced period running today."""
    span = fmt_date_range(date.fromisoformat(period["starts_on"]), date.fromisoformat(period["ends_on"]))
    label = f" ({ILLUSTRATIVE})" if period.get("illustrative") else ""
    note = f" {esc(period['note'])}." if period.get("note") else ""
    return f"<b>Đang trong đợt tăng cường trực</b> {esc(period['name'])}: {span}{label}.{note}"


def gap_notice(p: dict[str, Any]) -> Reply:
    (gap,) = p["gaps"]
    day = date.fromisoformat(gap["day"])
    return Reply(
        f"<b>Lịch trực còn trống</b>: {esc(p['unit']['name'])} {fmt_weekday_date(day)} chưa có "
        f"{_roles(gap['roles'])}.\nThêm lịch trực: /themtruc"
    )


def period_start_notice(p: dict[str, Any]) -> Reply:
    span = fmt_date_range(date.fromisoformat(p["starts_on"]), date.fromisoformat(p["ends_on"]))
    units = ", ".join(esc(u) for u in p.get("units") or []) or "cả cụm"
    lines = [f"<b>Bắt đầu đợt tăng cường trực</b>: {esc(p['name'])}, {span}.", f"Đơn vị: {units}."]
    if p.get("note"):
        lines.append(f"Ghi chú: {esc(p['note'])}")
    lines.append("Xem lịch trực: /truc")
    return Reply("\n".join(lines))


def period_added(name: str, starts_on: date, ends_on: date, units: str) -> Reply:
    return Reply(
        f"Đã thêm đợt tăng cường trực {esc(name)}: {fmt_date_range(starts_on, ends_on)}, {esc(units)}.\n"
        "Các nhóm và người nhận nhắc trực của đơn vị sẽ được nhắc vào 07h00 ngày bắt đầu."
    )


def _hours(value: float) -> str:
    """48 -> '48', 12.5 -> '12,5'."""
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",")


LOAD_COLOUR = "#1565c0"


def load_reply(
    unit_name: str, month: int, year: int, loads: list[DutyLoad], *, short_name: str = "", illustrative: bool = False
) -> Reply:
    """'/thongke trực 6/2022': one line per person, duty count and hours, then the totals; beside it
    the same as a bar chart (hours per person, most first). A month without shifts: the sentence alone."""
    head = f"<b>Thống kê trực SSCĐ — {esc(unit_name)}, tháng {month}/{year}</b>"
    if not loads:
        return Reply(f"{head}\nChưa có ca trực nào trong tháng này, nên chưa có biểu đồ.")
    lines = [head, "Người trực: số ca, số giờ"]
    lines += [f"• {esc(load.label)}: {load.shifts} ca, {_hours(load.hours)} giờ" for load in loads]
    total_shifts, total_hours = sum(x.shifts for x in loads), sum(x.hours for x in loads)
    lines.append(f"Tổng: {total_shifts} ca, {_hours(total_hours)} giờ.")
    name = short_name or unit_name
    chart = load_chart(name, month, year, loads, illustrative=illustrative)
    caption = f"Số giờ trực mỗi người — {name}, tháng {month}/{year}" + (f" ({ILLUSTRATIVE})" if illustrative else "")
    slug = normalize(name).replace(" ", "-")
    photo = Document(f"thong-ke-truc-{slug}-{month:02d}-{year}.png", render_png(chart), caption=caption)
    return Reply("\n".join(lines), photo=photo)


def load_chart(name: str, month: int, year: int, loads: list[DutyLoad], *, illustrative: bool = False) -> BarChart:
    """Hours on duty per person (or team), most first, each bar labelled with its hours and shifts."""
    return BarChart(
        title=f"Thống kê trực SSCĐ — {name}, tháng {month}/{year}",
        labels=tuple(load.label for load in loads),
        values=tuple(load.hours for load in loads),
        colours=(LOAD_COLOUR,) * len(loads),
        axis="Số giờ trực",
        watermark=ILLUSTRATIVE if illustrative else None,
        value_labels=tuple(f"{_hours(load.hours)} giờ · {load.shifts} ca" for load in loads),
        start=0.0,
    )


def stats_usage() -> Reply:
    return Reply("Thống kê trực theo tháng: /thongke trực 6/2022 (thêm tên đơn vị nếu cần, ví dụ: Kim Bảng).")
