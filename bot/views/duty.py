"""Duty roster (lịch trực SSCĐ) texts."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply, esc
from bot.models import Event, ReadinessPeriod, Unit
from bot.services.duty import DutyDay, person_text, role_name
from bot.views.common import ILLUSTRATIVE, capitalize, short_when, span_label, when
from bot.vntime import fmt_date, fmt_date_range, fmt_day_month, fmt_time, fmt_weekday_date, weekday_name


def _span_token(start: date, end: date) -> str:
    return f"s:{start:%Y%m%d}-{end:%Y%m%d}"


def _shift_line(day: DutyDay, codes: bool = False) -> str:
    parts = []
    for shift in day.shifts:
        who = esc(person_text(shift))
        extra = (" (tăng cường)" if shift.reinforced else "") + (f" [T{shift.id}]" if codes else "")
        parts.append(f"{role_name(shift.role).lower()} {who}{extra}")
    return capitalize("; ".join(parts))


def roster_reply(
    unit: Unit,
    start: date,
    end: date,
    label: str,
    days: list[DutyDay],
    today: date,
    tz: ZoneInfo,
    *,
    codes: bool = False,
) -> Reply:
    """The roster of a span (a week, usually): one line per day; ``codes``: each shift's code (T40),
    for an admin's /sua and /huy."""
    span = span_label(label, start, end, parenthesised=False)
    head = f"<b>Lịch trực SSCĐ — {esc(unit.name)}</b>\n{capitalize(esc(span))}"
    if not days:
        text = f"{head}\nChưa có lịch trực trong thời gian này."
    else:
        first = days[0].shifts[0]
        handover = fmt_time(first.starts_at.astimezone(tz).time())
        lines = [head, f"Ca trực từ {handover} hôm đó đến {handover} hôm sau."]
        for day in days:
            marker = " ◀ hôm nay" if day.day == today else ""
            lines.append(
                f"• <b>{weekday_name(day.day)} {fmt_day_month(day.day)}</b>{marker}: {_shift_line(day, codes)}"
            )
            notes = [s.note for s in day.shifts if s.note]
            lines.extend(f"   <i>Ghi chú: {esc(n)}</i>" for n in notes)
        text = "\n".join(lines)
    span = (end - start).days + 1
    prev_start, next_start = start - timedelta(days=span), start + timedelta(days=span)
    buttons = [
        [
            Button("◀ Trước", f"/truc u:{unit.id} {_span_token(prev_start, prev_start + timedelta(days=span - 1))}"),
            Button("Sau ▶", f"/truc u:{unit.id} {_span_token(next_start, next_start + timedelta(days=span - 1))}"),
        ]
    ]
    return Reply(text, buttons=buttons)


def day_reply(
    unit: Unit,
    day: date,
    duty: DutyDay | None,
    focus_role: str | None,
    events: list[Event],
    periods: list[ReadinessPeriod],
    tz: ZoneInfo,
    *,
    codes: bool = False,
) -> Reply:
    """Who is on duty on one day; the asked-for role first; ``codes``: each shift's code, for admins."""
    head = f"<b>{fmt_weekday_date(day)}</b> — {esc(unit.name)}"
    if duty is None or not duty.shifts:
        return Reply(f"{head}\nChưa có lịch trực ngày này.")
    shifts = sorted(duty.shifts, key=lambda s: s.role != focus_role) if focus_role else duty.shifts
    lines = [head]
    for shift in shifts:
        who = esc(person_text(shift))
        line = f"{role_name(shift.role)}: {who}" + (f" [T{shift.id}]" if codes else "")
        lines.append(f"<b>{line}</b>" if shift.role == focus_role else line)
    first = duty.shifts[0]
    lines.append(f"Ca {short_when(first.starts_at, tz)} → {short_when(first.ends_at, tz)}.")
    lines.extend(f"<i>Ghi chú: {esc(s.note)}</i>" for s in duty.shifts if s.note)
    for event in events:
        where = f", tại {esc(event.location)}" if event.location else ""
        lines.append(f"Trong ngày: {esc(event.title)} — {when(event, tz)}{where}.")
    for period in periods:
        label = f" ({ILLUSTRATIVE})" if period.illustrative else ""
        lines.append(
            f"Đang trong đợt tăng cường trực {esc(period.name)}: "
            f"{fmt_date_range(period.starts_on, period.ends_on)}{label}."
        )
    if focus_role and duty.by_role(focus_role) is None:
        lines.insert(1, f"Không có {role_name(focus_role).lower()} trong lịch ngày này.")
    return Reply("\n".join(lines))


def readiness_reply(periods: list[ReadinessPeriod], asked: ReadinessPeriod | None, year: int) -> Reply:
    def line(p: ReadinessPeriod) -> str:
        label = f" ({ILLUSTRATIVE})" if p.illustrative else ""
        return f"{esc(p.name)}: {fmt_date_range(p.starts_on, p.ends_on)}{label}"

    if asked is not None:
        return Reply(
            f"Đợt tăng cường trực {line(asked)}.\n"
            f"Bắt đầu {weekday_name(asked.starts_on)} {fmt_date(asked.starts_on)}, "
            f"kết thúc {weekday_name(asked.ends_on)} {fmt_date(asked.ends_on)}."
        )
    if not periods:
        return Reply(f"Chưa có đợt tăng cường trực nào năm {year}.")
    return Reply(f"<b>Các đợt tăng cường trực năm {year}</b>\n" + "\n".join(f"• {line(p)}" for p in periods))
