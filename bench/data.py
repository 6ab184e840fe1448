"""Data in and out: how long a 5,000-row roster takes to import and a 10,000-row table to export.

* ``import_5000_s``: a 5,000-row .xlsx roster (one row per day, trực chỉ huy / trực ban / trực chiến,
  15,000 shifts) sent to the dispatcher as an upload with "/nhap lịch trực Kim Bảng", checked and
  previewed, then confirmed: the time from the upload to the "Đã nhập" answer (target < 10 s).
* ``export_10000_s``: the roster of Kim Bảng over 10,000 days (the demo's and the imported shifts)
  read and written as an .xlsx workbook (plus the same as CSV, ``export_10000_csv_s``).

Runs on the demo data in a temporary SQLite database (or ``--database-url``). Prints one JSON line.

    .venv/bin/python bench/data.py [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from openpyxl import Workbook

from bot.app import App
from bot.channels.console import CHANNEL, ConsoleChat
from bot.cli import fixed_clock
from bot.config import Settings
from bot.messages import Attachment
from bot.services import exports
from bot.views import exports as export_views

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


async def import_5000_s(app: App) -> dict[str, Any]:
    content = roster_file(5000)
    chat = ConsoleChat(app.dispatcher, "admin", clock=fixed_clock(NOW, app.settings))
    await chat.setup()

    async def fetch() -> bytes:
        return content

    started = time.perf_counter()
    incoming = replace(
        chat.incoming("/nhap lịch trực Kim Bảng"), attachment=Attachment("lich.xlsx", None, len(content), fetch)
    )
    preview = await app.dispatcher.handle(incoming, CHANNEL)
    checked = time.perf_counter() - started
    labels = [b.text for r in preview for row in r.buttons for b in row]
    assert "Nhập" in labels, preview[0].text[:500]
    done = await chat.say(str(labels.index("Nhập") + 1))
    elapsed = time.perf_counter() - started
    answer = done[0].text
    created = int(re.search(r"Đã nhập (\d+) ca", answer).group(1))  # type: ignore[union-attr]
    return {
        "import_5000_s": round(elapsed, 2),
        "import_5000_check_s": round(checked, 2),
        "import_5000_shifts": created,
        "import_5000_bytes": len(content),
    }


async def export_10000_s(app: App) -> dict[str, Any]:
    async with app.sessions() as session:
        directory = await app.dispatcher.reference.directory(session)
        unit = directory.resolve("Kim Bảng")
        assert unit is not None
        start = FIRST_DAY - timedelta(days=5000)
        end = start + timedelta(days=9999)
        began = time.perf_counter()
        lines = await exports.roster_lines(session, unit.unit.id, start, end)
        read = time.perf_counter() - began
    table = export_views.roster_table(unit.unit, start, end, lines)
    began = time.perf_counter()
    _, content = exports.encode(table, "xlsx")
    written = time.perf_counter() - began
    began = time.perf_counter()
    exports.encode(table, "csv")
    csv_written = time.perf_counter() - began
    return {
        "export_10000_s": round(read + written, 2),
        "export_10000_read_s": round(read, 2),
        "export_10000_csv_s": round(read + csv_written, 2),
        "export_10000_rows": len(table.rows),
        "export_10000_bytes": len(content),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite+aiosqlite:///{folder}/bench.db"
        app = App(Settings(_env_file=None, database_url=url, timezone="Asia/Ho_Chi_Minh"))  # type: ignore[call-arg]
        await app.prepare()
        await app.load_demo()
        try:
            figures: dict[str, Any] = {"when": datetime.now().isoformat(timespec="seconds")}
            figures |= await import_5000_s(app)
            figures |= await export_10000_s(app)
        finally:
            await app.close()
    print(json.dumps(figures, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
