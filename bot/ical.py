"""iCalendar (RFC 5545) text for the calendar feeds and for a single item sent as an ``.ics`` file.

Pure functions: :class:`CalendarItem` in, the calendar's bytes out. The time zone block (VTIMEZONE)
comes from the ``icalendar`` library; the events are written here line by line, because a unit's feed
may hold 100,000 duty shifts and building one library object per property costs seconds where this
costs a fraction of one (bench/data.py). Times carry ``TZID`` of the cluster's zone; every item has a
stable UID, its version as SEQUENCE (a change raises it, so calendars replace their copy), STATUS
CANCELLED once cancelled, and a VALARM at each configured reminder offset (bot/offsets.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from bot.offsets import Offset

PRODID = "-//Quyet Thang Bot//qtbot//VI"
UID_DOMAIN = "qtbot"


@dataclass(slots=True)  # not frozen: a frozen dataclass is built at half the speed
class CalendarItem:
    """One event of a calendar. ``start``/``end`` are aware datetimes, or dates for an all-day item
    (``end`` then the last day, inclusive). ``alarms`` names the reminder kind whose offsets apply."""

    uid: str
    summary: str
    start: datetime | date
    end: datetime | date | None
    sequence: int
    cancelled: bool = False
    location: str | None = None
    description: str | None = None
    alarms: str | None = None


_SPECIAL = re.compile(r"[\\;,\n\r]")


def escape(text: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks escaped."""
    if _SPECIAL.search(text) is None:
        return text
    return (
        text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """A content line folded at 75 octets (§3.1), never inside a UTF-8 sequence."""
    if len(line) <= 18:  # even at 4 bytes a character it fits
        return line
    data = line.encode()
    if len(data) <= 75:
        return line
    parts = []
    start, limit = 0, 75
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte: step back
            end -= 1
        parts.append(data[start:end].decode())
        start, limit = end, 74  # the leading space of a continuation line counts
    return "\r\n ".join(parts)


@cache
def vtimezone(tzid: str) -> str:
    """The VTIMEZONE block of ``tzid``, as the icalendar library writes it."""
    from icalendar import Timezone

    return Timezone.from_tzid(tzid).to_ical().decode().replace("\r\n", "\n").strip().replace("\n", "\r\n")


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


class _Writer:
    """Writes items for one calendar, remembering formatted times and alarm triggers (a roster repeats
    the same handover times day after day)."""

    def __init__(self, tz: ZoneInfo, offsets: Mapping[str, Sequence[Offset]], stamp: datetime, alarm_text: str) -> None:
        self.tz = tz
        self.alarm_line = fold(f"DESCRIPTION:{escape(alarm_text)}")
        self.tzid = tz.key
        self.offsets = offsets
        self.stamp = f"DTSTAMP:{_utc(stamp)}"
        self._times: dict[tuple[datetime | date, datetime | date | None], str] = {}
        self._triggers: dict[tuple[str, datetime | date], str] = {}
        self._summaries: dict[str, str] = {}

    def _when(self, start: datetime | date, end: datetime | date | None) -> str:
        key = (start, end)
        text = self._times.get(key)
        if text is not None:
            return text
        if isinstance(start, datetime):
            text = f"DTSTART;TZID={self.tzid}:{start.astimezone(self.tz):%Y%m%dT%H%M%S}\r\n"
            if isinstance(end, datetime):
                text += f"DTEND;TZID={self.tzid}:{end.astimezone(self.tz):%Y%m%dT%H%M%S}\r\n"
        else:
            last = end if isinstance(end, date) and not isinstance(end, datetime) else start
            text = f"DTSTART;VALUE=DATE:{start:%Y%m%d}\r\nDTEND;VALUE=DATE:{last + timedelta(days=1):%Y%m%d}\r\n"
        self._times[key] = text
        return text

    def _alarms(self, kind: str, start: datetime | date) -> str:
        key = (kind, start)
        block = self._triggers.get(key)
        if block is not None:
            return block
        triggers = []
        for offset in self.offsets.get(kind, ()):
            if isinstance(start, datetime):
                if offset.before is not None:
                    triggers.append(f"TRIGGER:-PT{int(offset.before.total_seconds()) // 60}M")
                    continue
                fire = offset.fire_time(start, self.tz)
            else:
                fire = offset.fire_time_for_day(start, self.tz)
            if fire is not None:
                triggers.append(f"TRIGGER;VALUE=DATE-TIME:{_utc(fire)}")
        block = self._triggers[key] = "".join(
            f"BEGIN:VALARM\r\nACTION:DISPLAY\r\n{self.alarm_line}\r\n{trigger}\r\nEND:VALARM\r\n"
            for trigger in triggers
        )
        return block

    def _summary(self, text: str) -> str:
        """The folded SUMMARY line (a roster repeats its summaries)."""
        line = self._summaries.get(text)
        if line is None:
            line = self._summaries[text] = fold(f"SUMMARY:{escape(text)}")
        return line

    def event(self, item: CalendarItem) -> str:
        extra = ""
        if item.location:
            extra += fold(f"LOCATION:{escape(item.location)}") + "\r\n"
        if item.description:
            extra += fold(f"DESCRIPTION:{escape(item.description)}") + "\r\n"
        start = item.start
        if item.cancelled:
            status = "CANCELLED"
        else:
            status = "CONFIRMED"
            if item.alarms is not None:
                extra += self._triggers.get((item.alarms, start)) or self._alarms(item.alarms, start)
        when = self._times.get((start, item.end)) or self._when(start, item.end)
        summary = self._summaries.get(item.summary) or self._summary(item.summary)
        return (
            f"BEGIN:VEVENT\r\nUID:{item.uid}@{UID_DOMAIN}\r\n{self.stamp}\r\n{when}"
            f"SEQUENCE:{item.sequence}\r\nSTATUS:{status}\r\n{summary}\r\n{extra}END:VEVENT\r\n"
        )


def calendar_bytes(
    name: str,
    items: Iterable[CalendarItem],
    *,
    tz: ZoneInfo,
    offsets: Mapping[str, Sequence[Offset]],
    stamp: datetime,
    alarm_text: str,
) -> bytes:
    """A whole VCALENDAR: ``name`` shown by calendar apps, the zone, then ``items``; ``alarm_text``
    is what the alarms say (calendar apps show the event's own title with it)."""
    writer = _Writer(tz, offsets, stamp, alarm_text)
    head = (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:{PRODID}\r\nCALSCALE:GREGORIAN\r\nMETHOD:PUBLISH\r\n"
        f"{fold(f'X-WR-CALNAME:{escape(name)}')}\r\nX-WR-TIMEZONE:{tz.key}\r\n{vtimezone(tz.key)}\r\n"
    )
    body = "".join(map(writer.event, items))
    return (head + body + "END:VCALENDAR\r\n").encode()
