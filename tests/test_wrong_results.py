"""Issue 11's wrong results, each as the user met it: a score that is not a number, a sheet with
criteria missing, a publication with units unscored, a late reminder's lead time, the tick's count
of missed rows, a digest past its catch-up window, a feed that answers 404, a doubled kind in a
title, a repeated date in a header, a group upgraded to a supergroup."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import App
from bot.models import AuditEntry, Score
from tests.chatting import ask, button, console


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
