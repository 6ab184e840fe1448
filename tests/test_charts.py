"""Pictures beside the text answers: the ranking (/xephang, and "/xephang biểu đồ"), a unit's trend and
criteria (/ketqua <đơn vị>), the duty load (/thongke trực): drawn with matplotlib, the demo's marked
"số liệu minh họa", sent as a photo on Telegram, by address on Zalo, saved as a file by the console;
a period or month without data gets a sentence, never an empty chart."""

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
from bot.models import ReviewPeriod, Unit
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
    (reply,) = await officer.say("/xephang")
    assert reply.photo is not None and reply.photo.content.startswith(PNG)
    assert reply.photo.caption == "Xếp hạng thi đua quý II/2022 (số liệu minh họa)"
    assert "1. Kim Bảng: 92,5 điểm — Xuất sắc" in reply.text and reply.buttons  # the table stays
    out = io.StringIO()
    officer.out = out
    await officer.run(io.StringIO("/xephang\n"), echo=False)
    lines = out.getvalue().splitlines()
    saved = next(line for line in lines if line.startswith("[tệp] "))
    assert lines.index(saved) > lines.index("[7] Bình Lục")  # after the text and its options
    assert saved.endswith(".png") and _read(saved.removeprefix("[tệp] ")).startswith(PNG)
    # Asked again with nothing changed: the same picture, drawn once; "biểu đồ" asks the same.
    assert (await officer.say("/xephang biểu đồ"))[0].photo.content == reply.photo.content  # type: ignore[union-attr]
    # The plain-words question that shows the table sends the picture too.
    (plain,) = await officer.say("kết quả chấm điểm quý 2")
    assert plain.photo is not None and plain.photo.content == reply.photo.content


async def test_a_units_results_come_with_its_trend_and_criteria(app: App) -> None:
    officer = await console(app)
    (reply,) = await officer.say("/ketqua Bình Lục")
    assert "84,0 điểm, xếp thứ 7/7, loại Tốt." in reply.text
    assert reply.photo is not None and reply.photo.content.startswith(PNG)
    assert reply.photo.filename == "ket-qua-binh-luc-quy-ii-2022.png"
    async with app.sessions() as session:
        from bot.services import results

        period = await results.latest_period(session, 1, date(2022, 6, 22), include_drafts=False)
        assert period is not None
        table = await results.result_table(session, period)
        unit = next(r.unit for r in table.rows if r.unit.short_name == "Bình Lục")
        trend = await results.unit_trend(session, period, unit.id, include_drafts=False)
    chart = views.unit_chart(table, unit, "quý II/2022", trend)
    assert chart is not None and chart.watermark == "số liệu minh họa"
    line, shares = chart.panels
    assert line.labels == ("quý II/2022",) and line.values == (84.0,)
    assert shares.labels[0] == "G1 Lãnh đạo, CTĐ-CTCT" and shares.value_labels[0] == "17,0/20,0"
    assert all(v <= m for v, m in zip(shares.values, shares.maxima, strict=True))
    assert "TT" not in " ".join(shares.labels)  # the ± line has no maximum to fill


async def test_the_trend_has_a_point_per_period_of_the_same_kind(app: App) -> None:
    admin = await console(app, "admin")
    # Q1/2022 scored too (a draft, then published): the trend has two points, oldest first.
    answer = await ask(admin, "/chamdiem Bình Lục | quý 1/2022 | G1=18 G2=26 G3=13 G4=13 G5=8,5 G6=8,5")
    assert "tổng 87,0 điểm" in answer, answer
    async with app.sessions() as session:
        from bot.services import results

        q2 = await results.latest_period(session, 1, date(2022, 6, 22), include_drafts=True)
        assert q2 is not None
        unit_id = (await results.result_table(session, q2)).rows[-1].unit.id
        drafts = await results.unit_trend(session, q2, unit_id, include_drafts=True)
        published = await results.unit_trend(session, q2, unit_id, include_drafts=False)
    assert [(results.period_spec(p.period).label(), float(p.total)) for p in drafts] == [
        ("quý I/2022", 87.0),
        ("quý II/2022", 84.0),
    ]
    assert [results.period_spec(p.period).label() for p in published] == ["quý II/2022"]


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
    table = ResultTable(period, [], [])
    reply = views.ranking_with_chart(table, "quý III/2022", "Cụm thi đua số 2", "p:2022q3")
    assert reply.photo is None and "Chưa có điểm nào cho kỳ này, nên chưa có bảng và biểu đồ xếp hạng." in reply.text
    unit = Unit(id=7, name="Ban CHQS huyện Bình Lục", short_name="Bình Lục")
    reply = views.unit_with_chart(table, unit, "quý III/2022", "p:2022q3", [])
    assert reply.photo is None and reply.text == "Ban CHQS huyện Bình Lục chưa có điểm quý III/2022."
    assert views.unit_chart(table, unit, "quý III/2022", []) is None


async def test_a_period_without_scores_through_the_console(app: App) -> None:
    admin = await console(app, "admin")
    (none,) = await admin.say("/xephang quý 4/2022")
    assert none.photo is None and none.text == "Chưa có kết quả quý IV/2022. Hiện có: quý II/2022."
    answer = await ask(admin, "/chamdiem Bình Lục | quý 3/2022 | G1=18 G2=26 G3=13 G4=13 G5=8,5 G6=8,5")
    assert "tổng 87,0 điểm" in answer, answer  # a draft Q3 with one unit
    (ranking,) = await admin.say("/xephang quý 3/2022")
    assert ranking.photo is not None and "1. Bình Lục: 87,0 điểm" in ranking.text  # a chart of one bar
    (other,) = await admin.say("/ketqua Kim Bảng quý 3/2022")
    assert other.photo is None and other.text == "Ban CHQS huyện Kim Bảng chưa có điểm quý III/2022."


def test_each_chart_renders_in_under_300_ms() -> None:
    """Drawn from scratch (cache emptied), with matplotlib already imported by the tests before."""
    from time import perf_counter

    from bot.services import charts
    from bot.services.readiness import DutyLoad
    from bot.views import readiness as readiness_views

    loads = [DutyLoad(f"Đại úy Nguyễn Văn {chr(65 + i)}", 2 + i % 3, 24.0 * (2 + i % 3)) for i in range(12)]
    chart = readiness_views.load_chart("Kim Bảng", 6, 2022, loads, illustrative=True)
    render_png(chart)
    charts._render.cache_clear()
    started = perf_counter()
    png = render_png(chart)
    assert png.startswith(PNG) and perf_counter() - started < 0.3 * 3  # 3x room for a loaded test machine


async def test_telegram_gets_a_photo(demo_db_url: str) -> None:
    app = App(make_settings(demo_db_url, admin_telegram_ids=[TG_ADMIN]))
    async with FakeTelegram() as fake:
        settings = fake_settings(app.settings, fake)
        async with telegram_bot(app.dispatcher, settings, fake, clock=fixed_clock(NOW, settings)) as channel:
            tg = Harness(app, fake, channel)
            await tg.join(TG_OFFICER, "Kim Bảng")
            fake.user_sends("/xephang", user_id=TG_OFFICER)
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
        await zalo.say("/ketqua Bình Lục")
        (photo,) = [m for m in fake.messages(ZALO_OFFICER) if m.method == "sendPhoto"]
        assert photo.photo and photo.photo.startswith(f"{PUBLIC}/files/")
        assert photo.photo_status == 200 and (photo.photo_bytes or b"").startswith(PNG)
        # Asked again: the same picture by the same address, not stored a second time.
        await zalo.say("/ketqua Bình Lục")
        first, again = [m for m in fake.messages(ZALO_OFFICER) if m.method == "sendPhoto"]
        assert again.photo == first.photo


def _read(path: str) -> bytes:
    return Path(path).read_bytes()
