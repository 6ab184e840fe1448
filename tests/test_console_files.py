"""Files in the console: a line ``file:<path> <caption>`` uploads a file; files the bot sends are saved."""

from __future__ import annotations

import io
from pathlib import Path

from bot.app import App
from bot.channels.console import ConsoleChat, FileShelf, render
from bot.cli import fixed_clock
from bot.messages import Document, Reply
from tests.chatting import ask, console
from tests.examples import NOW
from tests.test_telegram import roster_xlsx


async def test_a_roster_file_typed_in_the_console_is_imported(demo_app: App, tmp_path: Path) -> None:
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes(roster_xlsx())
    admin = await console(demo_app, "admin")
    preview = await ask(admin, f"file:{roster} /nhap lịch trực Kim Bảng")
    assert "Sẽ nhập: 9 ca trực của Kim Bảng (27–29/06/2022)" in preview and "[1] Nhập" in preview
    assert "Đã nhập 9 ca trực của Kim Bảng (27–29/06/2022)" in await ask(admin, "1")
    officer = await console(demo_app)
    assert "Trực ban: Đại úy Đỗ Văn Nam" in await ask(officer, "/truc 28/6/2022")


async def test_a_file_sent_after_the_command_and_a_quoted_path(demo_app: App, tmp_path: Path) -> None:
    roster = tmp_path / "lịch trực.xlsx"
    roster.write_bytes(roster_xlsx())
    admin = await console(demo_app, "admin")
    assert "Bot đang chờ tệp" in await ask(admin, "/nhap lịch trực Kim Bảng")
    assert "Sẽ nhập: 9 ca trực" in await ask(admin, f'file:"{roster}"')
    assert "Đã nhập 9 ca trực" in await ask(admin, "1")


async def test_a_missing_file_is_explained(demo_app: App, tmp_path: Path) -> None:
    admin = await console(demo_app, "admin")
    answer = await ask(admin, f"file:{tmp_path / 'khong-co.xlsx'} /nhap lịch trực Kim Bảng")
    assert "Không tìm thấy tệp" in answer and "khong-co.xlsx" in answer
    assert "Thiếu đường dẫn tệp" in await ask(admin, "file:")
    assert "Không đọc được tệp" in await ask(admin, f"file:{tmp_path} /nhap lịch trực Kim Bảng")


def test_files_sent_are_saved_under_the_folder_without_overwriting(tmp_path: Path) -> None:
    shelf = FileShelf(tmp_path / "out")
    first = render(Reply("Lịch", document=Document("lich.ics", b"one")), shelf)
    second = render(Reply("Lịch", document=Document("lich.ics", b"two")), shelf)
    assert first.splitlines()[-1] == f"[tệp] {tmp_path / 'out' / 'lich.ics'}"
    assert second.splitlines()[-1] == f"[tệp] {tmp_path / 'out' / 'lich-2.ics'}"
    assert (tmp_path / "out" / "lich.ics").read_bytes() == b"one"
    assert (tmp_path / "out" / "lich-2.ics").read_bytes() == b"two"
    # A name with a folder in it stays inside the folder.
    render(Reply("x", document=Document("../../evil.txt", b"x")), shelf)
    assert (tmp_path / "out" / "evil.txt").exists()


async def test_piped_console_prints_saved_files(demo_app: App, tmp_path: Path) -> None:
    roster = tmp_path / "roster.xlsx"
    roster.write_bytes(roster_xlsx())
    out = io.StringIO()
    chat = ConsoleChat(
        demo_app.dispatcher, "admin", out=out, clock=fixed_clock(NOW, demo_app.settings), shelf=FileShelf(tmp_path)
    )
    await chat.setup()
    await chat.run(io.StringIO(f"file:{roster} /nhap lịch trực Kim Bảng\n1\n"), echo=True)
    assert "Đã nhập 9 ca trực" in out.getvalue()
