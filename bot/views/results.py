"""Emulation results texts: the cluster table and one unit's scores."""

from __future__ import annotations

from bot.messages import Button, Reply, esc
from bot.models import Unit
from bot.services.results import ResultTable
from bot.views.common import ILLUSTRATIVE
from bot.vntime import PeriodSpec, fmt_date_range, fmt_points


def _title(table: ResultTable, label: str) -> str:
    period = table.period
    title = f"Kết quả chấm điểm thi đua {esc(label)}"
    notes = []
    if period.illustrative:
        notes.append(ILLUSTRATIVE)
    if period.status != "published":
        notes.append("chưa công bố, chỉ quản trị xem được")
    if notes:
        title += f" ({'; '.join(notes)})"
    return title


def ranking_reply(table: ResultTable, label: str, cluster_name: str, period_token: str) -> Reply:
    lines = [f"<b>{_title(table, label)}</b> — {esc(cluster_name)}"]
    if table.period.inspection_from and table.period.inspection_to:
        lines.append(f"Kiểm tra chéo {fmt_date_range(table.period.inspection_from, table.period.inspection_to)}.")
    if not table.rows:
        lines.append("Chưa có điểm nào cho kỳ này.")
        return Reply("\n".join(lines))
    for row in table.rows:
        grade = f" — {esc(row.result.grade)}" if row.result.grade else ""
        lines.append(f"{row.result.rank}. {esc(row.unit.short_name)}: {fmt_points(row.result.total)} điểm{grade}")
    lines.append("Xem chi tiết một đơn vị: chọn bên dưới.")
    buttons = [
        [Button(r.unit.short_name, f"/ketqua u:{r.unit.id} {period_token}") for r in table.rows[i : i + 3]]
        for i in range(0, len(table.rows), 3)
    ]
    return Reply("\n".join(lines), buttons=buttons)


def unit_result_reply(table: ResultTable, unit: Unit, label: str, period_token: str) -> Reply:
    row = table.row_of(unit.id)
    if row is None:
        return Reply(f"{esc(unit.name)} chưa có điểm {esc(label)}.")
    grade = f", loại {esc(row.result.grade)}" if row.result.grade else ""
    lines = [
        f"<b>{esc(unit.name)} — {esc(label)}</b>",
        f"{fmt_points(row.result.total)} điểm, xếp thứ {row.result.rank}/{len(table.rows)}{grade}.",
    ]
    if table.period.illustrative:
        lines.append(f"<i>({ILLUSTRATIVE})</i>")
    for criterion in table.criteria:
        points = row.scores.get(criterion.code)
        if points is None:
            continue
        if criterion.kind == "adjustment":
            sign = "+" if points > 0 else ""
            lines.append(f"• {esc(criterion.name)}: {sign}{fmt_points(points)}")
        else:
            lines.append(
                f"• {esc(criterion.code)} {esc(criterion.name)}: "
                f"{fmt_points(points)}/{fmt_points(criterion.max_points)}"
            )
    if row.result.remarks:
        lines.append(f"Nhận xét: {esc(row.result.remarks)}")
    return Reply("\n".join(lines), buttons=[[Button("Bảng xếp hạng cụm", f"/xephang {period_token}")]])


def period_button(spec: PeriodSpec, command: str, token: str) -> Button:
    """'quý II/2022', re-running ``command`` for that period (``token``: 'p:2022q2')."""
    return Button(spec.label(), f"{command} {token}")


def no_period_reply(label: str, available: list[str]) -> Reply:
    text = f"Chưa có kết quả {esc(label)}."
    if available:
        text += " Hiện có: " + ", ".join(esc(a) for a in available) + "."
    return Reply(text)
