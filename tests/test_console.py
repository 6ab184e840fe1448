"""The console channel end to end: every DOMAIN.md §9 question, identities, bad input, buttons."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.app import App
from bot.channels.console import ConsoleChat
from bot.cli import fixed_clock
from bot.errors import UserError
from tests.chatting import ask, console
from tests.examples import EXAMPLES, NOW, UNIT, Example, check


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.question for e in EXAMPLES])
async def test_domain_examples(demo_app: App, example: Example) -> None:
    chat = await console(demo_app)
    check(example, await ask(chat, example.question))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("lich truc tuan nay", "Thứ Tư 22/06 ◀ hôm nay"),
        ("LỊCH TRỰC TUẦN NÀY", "Tuần này 20–26/06/2022"),
        ("mai ai truc", "Trực chỉ huy: Trung tá Phạm Minh Dũng (Phó CHT)"),
        ("tối nay ai trực ban?", "Trực ban: Thượng úy Ngô Văn Phúc"),
        ("/truc 24/6", "Trực chỉ huy: Trung tá Hoàng Văn Hải (CTV phó)"),
        ("/duty thứ bảy", "Thứ Bảy 25/06/2022"),
        ("Kim Bảng quý II xếp thứ mấy?", "92,5 điểm, xếp thứ 1/7, loại Xuất sắc"),
        ("/ketqua TĐ 151 quý 2", "Trung đoàn 151 — quý II/2022"),
        ("/results e151", "88,5 điểm, xếp thứ 3/7, loại Tốt"),
        ("/ketqua Ban CHQS huyện Thanh Liêm", "90,0 điểm, xếp thứ 2/7"),
        ("/ketqua", "Ban CHQS huyện Kim Bảng — quý II/2022"),
        ("/xephang quý II/2022", "7. Bình Lục: 84,0 điểm — Tốt"),
        ("diem cua don vi toi quy 2", "92,5 điểm, xếp thứ 1/7"),
        ("/dientap ba sao", "Kiểm tra, duyệt: Thứ Ba 23/08/2022"),
        ("dien tap xa dong hoa", "Thực hành (3 giai đoạn): Thứ Tư–Thứ Năm 05–06/10/2022"),
        ("/donvi", "Cụm trưởng: Ban CHQS huyện Kim Bảng"),
        ("/donvi Kim Bảng", "18 đơn vị hành chính cấp xã (16 xã, 2 thị trấn)"),
        ("/lich", "Sơ kết phong trào Thi đua Quyết thắng 6 tháng đầu năm 2022"),
        ("/schedule", "Kiểm tra chéo, chấm điểm thi đua quý III/2022"),
        ("hội nghị tổng kết năm ở đâu", "Tổng kết phong trào Thi đua Quyết thắng năm 2022"),
        ("đợt tăng cường trực tết", "Tết Nguyên đán Nhâm Dần: 28/01–07/02/2022"),
        ("/trogiup", "/truc (/duty) — Lịch trực SSCĐ"),
    ],
)
async def test_phrasings(demo_app: App, question: str, expected: str) -> None:
    chat = await console(demo_app)
    answer = await ask(chat, question)
    assert expected in answer, answer


async def test_news_shows_what_was_published_by_then(demo_app: App) -> None:
    before = await console(demo_app, now="2022-06-22 10:00")
    assert "Chưa có tin nào." in await ask(before, "/tin")
    after = await console(demo_app, now="2022-06-24 08:00")
    answer = await ask(after, "tin mới")
    assert "Cụm thi đua số 2 tổ chức sơ kết phong trào thi đua quyết thắng 6 tháng đầu năm 2022 (23/06/2022)" in answer


async def test_unit_names_resolve_fuzzily(demo_app: App) -> None:
    chat = await console(demo_app, "admin")
    for name in ("kim bang", "KB", "Ban CHQS huyện Kim Bảng", "huyen kim bang", "Kim Bảngg"):
        answer = await ask(chat, f"/truc {name} 22/6/2022")
        assert "Ban CHQS huyện Kim Bảng" in answer and "Lê Quang Cường" in answer, (name, answer)


async def test_admin_without_unit_gets_every_units_duty_and_can_press_one(demo_app: App) -> None:
    """Issue 8: an admin asking for a day's duty without naming a unit hears every unit's."""
    chat = await console(demo_app, "admin")
    answer = await ask(chat, "hôm nay ai trực chỉ huy?")
    assert "Trực SSCĐ Thứ Tư 22/06/2022 — các đơn vị" in answer
    assert "Kim Bảng: trực chỉ huy Trung tá Lê Quang Cường" in answer and "Thanh Liêm: chưa có lịch trực" in answer
    assert "[1] Kim Bảng" in answer
    answer = await ask(chat, "lịch trực tuần này")
    assert "Xem lịch trực của đơn vị nào?" in answer  # a week of every unit is too much: a picker
    pressed = await ask(chat, "1")
    assert "Lịch trực SSCĐ — Ban CHQS huyện Kim Bảng" in pressed and "Trung tá Lê Quang Cường" in pressed


async def test_roster_buttons_page_to_the_next_week(demo_app: App) -> None:
    chat = await console(demo_app)
    await ask(chat, "lịch trực tuần trước")
    answer = await ask(chat, "2")  # "Sau ▶"
    assert "20–26/06/2022" in answer and "Thứ Hai 20/06" in answer


async def test_guest_is_told_how_to_join_and_sees_nothing(demo_app: App) -> None:
    chat = await console(demo_app, "guest")
    for question in ("lịch trực tuần này", "/truc", "/ketqua Bình Lục quý 2", "kết quả quý 2"):
        answer = await ask(chat, question)
        assert "chưa là thành viên" in answer, answer
        assert "Cường" not in answer and "84,0" not in answer
    assert "/start MÃ_MỜI" in await ask(chat, "/start")


async def test_officer_cannot_use_admin_commands(demo_app: App) -> None:
    chat = await console(demo_app)
    assert "chỉ dành cho cán bộ quản trị" in await ask(chat, "/moi Bình Lục")


async def test_invite_flow_makes_a_guest_an_officer(demo_app: App) -> None:
    admin = await console(demo_app, "admin")
    answer = await ask(admin, "/moi Bình Lục 2 lần")
    code = answer.split("/start ")[1].split()[0]
    assert "Dùng được 2 lần" in answer
    guest = await console(demo_app, "guest")
    joined = await ask(guest, f"/start {code}")
    assert "Ban CHQS huyện Bình Lục" in joined
    assert "84,0 điểm, xếp thứ 7/7" in await ask(guest, "/ketqua quý 2")
    assert "không đúng" in await ask(guest, "/start KHONGCOMA")


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("/truc 31/02", "không có thật"),
        ("/truc Hà Giang", "Không tìm thấy đơn vị “Hà Giang”. Các đơn vị trong cụm: Kim Bảng"),
        ("/moi Hà Giang", "Không tìm thấy đơn vị"),
        ("/", "Không có lệnh"),
        ("/khonglenh", "Không có lệnh /khonglenh"),
        ("xyz abc", "Tôi chưa hiểu câu hỏi"),
        ("kết quả 6 tháng đầu năm", "Chưa có kết quả 6 tháng đầu năm 2022. Hiện có: quý II/2022."),
        ("x" * 5000, "Tin nhắn quá dài (5.000 ký tự)"),
    ],
)
async def test_bad_input_gets_a_clear_answer(demo_app: App, question: str, expected: str) -> None:
    chat = await console(demo_app, "admin")
    answer = await ask(chat, question)
    assert expected in answer, answer


async def test_unknown_unit_for_console_identity_is_refused(demo_app: App) -> None:
    with pytest.raises(UserError, match="Không tìm thấy đơn vị"):
        await console(demo_app, "officer:Hà Giang")


async def test_piped_session_echoes_questions_and_answers(demo_app: App) -> None:
    out = io.StringIO()
    chat = ConsoleChat(demo_app.dispatcher, f"officer:{UNIT}", out=out, clock=fixed_clock(NOW, demo_app.settings))
    await chat.setup()
    await chat.run(io.StringIO("mai ai trực?\n\nchỉ thị 87 là gì?\n"), echo=True)
    text = out.getvalue()
    assert text.index("> mai ai trực?") < text.index("Phạm Minh Dũng") < text.index("> chỉ thị 87 là gì?")


def test_the_demo_database_stays_the_demo_on_every_run(tmp_path: Path) -> None:
    """The first ./run.sh loads the demo; the second (and a `qtbot chat` without --now) still answers
    as of 22/06/2022 10h00, and --now still overrides."""
    from tests.chatting import qtbot, qtbot_env

    env = qtbot_env(f"sqlite+aiosqlite:///{tmp_path / 'qtbot.db'}")
    question = "hôm nay ai trực chỉ huy?\n"
    for command in ("run", "run", "chat"):
        out = qtbot(command, "--as", "officer:Kim Bảng", env=env, cwd=tmp_path, stdin=question)
        assert "Giờ của bot: 2022-06-22 10:00" in out and "dữ liệu minh họa" in out, out
        assert "Thứ Tư 22/06/2022" in out and "Lê Quang Cường" in out, out
    later = qtbot(
        "chat", "--as", "officer:Kim Bảng", "--now", "2022-06-23 10:00", env=env, cwd=tmp_path, stdin=question
    )
    assert "Thứ Năm 23/06/2022" in later


async def test_a_real_cluster_database_runs_in_real_time(empty_app: App) -> None:
    assert await empty_app.demo_clock() is None
    await empty_app.load_demo()
    assert await empty_app.demo_clock() == "2022-06-22 10:00"


async def test_a_demo_database_from_before_the_marker_is_marked_by_the_migration(demo_app: App) -> None:
    from alembic import command
    from sqlalchemy import text

    from bot.db import alembic_config

    def back_and_forth(connection: object) -> None:
        command.downgrade(alembic_config(connection), "0003")  # type: ignore[arg-type]
        command.upgrade(alembic_config(connection), "head")  # type: ignore[arg-type]

    async with demo_app.engine.begin() as connection:
        await connection.run_sync(back_and_forth)
        assert (await connection.execute(text("SELECT value FROM app_state"))).scalar() == "2022-06-22 10:00"
