"""The ``qtbot`` command: run, chat, tick, demo, migrate."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
from collections.abc import AsyncIterator, Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

# Each subcommand imports what it needs when it runs, so that `qtbot --help` and a console question
# do not pay for python-telegram-bot, the web server or the scheduler (bench/startup.py).
if TYPE_CHECKING:
    from bot.app import App
    from bot.config import Settings

NO_TOKEN_HELP = """\
Chưa đặt QTBOT_TELEGRAM_TOKEN hay QTBOT_ZALO_TOKEN, nên bot chạy ở chế độ console (trò chuyện ngay trong terminal).
  Hỏi như một cán bộ Kim Bảng:  ./run.sh chat --as officer:"Kim Bảng"
  Hỏi vào lúc khác:             ./run.sh chat --as officer:"Kim Bảng" --now "2022-06-23 08:00"
  Với quyền quản trị:           ./run.sh chat --as admin
  Xem nhắc việc lúc 16h00:      ./run.sh tick --now "2022-06-22 16:00"
  Kết nối Telegram, Zalo:       đặt QTBOT_TELEGRAM_TOKEN, QTBOT_ZALO_TOKEN trong .env (xem README.md) rồi chạy lại.
Gõ câu hỏi rồi Enter (ví dụ: lịch trực tuần này, kết quả quý 2); bấm nút bằng cách gõ số; Ctrl-D hoặc Ctrl-C để thoát.
"""


def fixed_clock(value: str | None, settings: Settings) -> Callable[[], datetime]:
    """--now "2022-06-22 10:00" (local time) as a clock; without it, the real time."""
    if not value:
        from bot.models import utcnow

        return utcnow
    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%d", "%d/%m/%Y %H:%M", "%d/%m/%Y"):
        try:
            moment = datetime.strptime(value, pattern).replace(tzinfo=settings.tz)
            return lambda: moment
        except ValueError:
            continue
    from bot.errors import UserError

    raise UserError(f'--now “{value}” không hợp lệ; viết dạng "2022-06-22 10:00".')


def history_file(settings: Settings) -> Path:
    """Where the console keeps the lines typed: next to the SQLite database, else in the home folder."""
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).expanduser().parent / ".qtbot_history"
    return Path.home() / ".qtbot_history"


@contextlib.asynccontextmanager
async def opened(settings: Settings, clock: Callable[[], datetime] | None = None) -> AsyncIterator[App]:
    """An app whose schema is up to date; closed on exit."""
    from bot import startup
    from bot.app import App

    with startup.database_errors(settings.database_url):
        app = App(settings) if clock is None else App(settings, clock=clock)
    try:
        with startup.database_errors(settings.database_url):
            await app.prepare()
        started()
        yield app
    finally:
        await app.close()


def started() -> None:
    """Start-up is over. :func:`main` runs it without the cyclic garbage collector: nearly all it
    allocates (modules, settings, the ORM's mappers) lives as long as the process, and the
    collector's passes over it took about a tenth of a console question's time (bench/startup.py).
    That is moved out of the collector's way (``gc.freeze``; the garbage start-up leaves, a few
    hundred objects, is frozen with it), and the collector runs again."""
    if gc.isenabled():
        return
    from sqlalchemy.orm import configure_mappers

    configure_mappers()  # what the first query would do, still part of start-up
    gc.freeze()
    gc.enable()


async def _chat(settings: Settings, identity: str, now: str | None, *, demo_if_empty: bool, files: Path) -> int:
    from bot.channels.console import ConsoleChat, ConsolePushes, FileShelf, Terminal

    shelf = FileShelf(files)
    async with opened(settings) as app:
        if demo_if_empty and await app.is_empty():
            print(f"Cơ sở dữ liệu trống: đã nạp dữ liệu minh họa ({await app.load_demo()} bản ghi).")
        demo = None if now else await app.demo_clock()
        now = now or demo
        if demo:
            print(f"Giờ của bot: {now} (giờ Việt Nam): đây là dữ liệu minh họa; --now để hỏi vào lúc khác.")
        elif now:
            print(f"Giờ của bot: {now} (giờ Việt Nam).")
        chat = ConsoleChat(app.dispatcher, identity, clock=fixed_clock(now, settings), shelf=shelf)
        await chat.setup()
        terminal = Terminal(history_file(settings)) if Terminal.available() else None
        # In real time the scheduler runs too, and pushed messages print as they go out (in a
        # terminal, above the line being typed).
        pushes = ConsolePushes(terminal or sys.stdout, tz=settings.tz, dispatcher=app.dispatcher, shelf=shelf)
        jobs = None if now else app.jobs({"console": pushes})
        if jobs is not None:
            jobs.start()
        try:
            if terminal is not None:
                await chat.run_terminal(terminal)
            else:
                await chat.run(sys.stdin, echo=True)
        finally:
            if jobs is not None:
                await jobs.stop()
        return 0


async def _run(settings: Settings, identity: str, now: str | None, files: Path) -> int:
    from bot.app import configured_channels

    if not configured_channels(settings):
        print(NO_TOKEN_HELP)
        return await _chat(settings, identity, now, demo_if_empty=True, files=files)
    async with opened(settings) as app:
        await app.run()
    return 0


async def _tick(settings: Settings, now: str | None, files: Path) -> int:
    """Planner, digests and delivery once, as of --now (on the demo database: as of its clock);
    prints what was sent where."""
    from bot.channels.base import Channel
    from bot.channels.console import ConsolePushes, FileShelf, render
    from bot.views.common import short_when
    from bot.views.deliveries import digest_run_line
    from bot.vntime import fmt_date, fmt_time

    async with opened(settings) as app:
        clock = fixed_clock(now or await app.demo_clock(), settings)
        channels: dict[str, Channel] = {
            "console": ConsolePushes(None, clock=clock, tz=settings.tz, dispatcher=app.dispatcher)
        }
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
    missed_now = f", {report.plan.missed} đã lỡ (quá giờ nhắc khi bot không chạy)" if report.plan.missed else ""
    print(f"Lập lịch nhắc: {report.plan.written - report.plan.missed} tin mới{missed_now} (xét {window}).")
    for digest in report.digests:
        print(digest_run_line(digest.kind, date.fromisoformat(digest.period), digest.written, missed=digest.missed))
    delivery = report.delivery
    print(
        f"Đã gửi {len(delivery.sent)}; hoãn {delivery.retried}; lỗi {delivery.failed}; "
        f"lỡ {delivery.missed + report.plan.missed}."
        + ("" if live else " (Tin Telegram, Zalo chờ đến khi có QTBOT_TELEGRAM_TOKEN, QTBOT_ZALO_TOKEN.)")
    )
    for row in delivery.sent:
        print(f"\n→ {row.channel}:{row.chat_id}\n{render(row.reply, FileShelf(files))}")
    return 0


async def _web(settings: Settings, now: str | None, listen: str | None) -> int:
    """Only the web app (calendar feeds, files, health), as of --now; on the demo database as of its
    clock, so the demo's feeds hold June 2022."""
    import uvicorn

    async with opened(settings) as probe:
        moment = now or await probe.demo_clock()
    clock = fixed_clock(moment, settings)
    address = listen or settings.web_address or "127.0.0.1:8080"
    host, _, port = address.rpartition(":")
    async with opened(settings, clock) as app:
        if moment:
            print(f"Giờ của web: {moment} (giờ Việt Nam).")
        print(f"Web chạy ở http://{address} (lịch: /ical/<mã>.ics); Ctrl-C để dừng.", flush=True)
        config = uvicorn.Config(app.web([], []), host=host, port=int(port), log_level="warning", lifespan="off")
        await uvicorn.Server(config).serve()
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
            help='ai đang nói (console): admin | guest | "officer:<đơn vị>" | "person:<họ tên>" (mặc định admin)',
        )
        command.add_argument("--now", help='trả lời như thể lúc đó (giờ Việt Nam), ví dụ "2022-06-22 10:00"')
    tick = commands.add_parser(
        "tick", help="chạy lập lịch nhắc, bản tin và gửi tin một lần (như thể lúc --now) rồi in ra đã gửi gì, cho ai"
    )
    tick.add_argument("--now", help='giờ Việt Nam, ví dụ "2022-06-22 16:00" (mặc định: bây giờ)')
    for command in (run, chat, tick):
        command.add_argument(
            "--files",
            type=Path,
            default=Path("qtbot-files"),
            help="thư mục lưu các tệp bot gửi ra console (mặc định ./qtbot-files)",
        )
    web = commands.add_parser("web", help="chỉ chạy web (lịch /ical, tệp, /healthz) như thể lúc --now")
    web.add_argument("--now", help='giờ Việt Nam, ví dụ "2022-06-22 10:00" (mặc định: giờ của dữ liệu minh họa)')
    web.add_argument("--listen", help="địa chỉ nghe (mặc định QTBOT_WEB_LISTEN, hoặc 127.0.0.1:8080)")
    commands.add_parser("demo", help="nạp dữ liệu minh họa Cụm thi đua số 2 năm 2022 (chạy lại không sao)")
    commands.add_parser("migrate", help="nâng cấp cơ sở dữ liệu lên phiên bản mới nhất")
    return root


def main(argv: list[str] | None = None) -> int:
    gc.disable()  # until start-up is over (see started)
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader left (`qtbot chat < questions.txt | head`): stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        gc.enable()


def _main(argv: list[str] | None) -> int:
    args = parser().parse_args(argv)
    import asyncio

    from bot import startup
    from bot.app import setup_logging
    from bot.channels.base import StartupError
    from bot.config import ConfigError, load_settings
    from bot.errors import UserError

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
            return asyncio.run(_run(settings, args.identity, args.now, args.files))
        if args.command == "chat":
            return asyncio.run(_chat(settings, args.identity, args.now, demo_if_empty=False, files=args.files))
        if args.command == "tick":
            return asyncio.run(_tick(settings, args.now, args.files))
        if args.command == "web":
            return asyncio.run(_web(settings, args.now, args.listen))
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
