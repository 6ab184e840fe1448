"""Exports (/xuat): the data of a roster, a period's results, the task matrix, the duty load and the
audit log, and the writers that turn a :class:`Table` into an .xlsx workbook or a CSV file.

The data functions read; the writers are pure. The Vietnamese headings and file names of each table
are the views' (``bot/views/exports.py``), which build a :class:`Table` from the data here.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.models import AuditEntry, DutyShift, Member, Task
from bot.services import audit
from bot.services.duty import DutyDay, person_text, roster
from bot.services.members import Viewer
from bot.services.people import require_admin
from bot.vntime import fmt_date

Value = str | int | Decimal | date | datetime | None

# The longest span one roster or audit export covers (a quarter and a bit).
MAX_EXPORT_DAYS = 100
# Excel's own limit on a column width (characters); wider text wraps.
MAX_WIDTH = 60


@dataclass(frozen=True)
class Table:
    """One sheet: a title (the sheet's name), the heading row and the data rows. Values keep their
    type (dates stay dates, points stay Decimals) so the workbook shows them as dates and numbers."""

    title: str
    headers: list[str]
    rows: list[list[Value]]
    filename: str  # without the extension


# --- writers -----------------------------------------------------------------------------------------------


def _cell_text(value: Value) -> str:
    """A value as the CSV shows it: dd/mm/yyyy, 14h00, decimals with a comma."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{fmt_date(value.date())} {value.hour:02d}h{value.minute:02d}"
    if isinstance(value, date):
        return fmt_date(value)
    if isinstance(value, Decimal):
        return format(value, "f").replace(".", ",")
    return str(value)


def _width(value: Value) -> int:
    text = _cell_text(value)
    return max((len(line) for line in text.split("\n")), default=0)


def to_csv(table: Table) -> bytes:
    """UTF-8 with a BOM (so Excel reads the diacritics), comma-separated, values as :func:`_cell_text`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    writer.writerows([_cell_text(v) for v in row] for row in table.rows)
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(table: Table) -> bytes:
    """A workbook of one sheet: bold heading row, frozen, columns as wide as their longest text
    (up to :data:`MAX_WIDTH`, then wrapped), dates dd/mm/yyyy, decimals shown with one decimal.
    Written in openpyxl's streaming mode, so 10,000 rows take a fraction of a second."""
    from openpyxl import Workbook  # slow import, only needed for exports
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    widths = [len(h) for h in table.headers]
    for values in table.rows:
        for col, value in enumerate(values):
            widths[col] = max(widths[col], _width(value))
    book = Workbook(write_only=True)
    sheet = book.create_sheet(table.title[:31])
    for col, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(col)].width = min(width, MAX_WIDTH) + 2
    sheet.freeze_panes = "A2"
    bold, heading = Font(bold=True), Alignment(vertical="center", wrap_text=True)
    wrap = Alignment(wrap_text=True, vertical="top")

    def head(text: str) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.alignment = bold, heading
        return cell

    def cell(value: Value) -> object:
        if isinstance(value, datetime):
            written = WriteOnlyCell(sheet, value=value)
            written.number_format = "dd/mm/yyyy hh:mm"
        elif isinstance(value, date):
            written = WriteOnlyCell(sheet, value=value)
            written.number_format = "dd/mm/yyyy"
        elif isinstance(value, Decimal):
            written = WriteOnlyCell(sheet, value=float(value))
            written.number_format = "0.0" if value == value.quantize(Decimal("0.1")) else "0.00"
        elif isinstance(value, str) and (len(value) > MAX_WIDTH or "\n" in value):
            written = WriteOnlyCell(sheet, value=value)
            written.alignment = wrap
        else:
            return value
        return written

    sheet.append([head(h) for h in table.headers])
    for values in table.rows:
        sheet.append([cell(v) for v in values])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def encode(table: Table, fmt: str) -> tuple[str, bytes]:
    """(file name, bytes) of a table as ``fmt`` ("xlsx" or "csv")."""
    if fmt == "csv":
        return f"{table.filename}.csv", to_csv(table)
    return f"{table.filename}.xlsx", to_xlsx(table)


# --- the data of each export ---------------------------------------------------------------------------------


def clamp_span(start: date, end: date) -> tuple[date, date]:
    """A span cut to :data:`MAX_EXPORT_DAYS` days."""
    return start, min(end, start + timedelta(days=MAX_EXPORT_DAYS - 1))


@dataclass(frozen=True)
class RosterLine:
    """One day of a printed roster: who holds each role (texts), and the other roles and notes."""

    day: date
    people: dict[str, str]  # role key -> person text
    notes: list[tuple[str, str]] = field(default_factory=list)  # (role key, person) of roles not in a column
    remarks: list[str] = field(default_factory=list)  # shift notes as written
    reinforced: bool = False


ROSTER_COLUMNS = ("truc_chi_huy", "truc_ban", "truc_chien")


async def roster_lines(session: AsyncSession, unit_id: int, start: date, end: date) -> list[RosterLine]:
    """Every day from ``start`` to ``end`` (days without shifts too: a printed roster has a line per day)."""
    found: dict[date, DutyDay] = {d.day: d for d in await roster(session, unit_id, start, end)}
    lines = []
    day = start
    while day <= end:
        duty_day = found.get(day)
        shifts = duty_day.shifts if duty_day else []
        people = {s.role: person_text(s) for s in shifts if s.role in ROSTER_COLUMNS}
        others = [(s.role, person_text(s)) for s in shifts if s.role not in ROSTER_COLUMNS]
        remarks = [s.note for s in shifts if s.note]
        lines.append(RosterLine(day, people, others, list(dict.fromkeys(remarks)), any(s.reinforced for s in shifts)))
        day += timedelta(days=1)
    return lines


@dataclass(frozen=True)
class DutyLoad:
    """One person's duty in a span: how many shifts and how many hours, by role."""

    person: str  # "Trung tá Lê Quang Cường" or a team label
    position: str
    unit_id: int
    shifts: int
    hours: Decimal
    roles: dict[str, int]


async def duty_load(session: AsyncSession, unit_ids: Sequence[int], start: date, end: date) -> list[DutyLoad]:
    """Shifts and hours per person of the given units, most hours first, then by unit and name."""
    rows = await session.scalars(
        select(DutyShift)
        .options(selectinload(DutyShift.member))
        .where(
            DutyShift.unit_id.in_(list(unit_ids)),
            DutyShift.duty_date >= start,
            DutyShift.duty_date <= end,
            DutyShift.status != "cancelled",
        )
        .order_by(DutyShift.duty_date, DutyShift.id)
    )
    people: dict[tuple[int, str], tuple[str, str, list[DutyShift]]] = {}  # (name, position, shifts)
    for shift in rows:
        member: Member | None = shift.member
        name = person_text(shift, with_position=False)
        key = (shift.unit_id, f"m{member.id}" if member else f"l{name.lower()}")
        position = (member.position_short or "") if member else ""
        people.setdefault(key, (name, position, []))[2].append(shift)
    loads = []
    for (unit_id, _), (name, position, shifts) in people.items():
        seconds = sum(int((s.ends_at - s.starts_at).total_seconds()) for s in shifts)
        roles: dict[str, int] = {}
        for s in shifts:
            roles[s.role] = roles.get(s.role, 0) + 1
        hours = (Decimal(seconds) / 3600).quantize(Decimal("0.1"))
        loads.append(DutyLoad(name, position, unit_id, len(shifts), hours, roles))
    order = {uid: i for i, uid in enumerate(unit_ids)}
    return sorted(loads, key=lambda load: (-load.hours, order.get(load.unit_id, 0), load.person))


@dataclass(frozen=True)
class TaskCell:
    """A unit's state on a task: status key, percent, last report and when."""

    status: str  # not_started / in_progress / done / overdue / none (not assigned)
    progress: int | None
    report: str | None
    reported_at: datetime | None


def task_cells(tasks: list[Task], unit_ids: Sequence[int], today: date) -> dict[tuple[int, int], TaskCell]:
    """(unit id, task id) -> its cell, for every unit and task (unassigned ones too); the assignments
    come loaded with the tasks (:func:`bot.services.tasks.tasks_for`)."""
    cells: dict[tuple[int, int], TaskCell] = {}
    for task in tasks:
        by_unit = {a.unit_id: a for a in task.assignments}
        for unit_id in unit_ids:
            a = by_unit.get(unit_id)
            if a is None:
                cells[(unit_id, task.id)] = TaskCell("none", None, None, None)
                continue
            status = a.status
            if status != "done" and task.due_on is not None and task.due_on < today:
                status = "overdue"
            cells[(unit_id, task.id)] = TaskCell(status, a.progress, a.report, a.updated_at)
    return cells


@dataclass(frozen=True)
class AuditRange:
    entries: list[AuditEntry]  # oldest first
    names: audit.AuditNames


async def audit_between(session: AsyncSession, actor: Viewer, start: datetime, end: datetime) -> AuditRange:
    """Every audit entry from ``start`` (included) to ``end`` (excluded), oldest first; admins only."""
    require_admin(actor, "audit.read")
    entries = list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.at >= start, AuditEntry.at < end).order_by(AuditEntry.at, AuditEntry.id)
        )
    )
    return AuditRange(entries, await audit.names_for(session, entries))
