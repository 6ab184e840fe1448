"""Calendar feeds (/ical): addresses handed out in the chat, feeds served by the web app and read back
with the icalendar library, the way a phone calendar reads them; one item as an .ics file."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import icalendar
import pytest
from sqlalchemy import select

from bot.app import App
from bot.channels.console import FileShelf
from bot.cli import fixed_clock
from bot.ical import CalendarItem, calendar_bytes, fold
from bot.models import DutyShift, Event
from bot.offsets import parse_offset
from tests.chatting import ask, button, console, qtbot, qtbot_env
from tests.conftest import make_settings
from tests.examples import NOW
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.harness import fake_settings, telegram_bot
from tests.fakes.zalo import FakeZalo
from tests.test_telegram import ADMIN as TG_ADMIN
from tests.test_telegram import OFFICER as TG_OFFICER
from tests.test_telegram import Harness
from tests.test_zalo import ADMIN as ZALO_ADMIN
from tests.test_zalo import OFFICER as ZALO_OFFICER
from tests.test_zalo import ZaloHarness, zalo_bot

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PUBLIC = "https://bot.example.vn"


@pytest.fixture
async def app(demo_db_url: str) -> AsyncIterator[App]:
    settings = make_settings(demo_db_url, public_url=PUBLIC)
    app = App(settings, clock=fixed_clock(NOW, settings))
    yield app
    await app.close()


@pytest.fixture
async def web(app: App) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.web([], []))
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
        yield client


def address(answer: str) -> str:
    line = next(line for line in answer.splitlines() if line.startswith(f"{PUBLIC}/ical/"))
    return line.removeprefix(PUBLIC)


def events_of(body: bytes) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(body)
    return {str(event["UID"]): event for event in calendar.walk("VEVENT")}


async def event_id(app: App, key: str) -> int:
    async with app.sessions() as session:
        return int(await session.scalar(select(Event.id).where(Event.key == key)))


async def test_an_officer_subscribes_to_what_concerns_them(app: App, web: httpx.AsyncClient) -> None:
    officer = await console(app)
    answer = await ask(officer, "/ical")
    assert "Lịch của đồng chí" in answer and "/ical mới" in answer
    assert address(await ask(officer, "/ical")) == address(answer)  # asked again: the same address
    reply = await web.get(address(answer))
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(reply.content)
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Ho_Chi_Minh"]
    events = events_of(reply.content)
    conference = events[f"event-{await event_id(app, 'C-2022-H1')}@qtbot"]
    start = conference.decoded("DTSTART")
    assert start == datetime(2022, 6, 23, 14, 0, tzinfo=TZ) and str(start.tzinfo) == "Asia/Ho_Chi_Minh"
    assert "TZID=Asia/Ho_Chi_Minh:20220623T140000" in reply.text
    assert "Sơ kết phong trào Thi đua Quyết thắng" in str(conference["SUMMARY"])
    assert str(conference["STATUS"]) == "CONFIRMED" and int(conference["SEQUENCE"]) >= 1
    # The conference reminders: the day before at 16h00, and 2 hours before.
    triggers = sorted(str(alarm["TRIGGER"].to_ical().decode()) for alarm in conference.walk("VALARM"))
    assert triggers == ["-PT2H", "20220622T090000Z"]
    # A Kim Bảng officer's feed has drill milestones of Kim Bảng's communes and the tasks' deadlines.
    summaries = [str(e["SUMMARY"]) for e in events.values()]
    assert any(s.startswith("Hạn nhiệm vụ") for s in summaries)
    assert any("Diễn tập" in s for s in summaries)
    # Not another district's duty shifts (the console officer is on no roster).
    assert not any(uid.startswith("duty-") for uid in events)


async def test_a_unit_feed_has_the_roster_in_local_time(app: App, web: httpx.AsyncClient) -> None:
    admin = await console(app, "admin")
    body = (await web.get(address(await ask(admin, "/ical Kim Bảng")))).content
    shifts = [e for uid, e in events_of(body).items() if uid.startswith("duty-")]
    commander = next(e for e in shifts if "Phạm Minh Dũng" in str(e["SUMMARY"]))
    assert str(commander["SUMMARY"]).startswith("Trực chỉ huy Kim Bảng: Trung tá Phạm Minh Dũng")
    assert commander.decoded("DTSTART") == datetime(2022, 6, 23, 7, 30, tzinfo=TZ)
    assert commander.decoded("DTEND") == datetime(2022, 6, 24, 7, 30, tzinfo=TZ)
    triggers = sorted(alarm["TRIGGER"].to_ical().decode() for alarm in commander.walk("VALARM"))
    assert triggers == ["-PT1H", "20220622T090000Z"]  # the day before at 16h00, 1 hour before handover
    cluster = events_of((await web.get(address(await ask(admin, "/ical cụm")))).content)
    assert set(events_of(body)) <= set(cluster)  # the cluster feed holds every unit's
    log = await ask(admin, "/nhatky")
    assert "tạo địa chỉ lịch (/ical) của Kim Bảng" in log and "tạo địa chỉ lịch (/ical) của cả cụm" in log


async def test_a_change_raises_sequence_and_a_cancel_shows_cancelled(app: App, web: httpx.AsyncClient) -> None:
    admin = await console(app, "admin")
    path = address(await ask(admin, "/ical Kim Bảng"))
    first = await web.get(path)
    etag = first.headers["etag"]
    assert (await web.get(path, headers={"If-None-Match": etag})).status_code == 304
    conference_uid = f"event-{await event_id(app, 'C-2022-H1')}@qtbot"
    before = events_of(first.content)[conference_uid]
    answer = await ask(admin, f"/sua S{await event_id(app, 'C-2022-H1')} giờ 15h00 23/6/2022")
    assert "Đã" in await ask(admin, button(answer, "Xác nhận"))
    async with app.sessions() as session:
        shift = await session.scalar(
            select(DutyShift).where(
                DutyShift.starts_at == datetime(2022, 6, 23, 7, 30, tzinfo=TZ), DutyShift.role == "truc_chi_huy"
            )
        )
        assert shift is not None
    confirm = await ask(admin, f"/huy T{shift.id}")
    assert "Đã hủy" in await ask(admin, button(confirm, "Xác nhận hủy"))
    second = await web.get(path, headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["etag"] != etag
    after = events_of(second.content)
    assert int(after[conference_uid]["SEQUENCE"]) > int(before["SEQUENCE"])
    assert after[conference_uid].decoded("DTSTART") == datetime(2022, 6, 23, 15, 0, tzinfo=TZ)
    cancelled = after[f"duty-{shift.id}@qtbot"]
    assert str(cancelled["STATUS"]) == "CANCELLED" and not cancelled.walk("VALARM")
    assert int(cancelled["SEQUENCE"]) > int(events_of(first.content)[f"duty-{shift.id}@qtbot"]["SEQUENCE"])


async def test_a_new_address_revokes_the_old_one(app: App, web: httpx.AsyncClient) -> None:
    officer = await console(app)
    old = address(await ask(officer, "/ical"))
    renewed = await ask(officer, "/ical mới")
    assert "Đã thu hồi địa chỉ cũ" in renewed
    assert (await web.get(old)).status_code == 404
    assert (await web.get(address(renewed))).status_code == 200
    assert (await web.get("/ical/khong-co-ma-nay-dau-nhe-1234.ics")).status_code == 404
    assert (await web.get(address(renewed).removesuffix(".ics"))).status_code == 404


async def test_unit_and_cluster_feeds_are_for_admins(app: App) -> None:
    officer = await console(app)
    assert "chỉ dành cho cán bộ quản trị" in await ask(officer, "/ical Kim Bảng")
    assert "chỉ dành cho cán bộ quản trị" in await ask(officer, "/ical cụm")
    guest = await console(app, "guest")
    assert "/ical/" not in await ask(guest, "/ical")


async def test_the_window_is_the_past_30_and_next_365_days(demo_db_url: str) -> None:
    settings = make_settings(demo_db_url, public_url=PUBLIC)
    late = App(settings, clock=fixed_clock("2022-08-10 10:00", settings))
    try:
        admin = await console(late, "admin", now="2022-08-10 10:00")
        path = address(await ask(admin, "/ical Kim Bảng"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=late.web([], [])), base_url=PUBLIC) as web:
            events = events_of((await web.get(path)).content)
        starts = [e.decoded("DTSTART") for e in events.values()]
        lo = datetime(2022, 8, 10, 10, tzinfo=TZ) - timedelta(days=30)
        assert starts and all(
            (s if isinstance(s, datetime) else datetime(s.year, s.month, s.day, tzinfo=TZ)) >= lo - timedelta(days=1)
            for s in starts
        )
        # The sơ kết of 23/6 is more than 30 days back by then.
        assert f"event-{await event_id(late, 'C-2022-H1')}@qtbot" not in events
    finally:
        await late.close()


async def test_one_item_as_an_ics_file_from_its_answer(app: App, tmp_path: Path) -> None:
    officer = await console(app)
    officer.shelf = FileShelf(tmp_path)
    answer = await ask(officer, "hội nghị sơ kết ở đâu?")
    assert "Thêm vào lịch" in answer
    replies = await officer.say(button(answer, "Thêm vào lịch"))
    document = replies[0].document
    assert document is not None and document.filename.endswith(".ics")
    (event,) = events_of(document.content).values()
    assert event.decoded("DTSTART") == datetime(2022, 6, 23, 14, 0, tzinfo=TZ)
    assert "Tệp lịch" in replies[0].text
    assert "Không" in await ask(officer, "/ical S99999")


def test_long_lines_are_folded_and_text_escaped() -> None:
    summary = "Trực chỉ huy Kim Bảng: Thượng tá Nguyễn Văn An; ghi chú, dài " * 3
    item = CalendarItem("x-1", summary, datetime(2022, 6, 22, 0, 30, tzinfo=UTC), None, 2, alarms="duty")
    body = calendar_bytes(
        "Thử",
        [item],
        tz=TZ,
        offsets={"duty": [parse_offset("1d@16:00")]},
        stamp=datetime(2022, 6, 22, tzinfo=UTC),
        alarm_text="Nhắc; lịch, " * 10,
    )
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    (event,) = events_of(body).values()
    assert str(event["SUMMARY"]) == summary
    assert event.decoded("DTSTART") == datetime(2022, 6, 22, 7, 30, tzinfo=TZ)
    assert fold("ngắn") == "ngắn"


async def test_over_telegram_the_button_sends_the_ics_file_and_ical_the_address(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_telegram_ids=[TG_ADMIN], public_url=PUBLIC))
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake)
        async with telegram_bot(app.dispatcher, settings, fake, clock=fixed_clock(NOW, settings)) as channel:
            tg = Harness(app, fake, channel)
            await tg.join(TG_OFFICER, "Kim Bảng")
            await tg.say("hội nghị sơ kết ở đâu?", user=TG_OFFICER)
            answer = fake.messages(TG_OFFICER)[-1]
            data = next(
                b["callback_data"]
                for row in answer.reply_markup["inline_keyboard"]
                for b in row
                if b["text"] == "Thêm vào lịch"
            )
            fake.user_presses(fake.get_message(TG_OFFICER, answer.message_id), data, user_id=TG_OFFICER)
            document = None
            for _ in range(200):
                document = next((m for m in fake.messages(TG_OFFICER) if m.document_name), None)
                if document is not None:
                    break
                await asyncio.sleep(0.025)
            assert document is not None and document.document_name.endswith(".ics")
            (event,) = events_of(document.document_bytes or b"").values()
            assert event.decoded("DTSTART") == datetime(2022, 6, 23, 14, 0, tzinfo=TZ)
            # The conference answer is still there (the file came as a new message).
            assert "Sơ kết" in fake.get_message(TG_OFFICER, answer.message_id)["text"]
            reply = await tg.say("/ical", user=TG_OFFICER)
            assert f"{PUBLIC}/ical/" in reply
            in_group = await tg.say("/ical", user=TG_OFFICER, chat_id=-100777, chat_type="supergroup")
            assert "tin nhắn riêng" in in_group and "/ical/" not in in_group  # the address stays secret
    await app.close()


async def test_over_zalo_the_item_file_is_a_link_served_by_the_web_app(demo_db_url: str) -> None:
    settings = make_settings(demo_db_url, admin_zalo_ids=[ZALO_ADMIN], public_url=PUBLIC)
    app = App(settings, clock=fixed_clock(NOW, settings))  # the web app's clock: files kept a week from then
    async with FakeZalo() as fake, zalo_bot(app, fake, public_url=PUBLIC) as channel:
        zalo = ZaloHarness(app, fake, channel)
        await zalo.join(ZALO_OFFICER, "Kim Bảng")
        answer = await zalo.say("hội nghị sơ kết ở đâu?")
        assert "1. Thêm vào lịch" in answer  # Zalo has no buttons: numbered options
        sent = await zalo.say("1")
        link = next(word for word in sent.split() if word.startswith(f"{PUBLIC}/files/"))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app.web([], [])), base_url=PUBLIC) as web:
            got = await web.get(link.removeprefix(PUBLIC))
        assert got.status_code == 200
        (event,) = events_of(got.content).values()
        assert event.decoded("DTSTART") == datetime(2022, 6, 23, 14, 0, tzinfo=TZ)
    await app.close()


async def test_qtbot_web_serves_the_demo_feed_at_the_demo_clock(demo_db_url: str, tmp_path: Path) -> None:
    """`qtbot chat` hands out the address; `qtbot web` (its own process) serves it as of the demo's
    clock, so the feed holds June 2022; the console saves the item file under --files."""
    env = qtbot_env(demo_db_url, public_url=PUBLIC)
    out = qtbot(
        "chat",
        "--as",
        "officer:Kim Bảng",
        "--files",
        str(tmp_path / "files"),
        env=env,
        cwd=tmp_path,
        stdin="/ical\nhội nghị sơ kết ở đâu?\n1\n",
    )
    path = address(out)
    saved = next(line for line in out.splitlines() if line.startswith("[tệp] "))
    assert events_of(_read(saved.removeprefix("[tệp] ")))
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "web",
        "--listen",
        f"127.0.0.1:{port}",
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as web:
            for _ in range(200):
                try:
                    reply = await web.get(path)
                    break
                except httpx.TransportError:
                    await asyncio.sleep(0.05)
            assert reply.status_code == 200
            assert f"event-{await _conference_id(demo_db_url)}@qtbot" in events_of(reply.content)
    finally:
        process.terminate()
        await asyncio.wait_for(process.communicate(), timeout=20)


async def _conference_id(url: str) -> int:
    app = App(make_settings(url))
    try:
        return await event_id(app, "C-2022-H1")
    finally:
        await app.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _read(path: str) -> bytes:
    return Path(path).read_bytes()
