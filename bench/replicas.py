"""Replicas in webhook mode sharing one bot token's limit. Prints one JSON line.

For 1, 2 and 3 replicas in turn: that many ``qtbot run`` processes on one PostgreSQL, each in Telegram
webhook mode with its own web app on 127.0.0.1, behind a round-robin HTTP proxy on 127.0.0.1 that the
fake Telegram Bot API posts the updates to. Once all are up, an announcement to ``--chats`` chats is
queued, and officers keep asking questions through the proxy while the replicas send it (their
answers count against the limit too, as on Telegram). The fake enforces ``--limit`` messages a
second overall, as Telegram does per bot token; every replica is configured with the whole limit
(``QTBOT_TELEGRAM_RATE_PER_SECOND``, 98 % of it), because the limit is shared through PostgreSQL
(bot/delivery.py, ``DatabaseSlots``).

The fake runs in its own process (``python -m tests.fakes.telegram``), as Telegram's servers are not
in the load balancer's: it used to run in this process's event loop beside the proxy, the
question traffic and the loop that counted its messages, and a stall there stamped messages that
had left the bot evenly spaced as if they came together (its 429s were then partly the bench's own).

Counts, per replica count: the rate the fake saw, every message of the token (target ≥ 0.95 of the
limit), its 429 answers (target < 1 % of the messages), lost and duplicated messages (target 0), and
the questions answered (each by whichever replica the proxy chose).

    .venv/bin/python bench/replicas.py --database-url postgresql+asyncpg://... [--chats 10000] [--limit 100]
        [--replicas 1 2 3] [--headroom 0.98]

The database given is emptied first (its ``public`` schema is dropped and created).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import socket
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import BinaryIO

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.broadcast import FIRST_CHAT, TOKEN, prepare, start_fake  # noqa: E402
from bench.crash import reset_postgres  # noqa: E402
from bot.app import App  # noqa: E402
from bot.config import Settings  # noqa: E402

SECRET = "bench-replicas-webhook-secret"
ASKERS = range(777_000, 777_020)  # officers asking a question each while the broadcast goes out
QUESTION = "cụm 2 gồm những đơn vị nào?"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RoundRobin:
    """An HTTP reverse proxy on 127.0.0.1: each request goes to the next backend in turn."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = itertools.cycle(backends)
        self.forwarded: Counter[str] = Counter()
        self.port = free_port()
        self._client = httpx.AsyncClient(timeout=30)
        app = Starlette(routes=[Route("/{path:path}", self._forward, methods=["GET", "POST"])])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def _forward(self, request: Request) -> Response:
        backend = next(self.backends)
        self.forwarded[backend] += 1
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        answer = await self._client.request(
            request.method, f"{backend}{request.url.path}", content=await request.body(), headers=headers
        )
        return Response(answer.content, status_code=answer.status_code, media_type=answer.headers.get("content-type"))

    async def __aenter__(self) -> RoundRobin:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:  # noqa: ASYNC110  (uvicorn has no event for it)
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        await self._client.aclose()


def replica_env(
    database_url: str, api_root: str, proxy_port: int, port: int, limit: float, headroom: float = 0.98
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTBOT_")}
    env.update(
        QTBOT_DATABASE_URL=database_url,
        QTBOT_TELEGRAM_TOKEN=TOKEN,
        QTBOT_TELEGRAM_BASE_URL=api_root,
        QTBOT_TELEGRAM_RATE_PER_SECOND=str(limit * headroom),
        QTBOT_PUBLIC_URL=f"http://127.0.0.1:{proxy_port}",
        QTBOT_TELEGRAM_WEBHOOK_SECRET=SECRET,
        QTBOT_WEB_LISTEN=f"127.0.0.1:{port}",
        QTBOT_LOG_LEVEL="WARNING",
    )
    return env


def log_file(port: int) -> BinaryIO:
    """Where a replica's output goes (its warnings, if any), for a look after the run."""
    return (Path(tempfile.gettempdir()) / f"qtbot-replica-{port}.log").open("wb")


async def wait_healthy(port: int, process: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(600):
            if process.returncode is not None:
                raise RuntimeError(f"a replica stopped at start-up (exit {process.returncode})")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise TimeoutError(f"the replica on port {port} did not come up")


async def one_run(
    database_url: str, replicas: int, chats: int, limit: float, headroom: float = 0.98
) -> dict[str, object]:
    await reset_postgres(database_url)
    setup = App(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    await setup.prepare()
    fake, api_root = await start_fake(limit)
    ports = [free_port() for _ in range(replicas)]
    processes: list[asyncio.subprocess.Process] = []
    logs: list[BinaryIO] = []
    try:
        async with (
            httpx.AsyncClient(base_url=api_root, timeout=60) as api,
            RoundRobin([f"http://127.0.0.1:{p}" for p in ports]) as proxy,
        ):
            await api.post("/_fake/chats", json={"ids": [FIRST_CHAT + n for n in range(chats)] + list(ASKERS)})
            for port in ports:
                env = replica_env(database_url, api_root, proxy.port, port, limit, headroom)
                log = log_file(port)
                logs.append(log)
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "bot.cli", "run", env=env, cwd=ROOT, stdout=log, stderr=log
                    )
                )
            for port, process in zip(ports, processes, strict=True):
                await wait_healthy(port, process)
            queued = await prepare(setup, chats)  # as an admin's /thongbao would, once all are up
            started = time.perf_counter()
            asked = 0
            while True:
                # Every message counts here (answers too), so the loop ends once the broadcast and the
                # answers so far are out; the counts per chat are read once at the end.
                sent = (await api.get("/_fake/progress")).json()["messages_sent"]
                if sent >= queued + asked and asked == len(ASKERS):
                    break
                if time.perf_counter() - started > 60 + 3 * chats / limit:
                    break
                if asked < len(ASKERS) and time.perf_counter() - started > asked * 0.5:
                    await api.post("/_fake/send", json={"messages": [[ASKERS[asked], QUESTION]]})
                    asked += 1
                await asyncio.sleep(0.1)
            await asyncio.sleep(2.0)  # anything sent twice would arrive by now
            stats = (await api.get("/_fake/stats")).json()
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        await asyncio.gather(*(process.wait() for process in processes))
        for log in logs:
            log.close()
        fake.terminate()
        await fake.wait()
    await setup.close()
    per_chat = {int(chat): count for chat, count in stats["per_chat"].items()}
    lost = sum(1 for n in range(chats) if per_chat.get(FIRST_CHAT + n, 0) == 0)
    duplicated = sum(count - 1 for chat, count in per_chat.items() if count > 1 and chat not in ASKERS)
    answered = sum(1 for chat in ASKERS if per_chat.get(chat, 0) > 0)
    sending = stats["sending_seconds"]
    rate = (stats["messages_sent"] - 1) / sending if sending else 0.0
    too_many = stats["too_many_requests"]
    return {
        "replicas": replicas,
        "messages": queued,
        "achieved_per_s": round(rate, 1),
        "of_limit": round(rate / limit, 3),
        "http_429": too_many,
        "http_429_share": round(too_many / max(1, queued), 4),
        "lost": lost,
        "duplicated": duplicated,
        "questions_asked": asked,
        "questions_answered": answered,
        "webhook_calls_per_replica": sorted(proxy.forwarded.values()),
        "sending_s": round(sending, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True, help="postgresql+asyncpg://... (emptied first)")
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--limit", type=float, default=100.0, help="the fake's overall messages per second")
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--headroom", type=float, default=0.98, help="each replica's rate as a share of the limit")
    args = parser.parse_args()
    if not args.database_url.startswith("postgresql"):
        parser.error("replicas share one PostgreSQL: give --database-url postgresql+asyncpg://...")
    runs = [await one_run(args.database_url, count, args.chats, args.limit, args.headroom) for count in args.replicas]
    met = all(
        r["of_limit"] >= 0.95 and r["http_429_share"] < 0.01 and r["lost"] == 0 and r["duplicated"] == 0 for r in runs
    )
    print(
        json.dumps(
            {
                "bench": "replicas",
                "chats": args.chats,
                "limit_per_s": args.limit,
                "bot_rate_per_s": args.limit * args.headroom,
                "runs": runs,
                "targets_met": met,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
