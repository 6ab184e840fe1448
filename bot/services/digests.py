"""Scheduled digests: daily (06h30), weekly (Monday 07h00), news (17h00), at times from settings.

A run first claims its period in ``job_runs`` (unique (job, period)): a second run of the same
period, on this process or another replica, does nothing. Digests are written to the outbox like any
push; a digest with nothing in it is not sent. A run that was due while the bot was down is made up
as soon as it runs again, within the same day (the same week for the weekly digest).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.db import insert_ignore
from bot.models import ChatLink, Event, JobRun, NewsItem, ReviewPeriod, Task, TaskAssignment, Unit
from bot.services import duty, readiness, schedule
from bot.services.duty import DutyDay
from bot.services.notices import Notice, event_time_facts, iso, shift_facts, task_facts, unit_facts
from bot.services.reminders import Push, write_pushes
from bot.services.results import period_spec
from bot.services.subscriptions import load_audience
from bot.vntime import week_bounds

#: events listed in a digest; one more is fetched to know there are others.
MAX_EVENTS = 15

# How long after its time a digest may still go out (the bot was down at 06h30, up at 09h00).
CATCH_UP = {"daily": timedelta(hours=4), "weekly": timedelta(days=1), "news": timedelta(hours=4)}


def last_fire(cron: str, tz: ZoneInfo, now: datetime) -> datetime | None:
    """The latest moment at or before ``now`` when the crontab line fires (within 8 days)."""
    trigger = CronTrigger.from_crontab(cron, timezone=tz)
    fire = trigger.get_next_fire_time(None, now - timedelta(days=8))
    latest = None
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
    return latest


#: ``job_runs.detail`` of a digest whose time passed while the bot was not running.
MISSED = "missed"


@dataclass(frozen=True)
class DigestRun:
    kind: str
    period: str
    written: int
    missed: bool = False  # its catch-up window had passed: nothing sent, recorded as missed


@dataclass(frozen=True)
class MissedDigest:
    kind: str  # daily / weekly / news
    due_at: datetime  # when it should have gone out


async def missed_digests(session: AsyncSession, since: datetime) -> list[MissedDigest]:
    """The digests due since ``since`` that were recorded as missed, latest first."""
    rows = await session.scalars(
        select(JobRun)
        .where(JobRun.job.like("digest_%"), JobRun.detail == MISSED, JobRun.started_at >= since)
        .order_by(JobRun.started_at.desc())
    )
    return [MissedDigest(r.job.removeprefix("digest_"), r.started_at) for r in rows]


async def _claim_period(session: AsyncSession, job: str, period: str, now: datetime) -> bool:
    row = {"job": job, "period": period, "started_at": now, "finished_at": None, "detail": None}
    return await insert_ignore(session, JobRun.__table__, [row], key=["job", "period"]) == 1


async def _previous_run(session: AsyncSession, job: str, period: str) -> datetime | None:
    return await session.scalar(select(func.max(JobRun.started_at)).where(JobRun.job == job, JobRun.period < period))


async def run_digest(session: AsyncSession, settings: Settings, kind: str, now: datetime) -> DigestRun | None:
    """Run the ``kind`` digest for its latest period, unless already done (or too late to make up)."""
    tz = settings.tz
    cron = getattr(settings, f"digest_{kind}_cron")
    fire = last_fire(cron, tz, now)
    if fire is None:
        return None
    job, period = f"digest_{kind}", fire.astimezone(tz).date().isoformat()
    if await session.scalar(select(JobRun.id).where(JobRun.job == job, JobRun.period == period)):
        return None
    previous = await _previous_run(session, job, period)
    if now - fire > CATCH_UP[kind]:
        if previous is None:
            return None  # the bot never ran this digest before (a new install): nothing was missed
        # Too late to make up: recorded as missed (for /guitin), never silently dropped. It counts as
        # run at its own time, so the next digest carries what this one would have.
        missed = {"job": job, "period": period, "started_at": fire, "finished_at": now, "detail": MISSED}
        if await insert_ignore(session, JobRun.__table__, [missed], key=["job", "period"]) != 1:
            return None
        return DigestRun(kind, period, 0, missed=True)
    since = previous or (fire - timedelta(days=7 if kind == "weekly" else 1))
    builder = {"daily": _daily, "weekly": _weekly, "news": _news}[kind]
    # Build first (reads only), then claim and write: on SQLite the write lock, which the outbox
    # delivery also needs, is held only for the claim and the inserts.
    content, chats = await builder(session, settings, fire, since, now)
    if not await _claim_period(session, job, period, now):
        return None  # another replica was first
    written = await _fan_out(session, settings, job, period, now, content, chats)
    return DigestRun(kind, period, written)


async def _fan_out(
    session: AsyncSession,
    settings: Settings,
    kind: str,
    period: str,
    now: datetime,
    content: Content,
    chats: list[ChatLink],
) -> int:
    pushes = [
        Push(kind, "digest", 0, period, 1, "digest", now, chat, notice)
        for chat in chats
        if (notice := content.get(chat.unit_id)) is not None
    ]
    # A digest is never "missed": it is made up within its catch-up window.
    return await write_pushes(session, pushes, now=now, grace=timedelta(days=365), tz=settings.tz)


async def _units(session: AsyncSession, ids: set[int | None]) -> dict[int, Unit]:
    found = await session.scalars(select(Unit).where(Unit.id.in_([i for i in ids if i is not None])))
    return {u.id: u for u in found}


async def _published_since(session: AsyncSession, since: datetime, now: datetime) -> list[ReviewPeriod]:
    return list(
        await session.scalars(
            select(ReviewPeriod)
            .where(
                ReviewPeriod.status == "published", ReviewPeriod.published_at > since, ReviewPeriod.published_at <= now
            )
            .order_by(ReviewPeriod.published_at)
        )
    )


async def _tasks_due(
    session: AsyncSession, unit_id: int | None, first: date, last: date
) -> list[tuple[Task, TaskAssignment | None]]:
    if unit_id is None:
        tasks = await session.scalars(
            select(Task).where(Task.status == "open", Task.due_on >= first, Task.due_on <= last).order_by(Task.due_on)
        )
        return [(t, None) for t in tasks]
    rows = await session.execute(
        select(Task, TaskAssignment)
        .join(TaskAssignment, TaskAssignment.task_id == Task.id)
        .where(
            Task.status == "open",
            Task.due_on >= first,
            Task.due_on <= last,
            TaskAssignment.unit_id == unit_id,
            TaskAssignment.status != "done",
        )
        .order_by(Task.due_on, Task.id)
    )
    return [(t, a) for t, a in rows.all()]


Content = dict[int | None, Notice | None]


def _roster(days: list[DutyDay]) -> list[dict]:
    return [{"day": day.day.isoformat(), "shifts": [shift_facts(s) for s in day.shifts]} for day in days]


def _events(events: list[Event]) -> list[dict]:
    return [{"title": e.title, "location": e.location, **event_time_facts(e)} for e in events]


def _tasks(tasks: list[tuple[Task, TaskAssignment | None]]) -> list[dict]:
    return [task_facts(task) for task, _assignment in tasks]


async def _daily(
    session: AsyncSession, settings: Settings, fire: datetime, since: datetime, now: datetime
) -> tuple[Content, list[ChatLink]]:
    tz = settings.tz
    today = fire.astimezone(tz).date()
    chats = (await load_audience(session)).everyone("digest_daily")
    units = await _units(session, {c.unit_id for c in chats})
    published = await _published_since(session, since, now)
    content: Content = {}
    periods = [{"year": p.year, "kind": p.kind, "number": p.number} for p in map(period_spec, published)]
    for unit_id in {c.unit_id for c in chats}:
        unit = units.get(unit_id) if unit_id else None
        roster = await duty.roster(session, unit_id, today, today + timedelta(days=1)) if unit_id else []
        lo, hi = schedule.local_day_bounds(today, today + timedelta(days=2), tz)
        events = await schedule.events_between(session, lo, hi, unit_id=unit_id, limit=MAX_EVENTS + 1)
        tasks = await _tasks_due(session, unit_id, today, today + timedelta(days=7))
        gaps = readiness.gap_facts(await readiness.duty_gaps(session, unit_id, today)) if unit_id else []
        reinforced = [readiness.period_facts(p, []) for p in await readiness.periods_on(session, today, unit_id)]
        content[unit_id] = (
            Notice(
                "digest_daily",
                {
                    "today": today.isoformat(),
                    "unit": unit_facts(unit) if unit else None,
                    "roster": _roster(roster),
                    "events": _events(events),
                    "tasks": _tasks(tasks),
                    "published": periods,
                    "gaps": gaps,
                    "reinforced": reinforced,
                },
            )
            if roster or events or tasks or periods or gaps or reinforced
            else None  # an empty digest is not sent
        )
    return content, chats


async def _weekly(
    session: AsyncSession, settings: Settings, fire: datetime, since: datetime, now: datetime
) -> tuple[Content, list[ChatLink]]:
    del since, now
    tz = settings.tz
    monday, sunday = week_bounds(fire.astimezone(tz).date())
    chats = (await load_audience(session)).everyone("digest_weekly")
    units = await _units(session, {c.unit_id for c in chats})
    content: Content = {}
    for unit_id in {c.unit_id for c in chats}:
        unit = units.get(unit_id) if unit_id else None
        roster = await duty.roster(session, unit_id, monday, sunday) if unit_id else []
        lo, hi = schedule.local_day_bounds(monday, sunday, tz)
        events = await schedule.events_between(session, lo, hi, unit_id=unit_id, limit=MAX_EVENTS + 1)
        tasks = await _tasks_due(session, unit_id, monday, sunday)
        content[unit_id] = (
            Notice(
                "digest_weekly",
                {
                    "monday": monday.isoformat(),
                    "sunday": sunday.isoformat(),
                    "unit": unit_facts(unit) if unit else None,
                    "roster": _roster(roster),
                    "events": _events(events),
                    "tasks": _tasks(tasks),
                },
            )
            if roster or events or tasks
            else None
        )
    return content, chats


async def _news(
    session: AsyncSession, settings: Settings, fire: datetime, since: datetime, now: datetime
) -> tuple[Content, list[ChatLink]]:
    del fire
    items = list(
        await session.scalars(
            select(NewsItem)
            .where(NewsItem.created_at > since, NewsItem.created_at <= now)
            .order_by(NewsItem.published_at.desc())
            .limit(20)
        )
    )
    chats = (await load_audience(session)).everyone("news")
    del settings
    facts = [{"title": i.title, "link": i.link, "published_at": iso(i.published_at)} for i in items]
    notice = Notice("digest_news", {"items": facts}) if items else None
    return dict.fromkeys({c.unit_id for c in chats}, notice), chats
