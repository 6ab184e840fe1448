"""Zalo end to end: the real Zalo channel (httpx) against the project's fake Zalo Bot API."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import App
from bot.channels.zalo import ZaloChannel, update_key
from bot.cli import fixed_clock
from bot.config import SecretStr, Settings
from bot.messages import ChannelInfo, Incoming
from bot.models import ChatLink, ChatOptions, Event, OutboxMessage, SeenUpdate
from bot.web import web_app
from tests.chatting import qtbot_env, qtbot_running, qtbot_start_failure
from tests.conftest import make_settings
from tests.examples import EXAMPLES, NOW, Example, check
from tests.fakes.zalo import FakeZalo

ADMIN = "a0zalo"
OFFICER = "u0kimbang"
SECRET = "zalo-webhook-secret-42"


def zalo_settings(settings: Settings, fake: FakeZalo, **overrides: object) -> Settings:
    values: dict[str, object] = {"zalo_token": SecretStr(fake.token), "zalo_base_url": fake.base_url}
    values.update(overrides)
    return settings.model_copy(update=values)


@dataclass
class ZaloHarness:
    app: App
    fake: FakeZalo
    channel: ZaloChannel

    async def say(self, text: str, chat: str = OFFICER, **kwargs: object) -> str:
        """Send a message and return the bot's answer (every part, joined)."""
        self.fake.user_says(text, chat_id=chat, **kwargs)  # type: ignore[arg-type]
        parts = [m.text for m in await self.fake.wait_for_message(chat, timeout=10)]
        while True:
            try:
                parts += [m.text for m in await self.fake.wait_for_message(chat, timeout=0.15)]
            except TimeoutError:
                return "\n".join(parts)

    async def join(self, chat: str, unit: str, *, bare: bool = True) -> None:
        answer = await self.say(f"/moi {unit}", chat=ADMIN)
        code = answer.split("/start ")[1].split()[0]
        assert "gửi mã này cho bot" in answer.lower() or "Zalo" in answer or code
        joined = await self.say(code if bare else f"/start {code}", chat=chat)
        assert "Đồng chí đã tham gia" in joined, joined


@contextlib.asynccontextmanager
async def zalo_bot(
    app: App, fake: FakeZalo, *, flush_every: float | None = None, **overrides: object
) -> AsyncIterator[ZaloChannel]:
    settings = zalo_settings(app.settings, fake, zalo_poll_timeout=1, **overrides)
    app.dispatcher.settings = settings
    channel = ZaloChannel(
        app.dispatcher, settings, transport=fake.transport(), clock=fixed_clock(NOW, settings), min_poll_interval=0.01
    )
    if flush_every is not None:  # how often answered updates (and options offered) are stored
        channel.seen.flush_every = flush_every
    await channel.start()
    try:
        yield channel
    finally:
        await channel.stop()


@pytest.fixture
async def zalo(demo_db_url: str) -> AsyncIterator[ZaloHarness]:
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    async with FakeZalo() as fake, zalo_bot(app, fake) as channel:
        yield ZaloHarness(app, fake, channel)
    await app.close()


@contextlib.asynccontextmanager
async def zalo_webhook_bot(app: App, fake: FakeZalo) -> AsyncIterator[ZaloChannel]:
    """The channel in webhook mode: the fake POSTs each update to the bot's web app (in-process)."""
    settings = zalo_settings(
        app.settings, fake, public_url="https://bot.example.vn", zalo_webhook_secret=SecretStr(SECRET)
    )
    app.dispatcher.settings = settings
    channel = ZaloChannel(app.dispatcher, settings, transport=fake.transport(), clock=fixed_clock(NOW, settings))
    web = web_app(app.sessions, webhooks=[channel.webhook("/zalo", SECRET)])
    fake.set_webhook_transport(httpx.ASGITransport(app=web))
    await channel.start_webhook(f"{settings.public_url}/zalo", SECRET)
    try:
        yield channel
    finally:
        await channel.stop()


@pytest.fixture(params=["polling", "webhook"])
async def zalo_any_mode(demo_db_url: str, request: pytest.FixtureRequest) -> AsyncIterator[ZaloHarness]:
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    bot = zalo_bot if request.param == "polling" else zalo_webhook_bot
    async with FakeZalo() as fake, bot(app, fake) as channel:
        yield ZaloHarness(app, fake, channel)
    if request.param == "webhook":
        assert fake.webhook_deliveries and all(d.ok for d in fake.webhook_deliveries)
    await app.close()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.question for e in EXAMPLES])
async def test_domain_examples_over_zalo(zalo_any_mode: ZaloHarness, example: Example) -> None:
    zalo = zalo_any_mode
    await zalo.join(OFFICER, "Kim Bảng")
    answer = await zalo.say(example.question)
    check(example, answer)
    assert "<b>" not in answer and "&amp;" not in answer  # plain text: Zalo shows no HTML


async def test_a_bare_code_or_start_code_joins_and_the_invite_says_how_on_zalo(zalo: ZaloHarness) -> None:
    invite = await zalo.say("/moi Kim Bảng", chat=ADMIN)
    assert "t.me" not in invite  # no deep links on Zalo
    await zalo.join("u-other", "Lý Nhân", bare=False)
    await zalo.join(OFFICER, "Kim Bảng", bare=True)
    assert "Chưa rõ" not in await zalo.say("/caidat")


async def test_a_guest_is_told_to_join(zalo: ZaloHarness) -> None:
    assert "chưa là thành viên" in await zalo.say("/truc", chat="u-stranger")


async def test_a_zalo_admin_adds_a_meeting(zalo: ZaloHarness) -> None:
    saved = await zalo.say(
        "/themhop 14h00 28/6/2022 | Ban CHQS huyện Kim Bảng | Giao ban quý III | Kim Bảng, Bình Lục", chat=ADMIN
    )
    assert "Đã thêm [S" in saved and "Giao ban quý III — 14h00 Thứ Ba 28/06/2022" in saved
    async with zalo.app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Event).where(Event.title == "Giao ban quý III"))


async def test_a_guided_dialog_with_numbered_options_survives_a_restart(demo_db_url: str) -> None:
    async with FakeZalo() as fake:
        first = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
        async with zalo_bot(first, fake) as channel:
            bot = ZaloHarness(first, fake, channel)
            assert "Thời gian?" in await bot.say("/themhop", chat=ADMIN)
            assert "Địa điểm" in await bot.say("chiều 30/6", chat=ADMIN)
            assert "Nội dung?" in await bot.say("Hội trường Bộ CHQS tỉnh", chat=ADMIN)
            offered = await bot.say("Hội nghị triển khai diễn tập", chat=ADMIN)
            assert "1. Cả cụm" in offered and "Trả lời 1, 2, 3" in offered
        await first.close()
        # A new process: the options and the dialog come back from the database.
        second = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
        async with zalo_bot(second, fake) as channel:
            bot = ZaloHarness(second, fake, channel)
            summary = await bot.say("1", chat=ADMIN)
            assert "Thời gian: 13h30 Thứ Năm 30/06/2022" in summary and "1. Lưu" in summary
            assert "Đã thêm [S" in await bot.say("1", chat=ADMIN)
            # A message without options clears them: a stray "1" presses nothing.
            await bot.say("/donvi", chat=ADMIN)
            await channel.seen.flush()  # stored with the next batch of answered updates
            async with second.sessions() as session:
                assert await session.scalar(select(func.count()).select_from(ChatOptions)) == 0
        await second.close()


async def test_numbers_that_are_not_options_are_just_text(zalo: ZaloHarness) -> None:
    await zalo.join(OFFICER, "Kim Bảng")
    assert "Đã thêm" not in await zalo.say("1")
    assert "Xin lỗi" not in await zalo.say("²")  # a digit to str.isdigit, not a number


async def test_redelivered_updates_are_answered_once(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    async with FakeZalo(redeliver=3) as fake, zalo_bot(app, fake):
        fake.user_says("cụm 2 gồm những đơn vị nào?", chat_id=ADMIN)
        await fake.wait_for_message(ADMIN, timeout=10)
        for _ in range(100):  # until the fake has handed out every copy
            if fake.stats.redeliveries >= 3:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        assert fake.stats.redeliveries >= 3
        assert len(fake.messages(ADMIN)) == 1
    async with app.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(SeenUpdate)) == 1
    await app.close()


async def test_copies_handed_out_after_a_restart_or_to_a_webhook_replica_are_not_answered(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    async with FakeZalo(redeliver=50) as fake:
        async with zalo_bot(app, fake):
            fake.user_says("cụm 2 gồm những đơn vị nào?", chat_id=ADMIN)
            await fake.wait_for_message(ADMIN, timeout=10)
        update = fake.pending_updates[0]  # Zalo still hands the consumed update out
        restarted = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
        async with zalo_bot(restarted, fake):
            for _ in range(100):
                if fake.stats.redeliveries >= 5:
                    break
                await asyncio.sleep(0.02)
        assert fake.stats.redeliveries >= 5
        # The same update posted to another replica's webhook: the database says it was answered.
        replica = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
        settings = zalo_settings(replica.settings, fake)
        clock = fixed_clock(NOW, settings)
        channel = ZaloChannel(replica.dispatcher, settings, transport=fake.transport(), clock=clock)
        await channel.seen.start()
        await channel.feed(update)  # answered 200, and not answered again
        await channel.stop()
        assert len(fake.messages(ADMIN)) == 1
        await restarted.close()
        await replica.close()
    await app.close()


async def test_a_webhook_update_whose_answer_was_cut_short_is_answered_later_not_lost(demo_db_url: str) -> None:
    """The 200 is given once the update is in the inbox; if the answer then fails, or the process dies
    before it, the update stays there and is answered once it is overdue, by this process or another."""
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    async with FakeZalo() as fake, zalo_webhook_bot(app, fake) as channel:
        real_handle = app.dispatcher.handle
        failing = True

        async def handle_or_fail(incoming: object, info: object, **kwargs: object) -> object:
            if failing:
                raise ConnectionError("database gone mid-answer")
            return await real_handle(incoming, info, **kwargs)  # type: ignore[arg-type]

        app.dispatcher.handle = handle_or_fail  # type: ignore[method-assign]
        await fake.user_says_async("cụm 2 gồm những đơn vị nào?", chat_id=ADMIN)
        assert all(d.ok for d in fake.webhook_deliveries)  # Zalo was told 200 and will not retry
        await asyncio.sleep(0.1)
        assert fake.messages(ADMIN) == []
        failing = False
        assert await channel.sweep_inbox() == 0  # not overdue yet: it may still be being answered
        assert await channel.sweep_inbox(older_than=timedelta(0)) == 1
        answer = await fake.wait_for_message(ADMIN)
        assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in answer[0].text

        # A process that took an update and died before answering it: another process answers it.
        app.dispatcher.handle = real_handle  # type: ignore[method-assign]
        dead = ZaloChannel(app.dispatcher, channel.settings, transport=fake.transport(), clock=channel.clock)
        await dead.seen.start()
        update = fake._make_update("mai ai trực?", ADMIN, None, "A", "PRIVATE", "message.text.received", False, None)
        key = update_key(update)
        assert key is not None and await dead.seen.take(key, update)
        await dead.client.aclose()  # gone without answering or flushing
        await dead.seen.stop()  # its connection goes with it (it had answered nothing: nothing is flushed)
        assert await channel.sweep_inbox(older_than=timedelta(0)) == 1
        answer = await fake.wait_for_message(ADMIN)
        assert "Thứ Năm 23/06/2022" in answer[0].text
        await asyncio.sleep(0.2)
        assert len(fake.messages(ADMIN)) == 2
    await app.close()


async def test_long_answers_are_split_at_2000_utf16_units(zalo: ZaloHarness) -> None:
    await zalo.join(OFFICER, "Kim Bảng")
    await zalo.say("lịch trực tháng 6")
    await zalo.say("/donvi", chat=ADMIN)
    for message in zalo.fake.messages():
        assert len(message.text.encode("utf-16-le")) // 2 <= 2000


async def test_in_a_group_the_bot_answers_only_when_mentioned(zalo: ZaloHarness) -> None:
    group = "g-kimbang"
    zalo.fake.user_says("mai ai trực?", chat_id=group, chat_type="GROUP", sender_id=ADMIN)
    with pytest.raises(TimeoutError):
        await zalo.fake.wait_for_message(group, timeout=1.5)
    answer = await zalo.say("/lienket Kim Bảng", chat=group, chat_type="GROUP", sender_id=ADMIN, mention=True)
    assert "Kim Bảng" in answer
    answer = await zalo.say("mai ai trực?", chat=group, chat_type="GROUP", sender_id=ADMIN, mention=True)
    assert "Trực chỉ huy: Trung tá Phạm Minh Dũng" in answer
    async with zalo.app.sessions() as session:
        link = await session.scalar(select(ChatLink).where(ChatLink.channel == "zalo", ChatLink.chat_id == group))
    assert link is not None and link.chat_type == "group" and link.unit_id is not None


async def test_one_member_on_both_channels_gets_personal_reminders_on_each(zalo: ZaloHarness) -> None:
    """Thiếu tá Vũ Thành Long joins on Zalo, then on Telegram with an invite made for him: one member,
    two chats, and the reminder of his shift is planned for both."""
    from bot.models import DutyShift
    from bot.services.reminders import plan_reminders
    from tests.conftest import local

    invite = await zalo.say("/moi Kim Bảng Vũ Thành Long", chat=ADMIN)
    assert "Vũ Thành Long" in invite
    code = invite.split("/start ")[1].split()[0]
    assert "Đồng chí đã tham gia" in await zalo.say(code, chat=OFFICER)
    second = await zalo.say("/moi Kim Bảng Vũ Thành Long", chat=ADMIN)
    code = second.split("/start ")[1].split()[0]
    on_telegram = Incoming(
        channel="telegram",
        chat_id="111",
        chat_type="private",
        sender_id="111",
        sender_name="Long",
        received_at=local(NOW),
        text=f"/start {code}",
    )
    replies = await zalo.app.dispatcher.handle(on_telegram, ChannelInfo(name="telegram"))
    assert "Đồng chí đã tham gia" in replies[0].text
    async with zalo.app.sessions() as session:
        links = list(await session.scalars(select(ChatLink).where(ChatLink.chat_id.in_([OFFICER, "111"]))))
        members = {link.member_id for link in links}
        assert {link.channel for link in links} == {"telegram", "zalo"} and len(members) == 1
        shift = await session.scalar(
            select(DutyShift)
            .where(DutyShift.member_id == members.pop(), DutyShift.starts_at > local(NOW))
            .order_by(DutyShift.starts_at)
        )
    assert shift is not None
    async with zalo.app.sessions() as session, session.begin():
        await plan_reminders(session, zalo.app.settings, shift.starts_at - timedelta(hours=1, minutes=5))
    async with zalo.app.sessions() as session:
        chats = set(
            await session.scalars(
                select(OutboxMessage.channel)
                .where(OutboxMessage.entity_type == "shift", OutboxMessage.entity_id == shift.id)
                .where(OutboxMessage.chat_id.in_([OFFICER, "111"]))
            )
        )
    assert chats == {"telegram", "zalo"}


async def test_webhook_mode_refuses_forged_calls_and_reads_both_shapes(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    async with FakeZalo() as fake:
        settings = zalo_settings(
            app.settings, fake, public_url="https://bot.example.vn", zalo_webhook_secret=SecretStr(SECRET)
        )
        app.dispatcher.settings = settings
        channel = ZaloChannel(app.dispatcher, settings, transport=fake.transport(), clock=fixed_clock(NOW, settings))
        web = web_app(app.sessions, webhooks=[channel.webhook("/zalo", SECRET)], metrics=app.metrics)
        fake.set_webhook_transport(httpx.ASGITransport(app=web))
        url, secret = settings.zalo_webhook  # type: ignore[misc]
        await channel.start_webhook(url, secret)
        try:
            assert fake.webhook_url == "https://bot.example.vn/zalo" and fake.webhook_secret == SECRET
            await fake.user_says_async("cụm 2 gồm những đơn vị nào?", chat_id=ADMIN)
            assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in (await fake.wait_for_message(ADMIN))[0].text
            assert all(d.ok for d in fake.webhook_deliveries)
            update = {
                "message": {
                    "from": {"id": ADMIN, "display_name": "A", "is_bot": False},
                    "chat": {"id": ADMIN, "chat_type": "PRIVATE"},
                    "text": "/moi Kim Bảng",
                    "message_id": "forged-1",
                    "date": 1750316131602,
                },
                "event_name": "message.text.received",
            }
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=web), base_url="https://bot.example.vn"
            ) as c:
                assert (await c.post("/zalo", json=update)).status_code == 403
                wrong = {"X-Bot-Api-Secret-Token": "guess"}
                assert (await c.post("/zalo", json=update, headers=wrong)).status_code == 403
                right = {"X-Bot-Api-Secret-Token": SECRET}
                assert (await c.post("/zalo", content=b"{not json", headers=right)).status_code == 400
                assert (await c.post("/zalo", json={"event_name": "x"}, headers=right)).status_code == 200
                assert len(fake.messages(ADMIN)) == 1  # none of these reached the bot
                # A bare update (no envelope) with the secret is read like the envelope.
                update["message"]["text"] = "mai ai trực?"  # type: ignore[index]
                assert (await c.post("/zalo", json=update, headers=right)).status_code == 200
                assert (await c.post("/zalo", json={"ok": True, "result": update}, headers=right)).status_code == 200
                await fake.wait_for_message(ADMIN)  # answered after the 200
                await asyncio.sleep(0.2)
                assert len(fake.messages(ADMIN)) == 2  # the repeat (same message_id) was dropped
                metrics = (await c.get("/metrics")).text
                assert 'qtbot_updates_in_total{channel="zalo"}' in metrics
        finally:
            await channel.stop()
    await app.close()


async def test_an_announcement_reaches_zalo_and_telegram_chats(zalo: ZaloHarness) -> None:
    from tests.fakes.telegram import FakeTelegram
    from tests.fakes.telegram.harness import fake_settings, telegram_bot

    await zalo.join(OFFICER, "Kim Bảng")
    async with zalo.app.sessions() as session, session.begin():
        unit_id = await session.scalar(select(ChatLink.unit_id).where(ChatLink.chat_id == OFFICER))
        session.add(
            ChatLink(channel="telegram", chat_id="-100777", chat_type="group", unit_id=unit_id, title="Nhóm KB")
        )
    async with zalo.app.sessions() as session, session.begin():
        link = await session.scalar(select(ChatLink).where(ChatLink.chat_id == "-100777"))
        from bot.services.subscriptions import subscribe

        await subscribe(session, link, ["announcements"])
    preview = await zalo.say("/thongbao Kim Bảng | Kiểm tra quân số lúc 16h00", chat=ADMIN)
    assert "Gửi tới Ban CHQS huyện Kim Bảng: 2 chat." in preview and "1. " in preview
    assert "Đã xếp hàng gửi 2 tin" in await zalo.say("1", chat=ADMIN)
    async with zalo.app.sessions() as session:
        channels = set(
            await session.scalars(select(OutboxMessage.channel).where(OutboxMessage.kind == "announcements"))
        )
    assert channels == {"telegram", "zalo"}
    async with FakeTelegram() as tg_fake:
        tg_fake.add_chat(-100777, chat_type="supergroup", title="Nhóm KB")
        settings = fake_settings(zalo.app.settings, tg_fake)
        async with telegram_bot(zalo.app.dispatcher, settings, tg_fake) as telegram:
            report = await zalo.app.jobs({"telegram": telegram, "zalo": zalo.channel}).delivery.deliver_due()
    assert {row.channel for row in report.sent} == {"telegram", "zalo"}
    assert any("Kiểm tra quân số" in m.text for m in zalo.fake.messages(OFFICER))
    assert any("Kiểm tra quân số" in m.text for m in tg_fake.messages(-100777))


async def test_the_quota_warning_goes_to_admins_once(zalo: ZaloHarness) -> None:
    zalo.channel.settings = zalo.channel.settings.model_copy(update={"zalo_monthly_quota": 10})
    await zalo.say("/trogiup", chat=ADMIN)
    for _ in range(10):
        await zalo.channel._counted(1)
    await zalo.channel._save_usage(force=True)
    async with zalo.app.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.entity_type == "quota")))
    assert len(rows) == 1 and "hạn mức" in rows[0].text and rows[0].chat_id == ADMIN


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_qtbot_run_serves_zalo_as_its_own_process(demo_db_url: str, tmp_path: Path) -> None:
    async with FakeZalo() as fake:
        root = await fake.serve()
        env = qtbot_env(
            demo_db_url, zalo_token=fake.token, zalo_base_url=root, admin_zalo_ids=ADMIN, zalo_poll_timeout="2"
        )
        async with qtbot_running(env, tmp_path) as logs:
            fake.user_says("cụm 2 gồm những đơn vị nào?", chat_id=ADMIN)
            reply = (await fake.wait_for_message(ADMIN, timeout=30))[0]
            assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in reply.text
        assert fake.token not in logs[0] and fake.token.split(":")[1] not in logs[0]


async def test_a_rejected_zalo_token_ends_in_one_line_without_the_token(demo_db_url: str, tmp_path: Path) -> None:
    async with FakeZalo() as fake:
        env = qtbot_env(demo_db_url, zalo_token="999:not-the-right-key", zalo_base_url=await fake.serve())
        code, out, err = await qtbot_start_failure(env, tmp_path)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "QTBOT_ZALO_TOKEN" in lines[0], err
    assert "not-the-right-key" not in out + err


async def test_an_unreachable_zalo_api_ends_in_one_line(demo_db_url: str, tmp_path: Path) -> None:
    env = qtbot_env(demo_db_url, zalo_token="1:abc", zalo_base_url=f"http://127.0.0.1:{_free_port()}")
    code, _out, err = await qtbot_start_failure(env, tmp_path)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1 and "QTBOT_ZALO_BASE_URL" in lines[0], err


async def test_repeats_do_not_make_the_bot_poll_faster_than_once_a_second(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    async with FakeZalo(redeliver=5, min_poll_interval=1.0) as fake:
        settings = zalo_settings(app.settings, fake, zalo_poll_timeout=1)
        channel = ZaloChannel(app.dispatcher, settings, transport=fake.transport(), clock=fixed_clock(NOW, settings))
        await channel.start()
        try:
            fake.user_says("cụm 2 gồm những đơn vị nào?", chat_id=ADMIN)
            await fake.wait_for_message(ADMIN, timeout=10)
            await asyncio.sleep(3.5)
        finally:
            await channel.stop()
        # Only the poll right after the one new message came at once; repeats waited a second.
        assert fake.stats.redeliveries >= 2 and fake.stats.polls_too_fast <= 1
        assert len(fake.messages(ADMIN)) == 1
    await app.close()


async def test_a_pushed_message_with_options_can_be_answered_by_number(zalo: ZaloHarness) -> None:
    from bot.messages import Button, Reply

    zalo.fake.add_chat(OFFICER)
    offer = Reply("Lịch trực đã đổi.", buttons=[[Button("Xem lịch trực", "/truc")]])
    await zalo.channel.deliver(OFFICER, offer, is_group=False)
    assert "1. Xem lịch trực" in zalo.fake.messages(OFFICER)[-1].text
    await zalo.fake.wait_for_message(OFFICER)
    async with zalo.app.sessions() as session:
        kept = await session.scalar(select(ChatOptions).where(ChatOptions.chat_id == OFFICER))
    assert kept is not None and kept.options == [["Xem lịch trực", "/truc"]]


async def test_qtbot_run_serves_zalo_by_webhook_as_its_own_process(demo_db_url: str, tmp_path: Path) -> None:
    port = _free_port()
    async with FakeZalo() as fake:
        env = qtbot_env(
            demo_db_url,
            zalo_token=fake.token,
            zalo_base_url=await fake.serve(),
            admin_zalo_ids=ADMIN,
            public_url=f"http://127.0.0.1:{port}",
            zalo_webhook_secret=SECRET,
            web_listen=f"127.0.0.1:{port}",
        )
        async with qtbot_running(env, tmp_path) as logs:
            for _ in range(300):  # until the bot has registered its webhook and listens
                if fake.webhook_url:
                    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                await asyncio.sleep(0.1)
            assert fake.webhook_url == f"http://127.0.0.1:{port}/zalo"
            await fake.user_says_async("cụm 2 gồm những đơn vị nào?", chat_id=ADMIN)
            reply = (await fake.wait_for_message(ADMIN, timeout=30))[0]
            assert "Cụm thi đua số 2 năm 2022 gồm 7 đơn vị" in reply.text
            async with httpx.AsyncClient() as client:
                health = (await client.get(f"http://127.0.0.1:{port}/healthz")).json()
                assert health == {"ok": True, "channels": {"zalo": "ok"}}
                assert (await client.post(f"http://127.0.0.1:{port}/zalo", json={"x": 1})).status_code == 403
        assert SECRET not in logs[0] and fake.token.split(":")[1] not in logs[0]


async def test_qtbot_run_serves_telegram_and_zalo_from_one_process(demo_db_url: str, tmp_path: Path) -> None:
    from tests.fakes.telegram import FakeTelegram

    async with FakeZalo() as fake, FakeTelegram() as tg_fake, tg_fake.serve() as tg_root:
        env = qtbot_env(
            demo_db_url,
            zalo_token=fake.token,
            zalo_base_url=await fake.serve(),
            admin_zalo_ids=ADMIN,
            zalo_poll_timeout="2",
            telegram_token=tg_fake.token,
            telegram_base_url=tg_root,
            admin_telegram_ids="999",
        )
        async with qtbot_running(env, tmp_path):
            fake.user_says("cụm 2 gồm những đơn vị nào?", chat_id=ADMIN)
            tg_fake.user_sends("cụm 2 gồm những đơn vị nào?", user_id=999)
            assert "gồm 7 đơn vị" in (await fake.wait_for_message(ADMIN, timeout=30))[0].text
            assert "gồm 7 đơn vị" in (await tg_fake.wait_for_message(999, timeout=30)).text


async def test_near_the_quota_digests_give_way_to_reminders(zalo: ZaloHarness) -> None:
    from bot.channels.base import Rejected
    from bot.messages import Reply

    zalo.fake.add_chat(OFFICER)
    zalo.channel.settings = zalo.channel.settings.model_copy(update={"zalo_monthly_quota": 100})
    await zalo.channel.deliver(OFFICER, Reply("Bản tin sáng"), is_group=False, kind="digest_daily")
    zalo.channel._month_sent = 95  # other replicas have sent the rest of the month's quota
    with pytest.raises(Rejected, match="hạn mức"):
        await zalo.channel.deliver(OFFICER, Reply("Bản tin sáng"), is_group=False, kind="digest_daily")
    await zalo.channel.deliver(OFFICER, Reply("Nhắc trực"), is_group=False, kind="duty")
    assert [m.text for m in zalo.fake.messages(OFFICER)] == ["Bản tin sáng", "Nhắc trực"]


async def test_a_file_goes_to_zalo_as_a_link_the_web_app_serves(zalo: ZaloHarness) -> None:
    from bot.messages import Document, Reply

    zalo.fake.add_chat(OFFICER)
    zalo.channel.settings = zalo.channel.settings.model_copy(update={"public_url": "https://bot.example.vn"})
    content = b"PK\x03\x04 lich truc"
    await zalo.channel.send(OFFICER, Reply("Lịch trực tuần", document=Document("lich-truc.xlsx", content)))
    text = zalo.fake.messages(OFFICER)[-1].text
    assert "Tệp lich-truc.xlsx: https://bot.example.vn/files/" in text
    token = text.split("/files/")[1].split()[0]
    web = web_app(zalo.app.sessions, clock=fixed_clock(NOW, zalo.app.settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="https://bot.example.vn") as client:
        served = await client.get(f"/files/{token}")
        assert served.status_code == 200 and served.content == content
        assert "attachment" in served.headers["content-disposition"]
        assert (await client.get(f"/files/{token[:-2]}xx")).status_code == 404
        assert (await client.get("/files/short")).status_code == 404


async def test_the_morning_digest_reaches_zalo_and_telegram_chats(zalo: ZaloHarness) -> None:
    from bot.services.subscriptions import subscribe

    await zalo.join(OFFICER, "Kim Bảng")
    async with zalo.app.sessions() as session, session.begin():
        unit_id = await session.scalar(select(ChatLink.unit_id).where(ChatLink.chat_id == OFFICER))
        link = ChatLink(channel="telegram", chat_id="-100778", chat_type="group", unit_id=unit_id, title="Nhóm KB")
        session.add(link)
        await session.flush()
        await subscribe(session, link, ["digest_daily"])
    clock = fixed_clock("2022-06-23 06:30", zalo.app.settings)
    report = await zalo.app.jobs({"zalo": zalo.channel}, clock=clock).tick()
    assert [d.kind for d in report.digests if d.written] == ["daily"]
    async with zalo.app.sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "digest_daily")))
    assert {r.channel for r in rows} >= {"telegram", "zalo"}
    assert any("Thứ Năm 23/06/2022" in m.text for m in zalo.fake.messages(OFFICER))


async def test_two_messages_of_one_chat_answered_at_once_keep_their_options(zalo: ZaloHarness) -> None:
    """Webhooks may arrive together: saving the numbered options of both must not collide."""
    from bot.messages import Button, Reply

    replies = [[Reply("a", buttons=[[Button(f"Chọn {n}", f"/donvi {n}")]])] for n in range(8)]
    now = fixed_clock(NOW, zalo.app.settings)()
    await asyncio.gather(*(zalo.app.dispatcher.remember_options("zalo", OFFICER, r, now=now) for r in replies))
    await asyncio.gather(*(zalo.channel.seen.flush() for _ in range(3)))  # batches at once, one at a time
    async with zalo.app.sessions() as session:
        rows = list(await session.scalars(select(ChatOptions).where(ChatOptions.chat_id == OFFICER)))
    assert len(rows) == 1 and rows[0].options[0][0].startswith("Chọn ")


async def options_stored(app: App, chat: str) -> list[list[str]] | None:
    async with app.sessions() as session:
        row = await session.scalar(
            select(ChatOptions).where(ChatOptions.channel == "zalo", ChatOptions.chat_id == chat)
        )
    return None if row is None else row.options


async def start_a_meeting_dialog(bot: ZaloHarness) -> str:
    """An admin's /themhop up to its first numbered options (who is invited)."""
    assert "Thời gian?" in await bot.say("/themhop", chat=ADMIN)
    assert "Địa điểm" in await bot.say("chiều 30/6", chat=ADMIN)
    assert "Nội dung?" in await bot.say("Hội trường Bộ CHQS tỉnh", chat=ADMIN)
    offered = await bot.say("Hội nghị triển khai diễn tập", chat=ADMIN)
    assert "1. Cả cụm" in offered
    return offered


async def test_a_number_typed_before_the_options_are_stored_presses_what_was_offered(demo_db_url: str) -> None:
    """Options are stored with the next batch of answered updates; until then the process's own
    memory says what the numbers mean."""
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    async with FakeZalo() as fake, zalo_bot(app, fake, flush_every=3600) as channel:  # no batch unless asked
        bot = ZaloHarness(app, fake, channel)
        await start_a_meeting_dialog(bot)
        assert await options_stored(app, ADMIN) is None  # not stored yet
        summary = await bot.say("1", chat=ADMIN)
        assert "Thời gian: 13h30 Thứ Năm 30/06/2022" in summary and "1. Lưu" in summary
        assert await options_stored(app, ADMIN) is None
        await channel.seen.flush()
        stored = await options_stored(app, ADMIN)
        assert stored is not None and stored[0][0] == "Lưu"
        assert "Đã thêm [S" in await bot.say("1", chat=ADMIN)
        assert await options_stored(app, ADMIN) == stored  # the clear waits for the batch
        assert "Đã thêm" not in await bot.say("1", chat=ADMIN)  # but counts at once: "1" presses nothing
        await channel.seen.flush()
        assert await options_stored(app, ADMIN) is None
    await app.close()


async def test_options_stored_by_a_background_batch_survive_a_process_that_died(demo_db_url: str) -> None:
    async with FakeZalo() as fake:
        first = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
        async with zalo_bot(first, fake, flush_every=0.02) as channel:
            await start_a_meeting_dialog(ZaloHarness(first, fake, channel))
            for _ in range(200):
                if await options_stored(first, ADMIN) is not None:
                    break
                await asyncio.sleep(0.02)
            assert await options_stored(first, ADMIN) is not None
            # Dies: nothing more is stored (no final batch at a stop).
            assert channel.seen._flusher is not None
            channel.seen._flusher.cancel()
            channel.seen._flusher = None
            channel.seen.flush = _nothing  # type: ignore[method-assign]
        await first.close()
        second = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
        async with zalo_bot(second, fake) as channel:
            summary = await ZaloHarness(second, fake, channel).say("1", chat=ADMIN)
            assert "Thời gian: 13h30 Thứ Năm 30/06/2022" in summary and "1. Lưu" in summary
        await second.close()


async def _nothing() -> None:
    return None


async def test_another_dispatcher_on_the_same_database_sees_the_options_once_stored(demo_db_url: str) -> None:
    """Replicas share the database: within one batch interval another replica does not know the new
    options yet (a number means what it meant before); once the batch is stored it does."""
    app = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    replica = App(make_settings(demo_db_url, admin_zalo_ids=[ADMIN]))
    async with FakeZalo() as fake, zalo_bot(app, fake, flush_every=3600) as channel:
        await start_a_meeting_dialog(ZaloHarness(app, fake, channel))
        info = channel.info()
        clock = channel.clock

        async def replica_says(text: str) -> str:
            incoming = Incoming(
                channel="zalo",
                chat_id=ADMIN,
                chat_type="private",
                sender_id=ADMIN,
                sender_name="A",
                received_at=clock(),
                text=text,
            )
            replica.dispatcher.settings = channel.settings
            return "\n".join(r.text for r in await replica.dispatcher.handle(incoming, info))

        assert "Thời gian: 13h30" not in await replica_says("1")  # not stored yet: "1" offered nothing there
        await channel.seen.flush()
        assert "Thời gian: 13h30 Thứ Năm 30/06/2022" in await replica_says("1")
    await replica.close()
    await app.close()
