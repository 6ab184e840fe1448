"""The ranking as a picture (/xephang biểu đồ): drawn with matplotlib, the demo's marked "số liệu minh
họa", sent as a photo on Telegram, by address on Zalo, saved as a file by the console."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest

from bot.app import App
from bot.channels.console import FileShelf
from bot.cli import fixed_clock
from bot.models import ReviewPeriod
from bot.services.charts import render_png
from bot.services.results import ResultTable
from bot.views import results as views
from tests.chatting import ask, console
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

PNG = b"\x89PNG\r\n\x1a\n"
PUBLIC = "https://bot.example.vn"


@pytest.fixture
async def app(demo_db_url: str) -> AsyncIterator[App]:
    settings = make_settings(demo_db_url, admin_zalo_ids=[ZALO_ADMIN], public_url=PUBLIC)
    app = App(settings, clock=fixed_clock(NOW, settings))
    yield app
    await app.close()


async def test_the_console_saves_the_ranking_picture(app: App, tmp_path: Path) -> None:
    officer = await console(app)
    officer.shelf = FileShelf(tmp_path)
    (reply,) = await officer.say("/xephang biểu đồ")
    assert reply.photo is not None and reply.photo.content.startswith(PNG)
    assert "quý II/2022" in reply.text and "số liệu minh họa" in reply.text
    out = io.StringIO()
    officer.out = out
    await officer.run(io.StringIO("/xephang biểu đồ\n"), echo=False)
    saved = next(line for line in out.getvalue().splitlines() if line.startswith("[tệp] "))
    assert saved.endswith(".png") and _read(saved.removeprefix("[tệp] ")).startswith(PNG)
    # Asked again with nothing changed: the same picture, drawn once.
    assert (await officer.say("/xephang biểu đồ"))[0].photo.content == reply.photo.content  # type: ignore[union-attr]
    # The table itself is unchanged (no picture without asking for one).
    assert (await officer.say("/xephang"))[0].photo is None


async def test_the_chart_follows_the_table(app: App) -> None:
    officer = await console(app)
    text = await ask(officer, "/xephang")
    async with app.sessions() as session:
        from bot.services import results

        period = await results.latest_period(session, 1, date(2022, 6, 22), include_drafts=False)
        assert period is not None
        table = await results.result_table(session, period)
    chart = views.ranking_chart(table, "quý II/2022", "Cụm thi đua số 2")
    assert chart.watermark == "số liệu minh họa"
    assert list(chart.values) == sorted(chart.values, reverse=True)
    for name, value in zip(chart.labels, chart.values, strict=True):
        assert f"{name}: {value:.1f}".replace(".", ",") in text
    assert dict((grade, colour) for colour, grade in chart.legend) == {"Xuất sắc": "#2e7d32", "Tốt": "#1565c0"}
    # Real data: no watermark.
    period.illustrative = False
    assert views.ranking_chart(table, "quý II/2022", "Cụm thi đua số 2").watermark is None
    assert render_png(chart) is render_png(chart)  # cached per content


def test_an_empty_period_gets_a_message_not_an_empty_chart() -> None:
    period = ReviewPeriod(year=2022, kind="quarter", number=3, status="published", illustrative=False)
    reply = views.ranking_chart_reply(ResultTable(period, [], []), "quý III/2022", "Cụm thi đua số 2")
    assert reply.photo is None and "Chưa có điểm nào quý III/2022" in reply.text


async def test_telegram_gets_a_photo(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_telegram_ids=[TG_ADMIN]))
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake)
        async with telegram_bot(app.dispatcher, settings, fake, clock=fixed_clock(NOW, settings)) as channel:
            tg = Harness(app, fake, channel)
            await tg.join(TG_OFFICER, "Kim Bảng")
            fake.user_sends("/xephang biểu đồ", user_id=TG_OFFICER)
            photo = None
            for _ in range(400):
                photo = next((m for m in fake.messages(TG_OFFICER) if m.photo_bytes), None)
                if photo is not None:
                    break
                await asyncio.sleep(0.025)
            assert photo is not None and photo.photo_bytes.startswith(PNG)  # type: ignore[union-attr]
            assert "số liệu minh họa" in (photo.caption or "")
    await app.close()


async def test_zalo_gets_a_photo_by_address_from_the_web_app(app: App) -> None:
    web = httpx.ASGITransport(app=app.web([], []))
    async with (
        FakeZalo(fetch_photos=True, photo_transport=web) as fake,
        zalo_bot(app, fake, public_url=PUBLIC) as channel,
    ):
        zalo = ZaloHarness(app, fake, channel)
        await zalo.join(ZALO_OFFICER, "Kim Bảng")
        await zalo.say("/xephang biểu đồ")
        (photo,) = [m for m in fake.messages(ZALO_OFFICER) if m.method == "sendPhoto"]
        assert photo.photo and photo.photo.startswith(f"{PUBLIC}/files/")
        assert photo.photo_status == 200 and (photo.photo_bytes or b"").startswith(PNG)


def _read(path: str) -> bytes:
    return Path(path).read_bytes()
