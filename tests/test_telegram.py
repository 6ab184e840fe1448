"""Telegram end to end: the real python-telegram-bot Application against the project's fake Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text
from telegram import Bot, InputFile
from telegram.error import BadRequest, EndPointNotFound

from bot.app import App
from bot.channels.telegram import BotApiRequest, JsonCall, TelegramChannel, _parts, keyboard, keyboard_markup
from bot.cli import fixed_clock
from bot.config import ConfigError, load_settings
from bot.delivery import OutboxDelivery
from bot.messages import Button, Reply, split_text, utf16_len
from bot.models import DutyShift, Event
from bot.web import web_app
from tests.chatting import qtbot_env, qtbot_running, qtbot_start_failure
from tests.conftest import make_settings
from tests.examples import EXAMPLES, NOW, Example, check
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.harness import fake_settings, telegram_bot

ADMIN = 999
OFFICER = 111
GUEST = 222
OTHER_OFFICER = 112


@dataclass
class Harness:
    app: App
    fake: FakeTelegram
    channel: TelegramChannel

    async def say(self, text: str, user: int = OFFICER, **kwargs: object) -> str:
        """Send a message and return the bot's answer (all parts, joined)."""
        self.fake.user_sends(text, user_id=user, **kwargs)  # type: ignore[arg-type]
        chat = kwargs.get("chat_id", user)
        first = await self.fake.wait_for_message(chat)  # type: ignore[arg-type]
        await self.fake.wait_for_idle()
        parts = [first.text]
        while True:
            try:
                parts.append((await self.fake.wait_for_message(chat, timeout=0.01)).text)  # type: ignore[arg-type]
            except TimeoutError:
                return "\n".join(parts)

    async def press(self, chat: int, message_id: int, label: str, user: int) -> dict:
        """Press the button labelled ``label`` and return the message once the bot has answered."""
        message = self.fake.get_message(chat, message_id)
        assert message is not None
        buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row]
        data = next(b["callback_data"] for b in buttons if b["text"] == label)
        await press_and_wait(self.fake, chat, message_id, data, user)
        edited = self.fake.get_message(chat, message_id)
        assert edited is not None
        return edited

    async def join(self, user: int, unit: str) -> None:
        answer = await self.say(f"/moi {unit}", user=ADMIN)
        code = answer.split("/start ")[1].split()[0]
        assert "Đồng chí đã tham gia" in await self.say(f"/start {code}", user=user)


async def press_and_wait(fake: FakeTelegram, chat: int, message_id: int, data: str, user: int) -> None:
    """Press a button and wait until the bot has edited that message or sent another one (the
    callback is answered first, so its answer alone is not enough)."""
    record = next(m for m in fake.messages(chat) if m.message_id == message_id)
    edits, sent = record.edit_count, len(fake.messages(chat))
    update = fake.user_presses(fake.get_message(chat, message_id), data, user_id=user)
    await fake.wait_for_callback_answer(update["callback_query"]["id"], timeout=10)
    deadline = asyncio.get_running_loop().time() + 10
    # Polling the fake's own records; nothing to await on for "edited or sent".
    while record.edit_count == edits and len(fake.messages(chat)) == sent:
        assert asyncio.get_running_loop().time() < deadline, "the bot did not answer the button"
        await asyncio.sleep(0.02)


@pytest.fixture
async def tg(demo_db_url: str) -> AsyncIterator[Harness]:
    app = App(make_settings(demo_db_url, admin_telegram_ids=[ADMIN]))
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake)
        async with telegram_bot(app.dispatcher, settings, fake, clock=fixed_clock(NOW, settings)) as channel:
            yield Harness(app, fake, channel)
    await app.close()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.question for e in EXAMPLES])
async def test_domain_examples_over_telegram(tg: Harness, example: Example) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    check(example, await tg.say(example.question))


async def test_replies_are_html_with_escaped_data(tg: Harness) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    await tg.say("mai ai trực?")
    record = tg.fake.messages(OFFICER)[-1]
    assert record.parse_mode == "HTML"
    assert "<b>Trực chỉ huy: Trung tá Phạm Minh Dũng (Phó CHT)</b>" not in record.raw_text  # no role asked
    assert record.raw_text.startswith("<b>Thứ Năm 23/06/2022</b>")


async def test_command_menu_is_registered_per_scope(tg: Harness) -> None:
    default = next(v for (scope, _lang), v in tg.fake.commands.items() if '"default"' in scope)
    names = [c["command"] for c in default]
    assert {"truc", "ketqua", "xephang", "dientap", "nhiemvu", "lich", "donvi", "tin", "trogiup"} <= set(names)
    assert "moi" not in names


async def test_invite_deep_link_and_guest_flow(tg: Harness) -> None:
    refused = await tg.say("lịch trực tuần này", user=GUEST)
    assert "chưa là thành viên" in refused and "Cường" not in refused
    invite = await tg.say("/moi Thanh Liêm", user=ADMIN)
    assert "https://t.me/qtbot_test_bot?start=" in invite
    code = invite.split("?start=")[1].split()[0]
    assert "Ban CHQS huyện Thanh Liêm" in await tg.say(f"/start {code}", user=GUEST)
    assert "90,0 điểm, xếp thứ 2/7" in await tg.say("/ketqua quý 2", user=GUEST)
    # The invite was for one use.
    assert "dùng hết" in await tg.say(f"/start {code}", user=333)


async def test_button_press_edits_the_message(tg: Harness) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    await tg.say("kết quả chấm điểm quý 2")
    *_, table, chart = tg.fake.messages(OFFICER)  # the table (text, buttons), then the ranking as a picture
    assert chart.photo_bytes and chart.caption == "Xếp hạng thi đua quý II/2022 (số liệu minh họa)"
    button = next(b for b in table.buttons if b["text"] == "Bình Lục")
    assert len(button["callback_data"].encode()) <= 64
    edited = await tg.press(OFFICER, table.message_id, "Bình Lục", OFFICER)
    assert "84,0 điểm, xếp thứ 7/7, loại Tốt" in edited["text"]
    # The unit's picture (trend and criteria) comes under it as a new message, once.
    for _ in range(200):
        if tg.fake.messages(OFFICER)[-1].message_id != chart.message_id:
            break
        await asyncio.sleep(0.02)
    unit_chart = tg.fake.messages(OFFICER)[-1]
    assert unit_chart.photo_bytes and (unit_chart.caption or "").startswith("Bình Lục: tổng điểm qua các kỳ")
    assert [m.photo_bytes is not None for m in tg.fake.messages(OFFICER)[-3:]] == [False, True, True]


async def test_admin_picks_a_unit_with_a_button(tg: Harness) -> None:
    picker = await tg.say("lịch trực tuần này", user=ADMIN)
    assert "Xem lịch trực của đơn vị nào?" in picker
    message = tg.fake.messages(ADMIN)[-1]
    assert "Lê Quang Cường" in (await tg.press(ADMIN, message.message_id, "Kim Bảng", ADMIN))["text"]


async def test_long_replies_are_split_under_4096(tg: Harness) -> None:
    tg.fake.add_chat(OFFICER, first_name="An")
    lines = [f"Dòng số {i}: " + ("nội dung dài " * 8).strip() for i in range(200)]
    await tg.channel.send(str(OFFICER), Reply("\n".join(lines)))
    parts = tg.fake.messages(OFFICER)
    assert len(parts) >= 3
    assert all(len(p.text) <= 4096 for p in parts)
    assert "\n".join(p.text for p in parts) == "\n".join(lines)


async def test_flood_wait_on_a_reply_is_honoured(tg: Harness) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    tg.fake.fail_next("sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1)
    started = asyncio.get_running_loop().time()
    answer = await tg.say("mai ai trực?")
    assert "Phạm Minh Dũng" in answer
    assert asyncio.get_running_loop().time() - started >= 1.0
    assert tg.fake.stats.errors.get(429) == 1


class CountingPacer:
    """Stands in for the outbox's Throttle: counts the overall slots taken and the flood waits."""

    def __init__(self) -> None:
        self.turns = 0
        self.floods: list[float] = []

    async def overall_turn(self) -> None:
        self.turns += 1

    async def flood(self, seconds: float) -> None:
        self.floods.append(seconds)


async def test_replies_take_slots_of_the_tokens_overall_limit(tg: Harness) -> None:
    """Telegram counts every message of the token: answers sent beside a broadcast at 98 % of the limit
    without a slot drew most of the 429s of bench/replicas.py (2 a second on top of 98). Each reply
    (and each part of an outbox message after the first, whose slot the outbox took) takes a slot of
    the outbox's limit, and a 429 on a reply is a flood wait for every sender of the token."""
    await tg.join(OFFICER, "Kim Bảng")
    delivery = OutboxDelivery(tg.app.sessions, tg.channel.settings, {"telegram": tg.channel})
    assert tg.channel.pacer is delivery.throttles["telegram"]
    pacer = CountingPacer()
    tg.channel.pace_with(pacer)
    before = len(tg.fake.sent)
    assert "Phạm Minh Dũng" in await tg.say("mai ai trực?")
    assert pacer.turns == len(tg.fake.sent) - before > 0
    turns = pacer.turns
    await tg.channel.deliver(str(OFFICER), Reply("dài " * 2000), is_group=False)  # two parts
    assert pacer.turns == turns + 1
    tg.fake.fail_next("sendMessage", error_code=429, description="Too Many Requests: retry after 1", retry_after=1)
    assert "Phạm Minh Dũng" in await tg.say("mai ai trực?")
    assert pacer.floods == [1.0]


async def test_blocked_user_does_not_stop_the_bot(tg: Harness) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    tg.fake.block_chat(OFFICER)
    tg.fake.user_sends("mai ai trực?", user_id=OFFICER)
    await tg.fake.wait_for_idle()
    tg.fake.unblock_chat(OFFICER)
    assert "Phạm Minh Dũng" in await tg.say("mai ai trực?")


async def test_a_failing_handler_apologises(tg: Harness) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    async with tg.app.engine.begin() as connection:
        await connection.execute(text("DROP TABLE news_items"))
    assert "Xin lỗi, bot gặp lỗi" in await tg.say("/tin")
    assert "Phạm Minh Dũng" in await tg.say("mai ai trực?")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("/truc 31/02", "Ngày 31/02"),
        ("/ketqua Hà Giang", "Không tìm thấy đơn vị “Hà Giang”"),
        ("/", "Không có lệnh"),
        ("x" * 5000, "Tin nhắn quá dài"),
        ("ăn cơm chưa", "Tôi chưa hiểu câu hỏi"),
    ],
)
async def test_bad_input_over_telegram(tg: Harness, question: str, expected: str) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    assert expected in await tg.say(question)


async def test_groups_answer_commands_and_mentions_only(tg: Harness) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    group = -100500
    tg.fake.user_sends("mai ai trực?", user_id=OFFICER, chat_id=group, chat_type="supergroup", chat_title="KB")
    # Updates are handled in order: once the command is answered, the plain message was seen too.
    answer = await tg.say("/truc@qtbot_test_bot mai", user=OFFICER, chat_id=group, chat_type="supergroup")
    assert "Phạm Minh Dũng" in answer
    assert len(tg.fake.messages(group)) == 1
    mention = await tg.say("@qtbot_test_bot mai ai trực?", user=OFFICER, chat_id=group, chat_type="supergroup")
    assert "Phạm Minh Dũng" in mention


async def test_qtbot_run_process_talks_to_a_local_bot_api(demo_db_url: str, tmp_path: Path) -> None:
    """A separate `qtbot run` process, pointed at the fake over HTTP with QTBOT_TELEGRAM_BASE_URL."""
    async with FakeTelegram() as fake, fake.serve() as root:
        env = qtbot_env(demo_db_url, telegram_token=fake.token, telegram_base_url=root, admin_telegram_ids=str(ADMIN))
        async with qtbot_running(env, tmp_path) as logs:
            fake.user_sends("cụm 2 gồm những đơn vị nào?", user_id=ADMIN)
            reply = await fake.wait_for_message(ADMIN, timeout=30)
            assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in reply.text
            fake.user_sends("/truc", user_id=GUEST)
            assert "chưa là thành viên" in (await fake.wait_for_message(GUEST, timeout=10)).text
        assert fake.token not in logs[0] and fake.token.split(":")[1] not in logs[0]


async def test_an_admin_links_a_group_to_a_unit(tg: Harness) -> None:
    group = -100600
    answer = await tg.say("/lienket Kim Bảng", user=ADMIN, chat_id=group, chat_type="supergroup", chat_title="KB")
    assert "Đã liên kết nhóm với Ban CHQS huyện Kim Bảng" in answer
    assert "Dùng /lienket" in await tg.say("/lienket Kim Bảng", user=ADMIN)  # not in a private chat
    refused = await tg.say("/lienket Kim Bảng", user=OFFICER, chat_id=group, chat_type="supergroup")
    assert "chỉ dành cho cán bộ quản trị" in refused or "chưa là thành viên" in refused
    # In the linked group, "đơn vị tôi" is the group's unit, for any member.
    await tg.join(OFFICER, "Bình Lục")
    assert "Phạm Minh Dũng" in await tg.say("/truc 23/6", user=OFFICER, chat_id=group, chat_type="supergroup")


def roster_xlsx() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["LỊCH TRỰC SẴN SÀNG CHIẾN ĐẤU TUẦN 27"])
    sheet.append(["Ngày", "Thứ", "Trực chỉ huy", "Trực ban", "Trực chiến"])
    people = [("Nguyễn Văn An", "Long", "Tổ 1"), ("Trần Đức Bình", "Nam", "Tổ 2"), ("Lê Quang Cường", "Phúc", "Tổ 1")]
    for offset, (commander, officer, team) in enumerate(people):
        sheet.append([datetime(2022, 6, 27 + offset), "", commander, officer, team])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


async def test_a_guided_dialog_with_buttons(tg: Harness) -> None:
    await tg.say("/themhop", user=ADMIN)
    await tg.say("14h 30/6/2022", user=ADMIN)
    prompt = tg.fake.messages(ADMIN)[-1]
    assert "Nội dung?" in (await tg.press(ADMIN, prompt.message_id, "Kim Bảng", ADMIN))["text"]
    await tg.say("Họp triển khai kế hoạch quý III", user=ADMIN)
    units = tg.fake.messages(ADMIN)[-1]
    summary = await tg.press(ADMIN, units.message_id, "Cả cụm", ADMIN)
    assert "Địa điểm: Ban CHQS huyện Kim Bảng" in summary["text"]
    assert "Đã thêm [S" in (await tg.press(ADMIN, units.message_id, "Lưu", ADMIN))["text"]
    async with tg.app.sessions() as session:
        event = await session.scalar(select(Event).where(Event.title == "Họp triển khai kế hoạch quý III"))
    assert event is not None and event.cluster_wide


async def test_a_dialog_resumes_after_the_bot_restarts(demo_db_url: str) -> None:
    async with FakeTelegram() as fake:
        first = App(make_settings(demo_db_url, admin_telegram_ids=[ADMIN]))
        settings = fake_settings(first.settings, fake)
        clock = fixed_clock(NOW, settings)
        async with telegram_bot(first.dispatcher, settings, fake, clock=clock):
            fake.user_sends("/themnhiemvu", user_id=ADMIN)
            await fake.wait_for_message(ADMIN)
            fake.user_sends("Kiểm tra kho vũ khí", user_id=ADMIN)
            assert "Hạn hoàn thành?" in (await fake.wait_for_message(ADMIN)).text
        await first.close()
        second = App(make_settings(demo_db_url, admin_telegram_ids=[ADMIN]))
        async with telegram_bot(second.dispatcher, settings, fake, clock=clock):
            fake.user_sends("30/7/2022", user_id=ADMIN)
            assert "Giao cho" in (await fake.wait_for_message(ADMIN)).text
            fake.user_sends("Kim Bảng", user_id=ADMIN)
            summary = await fake.wait_for_message(ADMIN)
            assert "Nhiệm vụ: Kiểm tra kho vũ khí" in summary.text
            save = next(b["callback_data"] for b in summary.buttons if b["text"] == "Lưu")
            await press_and_wait(fake, ADMIN, summary.message_id, save, ADMIN)
            assert "Đã thêm nhiệm vụ FT7" in fake.get_message(ADMIN, summary.message_id)["text"]
        await second.close()


async def upload_and_confirm(tg: Harness, filename: str, content: bytes, caption: str) -> str:
    """Upload a file as the admin; once its preview comes, press "Nhập"; the bot's last answer."""
    tg.fake.user_sends_document(filename, content, mime_type="application/zip", user_id=ADMIN, caption=caption)
    preview = await tg.fake.wait_for_message(ADMIN, timeout=10)
    confirm = next((b["callback_data"] for b in preview.buttons if b["text"] == "Nhập"), None)
    if confirm is None:
        return preview.text
    assert "Chưa ghi gì" in preview.text
    await press_and_wait(tg.fake, ADMIN, preview.message_id, confirm, ADMIN)
    return tg.fake.messages(ADMIN)[-1].text


async def test_a_roster_uploaded_as_excel(tg: Harness) -> None:
    tg.fake.user_sends_document(
        "lich-truc-tuan-27.xlsx",
        roster_xlsx(),
        mime_type="application/vnd.ms-excel",
        user_id=ADMIN,
        caption="/nhap lịch trực Kim Bảng",
    )
    preview = await tg.fake.wait_for_message(ADMIN, timeout=10)
    assert "Sẽ nhập: 9 ca trực của Kim Bảng (27–29/06/2022)" in preview.text
    confirm = next(b["callback_data"] for b in preview.buttons if b["text"] == "Nhập")
    await press_and_wait(tg.fake, ADMIN, preview.message_id, confirm, ADMIN)
    reply = tg.fake.get_message(ADMIN, preview.message_id)
    assert "Đã nhập 9 ca trực của Kim Bảng (27–29/06/2022)" in reply["text"]
    await tg.join(OFFICER, "Kim Bảng")
    roster = await tg.say("/truc 28/6/2022")
    assert "Trực chỉ huy: Thượng tá Trần Đức Bình (CTV)" in roster and "Trực ban: Đại úy Đỗ Văn Nam" in roster


async def test_a_broken_upload_is_explained_and_nothing_is_written(tg: Harness) -> None:
    async with tg.app.sessions() as session:
        before = await session.scalar(select(func.count()).select_from(DutyShift))
    tg.fake.user_sends_document(
        "lich.xlsx",
        b"PK\x03\x04 broken",
        mime_type="application/zip",
        user_id=ADMIN,
        caption="/nhap lịch trực Kim Bảng",
    )
    assert "Không đọc được tệp Excel" in (await tg.fake.wait_for_message(ADMIN, timeout=10)).text
    # A file sent after /nhap, in two messages.
    assert "Bot đang chờ tệp" in await tg.say("/nhap lịch trực Kim Bảng", user=ADMIN)
    tg.fake.user_sends_document("notes.docx", b"hello", mime_type="application/msword", user_id=ADMIN)
    assert "Chỉ nhận tệp .xlsx hoặc .csv" in (await tg.fake.wait_for_message(ADMIN, timeout=10)).text
    async with tg.app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(DutyShift)) == before


async def test_officers_are_refused_admin_commands_over_telegram(tg: Harness) -> None:
    await tg.join(OFFICER, "Kim Bảng")
    assert "chỉ dành cho cán bộ quản trị" in await tg.say("/themhop")
    assert "chỉ dành cho cán bộ quản trị" in await tg.say("/huy S1")


async def test_uploading_a_roster_again_replaces_only_when_asked(tg: Harness) -> None:
    caption = "/nhap lịch trực Kim Bảng"
    assert "Đã nhập 9 ca trực" in await upload_and_confirm(tg, "tuan27.xlsx", roster_xlsx(), caption)
    again = await upload_and_confirm(tg, "tuan27.xlsx", roster_xlsx(), caption)
    assert "Không nhập gì: tệp có 9 lỗi ở 3 dòng" in again and "đã có trực chỉ huy ngày 27/06/2022" in again
    replaced = await upload_and_confirm(tg, "tuan27.xlsx", roster_xlsx(), caption + " thay thế")
    assert "Đã nhập 9 ca trực của Kim Bảng (27–29/06/2022); thay 9 ca cũ" in replaced
    async with tg.app.sessions() as session:
        live = await session.scalar(
            select(func.count())
            .select_from(DutyShift)
            .where(DutyShift.duty_date >= datetime(2022, 6, 27).date(), DutyShift.status == "planned")
        )
    assert live == 9


SECRET = "webhook-secret-0123456789"
HOOK = "https://bot.example.vn/telegram/hook"


async def test_webhook_mode_serves_updates_and_refuses_forged_ones(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_telegram_ids=[ADMIN], webhook_url=HOOK, webhook_secret=SECRET))
    holder: dict[str, object] = {}

    async def to_bot(request: httpx.Request) -> httpx.Response:  # the fake posts webhook calls here
        transport = httpx.ASGITransport(app=holder["web"])
        async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.vn") as client:
            response = await client.request(
                request.method, request.url.path, content=request.content, headers=request.headers
            )
        return httpx.Response(response.status_code, content=response.content)

    async with FakeTelegram(webhook_transport=httpx.MockTransport(to_bot)) as fake:
        settings = fake_settings(app.settings, fake)
        channel = TelegramChannel(
            app.dispatcher,
            settings,
            request=BotApiRequest(httpx_kwargs={"transport": fake.transport()}),
            clock=fixed_clock(NOW, settings),
        )
        holder["web"] = web_app(app.sessions, webhooks=[channel.webhook("/telegram/hook", SECRET)])
        await channel.start_webhook(HOOK, SECRET)
        try:
            assert fake.webhook_url == HOOK
            fake.user_sends("cụm 2 gồm những đơn vị nào?", user_id=ADMIN)
            assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in (await fake.wait_for_message(ADMIN, timeout=10)).text
            assert all(d.ok for d in fake.webhook_deliveries)
            forged = {
                "update_id": 1,
                "message": {
                    "message_id": 1,
                    "date": 0,
                    "text": "/moi Kim Bảng",
                    "chat": {"id": ADMIN, "type": "private"},
                    "from": {"id": ADMIN, "is_bot": False, "first_name": "X"},
                },
            }
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=holder["web"]), base_url="https://bot.example.vn"
            ) as client:
                assert (await client.post("/telegram/hook", json=forged)).status_code == 403
                wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
                assert (await client.post("/telegram/hook", json=forged, headers=wrong)).status_code == 403
                right = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
                assert (await client.post("/telegram/hook", content=b"{not json", headers=right)).status_code == 400
                assert (await client.get("/healthz")).json() == {"ok": True}
            await asyncio.sleep(0.2)
            assert len(fake.messages(ADMIN)) == 1  # the forged /moi never reached the bot
        finally:
            await channel.stop()
    await app.close()


def test_webhook_settings_need_a_strong_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")
    monkeypatch.setenv("QTBOT_WEBHOOK_URL", HOOK)
    with pytest.raises(ConfigError, match="QTBOT_WEBHOOK_SECRET"):
        load_settings()
    monkeypatch.setenv("QTBOT_WEBHOOK_SECRET", "short")
    with pytest.raises(ConfigError, match="16–256 ký tự"):
        load_settings()


async def test_qtbot_run_in_webhook_mode_as_its_own_process(demo_db_url: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hook = f"http://127.0.0.1:{port}/telegram"
    async with FakeTelegram() as fake, fake.serve() as root:
        env = qtbot_env(
            demo_db_url,
            telegram_token=fake.token,
            telegram_base_url=root,
            admin_telegram_ids=str(ADMIN),
            webhook_url=hook,
            webhook_secret=SECRET,
            webhook_listen=f"127.0.0.1:{port}",
        )
        async with qtbot_running(env, tmp_path) as logs:
            await fake.wait_for_call("setWebhook", timeout=30)
            for _ in range(100):  # until the web server listens
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                await asyncio.sleep(0.1)
            fake.user_sends("cụm 2 gồm những đơn vị nào?", user_id=ADMIN)
            reply = await fake.wait_for_message(ADMIN, timeout=30)
            assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in reply.text
            async with httpx.AsyncClient() as client:
                assert (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
                assert (await client.post(hook, json={"update_id": 5})).status_code == 403
        assert SECRET not in logs[0] and fake.token.split(":")[1] not in logs[0]


async def test_a_rejected_telegram_token_ends_in_one_line_without_the_token(demo_db_url: str, tmp_path: Path) -> None:
    async with FakeTelegram() as fake, fake.serve() as root:
        wrong = "123456:not-the-right-key"
        env = qtbot_env(demo_db_url, telegram_token=wrong, telegram_base_url=root)
        code, out, err = await qtbot_start_failure(env, tmp_path)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "QTBOT_TELEGRAM_TOKEN" in lines[0], err
    assert "not-the-right-key" not in out + err


def test_an_answers_keyboard_is_what_ptb_would_send() -> None:
    """Answers carry their keyboard as an object made once per layout: the same as PTB's own."""
    menu = [[Button("Trực hôm nay", "/truc"), Button("Kết quả “quý”", "/ketqua q2")], [Button("Giúp", "/help")]]
    reply = Reply("x", buttons=menu)
    assert keyboard_markup(reply) == keyboard(reply).to_dict()
    assert keyboard_markup(Reply("y", buttons=[row[:] for row in menu])) is keyboard_markup(reply)
    assert keyboard_markup(Reply("x", buttons=[menu[1]])) != keyboard_markup(reply)
    assert keyboard_markup(Reply("z")) is None


async def test_a_chart_is_uploaded_once_then_sent_by_its_file_id(tg: Harness) -> None:
    """The same picture is sent by the file_id Telegram gave its first upload; an id Telegram no
    longer knows is forgotten and the picture uploaded again, and the officer still gets it."""
    await tg.join(OFFICER, "Kim Bảng")
    await tg.join(OTHER_OFFICER, "Bình Lục")

    def photos(user: int) -> list:
        return [m for m in tg.fake.messages(user) if m.photo_bytes is not None]

    await tg.say("kết quả chấm điểm quý 2")
    await tg.say("kết quả chấm điểm quý 2", user=OTHER_OFFICER)
    first, second = photos(OFFICER)[-1], photos(OTHER_OFFICER)[-1]
    assert first.file_id == second.file_id and first.photo_bytes == second.photo_bytes
    assert len([f for f in tg.fake.files.values() if f.data == first.photo_bytes]) == 1  # one upload
    tg.fake.files.clear()  # the id no longer valid on Telegram's side
    await tg.say("kết quả chấm điểm quý 2")
    third = photos(OFFICER)[-1]
    assert third.photo_bytes == first.photo_bytes and third.file_id != first.file_id
    assert len(tg.fake.files) == 1


@pytest.mark.filterwarnings("ignore:Please use 'Bot.sendDocument'")
async def test_calls_without_files_are_sent_as_json_and_no_cookie_is_kept() -> None:
    """BotApiRequest: a JSON body for a call without files (the Bot API takes it; the form's
    percent-encoding of Vietnamese text was the costlier part of a request), multipart with one."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        me = {"id": 1, "is_bot": True, "first_name": "qtbot", "username": "qtbot_bot"}
        body = {"ok": True, "result": me if request.url.path.endswith("/getMe") else True}
        return httpx.Response(200, json=body, headers={"Set-Cookie": "s=1; Path=/"})

    bot = Bot(
        "1:x", base_url="http://api/bot", request=BotApiRequest(httpx_kwargs={"transport": httpx.MockTransport(answer)})
    )
    async with bot:
        markup = {"inline_keyboard": [[{"text": "Trực hôm nay", "callback_data": "/truc"}]]}
        arguments = {"chat_id": 5, "text": "Đ/c Cường trực", "reply_markup": markup}
        await bot.do_api_request("sendMessage", api_kwargs=arguments)
        await bot.do_api_request(
            "sendDocument", api_kwargs={"chat_id": 5, "document": InputFile(b"a", filename="a.txt")}
        )
    message, document = seen[-2:]
    assert message.headers["content-type"] == "application/json"
    assert json.loads(message.content) == arguments
    assert document.headers["content-type"].startswith("multipart/form-data")
    assert "cookie" not in document.headers  # no answer's Set-Cookie was kept


@pytest.mark.filterwarnings("ignore:Please use 'Bot.sendMessage'")
async def test_a_json_call_is_the_request_ptb_and_httpx_would_make() -> None:
    """TelegramChannel._api sends through Bot.request.post with a JsonCall, and BotApiRequest builds
    the httpx.Request itself: the same method, URL, headers in the same order, body and timeouts as
    Bot.do_api_request through httpx's own AsyncClient.build_request, and the same errors."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if b"refuse" in request.content:
            return httpx.Response(400, json={"ok": False, "error_code": 400, "description": "Bad Request: no"})
        me = {"id": 1, "is_bot": True, "first_name": "qtbot", "username": "qtbot_bot"}
        return httpx.Response(200, json={"ok": True, "result": me if request.url.path.endswith("/getMe") else True})

    request = BotApiRequest(httpx_kwargs={"transport": httpx.MockTransport(answer)})
    bot = Bot("1:x", base_url="http://api:8081/bot", request=request)
    markup = {"inline_keyboard": [[{"text": "Trực hôm nay", "callback_data": "/truc"}]]}
    arguments = {"chat_id": "5", "text": "Đ/c <b>Cường</b> trực", "parse_mode": "HTML", "reply_markup": markup}
    async with bot:
        assert await bot.do_api_request("sendMessage", api_kwargs={**arguments, "caption": None}) is True
        assert await bot.request.post(f"{bot.base_url}/sendMessage", JsonCall(arguments)) is True  # type: ignore[arg-type]
        ptb, ours = seen[-2:]
        client = httpx.AsyncClient(headers={"User-Agent": BotApiRequest.USER_AGENT})
        stock = client.build_request(
            "POST", f"{bot.base_url}/sendMessage", headers={"Content-Type": "application/json"}, content=ours.content
        )
        await client.aclose()
        for other in (ptb, stock):
            assert (ours.method, ours.url, ours.headers.raw, ours.content) == (
                other.method,
                other.url,
                other.headers.raw,
                other.content,
            )
        assert ours.extensions["timeout"] == ptb.extensions["timeout"]
        assert json.loads(ours.content) == arguments
        refused = {**arguments, "text": "refuse"}
        with pytest.raises(BadRequest, match="No") as by_ptb:
            await bot.do_api_request("sendMessage", api_kwargs=refused)
        with pytest.raises(BadRequest, match="No") as by_us:
            await bot.request.post(f"{bot.base_url}/sendMessage", JsonCall(refused))  # type: ignore[arg-type]
        assert by_us.value.message == by_ptb.value.message


async def test_the_channels_api_calls_fail_as_ptbs_do(tg: Harness) -> None:
    """An unknown method is EndPointNotFound, as Bot.do_api_request says it; a None argument is left
    out as PTB leaves it out."""
    await tg.say("/trogiup")  # the chat exists on the fake once the user has written
    with pytest.raises(EndPointNotFound):
        await tg.channel._api("noSuchMethod", {"chat_id": str(OFFICER)})
    await tg.channel._api("sendMessage", {"chat_id": str(OFFICER), "text": "x", "reply_markup": None})
    call = tg.fake.calls_of("sendMessage")[-1]
    assert call.params == {"chat_id": str(OFFICER), "text": "x"}


def test_short_texts_are_one_part_without_being_measured() -> None:
    """_parts: a text of at most 2048 characters is one message whatever its characters; longer ones
    are split by UTF-16 units as before."""
    for message in ("", "x", "🙂" * 2048, "ạ" * 2048, "🙂" * 2049, "a\n" * 1500, ("dòng " * 30 + "\n") * 60):
        assert _parts(message) == split_text(message, measure=utf16_len)
