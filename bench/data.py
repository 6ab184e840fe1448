"""Data in and out: one JSON line of measurements, each taken by its own function.

``MEASUREMENTS`` maps a field name to an async function ``(workdir) -> float``; add yours there
(chart render times, import and export times) and the line gains a field. Each function builds what
it needs in a fresh SQLite database under ``workdir``.

    .venv/bin/python bench/data.py [--only feed_build_s]

Fields:
- ``feed_build_s``: one unit's calendar feed holding 100,000 duty shifts, from the database to the
  .ics bytes (what GET /ical/<token>.ics does on a cache miss), best of 3; target < 1 s.
- ``feed_shifts``: how many shifts that feed held (a check that the window covered all of them).
- ``chart_p50_ms``, ``chart_p99_ms``: the demo's Q2/2022 ranking drawn as a PNG (/xephang), the
  chart cache emptied before each of 50 draws (matplotlib already imported); target < 300 ms. The
  same for Bình Lục's trend and criteria (``unit_chart_*``, /ketqua Bình Lục, two panels) and Kim
  Bảng's duty load in June 2022 (``load_chart_*``, /thongke trực tháng 6).
- ``import_5000_s``: a 5,000-row .xlsx roster (one row per day, trực chỉ huy / trực ban / trực chiến,
  15,000 shifts) sent to the dispatcher as an upload with "/nhap lịch trực Kim Bảng", checked and
  previewed, then confirmed: the time from the upload to the "Đã nhập" answer (target < 10 s), with
  the progress shown as the console shows it (``import_5000_progress_lines``: a line per 1,000 rows
  checked, then written; ``import_5000_longest_silence_s``: the longest wait between two of them, or
  from the upload to the first or from the last to the answer).
- ``export_10000_s``: the roster of Kim Bảng over 10,000 days (the demo's and the imported shifts)
  read and written as an .xlsx workbook (plus the same as CSV, ``export_10000_csv_s``); measured
  with ``import_5000_s``, on the same database.
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
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from time import perf_counter, process_time

from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import io
import re
from dataclasses import replace
from typing import Any

from openpyxl import Workbook

from bot.app import App
from bot.channels.console import CHANNEL, ConsoleChat
from bot.cli import fixed_clock
from bot.config import Settings
from bot.messages import Attachment
from bot.models import CalendarFeed, DutyShift, Unit
from bot.services import calendar, exports
from bot.views import calendar as calendar_views
from bot.views import exports as export_views
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


def _draws(chart: object, name: str) -> dict[str, float]:
    """``chart`` drawn 50 times from scratch (the cache emptied before each): p50 and p99 (the
    slowest of 50) in wall time, p50 in CPU time."""
    from bot.services import charts

    charts.render_png(chart)  # type: ignore[arg-type]  # matplotlib imported, fonts found
    times, cpu = [], []
    for _ in range(50):
        charts._render.cache_clear()
        started, started_cpu = perf_counter(), process_time()
        charts.render_png(chart)  # type: ignore[arg-type]
        times.append(perf_counter() - started)
        cpu.append(process_time() - started_cpu)
    times.sort()
    cpu.sort()
    return {
        f"{name}_p50_ms": round(times[len(times) // 2] * 1000, 1),
        f"{name}_p99_ms": round(times[-1] * 1000, 1),
        f"{name}_cpu_p50_ms": round(cpu[len(cpu) // 2] * 1000, 1),
    }


async def _ranking_chart(workdir: Path) -> dict[str, float]:
    """The three pictures of the demo: the Q2/2022 ranking (/xephang), Bình Lục's trend and criteria
    (/ketqua Bình Lục), Kim Bảng's duty load in June 2022 (/thongke trực tháng 6)."""
    from datetime import date

    from bot.services import readiness, results
    from bot.views import readiness as readiness_views

    app = App(_settings(workdir, "chart"))
    await app.prepare()
    try:
        await app.load_demo()
        async with app.sessions() as session:
            period = await results.latest_period(session, 1, date(2022, 6, 22), include_drafts=True)
            assert period is not None
            table = await results.result_table(session, period)
            unit = table.rows[-1].unit
            trend = await results.unit_trend(session, period, unit.id, include_drafts=True)
            directory = await app.dispatcher.reference.directory(session)
            kim_bang = directory.resolve("Kim Bảng")
            assert kim_bang is not None
            loads = await readiness.duty_load(session, kim_bang.unit.id, date(2022, 6, 1), date(2022, 6, 30))
        ranking = results_views.ranking_chart(table, "quý II/2022", "Cụm thi đua số 2")
        unit_chart = results_views.unit_chart(table, unit, "quý II/2022", trend)
        load = readiness_views.load_chart("Kim Bảng", 6, 2022, loads, illustrative=True)
        return _draws(ranking, "chart") | _draws(unit_chart, "unit_chart") | _draws(load, "load_chart")
    finally:
        await app.close()


NOW = "2022-06-22 10:00"
FIRST_DAY = date(2022, 6, 27)


def roster_file(rows: int) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Ngày", "Thứ", "Trực chỉ huy", "Trực ban", "Trực chiến"])
    commanders = ["Nguyễn Văn An", "Trần Đức Bình", "Lê Quang Cường", "Phạm Minh Dũng", "Hoàng Văn Hải"]
    officers = ["Long", "Nam", "Phúc", "Quang"]
    for n in range(rows):
        sheet.append([FIRST_DAY + timedelta(days=n), "", commanders[n % 5], officers[n % 4], f"Tổ {n % 2 + 1}"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def _import_5000(app: App) -> dict[str, Any]:
    content = roster_file(5000)
    chat = ConsoleChat(app.dispatcher, "admin", clock=fixed_clock(NOW, app.settings))
    await chat.setup()

    async def fetch() -> bytes:
        return content

    progress: list[tuple[float, str]] = []  # (seconds since the upload, line), as the console prints them

    async def show(text: str) -> None:
        progress.append((perf_counter() - started, text))

    started = perf_counter()
    incoming = replace(
        chat.incoming("/nhap lịch trực Kim Bảng"), attachment=Attachment("lich.xlsx", None, len(content), fetch)
    )
    preview = await app.dispatcher.handle(incoming, CHANNEL, progress=show)
    checked = perf_counter() - started
    labels = [b.text for r in preview for row in r.buttons for b in row]
    assert "Nhập" in labels, preview[0].text[:500]
    confirm = chat.incoming(str(labels.index("Nhập") + 1))
    done = await app.dispatcher.handle(confirm, CHANNEL, progress=show)
    elapsed = perf_counter() - started
    times = [0.0, *(at for at, _ in progress), elapsed]
    answer = done[0].text
    created = int(re.search(r"Đã nhập (\d+) ca", answer).group(1))  # type: ignore[union-attr]
    return {
        "import_5000_s": round(elapsed, 2),
        "import_5000_check_s": round(checked, 2),
        "import_5000_shifts": created,
        "import_5000_progress_lines": len(progress),
        "import_5000_longest_silence_s": round(max(b - a for a, b in pairwise(times)), 2),
        "import_5000_bytes": len(content),
    }


async def _export_10000(app: App) -> dict[str, Any]:
    async with app.sessions() as session:
        directory = await app.dispatcher.reference.directory(session)
        unit = directory.resolve("Kim Bảng")
        assert unit is not None
        start = FIRST_DAY - timedelta(days=5000)
        end = start + timedelta(days=9999)
        began = perf_counter()
        lines = await exports.roster_lines(session, unit.unit.id, start, end)
        read = perf_counter() - began
    table = export_views.roster_table(unit.unit, start, end, lines)
    began = perf_counter()
    _, content = exports.encode(table, "xlsx")
    written = perf_counter() - began
    began = perf_counter()
    exports.encode(table, "csv")
    csv_written = perf_counter() - began
    return {
        "export_10000_s": round(read + written, 2),
        "export_10000_read_s": round(read, 2),
        "export_10000_csv_s": round(read + csv_written, 2),
        "export_10000_rows": len(table.rows),
        "export_10000_bytes": len(content),
    }


async def _import_and_export(workdir: Path) -> dict[str, Any]:
    """A 5,000-row roster imported into the demo, then a 10,000-day roster exported."""
    settings = _settings(workdir, "spreadsheets").model_copy(update={"timezone": "Asia/Ho_Chi_Minh"})
    app = App(settings)
    await app.prepare()
    await app.load_demo()
    try:
        return await _import_5000(app) | await _export_10000(app)
    finally:
        await app.close()


# Field(s) -> the function measuring them. Each returns a dict of its fields.
MEASUREMENTS: dict[str, Callable[[Path], Awaitable[dict[str, float]]]] = {
    "feed_build_s": _feed_of_100k_shifts,
    "chart_p50_ms": _ranking_chart,
    "import_5000_s": _import_and_export,
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
