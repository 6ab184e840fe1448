"""100,000 pending reminders over the next 30 days plus 2,000 due within the next 60 seconds: the
project's way (the database is the truth, a planner and one delivery loop) against the
job-per-reminder way (APScheduler 3, one ``date`` job per reminder in a ``SQLAlchemyJobStore``).

Each way runs in its own process, so peak RSS is its own. The reminders are written first (not
timed); then the clock starts: start-up time is until the scheduler runs with everything loaded;
lateness is when a due reminder actually went out minus when it was due.

Prints one JSON line. Target: our lateness p99 < 1 s.

    .venv/bin/python bench/scheduler.py [--pending 100000] [--due 2000] [--window 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIRED: list[tuple[float, float]] = []  # (due, fired) as epoch seconds
ALL_FIRED = asyncio.Event()
EXPECTED = [0]


def note_fired(due: float) -> None:
    FIRED.append((due, time.time()))
    if len(FIRED) >= EXPECTED[0]:
        ALL_FIRED.set()


async def wait_for_all(due: int, window: float) -> None:
    EXPECTED[0] = due
    if len(FIRED) < due:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ALL_FIRED.wait(), timeout=window + 15)


def _figures(start_seconds: float, rows: list[tuple[float, float]], expected: int, cutoff: float) -> dict:
    """Figures over the reminders that were due in the window (later ones that happened to fire
    while the slow way was catching up are left out)."""
    lateness = sorted(max(0.0, fired - due) for due, fired in rows if due <= cutoff)
    return {
        "startup_s": round(start_seconds, 3),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "fired": len(lateness),
        "expected": expected,
        "lateness_p50_s": round(statistics.median(lateness), 4) if lateness else None,
        "lateness_p99_s": round(lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))], 4) if lateness else None,
    }


# The due reminders are written first with a time far ahead, then moved to "within the next
# minute" right before the clock starts: writing 100,000 rows (or jobs) takes a while, and that time
# must not count as lateness.
PARKED = timedelta(days=60)


def _schedule(pending: int, due: int, window: float, now: datetime) -> tuple[list[datetime], list[float]]:
    """Fire times of the pending reminders (parked ones first), and the due ones' offsets in seconds."""
    rng = random.Random(1)
    offsets = [5 + rng.random() * (window - 5) for _ in range(due)]
    parked = [now + PARKED + timedelta(seconds=n) for n in range(due)]
    later = [now + timedelta(seconds=window + 60 + rng.random() * 30 * 86400) for _ in range(pending)]
    return parked + later, offsets


# --- the project's way ---------------------------------------------------------------------------


class RecordingChannel:
    """An outbox channel that only notes when each reminder went out."""

    name = "console"

    def __init__(self, due_by_text: dict[str, float]) -> None:
        from bot.channels.base import RateLimits

        self.limits = RateLimits(per_second=100_000, private_interval=0, group_per_minute=100_000)
        self.due_by_text = due_by_text

    async def deliver(self, chat_id: str, reply, *, is_group: bool, kind: str = "", first_part: int = 0) -> None:
        from bot.messages import to_plain

        note_fired(self.due_by_text[to_plain(reply.text).split("\n", 1)[0]])


async def ours(pending: int, due: int, window: float) -> dict:
    from sqlalchemy import insert, update

    from bot.app import App, settle_memory
    from bot.config import Settings
    from bot.models import ChatLink, Event, Subscription

    folder = tempfile.mkdtemp()
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=f"sqlite+aiosqlite:///{folder}/bench.db", remind_conference=["2h"]
    )
    setup = App(settings)
    await setup.prepare()
    now = datetime.now(UTC)
    fire_times, offsets = _schedule(pending, due, window, now)
    entered = now - timedelta(days=1)
    async with setup.sessions() as session, session.begin():
        await session.execute(
            insert(ChatLink.__table__),
            [{"channel": "console", "chat_id": "bench", "chat_type": "private", "active": True, "created_at": entered}],
        )
        await session.execute(insert(Subscription.__table__), [{"chat_link_id": 1, "kind": "conference"}])
        rows = [
            {
                "kind": "meeting",
                "title": f"Họp {n}",
                "starts_at": fire + timedelta(hours=2),
                "all_day": False,
                "cluster_wide": True,
                "status": "planned",
                "version": 1,
                "created_at": entered,
                "updated_at": entered,
            }
            for n, fire in enumerate(fire_times)
        ]
        for start in range(0, len(rows), 5000):
            await session.execute(insert(Event.__table__), rows[start : start + 5000])
    base = datetime.now(UTC)
    due_times = [base + timedelta(seconds=o) for o in offsets]
    async with setup.sessions() as session, session.begin():
        for n, fire in enumerate(due_times):  # ids follow insertion order
            await session.execute(update(Event).where(Event.id == n + 1).values(starts_at=fire + timedelta(hours=2)))
    await setup.close()
    due_by_text = {f"Nhắc lịch (còn 2 giờ): Cuộc họp Họp {n}": fire.timestamp() for n, fire in enumerate(due_times)}
    started = time.perf_counter()
    app = App(settings)
    await app.prepare()
    jobs = app.jobs({"console": RecordingChannel(due_by_text)})
    await jobs.plan()  # the first planner run is part of being ready
    jobs.start()
    settle_memory()  # as qtbot run does once it is up
    startup = time.perf_counter() - started
    await wait_for_all(due, window)
    await jobs.stop()
    await app.close()
    return _figures(startup, FIRED, due, max(f.timestamp() for f in due_times) if due else 0)


# --- one APScheduler job per reminder -------------------------------------------------------------


async def record_fire(due: float) -> None:
    note_fired(due)


async def per_job(pending: int, due: int, window: float) -> dict:
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    folder = tempfile.mkdtemp()
    url = f"sqlite:///{folder}/jobs.db"
    now = datetime.now(UTC)
    fire_times, offsets = _schedule(pending, due, window, now)
    # Writing the jobs is not timed: a paused scheduler only stores them.
    writer = AsyncIOScheduler(jobstores={"default": SQLAlchemyJobStore(url=url)}, timezone=UTC)
    writer.start(paused=True)
    for n, fire in enumerate(fire_times):
        writer.add_job(record_fire, "date", run_date=fire, args=[fire.timestamp()], id=f"r{n}", misfire_grace_time=None)
    base = datetime.now(UTC)
    due_times = [base + timedelta(seconds=o) for o in offsets]
    for n, fire in enumerate(due_times):
        writer.modify_job(f"r{n}", args=[fire.timestamp()])
        writer.reschedule_job(f"r{n}", trigger="date", run_date=fire)
    writer.shutdown(wait=False)
    started = time.perf_counter()
    scheduler = AsyncIOScheduler(
        jobstores={"default": SQLAlchemyJobStore(url=url)},
        timezone=UTC,
        job_defaults={"misfire_grace_time": None, "coalesce": True},
    )
    scheduler.start()
    startup = time.perf_counter() - started
    await wait_for_all(due, window)
    scheduler.shutdown(wait=False)
    return _figures(startup, FIRED, due, max(f.timestamp() for f in due_times) if due else 0)


# --- driver ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pending", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=2_000)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--mode", choices=("ours", "per_job"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        run = ours if args.mode == "ours" else per_job
        print(json.dumps(asyncio.run(run(args.pending, args.due, args.window))))
        return
    results = {}
    for mode in ("ours", "per_job"):
        output = subprocess.run(
            [
                sys.executable,
                __file__,
                "--mode",
                mode,
                "--pending",
                str(args.pending),
                "--due",
                str(args.due),
                "--window",
                str(args.window),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])

    def ratio(key: str) -> float | None:
        a, b = results["ours"].get(key), results["per_job"].get(key)
        return float(f"{a / b:.3g}") if a and b else None

    print(
        json.dumps(
            {
                "bench": "scheduler",
                "pending": args.pending,
                "due_within_s": args.window,
                "due": args.due,
                "ours": results["ours"],
                "job_per_reminder": results["per_job"],
                "ratio_ours_over_job_per_reminder": {
                    key: ratio(key) for key in ("startup_s", "peak_rss_mb", "lateness_p50_s", "lateness_p99_s")
                },
                "target_p99_met": (results["ours"]["lateness_p99_s"] or 99) < 1.0,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
