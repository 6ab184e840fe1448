"""The ``qtbot`` command: run, chat, tick, demo, migrate."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from datetime import datetime

from bot import startup
from bot.app import App, configured_channels, setup_logging
from bot.channels.base import Channel, StartupError
from bot.channels.console import ConsoleChat, ConsolePushes, render
from bot.config import ConfigError, Settings, load_settings
from bot.demo import DEMO_NOW
from bot.errors import UserError
from bot.models import utcnow
from bot.views.common import short_when
from bot.vntime import fmt_date, fmt_time

NO_TOKEN_HELP = """\
Chưa đặt QTBOT_TELEGRAM_TOKEN hay QTBOT_ZALO_TOKEN, nên bot chạy ở chế độ console (trò chuyện ngay trong terminal).
  Hỏi như một cán bộ Kim Bảng:  qtbot chat --as officer:"Kim Bảng" --now "{demo_now}"
  Với quyền quản trị:           qtbot chat --as admin
  Xem nhắc việc lúc 16h00:      qtbot tick --now "2022-06-22 16:00"
  Kết nối Telegram, Zalo:       đặt QTBOT_TELEGRAM_TOKEN, QTBOT_ZALO_TOKEN trong .env (xem README.md) rồi chạy lại.
Gõ câu hỏi rồi Enter (ví dụ: lịch trực tuần này, kết quả quý 2); bấm nút bằng cách gõ số; Ctrl-D để thoát.
"""


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


@contextlib.asynccontextmanager
async def opened(settings: Settings, clock: Callable[[], datetime] = utcnow) -> AsyncIterator[App]:
    """An app whose schema is up to date; closed on exit."""
    with startup.database_errors(settings.database_url):
        app = App(settings, clock=clock)
    try:
        with startup.database_errors(settings.database_url):
            await app.prepare()
        yield app
    finally:
        await app.close()


async def _chat(settings: Settings, identity: str, now: str | None, *, demo_if_empty: bool) -> int:
    async with opened(settings) as app:
        if demo_if_empty and await app.is_empty():
            print(f"Cơ sở dữ liệu trống: đã nạp dữ liệu minh họa ({await app.load_demo()} bản ghi).")
        demo = None if now else await app.demo_clock()
        now = now or demo
        if demo:
            print(f"Giờ của bot: {now} (giờ Việt Nam): đây là dữ liệu minh họa; --now để hỏi vào lúc khác.")
        elif now:
            print(f"Giờ của bot: {now} (giờ Việt Nam).")
        chat = ConsoleChat(app.dispatcher, identity, clock=fixed_clock(now, settings))
        await chat.setup()
        # In real time the scheduler runs too, and pushed messages print as they go out.
        jobs = None if now else app.jobs({"console": ConsolePushes(sys.stdout, tz=settings.tz)})
        if jobs is not None:
            jobs.start()
        try:
            await chat.run(sys.stdin, echo=not sys.stdin.isatty())
        finally:
            if jobs is not None:
                await jobs.stop()
        return 0


async def _run(settings: Settings, identity: str, now: str | None) -> int:
    if not configured_channels(settings):
        print(NO_TOKEN_HELP.format(demo_now=DEMO_NOW))
        return await _chat(settings, identity, now, demo_if_empty=True)
    async with opened(settings) as app:
        await app.run()
    return 0


async def _tick(settings: Settings, now: str | None) -> int:
    """Planner, digests and delivery once, as of --now (on the demo database: as of its clock);
    prints what was sent where."""
    async with opened(settings) as app:
        clock = fixed_clock(now or await app.demo_clock(), settings)
        channels: dict[str, Channel] = {"console": ConsolePushes(None, clock=clock, tz=settings.tz)}
        live = app.build_channels(clock=clock)
        try:
            for channel in live:
                await channel.open()
                channels[channel.name] = channel
            report = await app.jobs(channels, clock=clock).tick()
        finally:
            for channel in live:
                await channel.stop()
    moment = clock().astimezone(settings.tz)
    lo, hi = report.plan.window
    print(f"Lúc {fmt_time(moment.time())} {fmt_date(moment.date())} (giờ Việt Nam):")
    window = f"{short_when(lo, settings.tz)} → {short_when(hi, settings.tz)}"
    print(f"Lập lịch nhắc: {report.plan.written} tin mới (xét {window}).")
    for digest in report.digests:
        print(f"Bản tin {digest.kind} {digest.period}: {digest.written} tin.")
    delivery = report.delivery
    print(
        f"Đã gửi {len(delivery.sent)}; hoãn {delivery.retried}; lỗi {delivery.failed}; lỡ {delivery.missed}."
        + ("" if live else " (Tin Telegram, Zalo chờ đến khi có QTBOT_TELEGRAM_TOKEN, QTBOT_ZALO_TOKEN.)")
    )
    for row in delivery.sent:
        print(f"\n→ {row.channel}:{row.chat_id}\n{render(row.reply)}")
    return 0


async def _demo(settings: Settings) -> int:
    async with opened(settings) as app:
        added = await app.load_demo()
    print(
        f"Đã nạp dữ liệu minh họa Cụm thi đua số 2 năm 2022: {added} bản ghi mới."
        if added
        else "Dữ liệu minh họa đã có sẵn; không thay đổi gì."
    )
    return 0


async def _migrate(settings: Settings) -> int:
    async with opened(settings):
        print("Cơ sở dữ liệu đã ở phiên bản mới nhất.")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="qtbot", description="Quyết Thắng Bot — bot của cụm thi đua.")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="chạy bot (Telegram, Zalo nếu có token; không thì console, dữ liệu minh họa)")
    chat = commands.add_parser("chat", help="trò chuyện với bot trong terminal")
    for command in (run, chat):
        command.add_argument(
            "--as",
            dest="identity",
            default="admin",
            help='ai đang nói (console): admin | guest | "officer:<đơn vị>" (mặc định admin)',
        )
        command.add_argument("--now", help='trả lời như thể lúc đó (giờ Việt Nam), ví dụ "2022-06-22 10:00"')
    tick = commands.add_parser(
        "tick", help="chạy lập lịch nhắc, bản tin và gửi tin một lần (như thể lúc --now) rồi in ra đã gửi gì, cho ai"
    )
    tick.add_argument("--now", help='giờ Việt Nam, ví dụ "2022-06-22 16:00" (mặc định: bây giờ)')
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
    try:
        setup_logging(settings)
    except startup.StartupFailure as exc:
        return startup.fail(exc.setting, exc.reason)
    try:
        if args.command == "run":
            return asyncio.run(_run(settings, args.identity, args.now))
        if args.command == "chat":
            return asyncio.run(_chat(settings, args.identity, args.now, demo_if_empty=False))
        if args.command == "tick":
            return asyncio.run(_tick(settings, args.now))
        if args.command == "demo":
            return asyncio.run(_demo(settings))
        return asyncio.run(_migrate(settings))
    except UserError as exc:
        print(exc, file=sys.stderr)
        return 2
    except (StartupError, startup.StartupFailure) as exc:
        setting, _, reason = str(exc).partition(": ")
        return startup.fail(setting, reason, settings.secrets())
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
