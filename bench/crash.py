"""Faults and scale-out, measured as the fake Bot API sees them. Prints one JSON line.

``crash`` (default): one announcement to ``--chats`` chats, sent by ``qtbot``'s real outbox in a
separate process against the fake Telegram Bot API over 127.0.0.1; that process is killed with
SIGKILL ``--kills`` times mid-broadcast and started again each time, then left to finish. Counts the
chats that never got the message (lost, target 0) and the extra copies (duplicated, target at most
``QTBOT_DELIVERY_CONCURRENCY`` per kill).

``replicas``: the same broadcast sent by ``--replicas`` processes at once against a fake that enforces
Telegram's flood limits, each configured with the full rate of the bot token; counts the 429s the
fake answered. With limits shared through PostgreSQL, two replicas draw no more 429s than one.

    .venv/bin/python bench/crash.py [--chats 3000] [--kills 10] [--database-url postgresql+asyncpg://...]
    .venv/bin/python bench/crash.py replicas --replicas 2 --database-url postgresql+asyncpg://...

A PostgreSQL database given here is emptied first (its ``public`` schema is dropped and created).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.broadcast import FIRST_CHAT, TOKEN, prepare  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.models import OutboxMessage  # noqa: E402
from tests.fakes.telegram import FakeTelegram, FloodLimits  # noqa: E402


@dataclass(frozen=True)
class Sender:
    """How a sending process is configured."""

    database_url: str
    root: str
    rate: float
    concurrency: int = 16
    batch: int = 200
    claim_timeout: int = 5

    def settings(self) -> Settings:
        return Settings(  # type: ignore[call-arg]
            _env_file=None,
            database_url=self.database_url,
            telegram_token=SecretStr(TOKEN),
            telegram_base_url=self.root,
            telegram_rate_per_second=self.rate,
            delivery_concurrency=self.concurrency,
            delivery_batch_size=self.batch,
            delivery_claim_timeout_seconds=self.claim_timeout,
        )

    def argv(self) -> list[str]:
        return [
            sys.executable,
            str(Path(__file__).resolve()),
            "child",
            "--database-url",
            self.database_url,
            "--root",
            self.root,
            "--rate",
            str(self.rate),
            "--concurrency",
            str(self.concurrency),
            "--batch",
            str(self.batch),
            "--claim-timeout",
            str(self.claim_timeout),
        ]


async def child(sender: Sender) -> None:
    """A sending process: the outbox delivery loop until no row is left to send."""
    from telegram.request import HTTPXRequest

    from bot.channels.telegram import TelegramChannel
    from bot.delivery import OutboxDelivery

    settings = sender.settings()
    app = App(settings)
    channel = TelegramChannel(
        app.dispatcher, settings, request=HTTPXRequest(connection_pool_size=sender.concurrency, pool_timeout=30)
    )
    await channel.open()
    delivery = OutboxDelivery(app.sessions, settings, {"telegram": channel})
    stop = asyncio.Event()
    running = asyncio.create_task(delivery.run(stop))
    print("SENDING", flush=True)
    while await unfinished(app) and not running.done():  # noqa: ASYNC110  (the others write to the database)
        await asyncio.sleep(0.2)
    stop.set()
    await running
    await channel.stop()
    await app.close()


async def unfinished(app: App) -> int:
    async with app.sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status.in_(("pending", "claimed")))
        )


async def spawn(sender: Sender) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(*sender.argv(), cwd=ROOT, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), timeout=60)).decode()
    if not line.startswith("SENDING"):
        process.kill()
        raise RuntimeError(f"the sending process did not start: {line!r}")
    return process


async def reset_postgres(url: str) -> None:
    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await connection.close()


async def _prepared(database_url: str, chats: int) -> int:
    app = App(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    try:
        return await prepare(app, chats)
    finally:
        await app.close()


def _fake(chats: int, limit: float) -> FakeTelegram:
    """The fake Bot API with ``chats`` private chats, enforcing ``limit`` messages a second overall."""
    fake = FakeTelegram(token=TOKEN, limits=FloodLimits(global_per_second=limit))
    for n in range(chats):
        fake.add_chat(FIRST_CHAT + n, first_name=f"U{n}")
    return fake


def _counts(fake: FakeTelegram, chats: int) -> tuple[int, int]:
    """(lost, duplicated) as the fake saw them."""
    per_chat = Counter(message.chat_id for message in fake.sent)
    lost = sum(1 for n in range(chats) if per_chat[FIRST_CHAT + n] == 0)
    return lost, sum(count - 1 for count in per_chat.values() if count > 1)


async def _wait_for_messages(fake: FakeTelegram, count: int, process: asyncio.subprocess.Process) -> None:
    while len(fake.sent) < count and process.returncode is None:  # noqa: ASYNC110  (or the process ends)
        await asyncio.sleep(0.005)


async def crash(
    database_url: str, *, chats: int = 3000, kills: int = 10, rate: float = 150.0, concurrency: int = 16, seed: int = 1
) -> dict[str, object]:
    """The broadcast killed ``kills`` times; what the fake received (see the module docstring)."""
    queued = await _prepared(database_url, chats)
    shuffle = random.Random(seed)
    fake = _fake(chats, rate * 2)
    started = time.perf_counter()
    done_kills = 0
    async with fake, fake.serve() as root:
        sender = Sender(database_url, root, rate, concurrency=concurrency)
        for _ in range(kills):
            process = await spawn(sender)
            # Kill somewhere in the middle of a batch, after a few more messages went out.
            await _wait_for_messages(fake, len(fake.sent) + shuffle.randint(20, max(21, chats // (kills + 2))), process)
            if process.returncode is not None:
                break
            process.send_signal(signal.SIGKILL)
            await process.wait()
            done_kills += 1
        process = await spawn(sender)
        await asyncio.wait_for(process.wait(), timeout=600)
        lost, duplicated = _counts(fake, chats)
        too_many = fake.stats.too_many_requests
    return {
        "bench": "crash",
        "database": make_url(database_url).get_backend_name(),
        "chats": chats,
        "queued": queued,
        "kills": done_kills,
        "concurrency": concurrency,
        "seconds": round(time.perf_counter() - started, 1),
        "lost": lost,
        "duplicated": duplicated,
        "duplicated_per_kill": round(duplicated / max(1, done_kills), 2),
        "http_429": too_many,
        "targets_met": lost == 0 and duplicated <= concurrency * done_kills,
    }


async def replicas(
    database_url: str, *, chats: int = 1000, count: int = 2, limit: float = 30.0, headroom: float = 0.9
) -> dict[str, object]:
    """``count`` replicas broadcast together against Telegram-like flood limits; the 429s drawn."""
    queued = await _prepared(database_url, chats)
    fake = _fake(chats, limit)
    started = time.perf_counter()
    async with fake, fake.serve() as root:
        sender = Sender(database_url, root, limit * headroom, claim_timeout=120)
        processes = [await spawn(sender) for _ in range(count)]
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), timeout=900)
        lost, duplicated = _counts(fake, chats)
        sending = (fake.stats.last_message_at or 0) - (fake.stats.first_message_at or 0)
        too_many = fake.stats.too_many_requests
    return {
        "bench": "replicas",
        "database": make_url(database_url).get_backend_name(),
        "replicas": count,
        "chats": chats,
        "queued": queued,
        "limit_per_s": limit,
        "each_replica_rate_setting_per_s": limit * headroom,
        "seconds": round(time.perf_counter() - started, 1),
        "achieved_per_s": round((chats - 1) / sending, 1) if sending else None,
        "lost": lost,
        "duplicated": duplicated,
        "http_429": too_many,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", choices=("crash", "replicas", "child"), default="crash")
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--chats", type=int)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--limit", type=float, default=30.0, help="replicas: the fake's overall messages per second")
    parser.add_argument("--root")
    parser.add_argument("--rate", type=float, default=150.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--claim-timeout", type=int, default=5)
    args = parser.parse_args()
    if args.mode == "child":
        sender = Sender(args.database_url, args.root, args.rate, args.concurrency, args.batch, args.claim_timeout)
        await child(sender)
        return
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/crash.db"
        if url.startswith("postgresql"):
            await reset_postgres(url)
        if args.mode == "replicas":
            result = await replicas(url, chats=args.chats or 1000, count=args.replicas, limit=args.limit)
        else:
            result = await crash(url, chats=args.chats or 3000, kills=args.kills, concurrency=args.concurrency)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
