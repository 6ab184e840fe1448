"""Duty roster (lịch trực SSCĐ) texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply, esc
from bot.models import DutyShift, Event, ReadinessPeriod, Unit
from bot.services.duty import DutyDay, person_text, role_name
from bot.services.units import PersonRef, UnitRef
from bot.views import acks as ack_views
from bot.views.common import ILLUSTRATIVE, capitalize, short_when, span_label, when
from bot.vntime import fmt_date, fmt_date_range, fmt_day_month, fmt_time, fmt_weekday_date, weekday_name

#: shift id -> when the person on it acknowledged it.
Acks = dict[int, datetime]


def _span_token(start: date, end: date) -> str:
    """``s:20220620-20220626``: what ``{date:%Y%m%d}`` gives (strftime, slower) for years 1000-9999."""
    if start.year < 1000 or end.year < 1000:
        return f"s:{start:%Y%m%d}-{end:%Y%m%d}"
    return f"s:{start.year}{start.month:02d}{start.day:02d}-{end.year}{end.month:02d}{end.day:02d}"


def _ack_mark(shift: DutyShift, acks: Acks | None, tz: ZoneInfo) -> str:
    """For admins and the unit's commander (``acks`` given): whether the person acknowledged."""
    if acks is None or shift.member_id is None:
        return ""
    return ack_views.ack_mark(acks.get(shift.id), tz)


def _shift_line(day: DutyDay, codes: bool = False, acks: Acks | None = None, tz: ZoneInfo | None = None) -> str:
    parts = []
    for shift in day.shifts:
        who = esc(person_text(shift))
        extra = (" (tăng cường)" if shift.reinforced else "") + (f" [T{shift.id}]" if codes else "")
        extra += _ack_mark(shift, acks, tz) if tz is not None else ""
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
    acks: Acks | None = None,
) -> Reply:
    """The roster of a span (a week, usually): one line per day; ``codes``: each shift's code (T40),
    for an admin's /sua and /huy; ``acks``: who acknowledged (from today on), for admins and the
    commander."""
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
                f"• <b>{weekday_name(day.day)} {fmt_day_month(day.day)}</b>{marker}: "
                f"{_shift_line(day, codes, acks if day.day >= today else None, tz)}"
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
    acks: Acks | None = None,
) -> Reply:
    """Who is on duty on one day; the asked-for role first; ``codes``: each shift's code, for admins;
    ``acks``: who acknowledged, for admins and the commander."""
    head = f"<b>{fmt_weekday_date(day)}</b> — {esc(unit.name)}"
    if duty is None or not duty.shifts:
        return Reply(f"{head}\nChưa có lịch trực ngày này.")
    shifts = sorted(duty.shifts, key=lambda s: s.role != focus_role) if focus_role else duty.shifts
    lines = [head]
    for shift in shifts:
        who = esc(person_text(shift))
        line = f"{role_name(shift.role)}: {who}" + (f" [T{shift.id}]" if codes else "") + _ack_mark(shift, acks, tz)
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


@dataclass(frozen=True)
class Someone:
    """A person a duty question is about; ``asker`` when it is the one asking ("khi nào tôi trực")."""

    id: int
    label: str
    asker: bool = False


def which_person_reply(people: list[PersonRef], question: str) -> Reply:
    """Several people fit the name: ask which one, a button each."""
    buttons = [
        [Button(p.label + (f" ({p.position_short})" if p.position_short else ""), f"/truc m:{p.id}")]
        for p in people[:6]
    ]
    return Reply("Đồng chí hỏi về người nào?", buttons=buttons)


def self_unknown_reply() -> Reply:
    return Reply(
        "Tôi chưa biết đồng chí là ai trong danh sách trực. Hỏi theo tên, ví dụ: “Lê Quang Cường trực ngày nào”."
    )


def person_days_reply(
    who: Someone, shifts: list[DutyShift], later: DutyShift | None, start: date, end: date, today: date
) -> Reply:
    """The days one person is on duty: one line."""
    name = "Đồng chí" if who.asker else esc(who.label)
    span = fmt_date_range(start, end)
    if not shifts:
        text = f"{name} không có ca trực nào từ {span}."
        if later is not None:
            day = f"{weekday_name(later.duty_date)} {fmt_date(later.duty_date)}"
            text += f" Ca gần nhất sau đó: {day}, {role_name(later.role).lower()}."
        return Reply(text)
    days = []
    for shift in shifts:
        mark = " (hôm nay)" if shift.duty_date == today else ""
        days.append(
            f"{weekday_name(shift.duty_date)} {fmt_day_month(shift.duty_date)}{mark} — {role_name(shift.role).lower()}"
        )
    text = f"{name} trực {len(shifts)} ca từ {span}: " + "; ".join(days) + "."
    unit_id = shifts[0].unit_id
    monday = week_bounds_of(start)
    buttons = [[Button("Cả lịch trực tuần", f"/truc u:{unit_id} {_span_token(monday, monday + timedelta(days=6))}")]]
    return Reply(text, buttons=buttons)


def week_bounds_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def moment_reply(unit: UnitRef, moment: datetime, shifts: list[DutyShift], role: str | None, tz: ZoneInfo) -> Reply:
    """Who is on duty at one moment of a 24-hour shift ("5h sáng mai ai đang trực ban")."""
    when_text = f"{fmt_time(moment.time())} {weekday_name(moment.date())} {fmt_date(moment.date())}"
    chosen = [s for s in shifts if role is None or s.role == role]
    if not chosen:
        what = role_name(role).lower() if role else "lịch trực"
        return Reply(f"Lúc {when_text}, {esc(unit.short_name)} chưa có {what}.")
    lines = [f"Lúc {when_text} — {esc(unit.name)}:"]
    for shift in chosen:
        lines.append(f"{role_name(shift.role)}: {esc(person_text(shift))}")
    first = chosen[0]
    lines.append(f"(ca {short_when(first.starts_at, tz)} → {short_when(first.ends_at, tz)})")
    day = first.duty_date
    buttons = [[Button("Cả ngày trực", f"/truc u:{unit.id} d:{day:%Y%m%d}")]]
    return Reply("\n".join(lines), buttons=buttons)


def all_units_reply(
    units: list[UnitRef], found: dict[int, DutyDay], day: date, role: str | None, *, moment: datetime | None = None
) -> Reply:
    """An admin's question without a unit: every unit's duty that day (or at that moment), a line each."""
    when_text = f"lúc {fmt_time(moment.time())} {fmt_weekday_date(day)}" if moment else fmt_weekday_date(day)
    lines = [f"<b>Trực SSCĐ {when_text} — các đơn vị</b>"]
    for unit in units:
        duty = found.get(unit.id)
        if duty is None:
            lines.append(f"• {esc(unit.short_name)}: chưa có lịch trực.")
            continue
        shifts = [s for s in duty.shifts if role is None or s.role == role] or duty.shifts
        text = "; ".join(f"{role_name(s.role).lower()} {esc(person_text(s, with_position=False))}" for s in shifts)
        lines.append(f"• {esc(unit.short_name)}: {text}")
    buttons = [
        [Button(u.short_name, f"/truc u:{u.id} d:{day:%Y%m%d}") for u in units[i : i + 3]]
        for i in range(0, len(units), 3)
    ]
    return Reply("\n".join(lines), buttons=buttons)


def team_days_reply(label: str, shifts: list[DutyShift], start: date, end: date, today: date) -> Reply:
    """'tổ 2 trực ngày nào' -> the team's days."""
    span = fmt_date_range(start, end)
    if not shifts:
        return Reply(f"{esc(label)} không có ca trực nào từ {span}.")
    days = [
        f"{weekday_name(s.duty_date)} {fmt_day_month(s.duty_date)}" + (" (hôm nay)" if s.duty_date == today else "")
        for s in shifts
    ]
    return Reply(f"{esc(label)} trực chiến {len(shifts)} ca từ {span}: " + "; ".join(days) + ".")


def readiness_now_reply(current: ReadinessPeriod | None, upcoming: ReadinessPeriod | None, today: date) -> Reply:
    """'bây giờ có đang tăng cường trực không'"""
    if current is not None:
        return Reply(
            f"Đang trong đợt tăng cường trực {esc(current.name)}: {fmt_date_range(current.starts_on, current.ends_on)}."
        )
    text = f"Hôm nay ({fmt_date(today)}) không trong đợt tăng cường trực nào."
    if upcoming is not None:
        text += f" Đợt tới: {esc(upcoming.name)}, {fmt_date_range(upcoming.starts_on, upcoming.ends_on)}."
    return Reply(text)
