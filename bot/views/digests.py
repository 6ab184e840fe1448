"""Digest texts. Each returns None when there is nothing to say (an empty digest is not sent)."""

from __future__ import annotations

from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages import Reply, esc
from bot.models import Event, NewsItem, ReviewPeriod, Task, TaskAssignment, Unit
from bot.services.digests import MAX_EVENTS
from bot.services.duty import DutyDay, person_text, role_name
from bot.services.results import period_spec
from bot.views import readiness as readiness_views
from bot.views.common import capitalize, when
from bot.vntime import fmt_date, fmt_date_range, fmt_day_month, fmt_weekday_date, weekday_name


def _duty_lines(days: list[DutyDay], labels: dict[date, str] | None = None) -> list[str]:
    lines = []
    for day in days:
        label = (labels or {}).get(day.day) or f"{weekday_name(day.day)} {fmt_day_month(day.day)}"
        people = "; ".join(f"{role_name(s.role).lower()} {esc(person_text(s))}" for s in day.shifts)
        lines.append(f"• {label}: {people}")
    return lines


def _event_lines(events: list[Event], tz: ZoneInfo) -> list[str]:
    """At most MAX_EVENTS lines; the caller fetches one more to know there are others."""
    lines = []
    for event in events[:MAX_EVENTS]:
        where = f", {esc(event.location)}" if event.location else ""
        lines.append(f"• {capitalize(when(event, tz))}: {esc(event.title)}{where}")
    if len(events) > MAX_EVENTS:
        lines.append("• … và các lịch khác: xem /lich")
    return lines


def _task_lines(tasks: list[tuple[Task, TaskAssignment | None]]) -> list[str]:
    lines = []
    for task, _assignment in tasks:
        code = f"{esc(task.code)}. " if task.code else ""
        due = f" — hạn {fmt_date(task.due_on)}" if task.due_on else ""
        lines.append(f"• {code}{esc(task.title)}{due}")
    return lines


def daily(
    today: date,
    unit: Unit | None,
    roster: list[DutyDay],
    events: list[Event],
    tasks: list[tuple[Task, TaskAssignment | None]],
    published: list[ReviewPeriod],
    tz: ZoneInfo,
    gaps: list[dict[str, Any]] | None = None,
    reinforced: list[dict[str, Any]] | None = None,
) -> Reply | None:
    """``gaps``: roles with nobody in the next 7 days; ``reinforced``: the reinforced periods of today."""
    sections: list[str] = [readiness_views.reinforced_line(p) for p in reinforced or []]
    if roster:
        labels = {today: "Hôm nay", date.fromordinal(today.toordinal() + 1): "Ngày mai"}
        sections.append("<b>Trực SSCĐ</b>\n" + "\n".join(_duty_lines(roster, labels)))
    if events:
        sections.append("<b>Lịch 3 ngày tới</b>\n" + "\n".join(_event_lines(events, tz)))
    if tasks:
        sections.append("<b>Nhiệm vụ đến hạn trong 7 ngày</b>\n" + "\n".join(_task_lines(tasks)))
    if gaps:
        sections.append(readiness_views.gaps_section(gaps))
    if published:
        names = ", ".join(period_spec(p).label() for p in published)
        sections.append(f"<b>Kết quả mới công bố</b>\n• Kết quả chấm điểm {names}: xem /xephang")
    if not sections:
        return None
    head = f"<b>Bản tin sáng {fmt_weekday_date(today)}</b>" + (f" — {esc(unit.name)}" if unit else "")
    return Reply("\n\n".join([head, *sections]))


def weekly(
    monday: date,
    sunday: date,
    unit: Unit | None,
    roster: list[DutyDay],
    events: list[Event],
    tasks: list[tuple[Task, TaskAssignment | None]],
    tz: ZoneInfo,
) -> Reply | None:
    sections: list[str] = []
    if roster:
        sections.append("<b>Lịch trực</b>\n" + "\n".join(_duty_lines(roster)))
    if events:
        sections.append("<b>Hội nghị, họp, diễn tập</b>\n" + "\n".join(_event_lines(events, tz)))
    if tasks:
        sections.append("<b>Nhiệm vụ đến hạn trong tuần</b>\n" + "\n".join(_task_lines(tasks)))
    if not sections:
        return None
    head = f"<b>Lịch tuần {fmt_date_range(monday, sunday)}</b>" + (f" — {esc(unit.name)}" if unit else "")
    return Reply("\n\n".join([head, *sections]))


def news(items: list[NewsItem], tz: ZoneInfo) -> Reply | None:
    if not items:
        return None
    lines = ["<b>Tin trong ngày</b>"]
    for item in items:
        day = fmt_date(item.published_at.astimezone(tz).date())
        link = f"\n  {esc(item.link)}" if item.link else ""
        lines.append(f"• {esc(item.title)} ({day}){link}")
    return Reply("\n".join(lines))
