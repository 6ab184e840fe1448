"""Data in and out: one JSON line of measurements, each taken by its own function.

``MEASUREMENTS`` maps a field name to an async function ``(workdir) -> float``; add yours there
(chart render times, import and export times) and the line gains a field. Each function builds what
it needs in a fresh SQLite database under ``workdir``.

    .venv/bin/python bench/data.py [--only feed_build_s]

Fields:
- ``feed_build_s``: one unit's calendar feed holding 100,000 duty shifts, from the database to the
  .ics bytes (what GET /ical/<token>.ics does on a cache miss), best of 3; target < 1 s.
- ``feed_shifts``: how many shifts that feed held (a check that the window covered all of them).
- ``chart_p50_ms``, ``chart_p99_ms``: the demo's Q2/2022 ranking drawn as a PNG (/xephang biểu đồ), the
  chart cache emptied before each of 50 draws (matplotlib already imported); target < 300 ms.
- ``*_cpu_*``: the same in CPU time of this process (steadier than wall time on a shared machine; the
  aiosqlite thread's CPU time counts too).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import perf_counter, process_time

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import App
from bot.config import Settings
from bot.models import CalendarFeed, DutyShift, Unit
from bot.services import calendar
from bot.views import calendar as calendar_views
from bot.views import results as results_views

SHIFTS = 100_000
ROLES = ("truc_chi_huy", "truc_ban", "truc_chien", "truc_thong_tin", "truc_ban_noi_vu")


def _settings(workdir: Path, name: str) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{workdir / name}.db")  # type: ignore[call-arg]


async def _feed_of_100k_shifts(workdir: Path) -> dict[str, float]:
    """A unit with 100,000 shifts over the feed's window (about 250 a day, every one from the day's
    handover at 07h30 to the next, as rosters are), one unit feed."""
    app = App(_settings(workdir, "feed"))
    await app.prepare()
    now = datetime(2022, 6, 22, 3, 0, tzinfo=UTC)
    try:
        async with app.sessions() as session, session.begin():
            unit = Unit(key="U-BENCH", name="Ban CHQS huyện Thử", short_name="Thử", kind="district_command")
            session.add(unit)
            await session.flush()
            tz = app.settings.tz
            first = (now - calendar.PAST).astimezone(tz).date() + timedelta(days=1)
            days = (calendar.PAST + calendar.AHEAD).days - 2
            rows = []
            for number in range(SHIFTS):
                start = datetime.combine(first + timedelta(days=number * days // SHIFTS), time(7, 30), tz)
                rows.append(
                    {
                        "unit_id": unit.id,
                        "duty_date": start.date(),
                        "role": ROLES[number % len(ROLES)],
                        "person_label": f"Tổ {number % 40 + 1}",
                        "starts_at": start,
                        "ends_at": start + timedelta(days=1),
                        "status": "cancelled" if number % 50 == 0 else "planned",
                        "version": 1 + number % 3,
                        "updated_at": now,
                    }
                )
            await session.execute(insert(DutyShift), rows)
            feed = CalendarFeed(token="b" * 32, owner="bench:1", scope="unit", unit_id=unit.id, created_at=now)
            session.add(feed)
        offsets = calendar.reminder_offsets(app.settings)
        best, best_cpu, held = float("inf"), float("inf"), 0
        for _ in range(3):
            started, started_cpu = perf_counter(), process_time()
            async with app.sessions() as session:
                found = await calendar.active_feed(session, "b" * 32)
                assert found is not None
                rows_ = await calendar.feed_rows(session, found, now=now)
            body = calendar_views.feed_ics("Thử", rows_, tz=app.settings.tz, offsets=offsets, stamp=now)
            best = min(best, perf_counter() - started)
            best_cpu = min(best_cpu, process_time() - started_cpu)
            held = body.count(b"BEGIN:VEVENT")
        return {"feed_build_s": round(best, 3), "feed_build_cpu_s": round(best_cpu, 3), "feed_shifts": held}
    finally:
        await app.close()


async def _ranking_chart(workdir: Path) -> dict[str, float]:
    from datetime import date

    from bot.services import charts, results

    app = App(_settings(workdir, "chart"))
    await app.prepare()
    try:
        await app.load_demo()
        async with app.sessions() as session:
            period = await results.latest_period(session, 1, date(2022, 6, 22), include_drafts=True)
            assert period is not None
            table = await results.result_table(session, period)
        chart = results_views.ranking_chart(table, "quý II/2022", "Cụm thi đua số 2")
        charts.render_png(chart)  # matplotlib imported, fonts found
        times, cpu = [], []
        for _ in range(50):
            charts._render.cache_clear()
            started, started_cpu = perf_counter(), process_time()
            charts.render_png(chart)
            times.append(perf_counter() - started)
            cpu.append(process_time() - started_cpu)
        times.sort()
        cpu.sort()
        return {
            "chart_p50_ms": round(times[len(times) // 2] * 1000, 1),
            "chart_p99_ms": round(times[-1] * 1000, 1),
            "chart_cpu_p50_ms": round(cpu[len(cpu) // 2] * 1000, 1),
        }
    finally:
        await app.close()


# Field(s) -> the function measuring them. Each returns a dict of its fields.
MEASUREMENTS: dict[str, Callable[[Path], Awaitable[dict[str, float]]]] = {
    "feed_build_s": _feed_of_100k_shifts,
    "chart_p50_ms": _ranking_chart,
}


async def main(only: list[str] | None) -> None:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="qtbot-data-bench-") as folder:
        for name, measure in MEASUREMENTS.items():
            if only and name not in only:
                continue
            results.update(await measure(Path(folder)))
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="measure only these fields")
    asyncio.run(main(parser.parse_args().only))
