"""One announcement to 10,000 chats through a local Bot API server that enforces Telegram-like flood
limits with 429s, the overall limit scaled up; the bot's limiter is configured to match.

The fake Bot API runs in its own process (``python -m tests.fakes.telegram``) over HTTP on
127.0.0.1, so its work is not charged to the bot. The bot side is the real path: outbox rows written
by ``announcements.queue``, claimed and sent by ``OutboxDelivery`` through python-telegram-bot.

Prints one JSON line: achieved rate / limit (target ≥ 0.95), lost (0), duplicated (0), 429 share (< 1%).

``--channel zalo``: the same announcement to 3,000 Zalo chats (the Basic monthly quota; the bot's quota
check is off) through the real ``ZaloChannel`` (httpx) against the fake Zalo Bot API in its own process
(``python -m tests.fakes.zalo``), which answers 429 to sends beyond ``--limit`` in any one-second window.

    .venv/bin/python bench/broadcast.py [--chats 10000] [--limit 200]
    .venv/bin/python bench/broadcast.py --channel zalo [--chats 3000] [--limit 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import App, settle_memory
from bot.channels.telegram import BotApiRequest, TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.config import SecretStr, Settings
from bot.delivery import OutboxDelivery
from bot.models import ChatLink, Subscription, utcnow
from bot.services import announcements
from bot.services.subscriptions import load_audience

TOKEN = "123456:BENCH-TOKEN"
ZALO_TOKEN = "4242:BENCH-ZALO-TOKEN"
ROOT = Path(__file__).resolve().parents[1]
FIRST_CHAT = 10_000_000


async def start_fake(limit: float) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.telegram",
        "--token",
        TOKEN,
        "--global-per-second",
        str(limit),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = (await process.stdout.readline()).decode()
    if not line.startswith("READY "):
        process.kill()
        raise RuntimeError(f"fake Bot API did not start: {line!r}")
    return process, line.split()[1]


async def start_fake_zalo(limit: float) -> tuple[asyncio.subprocess.Process, str]:
    """The fake Zalo Bot API in its own process, enforcing ``limit`` sends per second."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.zalo",
        "--token",
        ZALO_TOKEN,
        "--rate-per-second",
        str(limit),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = (await process.stdout.readline()).decode()
    if not line.startswith("fake zalo on "):
        process.kill()
        raise RuntimeError(f"fake Zalo did not start: {line!r}")
    return process, line.split()[-1]


async def prepare(app: App, chats: int, channel: str = "telegram") -> int:
    """``chats`` private chats subscribed to announcements, and the announcement queued for all."""
    await app.prepare()
    async with app.sessions() as session, session.begin():
        links = [
            {
                "channel": channel,
                "chat_id": str(FIRST_CHAT + n),
                "chat_type": "private",
                "active": True,
                "created_at": utcnow(),
            }
            for n in range(chats)
        ]
        for start in range(0, chats, 2000):
            await session.execute(insert(ChatLink.__table__), links[start : start + 2000])
        ids = list(await session.scalars(select(ChatLink.id)))
        for start in range(0, len(ids), 5000):
            await session.execute(
                insert(Subscription.__table__),
                [{"chat_link_id": i, "kind": "announcements"} for i in ids[start : start + 5000]],
            )
    async with app.sessions() as session, session.begin():
        audience = await load_audience(session)
        return await announcements.queue(
            session,
            reference=1,
            text="<b>Thông báo</b>: kiểm tra hệ thống nhắn tin toàn cụm.",
            chats=announcements.recipients(audience, "cluster"),
            now=utcnow(),
        )


async def deliver_all(delivery: OutboxDelivery, queued: int) -> tuple[float, int]:
    """Deliver until every queued row is sent; (seconds, 429s the bot saw)."""
    started = time.perf_counter()
    report = await delivery.deliver_due()
    while report.sent and len(report.sent) < queued:  # rows kept by a 429 come back
        more = await delivery.deliver_due()
        if not more.claimed:
            await asyncio.sleep(0.05)
        report.sent += more.sent
        report.too_many_requests += more.too_many_requests
    return time.perf_counter() - started, report.too_many_requests


async def zalo(args: argparse.Namespace) -> dict[str, object]:
    """One announcement to ``args.chats`` Zalo chats through the real outbox and ZaloChannel."""
    chats = args.chats or 3000
    limit = args.limit or 100
    process, root = await start_fake_zalo(limit)
    try:
        async with httpx.AsyncClient(base_url=root, timeout=60) as client:
            ids = [str(FIRST_CHAT + n) for n in range(chats)]
            await client.post("/_fake/chats", json={"ids": ids})
            with tempfile.TemporaryDirectory() as folder:
                settings = Settings(  # type: ignore[call-arg]
                    _env_file=None,
                    database_url=f"sqlite+aiosqlite:///{folder}/bench.db",
                    zalo_token=SecretStr(ZALO_TOKEN),
                    zalo_base_url=root,
                    zalo_rate_per_second=limit * args.headroom,
                    zalo_monthly_quota=0,
                    delivery_batch_size=2000,
                    delivery_concurrency=args.concurrency,
                )
                app = App(settings)
                queued = await prepare(app, chats, channel="zalo")
                channel = ZaloChannel(app.dispatcher, settings)
                await channel.open()
                settle_memory()  # as qtbot run does once it is up
                delivery = OutboxDelivery(app.sessions, settings, {"zalo": channel})
                elapsed, _ = await deliver_all(delivery, queued)
                await channel.stop()
                await app.close()
            stats = (await client.get("/_fake/stats")).json()
    finally:
        process.terminate()
        await process.wait()
    per_chat = stats["per_chat"]
    lost = sum(1 for chat in ids if per_chat.get(chat, 0) == 0)
    duplicated = sum(count - 1 for count in per_chat.values() if count > 1)
    send_calls = stats["calls"].get("sendMessage", 0)
    rate = (stats["sends"] - 1) / stats["sending_seconds"]
    return {
        "bench": "broadcast",
        "channel": "zalo",
        "chats": chats,
        "limit_per_s": limit,
        "bot_rate_setting_per_s": limit * args.headroom,
        "seconds": round(elapsed, 2),
        "sending_seconds": round(stats["sending_seconds"], 2),
        "achieved_per_s": round(rate, 1),
        "achieved_over_limit": round(rate / limit, 3),
        "lost": lost,
        "duplicated": duplicated,
        "http_429": stats["too_many_requests"],
        "http_429_share": round(stats["too_many_requests"] / max(1, send_calls), 4),
        "targets_met": rate / limit >= 0.95 and lost == 0 and duplicated == 0,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channel", choices=("telegram", "zalo"), default="telegram")
    parser.add_argument("--chats", type=int, help="default 10,000 (telegram), 3,000 (zalo)")
    parser.add_argument(
        "--limit", type=float, help="the server's overall messages per second; default 200 (telegram), 100 (zalo)"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="messages in flight (delivery_concurrency)")
    parser.add_argument("--headroom", type=float, default=0.98, help="the bot's rate as a share of the limit")
    args = parser.parse_args()
    if args.channel == "zalo":
        print(json.dumps(await zalo(args), ensure_ascii=False))
        return
    args.chats = args.chats or 10_000
    args.limit = args.limit or 200
    process, root = await start_fake(args.limit)
    try:
        async with httpx.AsyncClient(base_url=root) as client:
            ids = [FIRST_CHAT + n for n in range(args.chats)]
            await client.post("/_fake/chats", json={"ids": ids})
            with tempfile.TemporaryDirectory() as folder:
                settings = Settings(  # type: ignore[call-arg]
                    _env_file=None,
                    database_url=f"sqlite+aiosqlite:///{folder}/bench.db",
                    telegram_token=SecretStr(TOKEN),
                    telegram_base_url=root,
                    telegram_rate_per_second=args.limit * args.headroom,
                    delivery_batch_size=2000,
                    delivery_concurrency=args.concurrency,
                )
                app = App(settings)
                queued = await prepare(app, args.chats)
                channel = TelegramChannel(
                    app.dispatcher,
                    settings,
                    request=BotApiRequest(connection_pool_size=args.concurrency, pool_timeout=30),
                )
                await channel.open()
                settle_memory()  # as qtbot run does once it is up
                delivery = OutboxDelivery(app.sessions, settings, {"telegram": channel})
                elapsed, _ = await deliver_all(delivery, queued)
                await channel.stop()
                await app.close()
            stats = (await client.get("/_fake/stats")).json()
    finally:
        process.terminate()
        await process.wait()
    per_chat = stats["per_chat"]
    lost = sum(1 for chat in ids if per_chat.get(str(chat), 0) == 0)
    duplicated = sum(count - 1 for count in per_chat.values() if count > 1)
    send_calls = stats["calls"].get("sendMessage", 0)
    # The rate as the server saw it, from its first message to its last (the bot's start-up, i.e.
    # claiming the first batch, is not part of the broadcast rate; it is in "seconds").
    rate = (stats["messages_sent"] - 1) / stats["sending_seconds"]
    result = {
        "bench": "broadcast",
        "chats": args.chats,
        "limit_per_s": args.limit,
        "bot_rate_setting_per_s": args.limit * args.headroom,
        "seconds": round(elapsed, 2),
        "sending_seconds": round(stats["sending_seconds"], 2),
        "achieved_per_s": round(rate, 1),
        "achieved_over_limit": round(rate / args.limit, 3),
        "lost": lost,
        "duplicated": duplicated,
        "http_429": stats["too_many_requests"],
        "http_429_share": round(stats["too_many_requests"] / max(1, send_calls), 4),
        "targets_met": rate / args.limit >= 0.95
        and lost == 0
        and duplicated == 0
        and stats["too_many_requests"] / max(1, send_calls) < 0.01,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
