"""The ``qtbot`` command: run, chat, demo, migrate."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable
from datetime import datetime

from bot.app import App, setup_logging
from bot.channels.console import ConsoleChat
from bot.config import ConfigError, Settings, load_settings
from bot.errors import UserError
from bot.models import utcnow

NO_TOKEN_HELP = """\
Chưa đặt QTBOT_TELEGRAM_TOKEN, nên bot chạy ở chế độ console (trò chuyện ngay trong terminal).
  Hỏi như một cán bộ Kim Bảng:  qtbot chat --as officer:"Kim Bảng" --now "{demo_now}"
  Với quyền quản trị:           qtbot chat --as admin
  Kết nối Telegram:             đặt QTBOT_TELEGRAM_TOKEN trong .env (xem README.md) rồi chạy lại qtbot run.
Gõ câu hỏi rồi Enter (ví dụ: lịch trực tuần này, kết quả quý 2); bấm nút bằng cách gõ số; Ctrl-D để thoát.
"""
# The demo data is Cụm thi đua số 2 in 2022: the console answers as of the day before its conference.
DEMO_NOW = "2022-06-22 10:00"


def fixed_clock(value: str | None, settings: Settings) -> Callable[[], datetime]:
    """--now "2022-06-22 10:00" (local time) as a clock; without it, the real time."""
    if not value:
        return utcnow
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            moment = datetime.strptime(value, pattern).replace(tzinfo=settings.tz)
            return lambda: moment
        except ValueError:
            continue
    raise UserError(f'--now “{value}” không hợp lệ; viết dạng "2022-06-22 10:00".')


async def _chat(settings: Settings, identity: str, now: str | None, *, demo_if_empty: bool) -> int:
    app = App(settings)
    try:
        await app.prepare()
        if demo_if_empty and await app.is_empty():
            print(f"Cơ sở dữ liệu trống: đã nạp dữ liệu minh họa ({await app.load_demo()} bản ghi).")
            now = now or DEMO_NOW
        if now:
            print(f"Giờ của bot: {now} (giờ Việt Nam).")
        chat = ConsoleChat(app.dispatcher, identity, clock=fixed_clock(now, settings))
        await chat.setup()
        await chat.run(sys.stdin, echo=not sys.stdin.isatty())
        return 0
    finally:
        await app.close()


async def _run(settings: Settings, identity: str, now: str | None) -> int:
    if settings.telegram_token is None:
        print(NO_TOKEN_HELP.format(demo_now=DEMO_NOW))
        return await _chat(settings, identity, now, demo_if_empty=True)
    app = App(settings)
    try:
        await app.prepare()
        await app.run_telegram()
        return 0
    finally:
        await app.close()


async def _demo(settings: Settings) -> int:
    app = App(settings)
    try:
        await app.prepare()
        added = await app.load_demo()
        print(
            f"Đã nạp dữ liệu minh họa Cụm thi đua số 2 năm 2022: {added} bản ghi mới."
            if added
            else "Dữ liệu minh họa đã có sẵn; không thay đổi gì."
        )
        return 0
    finally:
        await app.close()


async def _migrate(settings: Settings) -> int:
    app = App(settings)
    try:
        await app.prepare()
        print("Cơ sở dữ liệu đã ở phiên bản mới nhất.")
        return 0
    finally:
        await app.close()


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="qtbot", description="Quyết Thắng Bot — bot của cụm thi đua.")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="chạy bot (Telegram nếu có token, không thì console trên dữ liệu minh họa)")
    chat = commands.add_parser("chat", help="trò chuyện với bot trong terminal")
    for command in (run, chat):
        command.add_argument(
            "--as",
            dest="identity",
            default="admin",
            help='ai đang nói (console): admin | guest | "officer:<đơn vị>" (mặc định admin)',
        )
        command.add_argument("--now", help='trả lời như thể lúc đó (giờ Việt Nam), ví dụ "2022-06-22 10:00"')
    commands.add_parser("demo", help="nạp dữ liệu minh họa Cụm thi đua số 2 năm 2022 (chạy lại không sao)")
    commands.add_parser("migrate", help="nâng cấp cơ sở dữ liệu lên phiên bản mới nhất")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    setup_logging(settings)
    try:
        if args.command == "run":
            return asyncio.run(_run(settings, args.identity, args.now))
        if args.command == "chat":
            return asyncio.run(_chat(settings, args.identity, args.now, demo_if_empty=False))
        if args.command == "demo":
            return asyncio.run(_demo(settings))
        return asyncio.run(_migrate(settings))
    except UserError as exc:
        print(exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
