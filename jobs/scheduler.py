"""The clock. APScheduler runs a few fixed jobs in the cluster's time zone; the database says what
is due, so a restart loses nothing and several replicas can run the same jobs (DESIGN.md).

- planner: every minute, writes the reminders of the next minutes into the outbox;
- digests: every minute, runs a digest whose time has come and whose period is not done yet;
- news: every ``news_interval_minutes``, fetches the feeds;
- housekeeping: every minute, reclaims outbox rows of dead processes, prunes planner runs and
  expired dialogs;
- delivery: not a job but a loop (bot/delivery.py) that sleeps until the next row is due.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import Settings
from bot.delivery import DeliveryReport, OutboxDelivery
from bot.models import JobRun, utcnow
from bot.services import dialogs
from bot.services.digests import DigestRun
from bot.services.reminders import PLANNER_JOB, PlanResult
from jobs import digests, news, planner

log = logging.getLogger(__name__)
# How long a stop waits for a job already running.
STOP_GRACE = 10.0


@dataclass
class TickReport:
    plan: PlanResult
    digests: list[DigestRun] = field(default_factory=list)
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


class Jobs:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        settings: Settings,
        delivery: OutboxDelivery,
        *,
        clock: Callable[[], datetime] = utcnow,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.delivery = delivery
        self.clock = clock
        self.http = http
        self.scheduler: AsyncIOScheduler | None = None
        self._stop = asyncio.Event()
        self._delivery_task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Task[object]] = set()  # jobs the scheduler started, not yet done

    async def plan(self) -> PlanResult:
        result = await planner.run(self.sessions, self.settings, self.clock())
        if result.written:
            self.delivery.wake()
        return result

    async def digests(self) -> list[DigestRun]:
        done = await digests.run(self.sessions, self.settings, self.clock())
        if any(d.written for d in done):
            self.delivery.wake()
        return done

    async def news(self) -> None:
        if self.http is None:
            self.http = httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=10.0))
        for report in await news.run(self.sessions, self.settings, self.http, self.clock()):
            if report.status == "error":
                log.warning("news source %s: %s", report.url, report.error)

    async def housekeeping(self) -> None:
        now = self.clock()
        await self.delivery.reclaim_stale(now)
        async with self.sessions() as session, session.begin():
            cutoff = now - timedelta(days=2)
            await session.execute(delete(JobRun).where(JobRun.job == PLANNER_JOB, JobRun.started_at < cutoff))
            await dialogs.purge_expired(session, now)

    async def tick(self) -> TickReport:
        """Everything once, as of ``clock()``: plan, digests, then deliver what is due."""
        report = TickReport(plan=await self.plan())
        report.digests = await self.digests()
        await self.delivery.reclaim_stale(self.clock())
        report.delivery = await self.delivery.deliver_due()
        return report

    async def _guarded(self, job: Callable[[], object], name: str) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        try:
            await job()  # type: ignore[misc]
        except Exception:
            log.exception("job %s failed; it runs again at its next time", name)

    def start(self) -> None:
        scheduler = AsyncIOScheduler(
            timezone=self.settings.tz,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        now = datetime.now(self.settings.tz)
        for name, job, seconds in (
            ("planner", self.plan, 60),
            ("digests", self.digests, 60),
            ("news", self.news, self.settings.news_interval_minutes * 60),
            ("housekeeping", self.housekeeping, 60),
        ):
            scheduler.add_job(self._guarded, "interval", seconds=seconds, args=[job, name], id=name, next_run_time=now)
        scheduler.start()
        self.scheduler = scheduler
        self._stop.clear()
        self._delivery_task = asyncio.create_task(self.delivery.run(self._stop), name="outbox-delivery")

    async def stop(self) -> None:
        """Stop the clock, let a job that is running finish (a planner run is one transaction; cut at
        exit, its database connection could not close and the process hung), then stop delivery."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self._running:
            _done, late = await asyncio.wait(set(self._running), timeout=STOP_GRACE)
            for task in late:
                task.cancel()
        self._stop.set()
        if self._delivery_task is not None:
            await self._delivery_task
            self._delivery_task = None
        if self.http is not None:
            await self.http.aclose()
            self.http = None
