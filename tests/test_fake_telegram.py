"""End-to-end tests of :mod:`tests.fakes.telegram` driven by a real PTB Application."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import json
import sys
import textwrap
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram import Bot, BotCommand, BotCommandScopeChat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.fakes.telegram import FakeTelegram, FloodLimits, parse_html, utf16_len

TOKEN = "123456:TEST-TOKEN"
FAKE_ROOT = "http://fake.api"
USER = 111


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    telegram = FakeTelegram(token=TOKEN, bot_username="qtbot_test_bot")
    yield telegram
    await telegram.aclose()


@pytest.fixture(autouse=True)
def _timedelta_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB 22 warns when RetryAfter.retry_after is read as int; opt in to timedelta values.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


# ------------------------------------------------------------------ the tiny bot under test


async def _start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Bấm đi", callback_data="press:1")]])
    await update.effective_message.reply_text(
        "Xin chào <b>Quyết Thắng</b> &amp; đồng đội!", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


async def _button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    await query.answer("Đã nhận")
    await query.edit_message_text(f"Bạn chọn {query.data}")


async def _document(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    document = update.effective_message.document
    tg_file = await document.get_file()
    data = bytes(await tg_file.download_as_bytearray())
    await update.effective_message.reply_document(
        document=data, filename=f"copy_{document.file_name}", caption=f"{len(data)} bytes"
    )


def _build_app(base: str, transport: httpx.AsyncBaseTransport | None = None) -> Application:
    def request() -> HTTPXRequest:
        return HTTPXRequest(httpx_kwargs={"transport": transport} if transport else None)

    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(f"{base}/bot{{token}}")
        .base_file_url(f"{base}/file/bot{{token}}")
        .request(request())
        .get_updates_request(request())
        .job_queue(None)
        .build()
    )
    app.add_handler(CommandHandler("start", _start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, _echo))
    app.add_handler(MessageHandler(filters.Document.ALL, _document))
    app.add_handler(CallbackQueryHandler(_button))
    return app


@contextlib.asynccontextmanager
async def _running(app: Application) -> AsyncIterator[Application]:
    await app.initialize()
    await app.start()
    await app.updater.start_polling(poll_interval=0, timeout=1)
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


def _bot(fake: FakeTelegram, token: str = TOKEN, read_timeout: float = 5.0) -> Bot:
    request = HTTPXRequest(read_timeout=read_timeout, httpx_kwargs={"transport": fake.transport()})
    return Bot(
        token,
        base_url=f"{FAKE_ROOT}/bot",
        base_file_url=f"{FAKE_ROOT}/file/bot",
        request=request,
        get_updates_request=HTTPXRequest(httpx_kwargs={"transport": fake.transport()}),
    )


async def _conversation(fake: FakeTelegram) -> None:
    fake.user_sends("/start", user_id=USER, first_name="An")
    welcome = await fake.wait_for_message(USER)
    assert welcome.text == "Xin chào Quyết Thắng & đồng đội!"
    assert welcome.raw_text == "Xin chào <b>Quyết Thắng</b> &amp; đồng đội!"
    assert welcome.parse_mode == "HTML"
    assert welcome.entities == [{"offset": 9, "length": 11, "type": "bold"}]
    assert welcome.reply_markup == {"inline_keyboard": [[{"text": "Bấm đi", "callback_data": "press:1"}]]}
    assert welcome.reply_to_message_id is None  # PTB quotes by default only outside private chats
    fake.user_sends("Chào bot 👋", user_id=USER)
    echo = await fake.wait_for_message(USER)
    assert echo.text == "Chào bot 👋"
    assert echo.method == "sendMessage"
    assert echo.message_id > welcome.message_id
    assert isinstance(echo.date, int)


# ------------------------------------------------------------------ round trips with PTB


async def test_echo_round_trip_in_process(fake: FakeTelegram) -> None:
    async with _running(_build_app(FAKE_ROOT, fake.transport())):
        await _conversation(fake)
    assert fake.stats.calls["getMe"] == 1
    assert fake.stats.calls["deleteWebhook"] == 1
    assert fake.stats.calls["sendMessage"] == 2


async def test_echo_round_trip_over_http(fake: FakeTelegram) -> None:
    async with fake.serve(port=0) as root:
        assert root.startswith("http://127.0.0.1:")
        async with _running(_build_app(root)):
            await _conversation(fake)
    assert fake.stats.calls["sendMessage"] == 2


async def test_separate_process_against_http_server(fake: FakeTelegram) -> None:
    fake.add_chat(555, first_name="Bình")
    script = textwrap.dedent(
        """
        import asyncio, sys
        from telegram import Bot

        async def main():
            root = sys.argv[1]
            async with Bot(sys.argv[2], base_url=root + "/bot") as bot:
                me = await bot.get_me()
                await bot.send_message(555, "từ tiến trình khác: @" + me.username)

        asyncio.run(main())
        """
    )
    async with fake.serve() as root:
        process = await asyncio.create_subprocess_exec(sys.executable, "-c", script, root, TOKEN)
        assert await asyncio.wait_for(process.wait(), timeout=10) == 0
    record = await fake.wait_for_message(555, timeout=0)
    assert record.text == "từ tiến trình khác: @qtbot_test_bot"


async def test_updates_confirmed_by_offset_are_not_redelivered(fake: FakeTelegram) -> None:
    async with _running(_build_app(FAKE_ROOT, fake.transport())):
        for n in range(3):
            fake.user_sends(f"tin {n}", user_id=USER)
        texts = [(await fake.wait_for_message(USER)).text for _ in range(3)]
        assert texts == ["tin 0", "tin 1", "tin 2"]
        await fake.wait_for_idle(quiet=0.2)
    assert len(fake.messages(USER)) == 3  # nothing handled twice
    assert fake.pending_updates == []  # stop() confirmed the last batch

    # raw semantics: unconfirmed updates are re-sent, confirmed ones forgotten
    first = fake.user_sends("a", user_id=USER)["update_id"]
    second = fake.user_sends("b", user_id=USER)["update_id"]
    assert second == first + 1
    _, body = await fake.call("getUpdates", {"offset": "0"})
    assert [u["update_id"] for u in body["result"]] == [first, second]
    _, body = await fake.call("getUpdates", {"offset": str(first + 1), "limit": "1"})
    assert [u["update_id"] for u in body["result"]] == [second]
    _, body = await fake.call("getUpdates", {"offset": str(second + 1)})
    assert body["result"] == []
    assert fake.pending_updates == []


async def test_long_poll_wakes_up_and_conflicts() -> None:
    fake = FakeTelegram(token=TOKEN)
    poll = asyncio.create_task(fake.call("getUpdates", {"timeout": "5"}))
    await asyncio.sleep(0.01)
    fake.user_sends("dậy đi")
    status, body = await asyncio.wait_for(poll, 1)
    assert status == 200
    assert body["result"][0]["message"]["text"] == "dậy đi"

    older = asyncio.create_task(fake.call("getUpdates", {"offset": "999999", "timeout": "5"}))
    await asyncio.sleep(0.01)
    newer = asyncio.create_task(fake.call("getUpdates", {"offset": "999999", "timeout": "0"}))
    status, body = await asyncio.wait_for(older, 1)
    assert status == 409
    assert body["description"].startswith("Conflict: terminated by other getUpdates request")
    assert (await newer)[0] == 200
    await fake.aclose()


async def test_callback_button_answers_and_edits(fake: FakeTelegram) -> None:
    async with _running(_build_app(FAKE_ROOT, fake.transport())):
        fake.user_sends("/start", user_id=USER)
        welcome = await fake.wait_for_message(USER)
        update = fake.user_presses(welcome, "press:1", user_id=USER)
        query_id = update["callback_query"]["id"]
        answer = await fake.wait_for_callback_answer(query_id)
        assert answer.text == "Đã nhận"
        assert not answer.show_alert
        edit = await fake.wait_for_call("editMessageText")
        assert edit.status == 200
    assert welcome.text == "Bạn chọn press:1"
    assert welcome.edit_count == 1
    assert welcome.reply_markup is None  # editing without reply_markup drops the keyboard
    assert update["callback_query"]["message"]["text"] == "Xin chào Quyết Thắng & đồng đội!"
    with pytest.raises(ValueError, match="no button"):
        fake.user_presses(welcome, "press:1")

    async with _bot(fake) as bot:
        with pytest.raises(BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(query_id)
        with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("Bạn chọn press:1", chat_id=USER, message_id=welcome.message_id)
        with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
            await bot.edit_message_text("x", chat_id=USER, message_id=9999)
        await bot.delete_message(USER, welcome.message_id)
    assert welcome.deleted


# ------------------------------------------------------------------ validation


async def test_message_length_counts_utf16_units(fake: FakeTelegram) -> None:
    fake.add_chat(USER)
    async with _bot(fake) as bot:
        await bot.send_message(USER, "a" * 4096)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, "a" * 4097)
        emoji = "😀" * 2048  # 2048 characters, 4096 UTF-16 units
        assert utf16_len(emoji) == 4096
        await bot.send_message(USER, emoji)
        with pytest.raises(BadRequest, match=r"(?i)message is too long"):
            await bot.send_message(USER, emoji + "a")
        # markup does not count: 4096 visible characters inside <b> is fine
        await bot.send_message(USER, "<b>" + "b" * 4096 + "</b>", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(USER, " \n ")
    assert [utf16_len(m.text) for m in fake.messages(USER)] == [4096, 4096, 4096]


async def test_callback_data_limit_is_64_bytes(fake: FakeTelegram) -> None:
    fake.add_chat(USER)
    data = "thi_đua:Đại_đội_Quyết_Thắng_xếp_hạng_nhất_tháng_năm"
    assert len(data) < 64 < len(data.encode("utf-8"))
    async with _bot(fake) as bot:
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(
                USER,
                "Chọn",
                reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Đơn vị", callback_data=data)]]),
            )
        ok = "x" * 64
        message = await bot.send_message(
            USER, "Chọn", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("OK", callback_data=ok)]])
        )
        assert message.reply_markup.inline_keyboard[0][0].callback_data == ok
        with pytest.raises(BadRequest, match=r"(?i)reply markup is too long"):
            buttons = [[InlineKeyboardButton(str(i), callback_data=str(i))] for i in range(101)]
            await bot.send_message(USER, "nhiều", reply_markup=InlineKeyboardMarkup(buttons))


async def test_invalid_html_is_rejected(fake: FakeTelegram) -> None:
    fake.add_chat(USER)
    async with _bot(fake) as bot:
        with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "foo" at byte offset 6') as info:
            await bot.send_message(USER, "Lỗi <foo>x</foo>", parse_mode=ParseMode.HTML)
        assert info.value.message.startswith("Can't parse entities")
        with pytest.raises(BadRequest, match=r'(?i)find end tag corresponding to start tag "b"'):
            await bot.send_message(USER, "<b>đậm", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(USER, "điểm < 5", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
            await bot.send_message(USER, "A & B", parse_mode=ParseMode.HTML)
        with pytest.raises(BadRequest, match=r"(?i)reserved and must be escaped"):
            await bot.send_message(USER, "Hạng 1.", parse_mode=ParseMode.MARKDOWN_V2)
        sent = await bot.send_message(USER, "Hạng 1\\. *đậm*", parse_mode=ParseMode.MARKDOWN_V2)
        assert sent.text == "Hạng 1. đậm"
        assert sent.entities[0].type == "bold"
    assert parse_html("<i>😀</i>x").entities == [{"offset": 0, "length": 2, "type": "italic"}]


async def test_injected_errors_map_to_ptb_exceptions(fake: FakeTelegram) -> None:
    fake.add_chat(USER)
    fake.add_chat(-1001, chat_type="supergroup", title="Cụm 1")
    async with _bot(fake) as bot:
        fake.fail_next("sendMessage", error_code=429, description="Too Many Requests: retry after 3", retry_after=3)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(USER, "a")
        assert info.value.retry_after == dtm.timedelta(seconds=3)
        await bot.send_message(USER, "b")  # times=1: the next call works again
        assert fake.stats.too_many_requests == 1

        fake.fail_next("sendMessage", error_code=500, chat_id=USER)
        with pytest.raises(Exception, match="Internal Server Error"):
            await bot.send_message(USER, "c")

        fake.block_chat(USER)
        fake.block_chat(-1001)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(USER, "d")
        with pytest.raises(Forbidden, match="kicked from the supergroup chat"):
            await bot.send_message(-1001, "d")
        fake.unblock_chat(USER)

        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message(424242, "e")
    assert [m.text for m in fake.messages(USER)] == ["b"]
    assert fake.stats.errors[403] == 2
    bad = _bot(fake, token="123456:WRONG")
    with pytest.raises(InvalidToken, match="rejected by the server"):
        await bad.initialize()
    await bad.shutdown()


async def test_delay_causes_client_timeout_but_message_is_delivered(fake: FakeTelegram) -> None:
    fake.add_chat(USER)
    fake.fail_next("sendMessage", error_code=None, delay=0.3)
    async with _bot(fake, read_timeout=0.05) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(USER, "chậm")
    record = await fake.wait_for_message(USER, timeout=2)
    assert record.text == "chậm"  # like Telegram: the client timed out, the message was still sent


async def test_raw_http_errors(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(transport=fake.transport(), base_url=FAKE_ROOT) as client:
        response = await client.post("/bot999:NOPE/getMe")
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        response = await client.post(f"/bot{TOKEN}/fooBar")
        assert response.status_code == 404
        assert response.json()["description"] == "Not Found"
        response = await client.post(f"/bot{TOKEN}/getme", json={})
        assert response.json()["result"]["is_bot"] is True
        fake.add_chat(USER)
        markup = {"inline_keyboard": [[{"text": "x", "callback_data": "y", "url": "https://a.b"}]]}
        response = await client.post(
            f"/bot{TOKEN}/sendMessage", json={"chat_id": USER, "text": "hi", "reply_markup": markup}
        )
        assert response.status_code == 400
        assert "exactly one" in response.json()["description"]


async def test_set_my_commands_validation(fake: FakeTelegram) -> None:
    async with _bot(fake) as bot:
        commands = [BotCommand("start", "Bắt đầu"), BotCommand("bang_xep_hang", "Bảng xếp hạng thi đua")]
        assert await bot.set_my_commands(commands)
        assert [c.command for c in await bot.get_my_commands()] == ["start", "bang_xep_hang"]
        scope = BotCommandScopeChat(USER)
        await bot.set_my_commands([BotCommand("admin", "Quản trị")], scope=scope, language_code="vi")
        assert [c.command for c in await bot.get_my_commands(scope=scope, language_code="vi")] == ["admin"]
        assert await bot.get_my_commands(scope=scope) == ()
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("Start", "Hoa")])
        with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
            await bot.set_my_commands([BotCommand("x" * 33, "dài")])
        with pytest.raises(BadRequest, match=r"(?i)description_invalid"):
            await bot.set_my_commands([BotCommand("ok", "m" * 257)])
        with pytest.raises(BadRequest, match=r"(?i)too_much"):
            await bot.set_my_commands([BotCommand(f"c{i}", "d") for i in range(101)])
        await bot.delete_my_commands()
        assert await bot.get_my_commands() == ()
    assert fake.commands == {
        (json.dumps({"type": "chat", "chat_id": USER}, sort_keys=True), "vi"): [
            {"command": "admin", "description": "Quản trị"}
        ]
    }


# ------------------------------------------------------------------ files


async def test_bot_uploads_document_and_reads_it_back(fake: FakeTelegram) -> None:
    fake.add_chat(USER)
    content = "Đơn vị,Điểm\nĐại đội 1,98\n".encode()
    async with _bot(fake) as bot:
        message = await bot.send_document(
            USER,
            document=content,
            filename="bang_diem.csv",
            caption="<b>Bảng điểm</b> tháng 5",
            parse_mode=ParseMode.HTML,
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("Tải lại", callback_data="reload")]]),
        )
        assert message.document.file_name == "bang_diem.csv"
        assert message.caption == "Bảng điểm tháng 5"
        tg_file = await bot.get_file(message.document.file_id)
        assert bytes(await tg_file.download_as_bytearray()) == content
        with pytest.raises(BadRequest, match=r"(?i)caption is too long"):
            await bot.send_document(USER, document=b"x", filename="a.txt", caption="c" * 1025)
        photo = await bot.send_photo(USER, photo=b"\xff\xd8\xff\xe0fakejpeg", caption="ảnh")
        assert photo.photo[0].file_id
    record = fake.messages(USER)[0]
    assert record.method == "sendDocument"
    assert record.document_name == "bang_diem.csv"
    assert record.document_bytes == content
    assert record.text == record.caption == "Bảng điểm tháng 5"
    assert record.reply_markup == {"inline_keyboard": [[{"text": "Tải lại", "callback_data": "reload"}]]}
    assert fake.messages(USER)[1].photo_bytes == b"\xff\xd8\xff\xe0fakejpeg"


async def test_user_document_round_trip_through_bot(fake: FakeTelegram) -> None:
    content = bytes(range(256)) * 40
    async with _running(_build_app(FAKE_ROOT, fake.transport())):
        update = fake.user_sends_document("so_lieu.xlsx", content, "application/vnd.ms-excel", user_id=USER)
        reply = await fake.wait_for_message(USER)
    document = update["message"]["document"]
    assert document["file_size"] == len(content)
    assert reply.document_name == "copy_so_lieu.xlsx"
    assert reply.document_bytes == content
    assert reply.caption == f"{len(content)} bytes"


# ------------------------------------------------------------------ webhook and flood limits


async def test_webhook_delivery_with_secret_and_retry() -> None:
    received: list[tuple[str | None, dict]] = []
    attempts = {"n": 0}

    async def hook(request: Request) -> JSONResponse:
        attempts["n"] += 1
        if attempts["n"] == 1:
            return JSONResponse({"error": "busy"}, status_code=500)
        received.append((request.headers.get("x-telegram-bot-api-secret-token"), await request.json()))
        return JSONResponse({})

    webhook_app = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    fake = FakeTelegram(token=TOKEN, webhook_transport=httpx.ASGITransport(app=webhook_app))
    async with fake, _bot(fake) as bot:
        assert await bot.set_webhook("https://bot.example/hook", secret_token="s3cr3t-token")
        info = await bot.get_webhook_info()
        assert info.url == "https://bot.example/hook"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        update = fake.user_sends("qua webhook", user_id=USER)
        for _ in range(200):
            if received:
                break
            await asyncio.sleep(0.01)
        assert received == [("s3cr3t-token", update)]
        assert [(d.attempt, d.status_code, d.ok) for d in fake.webhook_deliveries] == [
            (1, 500, False),
            (2, 200, True),
        ]
        assert (await bot.get_webhook_info()).pending_update_count == 0
        assert await bot.delete_webhook()
        fake.user_sends("sau khi xoá webhook", user_id=USER)
        updates = await bot.get_updates()
        assert updates[0].message.text == "sau khi xoá webhook"


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_flood_limits_answer_429() -> None:
    fake = FakeTelegram(token=TOKEN, limits=FloodLimits(global_per_second=1000, per_chat_per_second=1))
    fake.add_chat(USER)
    fake.add_chat(222)
    async with fake, _bot(fake) as bot:
        await bot.send_message(USER, "1")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(USER, "2")
        assert info.value.retry_after == dtm.timedelta(seconds=1)
        await bot.send_message(222, "khác chat")
    assert fake.stats.too_many_requests == 1
    assert [m.text for m in fake.sent] == ["1", "khác chat"]

    clock = _Clock()
    groups = FakeTelegram(token=TOKEN, limits=FloodLimits(), clock=clock)
    groups.add_chat(-500, chat_type="group", title="Cụm thi đua")
    for _ in range(20):
        assert (await groups.call("sendMessage", {"chat_id": "-500", "text": "x"}))[0] == 200
        clock.now += 1.01
    status, body = await groups.call("sendMessage", {"chat_id": "-500", "text": "x"})
    assert status == 429
    assert body["parameters"]["retry_after"] >= 1
    assert body["description"] == f"Too Many Requests: retry after {body['parameters']['retry_after']}"
    clock.now += 60
    assert (await groups.call("sendMessage", {"chat_id": "-500", "text": "x"}))[0] == 200
