"""Faults and scale-out, measured as the fake Bot API sees them. Prints one JSON line.

``crash`` (default): one announcement to ``--chats`` chats and a morning digest run to the same chats
(each chat is in one of the demo units and subscribed to the digest, which is rendered at send time),
sent by ``qtbot``'s real outbox in a separate process against the fake Telegram Bot API over
127.0.0.1; that process is killed with SIGKILL ``--kills`` times at random moments and started again
each time, then left to finish. Counts the messages that never arrived (lost, target 0), the extra
copies (duplicated) and the most extra copies one kill caused (target: at most
``QTBOT_DELIVERY_CONCURRENCY``, the in-flight window).

``outage`` (PostgreSQL only): the same messages, the sending process reaching PostgreSQL through a
TCP proxy on 127.0.0.1 that is stopped for ``--outage`` seconds (30) mid-broadcast, its connections
cut, and started again. Counts lost, duplicated, what was sent while the database was away (target:
at most the window) and how long sending took to resume once it was back (target < 5 s).

``replicas``: the same broadcast sent by ``--replicas`` processes at once against a fake that enforces
Telegram's flood limits, each configured with the full rate of the bot token; counts the 429s the
fake answered. With limits shared through PostgreSQL, two replicas draw no more 429s than one.

    .venv/bin/python bench/crash.py [--chats 2500] [--kills 50] [--database-url postgresql+asyncpg://...]
    .venv/bin/python bench/crash.py outage --database-url postgresql+asyncpg://... [--outage 30]
    .venv/bin/python bench/crash.py replicas --replicas 2 --database-url postgresql+asyncpg://...

A PostgreSQL database given here is emptied first (its ``public`` schema is dropped and created).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.broadcast import FIRST_CHAT, TOKEN, prepare  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import SecretStr, Settings  # noqa: E402
from bot.models import ChatLink, OutboxMessage, Subscription, Unit  # noqa: E402
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

    from bot.channels.telegram import BotApiRequest, TelegramChannel
    from bot.delivery import OutboxDelivery

    settings = sender.settings()
    app = App(settings)
    channel = TelegramChannel(
        app.dispatcher, settings, request=BotApiRequest(connection_pool_size=sender.concurrency, pool_timeout=30)
    )
    await channel.open()
    delivery = OutboxDelivery(app.sessions, settings, {"telegram": channel})
    stop = asyncio.Event()
    running = asyncio.create_task(delivery.run(stop))
    print("SENDING", flush=True)
    while not running.done():
        try:
            if not await unfinished(app):
                break
        except Exception:  # the database is away: the delivery loop waits for it too
            pass
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


async def _prepared(database_url: str, chats: int, *, digest: bool = False) -> dict[str, int]:
    """The broadcast queued (and, with ``digest``, a morning digest run to the same chats); returns
    how many messages each chat is to receive, as the outbox holds them."""
    from sqlalchemy import insert, update

    from bot.demo import load_demo
    from bot.models import utcnow
    from bot.services.digests import run_digest

    app = App(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    try:
        await prepare(app, chats)
        if digest:
            async with app.sessions() as session, session.begin():
                await load_demo(session, app.settings.tz)
                units = list(await session.scalars(select(Unit.id).where(Unit.parent_id.is_(None)).order_by(Unit.id)))
                links = list(await session.scalars(select(ChatLink.id).order_by(ChatLink.id)))
                for index, link in enumerate(links):
                    await session.execute(
                        update(ChatLink).where(ChatLink.id == link).values(unit_id=units[index % len(units)])
                    )
                await session.execute(
                    insert(Subscription.__table__), [{"chat_link_id": i, "kind": "digest_daily"} for i in links]
                )
            # The demo's morning (its roster and meetings), sent now, so the outbox does not find it late.
            fire = datetime(2022, 6, 22, 6, 31, tzinfo=app.settings.tz)
            async with app.sessions() as session, session.begin():
                await run_digest(session, app.settings, "daily", fire)
                now = utcnow()
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.kind == "digest_daily")
                    .values(due_at=now, send_at=now, next_attempt_at=now)
                )
        async with app.sessions() as session:
            rows = await session.execute(
                select(OutboxMessage.chat_id, func.count())
                .where(OutboxMessage.status == "pending")
                .group_by(OutboxMessage.chat_id)
            )
            return {chat: count for chat, count in rows.all()}
    finally:
        await app.close()


def _fake(chats: int, limit: float) -> FakeTelegram:
    """The fake Bot API with ``chats`` private chats, enforcing ``limit`` messages a second overall."""
    fake = FakeTelegram(token=TOKEN, limits=FloodLimits(global_per_second=limit))
    for n in range(chats):
        fake.add_chat(FIRST_CHAT + n, first_name=f"U{n}")
    return fake


def _counts(fake: FakeTelegram, expected: dict[str, int]) -> tuple[int, int]:
    """(lost, duplicated) as the fake saw them, against what each chat was to receive."""
    per_chat = Counter(str(message.chat_id) for message in fake.sent)
    lost = sum(max(0, count - per_chat[chat]) for chat, count in expected.items())
    return lost, sum(max(0, count - expected.get(chat, 0)) for chat, count in per_chat.items())


async def _wait_for_messages(fake: FakeTelegram, count: int, process: asyncio.subprocess.Process) -> None:
    while len(fake.sent) < count and process.returncode is None:  # noqa: ASYNC110  (or the process ends)
        await asyncio.sleep(0.005)


async def crash(
    database_url: str, *, chats: int = 2500, kills: int = 50, rate: float = 150.0, concurrency: int = 16, seed: int = 1
) -> dict[str, object]:
    """The broadcast and the digest run killed ``kills`` times; what the fake received (see the module
    docstring). A copy is charged to the kill that ended the process which sent the copy before it."""
    expected = await _prepared(database_url, chats, digest=True)
    total = sum(expected.values())
    shuffle = random.Random(seed)
    fake = _fake(chats, rate * 2)
    started = time.perf_counter()
    done_kills = 0
    at_kills: list[int] = []  # how many messages the fake had received at each kill
    async with fake, fake.serve() as root:
        sender = Sender(database_url, root, rate, concurrency=concurrency)
        for _ in range(kills):
            process = await spawn(sender)
            # Somewhere mid-batch: after a random number of further messages went out.
            await _wait_for_messages(
                fake, len(fake.sent) + shuffle.randint(5, max(6, 3 * total // (2 * kills))), process
            )
            if process.returncode is not None:
                break
            process.send_signal(signal.SIGKILL)
            await process.wait()
            at_kills.append(len(fake.sent))
            done_kills += 1
        process = await spawn(sender)
        await asyncio.wait_for(process.wait(), timeout=900)
        lost, duplicated = _counts(fake, expected)
        per_kill = _duplicates_per_kill(fake, at_kills)
        too_many = fake.stats.too_many_requests
    return {
        "bench": "crash",
        "database": make_url(database_url).get_backend_name(),
        "chats": chats,
        "messages": total,
        "kills": done_kills,
        "concurrency": concurrency,
        "seconds": round(time.perf_counter() - started, 1),
        "lost": lost,
        "duplicated": duplicated,
        "duplicated_per_kill": round(duplicated / max(1, done_kills), 2),
        "duplicated_max_per_kill": max(per_kill, default=0),
        "http_429": too_many,
        "targets_met": lost == 0 and max(per_kill, default=0) <= concurrency,
    }


def _duplicates_per_kill(fake: FakeTelegram, at_kills: list[int]) -> list[int]:
    """Each extra copy charged to the kill that ended the process which sent the copy before it: that
    copy had gone out and its outcome was not yet recorded when the process died."""
    last_sent: dict[tuple[int, str], int] = {}
    charged = [0] * len(at_kills)
    for index, message in enumerate(fake.sent):
        key = (message.chat_id, message.text)
        if key in last_sent:
            kill = bisect.bisect_right(at_kills, last_sent[key])
            if kill < len(charged):
                charged[kill] += 1
        last_sent[key] = index
    return charged


class TcpProxy:
    """A TCP proxy on 127.0.0.1 in front of the database: ``stop`` closes it and cuts every connection
    through it (the database is away for whoever uses the proxy), ``start`` opens it again."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._connect, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, upstream_writer}
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()


async def outage(
    database_url: str, *, chats: int = 2500, seconds: float = 30.0, rate: float = 150.0, concurrency: int = 16
) -> dict[str, object]:
    """The database away for ``seconds`` mid-broadcast (see the module docstring)."""
    expected = await _prepared(database_url, chats, digest=True)
    total = sum(expected.values())
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    fake = _fake(chats, rate * 2)
    async with fake, fake.serve() as root:
        process = await spawn(Sender(through_proxy, root, rate, concurrency=concurrency))
        await _wait_for_messages(fake, total // 3, process)
        await proxy.stop()
        at_outage = len(fake.sent)
        await asyncio.sleep(seconds)
        during = len(fake.sent) - at_outage
        await proxy.start()
        back = time.perf_counter()
        await _wait_for_messages(fake, at_outage + during + 1, process)
        resumed = time.perf_counter() - back
        await asyncio.wait_for(process.wait(), timeout=900)
        lost, duplicated = _counts(fake, expected)
    await proxy.stop()
    return {
        "bench": "outage",
        "database": url.get_backend_name(),
        "chats": chats,
        "messages": total,
        "outage_s": seconds,
        "concurrency": concurrency,
        "sent_while_away": during,
        "resumed_after_s": round(resumed, 2),
        "lost": lost,
        "duplicated": duplicated,
        "targets_met": lost == 0 and duplicated <= concurrency and during <= concurrency and resumed < 5,
    }


async def replicas(
    database_url: str, *, chats: int = 1000, count: int = 2, limit: float = 30.0, headroom: float = 0.9
) -> dict[str, object]:
    """``count`` replicas broadcast together against Telegram-like flood limits; the 429s drawn."""
    expected = await _prepared(database_url, chats)
    queued = sum(expected.values())
    fake = _fake(chats, limit)
    started = time.perf_counter()
    async with fake, fake.serve() as root:
        sender = Sender(database_url, root, limit * headroom, claim_timeout=120)
        processes = [await spawn(sender) for _ in range(count)]
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in processes)), timeout=900)
        lost, duplicated = _counts(fake, expected)
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
    parser.add_argument("mode", nargs="?", choices=("crash", "outage", "replicas", "child"), default="crash")
    parser.add_argument("--database-url", help="default: a new SQLite file")
    parser.add_argument("--chats", type=int)
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--outage", type=float, default=30.0, help="outage: seconds the database is away")
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
        elif args.mode == "outage":
            if not url.startswith("postgresql"):
                parser.error("outage needs --database-url postgresql+asyncpg://... (a TCP proxy stands before it)")
            result = await outage(url, chats=args.chats or 2500, seconds=args.outage, concurrency=args.concurrency)
        else:
            result = await crash(url, chats=args.chats or 2500, kills=args.kills, concurrency=args.concurrency)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
