"""When a reminder fires, relative to what it reminds of.

Two forms, both written in settings: ``1d@16:00`` (the day before, at 16h00 local time; ``0d@06:30``
on the day; ``-1d@08:00`` the day after) and ``2h`` / ``30m`` (that long before the start). Pure
functions; the planner (bot/services/reminders.py) applies them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DAY_AT = re.compile(r"^(-?\d{1,3})d@(\d{1,2}):(\d{2})$")
_BEFORE = re.compile(r"^(\d{1,4})([hm])$")


@dataclass(frozen=True)
class Offset:
    code: str
    days: int | None = None  # days before the day of the start (negative: after)
    clock: time | None = None
    before: timedelta | None = None

    def fire_time(self, start: datetime, tz: ZoneInfo, *, all_day: bool = False) -> datetime | None:
        """The moment to remind of something starting at ``start``; None when the offset does not
        apply (a "2 hours before" reminder for an all-day milestone)."""
        if self.before is not None:
            return None if all_day else start - self.before
        assert self.days is not None and self.clock is not None
        return datetime.combine(start.astimezone(tz).date() - timedelta(days=self.days), self.clock, tz)

    def fire_time_for_day(self, day: date, tz: ZoneInfo) -> datetime | None:
        """For things that have a date but no time (a task's due date)."""
        if self.before is not None:
            return None
        assert self.days is not None and self.clock is not None
        return datetime.combine(day - timedelta(days=self.days), self.clock, tz)


def parse_offset(text: str) -> Offset:
    code = text.strip().lower().replace(" ", "")
    if match := _DAY_AT.match(code):
        hour, minute = int(match.group(2)), int(match.group(3))
        if hour > 23 or minute > 59:
            raise ValueError(f"giờ trong '{text}' không hợp lệ")
        return Offset(
            f"{int(match.group(1))}d@{hour:02d}:{minute:02d}", days=int(match.group(1)), clock=time(hour, minute)
        )
    if match := _BEFORE.match(code):
        amount = int(match.group(1))
        unit = timedelta(hours=1) if match.group(2) == "h" else timedelta(minutes=1)
        return Offset(f"{amount}{match.group(2)}", before=amount * unit)
    raise ValueError(f"mốc nhắc '{text}' không hợp lệ; viết như 1d@16:00, 0d@06:30, -1d@08:00, 2h hoặc 30m")
