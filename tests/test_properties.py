"""Property tests (hypothesis, few examples each so the suite stays fast): whatever people type, send
or upload, the bot answers or refuses in Vietnamese, and never fails inside. Each failure class found
this way has a named regression test at the end of this file."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import App
from bot.channels.console import ConsoleChat
from bot.errors import UserError
from bot.imports import parse_roster, parse_scores, read_table
from bot.vntime import DateParseError, parse_date, parse_date_range, parse_datetime, parse_period, parse_time
from bot.web import Malformed, Webhook, web_app
from handlers.router import APOLOGY, COMMAND_BY_NAME
from tests.chatting import console
from tests.conftest import make_settings

TODAY = date(2022, 6, 22)
QUICK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
WORDS = [
    "lịch", "trực", "mai", "hôm nay", "tối nay", "quý", "quý II/2022", "²", "³", "٣", "Kim Bảng", "kb", "e151",
    "kết quả", "xếp hạng", "tuần sau", "thứ Năm", "thứ 2", "23/6", "31/2", "29/02/2023", "14h", "25h", "14h60",
    "chiều", "ngày", "tháng 13", "năm 2022", "điểm", "S12", "T40", "FT1", "FT3", "|", "%", "-", "1", "0", "99",
    "Hủy", "hủy", "@qtbot_test_bot", "dlg:", "opt:", "\u200b", "\n", "  ",
]  # fmt: skip
COMMANDS = sorted(COMMAND_BY_NAME)
phrases = st.lists(st.sampled_from(WORDS), min_size=1, max_size=7).map(" ".join)
texts = st.one_of(
    st.text(max_size=40),
    phrases,
    st.builds(
        lambda name, rest: f"/{name} {rest}", st.sampled_from(COMMANDS), st.one_of(phrases, st.text(max_size=20))
    ),
)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """Hypothesis drives plain functions: the bot runs in this loop, one example after another."""
    running = asyncio.new_event_loop()
    yield running
    running.close()


def test_the_dispatcher_answers_every_role_whatever_is_typed(loop: asyncio.AbstractEventLoop, demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url))
    chats: dict[str, ConsoleChat] = {
        role: loop.run_until_complete(console(app, role)) for role in ("admin", "officer:Kim Bảng", "guest")
    }

    @QUICK
    @given(role=st.sampled_from(sorted(chats)), text=texts)
    def answers(role: str, text: str) -> None:
        replies = loop.run_until_complete(chats[role].say(text))
        assert replies, (role, text)
        assert all(APOLOGY not in reply.text for reply in replies), (role, text)

    try:
        answers()
    finally:
        loop.run_until_complete(app.close())


@QUICK
@given(text=st.one_of(st.text(max_size=40), phrases), prefer=st.sampled_from(["nearest", "future"]))
def test_the_date_parsers_return_or_explain(text: str, prefer: str) -> None:
    for parse in (
        lambda: parse_time(text),
        lambda: parse_date(text, TODAY, prefer=prefer),
        lambda: parse_datetime(text, TODAY, prefer=prefer),
        lambda: parse_date_range(text, TODAY),
        lambda: parse_period(text, TODAY),
    ):
        try:
            parse()
        except DateParseError as exc:
            assert str(exc)  # a Vietnamese explanation, never an empty one


CSV_CELLS = st.one_of(
    st.sampled_from([*WORDS, "Ngày", "Trực ban", "Đơn vị", "G1", "G2", "TT", "18,5", "-3"]), st.text(max_size=8)
)
tables = st.lists(st.lists(CSV_CELLS, max_size=6), max_size=6)


@QUICK
@given(name=st.sampled_from(["a.csv", "a.xlsx", "a.xls", "a.txt", "a"]), content=st.binary(max_size=300))
def test_the_import_reader_takes_any_bytes(name: str, content: bytes) -> None:
    try:
        table = read_table(name, content)
    except UserError as exc:
        assert str(exc)
        return
    assert all(isinstance(cell, str) for row in table for cell in row)


@QUICK
@given(table=tables)
def test_the_roster_and_score_readers_take_any_table(table: list[list[str]]) -> None:
    for parse in (lambda: parse_roster(table, TODAY), lambda: parse_scores(table, ["G1", "G2", "G3"])):
        try:
            parse()
        except UserError as exc:
            assert str(exc)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def test_webhook_bodies_never_end_in_a_server_error(loop: asyncio.AbstractEventLoop, demo_db_url: str) -> None:
    """Any body with the right secret: 200 (read, or malformed and logged), 400 (not JSON) or 413."""
    app = App(make_settings(demo_db_url))
    received: list[object] = []

    async def receive(data: object) -> None:
        if not isinstance(data, dict) or "update_id" not in data:
            raise Malformed("no update_id")
        received.append(data)

    web = web_app(app.sessions, webhooks=[Webhook("telegram", "/hook", "X-Secret", "s" * 20, receive)])

    async def post(body: bytes, length: str | None) -> int:
        headers = {"X-Secret": "s" * 20}
        if length is not None:
            headers["content-length"] = length
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.vn") as client:
            return (await client.post("/hook", content=body, headers=headers)).status_code

    @QUICK
    @given(
        body=st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode())),
        length=st.one_of(st.none(), st.sampled_from(["0", "5", "-1", "1e3", "99999999999", " 7"])),
    )
    def answered(body: bytes, length: str | None) -> None:
        assert loop.run_until_complete(post(body, length)) in (200, 400, 413)

    try:
        answered()
    finally:
        loop.run_until_complete(app.close())


# --- regressions found by the properties above ----------------------------------------------------------


async def test_a_superscript_two_is_not_a_number_to_press(demo_app: App) -> None:
    chat = await console(demo_app, "officer:Kim Bảng")
    for text in ("²", "kết quả quý ²", "/ketqua ²"):
        replies = await chat.say(text)
        assert replies and all(APOLOGY not in r.text for r in replies)
