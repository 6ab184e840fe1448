"""/xuat (/export) and /mau: the Vietnamese headings, sheet names and file names of every exported
table, and the replies that carry the file."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.messages import Button, Document, Reply, esc
from bot.models import Criterion, Task
from bot.services import exports
from bot.services.duty import role_name
from bot.services.exports import AuditRange, DutyLoad, RosterLine, Table, TaskCell
from bot.services.results import ResultTable
from bot.services.units import UnitRef
from bot.views.audit import actor_name, what_was_done
from bot.vntime import fmt_date, fmt_date_range, weekday_name

# The kinds of export, as the question with options names them (and the word each button sends).
KIND_LABELS = {
    "truc": ("Lịch trực", "trực"),
    "ketqua": ("Kết quả chấm điểm", "kết quả"),
    "nhiemvu": ("Ma trận nhiệm vụ", "nhiệm vụ"),
    "thongke": ("Thống kê trực theo người", "thống kê trực"),
    "nhatky": ("Nhật ký thay đổi", "nhật ký"),
}

USAGE = (
    "Xuất ra tệp Excel (thêm chữ csv ở cuối để lấy tệp CSV):\n"
    "• /xuat trực Kim Bảng tuần này (hoặc tháng 6)\n"
    "• /xuat kết quả quý 2\n"
    "• /xuat nhiệm vụ\n"
    "• /xuat thống kê trực tháng 6\n"
    "• /xuat nhật ký 01/06/2022-22/06/2022 (quản trị)"
)


def _slug(text: str) -> str:
    """'Kim Bảng' -> 'kim-bang' (file names without diacritics travel everywhere)."""
    from bot.textnorm import normalize

    return "-".join("".join(ch if ch.isalnum() else " " for ch in normalize(text)).split())


def _span_slug(start: date, end: date) -> str:
    return f"{start:%Y%m%d}-{end:%Y%m%d}"


def kind_question(admin: bool, rest: str = "") -> Reply:
    """'/xuat' with no kind (or an unclear one): which table?"""
    kinds = [k for k in KIND_LABELS if admin or k != "nhatky"]
    buttons = [[Button(KIND_LABELS[k][0], f"/xuat {KIND_LABELS[k][1]} {rest}".strip()[:60])] for k in kinds]
    return Reply(f"Xuất bảng nào?\n{esc(USAGE)}", buttons=buttons)


def audit_span_question() -> Reply:
    buttons = [
        [Button("7 ngày qua", "/xuat nhật ký 7 ngày qua"), Button("Tháng này", "/xuat nhật ký tháng này")],
        [Button("Tháng trước", "/xuat nhật ký tháng trước")],
    ]
    return Reply("Xuất nhật ký từ ngày nào đến ngày nào? Ví dụ: /xuat nhật ký 01/06/2022-22/06/2022", buttons=buttons)


def load_span_question() -> Reply:
    buttons = [
        [Button("Tháng này", "/xuat thống kê trực tháng này"), Button("Tháng trước", "/xuat thống kê trực tháng trước")]
    ]
    return Reply("Thống kê trực của tháng nào? Ví dụ: /xuat thống kê trực tháng 6", buttons=buttons)


def file_reply(table: Table, fmt: str, caption: str) -> Reply:
    filename, content = exports.encode(table, fmt)
    return Reply(esc(caption), document=Document(filename, content, caption=caption))


# --- the tables ---------------------------------------------------------------------------------------------


ROSTER_HEADERS = ["Ngày", "Thứ", "Trực chỉ huy", "Trực ban", "Trực chiến", "Ghi chú"]
BONUS_HEADING = "Điểm thưởng/trừ"


def roster_table(unit: UnitRef, start: date, end: date, lines: list[RosterLine]) -> Table:
    return Table(
        title="Lịch trực",
        headers=ROSTER_HEADERS,
        rows=roster_table_rows(lines),
        filename=f"lich-truc-{_slug(unit.short_name)}-{_span_slug(start, end)}",
    )


def roster_table_rows(lines: list[RosterLine]) -> list[list[exports.Value]]:
    rows: list[list[exports.Value]] = []
    for line in lines:
        notes = [f"{role_name(role)}: {person}" for role, person in line.notes]
        if line.reinforced:
            notes.insert(0, "Trực tăng cường")
        notes += line.remarks
        people = [line.people.get(role) for role in exports.ROSTER_COLUMNS]
        rows.append([line.day, weekday_name(line.day), *people, "; ".join(notes) or None])
    return rows


def roster_caption(unit: UnitRef, start: date, end: date) -> str:
    return f"Lịch trực {unit.short_name} {fmt_date_range(start, end)}"


def results_table(table: ResultTable, label: str) -> Table:
    normal = [c for c in table.criteria if c.kind != "adjustment"]
    bonus = [c for c in table.criteria if c.kind == "adjustment"]
    headers = ["Đơn vị", *(criterion_heading(c) for c in normal)]
    headers += [BONUS_HEADING, "Tổng điểm", "Xếp hạng", "Xếp loại"]
    rows: list[list[exports.Value]] = []
    for row in table.rows:
        points = [row.scores.get(c.code) for c in normal]
        extra = [row.scores[c.code] for c in bonus if c.code in row.scores]
        rows.append(
            [
                row.unit.short_name,
                *points,
                sum(extra, Decimal(0)) if extra else None,
                row.result.total,
                row.result.rank,
                row.result.grade,
            ]
        )
    return Table(title="Kết quả", headers=headers, rows=rows, filename=f"ket-qua-{_slug(label)}")


def criterion_heading(criterion: Criterion) -> str:
    return f"{criterion.code}. {criterion.name} (tối đa {_points(criterion.max_points)})"


def _points(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",")


def results_caption(label: str, cluster_name: str) -> str:
    return f"Kết quả chấm điểm thi đua {label} — {cluster_name}".rstrip(" —")


TASK_STATUS_TEXT = {
    "not_started": "Chưa thực hiện",
    "in_progress": "Đang thực hiện",
    "done": "Hoàn thành",
    "overdue": "Quá hạn",
    "none": "Không giao",
}


def task_matrix_table(
    tasks: list[Task], units: Sequence[UnitRef], cells: Mapping[tuple[int, int], TaskCell], tz: ZoneInfo, year: int
) -> Table:
    headers = ["Đơn vị"]
    for task in tasks:
        code = task.code or f"N{task.id}"
        headers += [f"{code} — trạng thái", f"{code} — %", f"{code} — báo cáo gần nhất"]
    rows: list[list[exports.Value]] = []
    for unit in units:
        row: list[exports.Value] = [unit.short_name]
        for task in tasks:
            cell = cells[(unit.id, task.id)]
            report = None
            if cell.report:
                report = cell.report
                if cell.reported_at is not None:
                    report = f"{cell.reported_at.astimezone(tz):%d/%m/%Y}: {cell.report}"
            row += [
                TASK_STATUS_TEXT.get(cell.status, cell.status),
                cell.progress if cell.status != "none" else None,
                report,
            ]
        rows.append(row)
    return Table(title="Nhiệm vụ", headers=headers, rows=rows, filename=f"nhiem-vu-{year}")


def task_titles_caption(tasks: list[Task], year: int) -> str:
    lines = [f"Ma trận nhiệm vụ trọng tâm năm {year}: {len(tasks)} nhiệm vụ"]
    lines += [f"{t.code or f'N{t.id}'}: {t.title}" for t in tasks[:10]]
    return "\n".join(lines)


def load_table(loads: list[DutyLoad], units: Mapping[int, UnitRef], start: date, end: date) -> Table:
    roles = ["truc_chi_huy", "truc_ban", "truc_chien"]
    others = sorted({r for load in loads for r in load.roles if r not in roles})
    headers = ["STT", "Họ tên", "Chức vụ", "Đơn vị", *(role_name(r) for r in [*roles, *others]), "Số ca", "Số giờ"]
    rows: list[list[exports.Value]] = []
    for number, load in enumerate(loads, start=1):
        unit = units.get(load.unit_id)
        counts = [load.roles.get(r) or None for r in [*roles, *others]]
        rows.append(
            [
                number,
                load.person,
                load.position or None,
                unit.short_name if unit else None,
                *counts,
                load.shifts,
                load.hours,
            ]
        )
    return Table(title="Thống kê trực", headers=headers, rows=rows, filename=f"thong-ke-truc-{_span_slug(start, end)}")


def load_caption(start: date, end: date, people: int) -> str:
    return f"Thống kê trực theo người {fmt_date_range(start, end)}: {people} người"


def audit_table(found: AuditRange, tz: ZoneInfo, start: date, end: date) -> Table:
    rows: list[list[exports.Value]] = []
    for entry in found.entries:
        moment: datetime = entry.at.astimezone(tz).replace(tzinfo=None)
        rows.append([moment, actor_name(entry, found.names), what_was_done(entry, found.names, tz), entry.action])
    return Table(
        title="Nhật ký",
        headers=["Thời gian", "Người thực hiện", "Nội dung", "Mã thao tác"],
        rows=rows,
        filename=f"nhat-ky-{_span_slug(start, end)}",
    )


def audit_caption(start: date, end: date, count: int) -> str:
    return f"Nhật ký thay đổi {fmt_date_range(start, end)}: {count} mục"


def span_cut(start: date, end: date) -> str:
    return f"Tối đa {exports.MAX_EXPORT_DAYS} ngày một lần; bot xuất {fmt_date_range(start, end)}."


def no_tasks_reply(year: int) -> Reply:
    return Reply(f"Chưa có nhiệm vụ nào của năm {year}.")


# --- /mau: templates that /nhap reads back ------------------------------------------------------------------

TEMPLATE_USAGE = "Mẫu tệp để nhập: /mau trực (lịch trực), /mau điểm (bảng điểm thi đua), /mau nhiệm vụ, /mau diễn tập."


def template_question() -> Reply:
    buttons = [
        [Button("Mẫu lịch trực", "/mau trực"), Button("Mẫu bảng điểm", "/mau điểm")],
        [Button("Mẫu nhiệm vụ", "/mau nhiệm vụ"), Button("Mẫu diễn tập", "/mau diễn tập")],
    ]
    return Reply(f"Gửi mẫu nào?\n{TEMPLATE_USAGE}", buttons=buttons)


def task_template(due: date, units: str) -> Table:
    """What /nhap nhiệm vụ reads: a row per task; the units by name, or “cả cụm”."""
    headers = ["Nhiệm vụ", "Hạn hoàn thành", "Đơn vị thực hiện"]
    rows: list[list[exports.Value]] = [["Kiểm tra kho vũ khí, trang bị", due, units]]
    return Table(title="Nhiệm vụ", headers=headers, rows=rows, filename="mau-nhiem-vu")


def drill_template(commune: str, review: date) -> Table:
    """What /nhap diễn tập reads: a row per commune, its review day and (optionally) the exercise days."""
    headers = ["Xã, phường, thị trấn", "Kiểm tra, duyệt", "Thực hành"]
    exercise = f"{fmt_date(review + timedelta(days=1))}-{fmt_date(review + timedelta(days=2))}"
    rows: list[list[exports.Value]] = [[commune, review, exercise]]
    return Table(title="Diễn tập", headers=headers, rows=rows, filename="mau-dien-tap")


def roster_template(example_day: date) -> Table:
    """The printed roster layout with one example line: what /nhap lịch trực reads."""
    people = {"truc_chi_huy": "Thượng tá Nguyễn Văn An", "truc_ban": "Thiếu tá Vũ Thành Long", "truc_chien": "Tổ 1"}
    rows = roster_table_rows([RosterLine(example_day, people)])
    return Table(title="Lịch trực", headers=ROSTER_HEADERS, rows=rows, filename="mau-lich-truc")


def score_template(criteria: Sequence[Criterion], unit: str) -> Table:
    """A row per unit, a column per criterion (its maximum in the heading), the ± column: what
    /nhap điểm reads; the example row gives each criterion its maximum."""
    normal = [c for c in criteria if c.kind != "adjustment"]
    row: list[exports.Value] = [unit, *(c.max_points for c in normal)]
    headers = ["Đơn vị", *(criterion_heading(c) for c in normal)]
    if any(c.kind == "adjustment" for c in criteria):
        headers.append(BONUS_HEADING)
        row.append(Decimal(0))
    return Table(title="Bảng điểm", headers=headers, rows=[row], filename="mau-bang-diem")


def template_caption(kind: str) -> str:
    if kind == "nhiemvu":
        return "Mẫu nhiệm vụ: mỗi dòng một nhiệm vụ. Điền xong gửi lại kèm chú thích /nhap nhiệm vụ."
    if kind == "dientap":
        return "Mẫu kế hoạch diễn tập: mỗi dòng một xã. Điền xong gửi lại kèm chú thích /nhap diễn tập."
    if kind == "truc":
        return (
            "Mẫu lịch trực: mỗi dòng một ngày (dd/mm/yyyy), mỗi cột một vai trò trực. "
            "Điền xong gửi lại kèm chú thích /nhap lịch trực <đơn vị>."
        )
    return (
        "Mẫu bảng điểm: mỗi dòng một đơn vị, mỗi cột một tiêu chí. "
        "Điền xong gửi lại kèm chú thích /nhap điểm quý 3/2022."
    )


def no_criteria_reply() -> Reply:
    return Reply("Cụm chưa có biểu điểm (tiêu chí chấm điểm) nên chưa có mẫu bảng điểm.")
