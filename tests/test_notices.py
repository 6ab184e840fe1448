"""Notices are stored as a kind and facts, and rendered for each channel when they are sent."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta

from sqlalchemy import select

from bot.app import App
from bot.channels.base import RateLimits
from bot.channels.console import ConsolePushes
from bot.channels.zalo import render as zalo_render
from bot.delivery import OutboxDelivery
from bot.messages import Reply, to_plain
from bot.models import ChatLink, Event, OutboxMessage, Unit
from bot.services.subscriptions import subscribe
from bot.views.notices import RENDERERS, render
from tests.conftest import local

# Words of the reminder texts: they belong to the views, never to a stored payload.
WORDING = ("Nhắc", "Thời gian", "Địa điểm", "Thành phần", "ngày mai", "còn ", "<b>", "Hủy", "Thay đổi")


class Recorder:
    """An outbox channel that keeps what it was handed."""

    limits = RateLimits(per_second=1_000_000, private_interval=0, group_per_minute=1_000_000)

    def __init__(self, name: str) -> None:
        self.name = name
        self.replies: list[Reply] = []

    async def deliver(self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "", first_part: int = 0) -> None:
        del chat_id, is_group, first_part
        self.replies.append(reply)


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


async def _planned(app: App) -> list[OutboxMessage]:
    """The reminders the planner writes at 16h00 the day before the Kim Bảng conference, for a group there."""
    async with app.sessions() as session, session.begin():
        unit = await session.scalar(select(Unit).where(Unit.key == "U-KB"))
        group = ChatLink(channel="console", chat_id="kb-group", chat_type="group", unit_id=unit.id, title="KB")
        session.add(group)
        await session.flush()
        await subscribe(session, group, ["conference", "duty"])
    from bot.cli import fixed_clock

    await app.jobs({}, clock=fixed_clock("2022-06-22 16:00", app.settings)).plan()
    async with app.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_a_planned_reminder_stores_facts_not_text(demo_app: App) -> None:
    rows = await _planned(demo_app)
    assert {r.notice for r in rows} >= {"event_reminder", "duty_roster_reminder"}
    for row in rows:
        assert row.stored_text is None and row.notice in RENDERERS and row.payload
        json.dumps(row.payload)  # plain JSON: no ORM objects, no datetimes
        assert not [s for s in _strings(row.payload) for word in WORDING if word in s], row.payload
    reminder = next(r for r in rows if r.notice == "event_reminder")
    async with demo_app.sessions() as session:
        event = await session.get(Event, reminder.entity_id)
    facts = reminder.payload["event"]
    assert facts["title"] == event.title and facts["starts_at"] == event.starts_at.isoformat()
    assert reminder.payload["offset"] == "1d@16:00"
    # The wording comes from the view, at render time.
    assert reminder.text.startswith("<b>Nhắc lịch (ngày mai)</b>: Hội nghị ")


async def test_one_row_reads_right_on_every_channel(demo_app: App) -> None:
    rows = await _planned(demo_app)
    reminder = next(r for r in rows if r.notice == "event_reminder")
    now = local("2022-06-22 16:00")
    async with demo_app.sessions() as session, session.begin():
        await session.execute(OutboxMessage.__table__.update().values(status="sent"))
        for channel in ("telegram", "zalo", "console"):
            session.add(
                OutboxMessage(
                    dedupe_key=f"copy:{channel}",
                    slot=f"copy:{channel}",
                    kind="announcements",
                    channel=channel,
                    chat_id=f"{channel}-chat",
                    notice=reminder.notice,
                    payload=reminder.payload,
                    due_at=now,
                    send_at=now,
                    next_attempt_at=now,
                )
            )
    telegram, zalo, out = Recorder("telegram"), Recorder("zalo"), io.StringIO()
    console = ConsolePushes(out, clock=lambda: now, tz=demo_app.settings.tz)
    delivery = OutboxDelivery(
        demo_app.sessions,
        demo_app.settings,
        {"telegram": telegram, "zalo": zalo, "console": console},
        clock=lambda: now,
    )
    report = await delivery.deliver_due()
    assert len(report.sent) == 3 and report.failed == 0
    html = render(reminder.notice, reminder.payload, demo_app.settings.tz).text
    assert telegram.replies[0].text == html and "<b>Nhắc lịch (ngày mai)</b>" in html  # Telegram shows HTML
    plain = to_plain(html)
    assert "<b>" not in plain and plain.startswith("Nhắc lịch (ngày mai): Hội nghị ")
    assert zalo_render(zalo.replies[0]) == plain  # what the Zalo channel sends
    assert plain in out.getvalue()  # what the console prints


async def test_a_row_written_before_payloads_still_sends_its_text(demo_app: App) -> None:
    now = local("2022-06-22 16:00")
    async with demo_app.sessions() as session, session.begin():
        session.add(
            OutboxMessage(
                dedupe_key="legacy",
                slot="legacy",
                kind="announcements",
                channel="console",
                chat_id="old-chat",
                text="<b>Thông báo</b>: họp &amp; báo cáo",
                due_at=now,
                send_at=now,
                next_attempt_at=now - timedelta(seconds=1),
            )
        )
    out = io.StringIO()
    console = ConsolePushes(out, clock=lambda: now, tz=demo_app.settings.tz)
    report = await OutboxDelivery(
        demo_app.sessions, demo_app.settings, {"console": console}, clock=lambda: now
    ).deliver_due()
    assert len(report.sent) == 1
    assert "Thông báo: họp & báo cáo" in out.getvalue()
    async with demo_app.sessions() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "legacy"))
    assert row.status == "sent" and row.notice is None and row.payload is None
    assert row.text == "<b>Thông báo</b>: họp &amp; báo cáo"


async def test_a_notice_that_cannot_be_rendered_fails_alone(demo_app: App) -> None:
    now = local("2022-06-22 16:00")
    async with demo_app.sessions() as session, session.begin():
        for key, notice in (("bad", "no_such_notice"), ("good", "announcement")):
            session.add(
                OutboxMessage(
                    dedupe_key=key,
                    slot=key,
                    kind="announcements",
                    channel="console",
                    chat_id=key,
                    notice=notice,
                    payload={"text": "kiểm tra"},
                    due_at=now,
                    send_at=now,
                    next_attempt_at=now,
                )
            )
    console = ConsolePushes(io.StringIO(), clock=lambda: now, tz=demo_app.settings.tz)
    report = await OutboxDelivery(
        demo_app.sessions, demo_app.settings, {"console": console}, clock=lambda: now
    ).deliver_due()
    assert [r.chat_id for r in report.sent] == ["good"] and report.failed == 1
    async with demo_app.sessions() as session:
        bad = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "bad"))
    assert bad.status == "failed" and "KeyError" in (bad.last_error or "")
