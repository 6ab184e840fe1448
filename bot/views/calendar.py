"""Calendar feeds and .ics files: the feed's name and its events' wording, and /ical's answers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.ical import CalendarItem, calendar_bytes
from bot.messages import Button, Document, Reply, esc
from bot.offsets import Offset
from bot.services.calendar import FeedIssued, FeedRows, utc_moment
from bot.services.duty import role_name
from bot.services.schedule import labelled_title

ADD_TO_CALENDAR = "Thêm vào lịch"
ALARM_TEXT = "Nhắc lịch (Quyết Thắng Bot)"
REMINDER_OF_EVENT = {"drill": "drill"}  # other kinds: the conference reminders


def add_to_calendar_row(code: str) -> list[Button]:
    """The button under an item's answer that sends the item as an .ics file."""
    return [Button(ADD_TO_CALENDAR, f"/ical {code}")]


def _items(rows: FeedRows, tz: ZoneInfo) -> Iterator[CalendarItem]:
    for event_id, kind, title, starts, ends, all_day, location, status, version in rows.events:
        start = starts.astimezone(tz).date() if all_day else starts
        end = (ends.astimezone(tz).date() if all_day else ends) if ends is not None else None
        yield CalendarItem(
            f"event-{event_id}",
            labelled_title(kind, title),
            start,
            end,
            version,
            cancelled=status == "cancelled",
            location=location,
            alarms=REMINDER_OF_EVENT.get(kind, "conference"),
        )
    roles: dict[str, str] = {}
    moments: dict[object, datetime] = {}  # stored time -> aware (a roster repeats its handover times)
    for shift_id, role, starts, ends, status, version, reinforced, label, member_id, unit_id in rows.shifts:
        person = rows.people.get(member_id) if member_id is not None else None
        person = person or label or "chưa phân công"
        role_label = roles.get(role) or roles.setdefault(role, role_name(role))
        start = moments.get(starts) or moments.setdefault(starts, utc_moment(starts))
        end = moments.get(ends) or moments.setdefault(ends, utc_moment(ends))
        yield CalendarItem(
            f"duty-{shift_id}",
            f"{role_label} {rows.unit_names.get(unit_id, '')}: {person}" + (" (tăng cường)" if reinforced else ""),
            start,
            end,
            version,
            cancelled=status == "cancelled",
            alarms="duty",
        )
    for task_id, code, title, due_on, status, version in rows.tasks:
        yield CalendarItem(
            f"task-{task_id}",
            f"Hạn nhiệm vụ {code + ': ' if code else ''}{title}",
            due_on,
            due_on,
            version,
            cancelled=status == "cancelled",
            alarms="task",
        )


def feed_name(issued_scope: str, unit_name: str | None) -> str:
    if issued_scope == "cluster":
        return "Quyết Thắng Bot: cả cụm"
    if issued_scope == "unit":
        return f"Quyết Thắng Bot: {unit_name}"
    return "Quyết Thắng Bot: lịch của tôi"


def feed_ics(
    name: str, rows: FeedRows, *, tz: ZoneInfo, offsets: Mapping[str, Sequence[Offset]], stamp: datetime
) -> bytes:
    return calendar_bytes(name, _items(rows, tz), tz=tz, offsets=offsets, stamp=stamp, alarm_text=ALARM_TEXT)


def item_reply(
    code: str, rows: FeedRows, *, tz: ZoneInfo, offsets: Mapping[str, Sequence[Offset]], stamp: datetime
) -> Reply:
    content = feed_ics(f"Quyết Thắng Bot: {code}", rows, tz=tz, offsets=offsets, stamp=stamp)
    return Reply(
        f"Tệp lịch của mục {esc(code)}: mở tệp để thêm vào lịch điện thoại hoặc máy tính.",
        document=Document(f"{code}.ics", content, caption=f"Lịch {code}"),
    )


_COVERS = {
    "mine": "họp, hội nghị của đơn vị, ca trực của đồng chí, diễn tập, hạn nhiệm vụ",
    "unit": "họp, hội nghị, mọi ca trực, diễn tập, hạn nhiệm vụ",
    "cluster": "mọi hội nghị, cuộc họp, ca trực, diễn tập, hạn nhiệm vụ của cụm",
}


def feed_reply(issued: FeedIssued, public_url: str | None) -> Reply:
    feed = issued.feed
    path = f"/ical/{feed.token}.ics"
    whose = {"mine": "Lịch của đồng chí", "unit": f"Lịch của {esc(issued.unit_name)}", "cluster": "Lịch của cả cụm"}[
        feed.scope
    ]
    lines = []
    if issued.revoked:
        lines.append("Đã thu hồi địa chỉ cũ (lịch đã đăng ký bằng địa chỉ cũ sẽ ngừng cập nhật).")
    lines.append(f"{whose} ({_COVERS[feed.scope]}), 30 ngày qua và 365 ngày tới:")
    if public_url:
        lines.append(esc(f"{public_url}{path}"))
        lines.append(
            "Thêm vào lịch điện thoại: iPhone: Cài đặt → Lịch → Tài khoản → Thêm tài khoản → Khác → "
            "Thêm lịch đã đăng ký; Google Lịch: Khác → Từ URL. Lịch tự cập nhật khi có thay đổi."
        )
    else:
        lines.append(esc(path))
        lines.append("(Chưa đặt QTBOT_PUBLIC_URL nên chưa có địa chỉ đầy đủ; hỏi người quản trị bot.)")
    lines.append("Địa chỉ này là bí mật, ai có nó đều xem được lịch; nếu lộ, gõ /ical mới để đổi địa chỉ.")
    return Reply("\n".join(lines))


def private_only() -> str:
    return "Địa chỉ lịch là bí mật: hãy nhắn /ical cho bot trong tin nhắn riêng."


def admin_only() -> str:
    return "Lịch của một đơn vị hay của cả cụm chỉ dành cho cán bộ quản trị; /ical cho lịch của đồng chí."
