"""Reply throughput and bot-side latency of the real bot vs a bare python-telegram-bot echo bot.

Both run the real PTB Application (long polling) against the in-process fake Bot API. The real bot
has the demo data plus 100,000 generated duty shifts; officers ask a mix of the DOMAIN.md questions.
Bot-side latency is measured inside PTB: from the moment the update reaches the handlers to the
moment the reply has been sent (stamped by handlers in groups -1 and 1), so it excludes queueing.

The real bot runs twice on the same messages: as shipped (answers cached per content version, see
bot/cache.py) and with the answer cache switched off, so the cost of a database round trip per
question is visible too. Everything is measured twice: with the fake Bot API in this process (the
headline figures; its parsing of the bot's long replies is charged to the bot) and in its own
process over HTTP (as Telegram's servers would be). Each run also gives this process's CPU time per
reply (``cpu_ms_per_reply``; the fake's too when it is in this process) and ``cpu_ratio*``, echo's
over the bot's: on a machine shared with other work the rates swing with its load, the CPU time
hardly does. Prints one JSON line.
Targets: real bot ≥ 0.5x the echo bot's throughput, p99 < 50 ms.

``--channel zalo``: the same questions through the real ``ZaloChannel`` against the fake Zalo Bot API in
its own process (``python -m tests.fakes.zalo``), in two modes: long polling (Zalo hands out one update
per getUpdates; the channel polls again while the previous update is answered) and webhook (the fake
POSTs each update to the bot's web app, served by uvicorn on 127.0.0.1, one at a time, in order, as
the fake does by default, and waits for its 200); and, in the same run, through Telegram with the
fake Bot API in its own process (the ``fake_bot_api_in_its_own_process`` figure of the default mode).
Latency is stamped around ``ZaloChannel._answer`` (the answer and the reply); the check for repeats
(a database read per webhook call, none when polling) counts in the rate, not in the latency.
Prints one JSON line with both rates and the ratio of each Zalo mode to Telegram (target ≥ 0.8).

    .venv/bin/python bench/queries.py [--messages 3000] [--shifts 100000] [--database-url URL]
    .venv/bin/python bench/queries.py --channel zalo [--messages 3000] [--shifts 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, select
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, TypeHandler, filters
from telegram.request import HTTPXRequest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import App, settle_memory
from bot.channels.telegram import BotApiRequest, TelegramChannel
from bot.channels.zalo import ZaloChannel
from bot.cli import fixed_clock
from bot.config import SecretStr, Settings
from bot.messages import Incoming
from bot.models import ClusterMember, DutyShift, Member, Unit
from bot.services.members import create_invite, join_with_invite
from bot.web import web_app
from tests.fakes.telegram import FakeTelegram
from tests.fakes.telegram.harness import FAKE_ROOT
from tests.fakes.zalo import LocalServer

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [
    "hôm nay ai trực chỉ huy?",
    "mai ai truc",
    "lịch trực tuần này",
    "/truc 15/03/2019",
    "/truc tuần sau",
    "kết quả chấm điểm quý 2",
    "Bình Lục quý II được bao nhiêu điểm?",
    "nhiệm vụ 6 tháng cuối năm",
    "lịch diễn tập xã Ba Sao",
    "cụm 2 gồm những đơn vị nào?",
    "hội nghị sơ kết 6 tháng ở đâu, khi nào?",
    "chỉ thị 87 là gì?",
]
USERS = 50
ZALO_TOKEN = "4242:BENCH-ZALO-TOKEN"
ZALO_SECRET = "bench-zalo-webhook-secret"
ROLES = ("truc_chi_huy", "truc_ban", "truc_chien")


class Stopwatch:
    """Stamps each update when handlers start (group -1) and when they are done (group 1)."""

    def __init__(self) -> None:
        self.started: dict[int, float] = {}
        self.latencies: list[float] = []
        self.first: float | None = None
        self.last: float = 0.0
        # This process's CPU time over the same span (the bot's, plus the fake's when it is in this
        # process): unlike the rates, it hardly moves with other processes' load on the machine.
        self.cpu_first = 0.0
        self.cpu_last = 0.0

    def install(self, application: Application) -> None:
        application.add_handler(TypeHandler(Update, self._start), group=-1)
        application.add_handler(TypeHandler(Update, self._stop), group=1)

    async def _start(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        now = time.perf_counter()
        self.started[update.update_id] = now
        if self.first is None:
            self.first = now
            self.cpu_first = time.process_time()

    async def _stop(self, update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        now = time.perf_counter()
        self.latencies.append(now - self.started.pop(update.update_id))
        self.last = now
        self.cpu_last = time.process_time()

    def figures(self) -> dict[str, float]:
        figures = self.summary(self.latencies, self.first, self.last)
        figures["cpu_ms_per_reply"] = round((self.cpu_last - self.cpu_first) * 1000 / max(1, len(self.latencies)), 3)
        return figures

    @staticmethod
    def summary(latencies: list[float], first: float | None, last: float) -> dict[str, float]:
        """Replies, replies per second from the first update's start to the last reply, p50, p99."""
        ordered = sorted(latencies)
        elapsed = last - (first or last)
        return {
            "replies": len(ordered),
            "replies_per_s": round(len(ordered) / elapsed, 1) if elapsed else 0.0,
            "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 2),
        }


class InProcessFake:
    """The fake Bot API in this process (its work is charged to the bot under test)."""

    name = "in_process"

    async def __aenter__(self) -> InProcessFake:
        self.fake = FakeTelegram()
        self.token = self.fake.token
        self.root = FAKE_ROOT
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.fake.aclose()

    def request(self, pool: int = 16, kind: type[HTTPXRequest] = BotApiRequest) -> HTTPXRequest:
        return kind(connection_pool_size=pool, httpx_kwargs={"transport": self.fake.transport()})

    async def send(self, messages: list[tuple[int, str]]) -> None:
        for user, text in messages:
            self.fake.user_sends(text, user_id=user)

    async def sent_texts(self) -> list[str]:
        return [m.text for m in self.fake.sent]


class ProcessFake:
    """The fake Bot API in its own process over HTTP on 127.0.0.1, as Telegram's servers are not in
    the bot's process: its parsing runs on the other core."""

    name = "separate_process"

    async def __aenter__(self) -> ProcessFake:
        self.token = "123456:BENCH-TOKEN"
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.telegram",
            "--token",
            self.token,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        line = (await self.process.stdout.readline()).decode()
        if not line.startswith("READY "):
            raise RuntimeError(f"fake Bot API did not start: {line!r}")
        self.root = line.split()[1]
        self.client = httpx.AsyncClient(base_url=self.root, timeout=60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        self.process.terminate()
        await self.process.wait()

    def request(self, pool: int = 16, kind: type[HTTPXRequest] = BotApiRequest) -> HTTPXRequest:
        return kind(connection_pool_size=pool)

    async def send(self, messages: list[tuple[int, str]]) -> None:
        await self.client.post("/_fake/send", json={"messages": messages})

    async def sent_texts(self) -> list[str]:
        return (await self.client.get("/_fake/sent")).json()


Fake = InProcessFake | ProcessFake


async def _drive(fake: Fake, messages: list[tuple[int, str]], watch: Stopwatch) -> None:
    """Queue the whole backlog at once, then wait for every reply."""
    await fake.send(messages)
    deadline = time.monotonic() + 600
    while len(watch.latencies) < len(messages):
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(watch.latencies)} of {len(messages)} replies")
        await asyncio.sleep(0.05)


async def echo_bot(fake: Fake, messages: list[tuple[int, str]]) -> dict[str, float]:
    async def echo(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_message.reply_text(update.effective_message.text)

    application = (
        ApplicationBuilder()
        .token(fake.token)
        .base_url(f"{fake.root}/bot{{token}}")
        .request(fake.request(kind=HTTPXRequest))  # PTB as shipped
        .get_updates_request(fake.request(1, kind=HTTPXRequest))
        .build()
    )
    application.add_handler(MessageHandler(filters.TEXT, echo))
    watch = Stopwatch()
    watch.install(application)
    await application.initialize()
    await application.start()
    await application.updater.start_polling(poll_interval=0, timeout=1)
    # The same garbage-collector settings as the real bot once it is up (frozen start-up objects, a
    # young generation collected every 20,000 allocations): the ratio compares what each does per
    # message, not GC settings (which are process-wide, so later runs would inherit them anyway).
    settle_memory()
    try:
        await _drive(fake, messages, watch)
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
    return watch.figures()


async def prepare_database(app: App, shifts: int, channels: tuple[str, ...] = ("telegram",)) -> list[int]:
    """Demo data, ``shifts`` generated duty shifts, and USERS officers linked to Telegram ids (on Zalo
    too, as ``z<id>``, when asked): the same user numbers on every channel."""
    await app.prepare()
    await app.load_demo()
    tz = app.settings.tz
    async with app.sessions() as session, session.begin():
        units = list(
            await session.scalars(select(Unit).join(ClusterMember, ClusterMember.unit_id == Unit.id).order_by(Unit.id))
        )
        people = list(await session.scalars(select(Member).where(Member.key.is_not(None))))
        rows = []
        day = date(2010, 1, 1)
        while len(rows) < shifts:
            if not (date(2022, 6, 20) <= day <= date(2022, 6, 26)):
                for unit in units:
                    start = datetime.combine(day, clock_time(7, 30), tz)
                    for role in ROLES:
                        rows.append(
                            {
                                "unit_id": unit.id,
                                "duty_date": day,
                                "role": role,
                                "member_id": random.choice(people).id if role != "truc_chien" else None,
                                "person_label": "Tổ 1" if role == "truc_chien" else None,
                                "starts_at": start,
                                "ends_at": start + timedelta(days=1),
                                "status": "planned",
                                "version": 1,
                                "reinforced": False,
                            }
                        )
            day += timedelta(days=1)
        rows = rows[:shifts]
        for index in range(0, len(rows), 5000):
            await session.execute(insert(DutyShift.__table__), rows[index : index + 5000])
        now = datetime(2022, 6, 22, 10, tzinfo=tz)
        user_ids = []
        for number in range(USERS):
            unit = units[number % len(units)]
            invite = await create_invite(session, unit=unit, created_by=None, now=now)
            user_id = 10_000 + number
            await join_with_invite(
                session, code=invite.code, channel="telegram", chat_id=str(user_id), sender_name=f"U{number}", now=now
            )
            if "zalo" in channels:
                invite = await create_invite(session, unit=unit, created_by=None, now=now)
                await join_with_invite(
                    session, code=invite.code, channel="zalo", chat_id=f"z{user_id}", sender_name=f"U{number}", now=now
                )
            user_ids.append(user_id)
    return user_ids


async def real_bot(fake: Fake, url: str, messages: list[tuple[int, str]], *, cache: bool) -> dict[str, float]:
    app = App(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    if not cache:
        app.dispatcher.answers.size = 0
    settings = app.settings.model_copy(update={"telegram_token": SecretStr(fake.token), "telegram_base_url": fake.root})
    channel = TelegramChannel(
        app.dispatcher,
        settings,
        request=fake.request(),
        get_updates_request=fake.request(1),
        clock=fixed_clock("2022-06-22 10:00", settings),
    )
    before = len(await fake.sent_texts())
    try:
        await channel.start(poll_timeout=1)
        settle_memory()  # as qtbot run does once it is up
        watch = Stopwatch()
        watch.install(channel.application)
        await _drive(fake, messages, watch)
    finally:
        await channel.stop()
        await app.close()
    texts = (await fake.sent_texts())[before:]
    wrong = [t for t in texts if "Xin lỗi" in t or "chưa hiểu" in t]
    if wrong:
        raise RuntimeError(f"{len(wrong)} replies were errors, e.g. {wrong[0][:200]}")
    figures = watch.figures()
    answers = app.dispatcher.answers
    figures["cache_hit_rate"] = round(answers.hits / max(1, answers.hits + answers.misses), 3)
    return figures


async def measure(fake: Fake, url: str, messages: list[tuple[int, str]]) -> dict[str, object]:
    echo = await echo_bot(fake, messages)
    bot = await real_bot(fake, url, messages, cache=True)
    uncached = await real_bot(fake, url, messages, cache=False)
    return {
        "bot": bot,
        "bot_without_answer_cache": uncached,
        "echo": echo,
        "throughput_ratio": round(bot["replies_per_s"] / echo["replies_per_s"], 3),
        "throughput_ratio_without_answer_cache": round(uncached["replies_per_s"] / echo["replies_per_s"], 3),
        # The same ratios from this process's CPU time per reply (echo's over the bot's): what the rates
        # would be if nothing else ran on the machine.
        "cpu_ratio": round(echo["cpu_ms_per_reply"] / bot["cpu_ms_per_reply"], 3),
        "cpu_ratio_without_answer_cache": round(echo["cpu_ms_per_reply"] / uncached["cpu_ms_per_reply"], 3),
    }


class ZaloFake:
    """The fake Zalo Bot API in its own process over HTTP on 127.0.0.1; its control API queues the
    whole backlog in one call."""

    def __init__(self, webhook_concurrency: int = 1) -> None:
        self.webhook_concurrency = webhook_concurrency

    async def __aenter__(self) -> ZaloFake:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.zalo",
            "--token",
            ZALO_TOKEN,
            "--webhook-concurrency",
            str(self.webhook_concurrency),
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        line = (await self.process.stdout.readline()).decode()
        if not line.startswith("fake zalo on "):
            raise RuntimeError(f"fake Zalo did not start: {line!r}")
        self.root = line.split()[-1]
        self.client = httpx.AsyncClient(base_url=self.root, timeout=60)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()
        self.process.terminate()
        await self.process.wait()

    async def send(self, messages: list[tuple[int, str]]) -> None:
        batch = [{"text": text, "chat_id": f"z{user}", "display_name": f"U{user}"} for user, text in messages]
        answer = await self.client.post("/_fake/say_many", json={"messages": batch})
        answer.raise_for_status()

    async def sent_texts(self) -> list[str]:
        return [m["text"] for m in (await self.client.get("/_fake/messages")).json()]


class TimedZalo(ZaloChannel):
    """The real Zalo channel, each answer stamped (from the start of answering to the reply sent)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.latencies: list[float] = []
        self.first: float | None = None
        self.last = 0.0

    async def _answer(self, incoming: Incoming, key: str | None) -> None:
        started = time.perf_counter()
        if self.first is None:
            self.first = started
        await super()._answer(incoming, key)
        self.last = time.perf_counter()
        self.latencies.append(self.last - started)


async def zalo_bot(
    url: str, messages: list[tuple[int, str]], *, webhook: bool, concurrency: int = 1
) -> dict[str, float]:
    """The real bot on Zalo, long polling or webhook (its web app under uvicorn on 127.0.0.1; the fake
    POSTs ``concurrency`` updates at once)."""
    app = App(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
    async with ZaloFake(concurrency) as fake:
        settings = app.settings.model_copy(
            update={"zalo_token": SecretStr(ZALO_TOKEN), "zalo_base_url": fake.root, "zalo_monthly_quota": 0}
        )
        channel = TimedZalo(app.dispatcher, settings, clock=fixed_clock("2022-06-22 10:00", settings))
        server = LocalServer(web_app(app.sessions, webhooks=[channel.webhook("/zalo", ZALO_SECRET)]))
        try:
            if webhook:
                root = await server.start()
                await channel.start_webhook(f"{root}/zalo", ZALO_SECRET)
            else:
                await channel.start()
            settle_memory()  # as qtbot run does once it is up
            await fake.send(messages)
            deadline = time.monotonic() + 600
            while len(channel.latencies) < len(messages):
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {len(channel.latencies)} of {len(messages)} replies")
                await asyncio.sleep(0.05)
        finally:
            await channel.stop()
            await server.stop()
            await app.close()
        texts = await fake.sent_texts()
    wrong = [t for t in texts if "Xin lỗi" in t or "chưa hiểu" in t]
    if wrong:
        raise RuntimeError(f"{len(wrong)} Zalo replies were errors, e.g. {wrong[0][:200]}")
    figures = Stopwatch.summary(channel.latencies, channel.first, channel.last)
    figures["messages_sent"] = len(texts)
    answers = app.dispatcher.answers
    figures["cache_hit_rate"] = round(answers.hits / max(1, answers.hits + answers.misses), 3)
    return figures


async def zalo_vs_telegram(url: str, messages: list[tuple[int, str]]) -> dict[str, object]:
    """Zalo (long polling, webhook) and Telegram, each with its fake API in its own process."""
    async with ProcessFake() as fake:
        telegram = await real_bot(fake, url, messages, cache=True)
    runs = {
        "zalo_polling": await zalo_bot(url, messages, webhook=False),
        "zalo_webhook": await zalo_bot(url, messages, webhook=True),
    }
    rate = telegram["replies_per_s"]
    ratios = {f"{name}_vs_telegram": round(run["replies_per_s"] / rate, 3) for name, run in runs.items()}
    return {
        "telegram": telegram,
        **runs,
        **ratios,
        "target_ratio_met": {name: ratio >= 0.8 for name, ratio in ratios.items()},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--channel", choices=("telegram", "zalo"), default="telegram")
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--shifts", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        setup = App(Settings(_env_file=None, database_url=url))  # type: ignore[call-arg]
        channels = ("telegram", "zalo") if args.channel == "zalo" else ("telegram",)
        users = await prepare_database(setup, args.shifts, channels)
        await setup.close()
        rng = random.Random(7)
        messages = [(rng.choice(users), rng.choice(QUESTIONS)) for _ in range(args.messages)]
        if args.channel == "zalo":
            compared = await zalo_vs_telegram(url, messages)
            print(
                json.dumps(
                    {
                        "bench": "queries",
                        "channel": "zalo",
                        "database": url.split(":", 1)[0],
                        "generated_shifts": args.shifts,
                        "messages": args.messages,
                        **compared,
                    },
                    ensure_ascii=False,
                )
            )
            return
        runs = {}
        for kind in (InProcessFake, ProcessFake):
            async with kind() as fake:
                runs[fake.name] = await measure(fake, url, messages)
    headline = runs["in_process"]
    result = {
        "bench": "queries",
        "database": url.split(":", 1)[0],
        "generated_shifts": args.shifts,
        "messages": args.messages,
        **headline,
        "fake_bot_api_in_its_own_process": runs["separate_process"],
        "target_ratio_met": headline["throughput_ratio"] >= 0.5,
        "target_p99_met": headline["bot"]["p99_ms"] < 50,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
