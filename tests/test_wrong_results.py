"""Issue 11's wrong results, each as the user met it: a score that is not a number, a sheet with
criteria missing, a publication with units unscored, a late reminder's lead time, the tick's count
of missed rows, a digest past its catch-up window, a feed that answers 404, a doubled kind in a
title, a repeated date in a header, a group upgraded to a supergroup."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from bot.app import App
from bot.channels.console import ConsolePushes
from bot.cli import fixed_clock
from bot.models import AuditEntry, OutboxMessage, Score
from tests.chatting import ask, button, console, qtbot, qtbot_env
from tests.conftest import make_settings


async def _count(app: App, model: type, *where: object) -> int:
    async with app.sessions() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where))


# --- scores ------------------------------------------------------------------------------------------


async def test_a_score_that_is_not_a_number_is_refused_and_nothing_written(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    scores = await _count(demo_app, Score)
    answer = await ask(admin, "/chamdiem Phủ Lý | quý 3/2022 | G1=abc")
    assert "Điểm G1 (Lãnh đạo, CTĐ-CTCT) phải là một số, ví dụ G1=18,5 (đang là “abc”)." in answer, answer
    assert "Đã ghi" not in answer
    # One good value and one bad: still nothing written.
    assert "phải là một số" in await ask(admin, "/chamdiem Phủ Lý | quý 3/2022 | G1=18 G2=hai")
    assert (await _count(demo_app, Score), await _count(demo_app, AuditEntry)) == (scores, 0)


async def test_a_sheet_with_criteria_missing_names_them_and_asks_before_saving(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    before = await _count(demo_app, Score)
    answer = await ask(admin, "/chamdiem Phủ Lý | quý 3/2022 | G1=18 G2=27")
    assert "Còn thiếu điểm 4 tiêu chí: G3" in answer and "G6" in answer, answer
    assert "TT" not in answer.split("Còn thiếu")[1]  # the ± line may stay empty
    assert "[1] Lưu" in answer and "Hủy" in answer
    assert await _count(demo_app, Score) == before  # nothing yet
    assert "Đã ghi điểm Phủ Lý" in await ask(admin, button(answer, "Lưu"))
    assert await _count(demo_app, Score) == before + 2
    # The rest of the sheet later: complete now, saved at once.
    assert "Đã ghi điểm Phủ Lý" in await ask(admin, "/chamdiem Phủ Lý | quý 3/2022 | G3=13 G4=13 G5=9 G6=9")
    # A full sheet in one line is saved without a question, as before.
    assert "Đã ghi điểm Kim Bảng" in await ask(admin, "/chamdiem Kim Bảng | quý 3/2022 | 18 27 13 13 9 9")


async def test_publishing_names_the_units_without_scores(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    for unit in ("Kim Bảng", "Thanh Liêm", "Phủ Lý", "Duy Tiên"):
        await ask(admin, f"/chamdiem {unit} | quý 3/2022 | 18 27 13 13 9 9")
    preview = await ask(admin, "/congbo quý 3/2022")
    assert "3/7 đơn vị chưa có điểm: Bình Lục, Lý Nhân, Trung đoàn 151." in preview, preview
    assert "[1] Công bố" in preview
    # A full cluster: no warning.
    for unit in ("Bình Lục", "Lý Nhân", "Trung đoàn 151"):
        await ask(admin, f"/chamdiem {unit} | quý 3/2022 | 18 27 13 13 9 9")
    assert "chưa có điểm" not in await ask(admin, "/congbo quý 3/2022")


# --- the scheduler -------------------------------------------------------------------------------------


def test_qtbot_tick_counts_the_reminders_it_writes_as_missed(demo_db_url: str, tmp_path: Path) -> None:
    env = qtbot_env(demo_db_url)
    qtbot("chat", "--as", "officer:Kim Bảng", "--now", "2022-06-22 10:00", env=env, cwd=tmp_path, stdin="/caidat\n")
    qtbot("tick", "--now", "2022-06-22 10:00", env=env, cwd=tmp_path)
    # Down until the next evening: the 16h00 and the 2-hour reminders of the 23/06 conference were missed.
    out = qtbot("tick", "--now", "2022-06-23 18:00", env=env, cwd=tmp_path)
    missed = asyncio.run(_missed_rows(demo_db_url))
    assert missed == 2
    assert f"lỡ {missed}." in out and "lỡ 0" not in out, out
    assert "2 đã lỡ" in out
    # 06h30's daily digest of 23/06 was missed as well, said in Vietnamese.
    assert "Bản tin sáng 23/06/2022: lỡ (quá giờ gửi bù; xem /guitin)." in out


async def _missed_rows(url: str) -> int:
    app = App(make_settings(url))
    try:
        return await _count(app, OutboxMessage, OutboxMessage.status == "missed")
    finally:
        await app.close()


async def test_a_digest_past_its_catch_up_window_is_recorded_missed_and_shown(demo_app: App) -> None:
    await console(demo_app)  # an officer of Kim Bảng, subscribed to the digests

    async def tick(at: str) -> list[tuple[str, str]]:
        channels = {"console": ConsolePushes(None, tz=demo_app.settings.tz)}
        report = await demo_app.jobs(channels, clock=fixed_clock(at, demo_app.settings)).tick()
        return [(d.kind, d.period) for d in report.digests if d.missed]

    # A first run misses nothing (the weekly digest of Monday and yesterday's news were before the bot).
    assert await tick("2022-06-22 10:00") == []
    assert await tick("2022-06-22 17:30") == []  # the news digest of 17h00 goes out
    # Down from 17h30 to 12h00 two days later: 06h30's daily digests and 17h00's news are past their
    # catch-up window (4 hours).
    assert sorted(await tick("2022-06-24 12:00")) == [("daily", "2022-06-24"), ("news", "2022-06-23")]
    admin = await console(demo_app, "admin", now="2022-06-24 12:05")
    log = await ask(admin, "/guitin")
    assert "Bản tin lỡ" in log
    assert "• Bản tin sáng 06h30 24/06/2022: không gửi" in log, log
    assert "• Bản tin tin tức 17h00 23/06/2022: không gửi" in log
    # Recorded once: another run changes nothing.
    assert await tick("2022-06-24 12:01") == []


# --- wording -------------------------------------------------------------------------------------------


async def test_a_header_names_a_date_once(demo_app: App) -> None:
    officer = await console(demo_app)
    answer = await ask(officer, "/lich 23/6/2022")
    assert answer.splitlines()[0] == "Lịch hội nghị, họp 23/06/2022", answer
    assert "Lịch hội nghị, họp tuần sau (27/06–03/07/2022)" in await ask(officer, "/lich tuần sau")
    assert "Tuần sau 27/06–03/07/2022" in await ask(officer, "/truc tuần sau")
