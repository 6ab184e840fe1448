"""Emulation results texts: the cluster table and one unit's scores."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from functools import lru_cache

from bot.messages import Button, Document, Reply, esc
from bot.models import Criterion, Unit
from bot.services.charts import BarChart, LinePanel, PanelChart, ShareBars, render_png
from bot.services.results import GradeBand, PeriodTotal, ResultRow, ResultTable, period_spec
from bot.textnorm import normalize
from bot.views.common import ILLUSTRATIVE, capitalize
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
        lines.append("Chưa có điểm nào cho kỳ này, nên chưa có bảng và biểu đồ xếp hạng.")
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


GRADE_NAMES = {"xuat sac": "Xuất sắc", "tot": "Tốt", "dat": "Đạt", "chua dat": "Chưa đạt"}


def _table_button(token: str) -> list[list[Button]]:
    return [[Button("Bảng xếp hạng cụm", f"/xephang {token}")]]


def _demo(table: ResultTable) -> str:
    return f" ({ILLUSTRATIVE})" if table.period.illustrative else ""


def _points_of(row: ResultRow, criterion: Criterion | None) -> Decimal:
    if criterion is None:
        return row.result.total
    return row.scores.get(criterion.code, Decimal(0))


def _criterion_label(criterion: Criterion) -> str:
    return esc(criterion.name) if criterion.kind == "adjustment" else f"{esc(criterion.code)} {esc(criterion.name)}"


def extreme_reply(
    table: ResultTable, which: str, criterion: Criterion | None, label: str, token: str, count: int = 1
) -> Reply:
    """'đơn vị nào đứng cuối bảng' -> the last unit (ties: all of them), in one line."""
    if not table.rows:
        return Reply(f"Chưa có điểm nào {esc(label)}.")
    values = [_points_of(r, criterion) for r in table.rows]
    if count > 1:  # "3 đơn vị đứng đầu"
        ordered = sorted(zip(table.rows, values, strict=True), key=lambda rv: rv[1], reverse=which == "top")[:count]
        place = f"{count} đơn vị {'đứng đầu' if which == 'top' else 'đứng cuối'}"
        names = ", ".join(f"{esc(r.unit.short_name)} ({fmt_points(v)})" for r, v in ordered)
        return Reply(f"{capitalize(place)} {esc(label)}: {names}{_demo(table)}.", buttons=_table_button(token))
    target = max(values) if which == "top" else min(values)
    rows = [r for r, v in zip(table.rows, values, strict=True) if v == target]
    names = ", ".join(esc(r.unit.short_name) for r in rows)
    place = "Đứng đầu" if which == "top" else "Đứng cuối"
    what = f" về {_criterion_label(criterion)}" if criterion else ""
    if criterion is None:
        rank = rows[0].result.rank
        text = f"{place}{what} {esc(label)}: {names} — {fmt_points(target)} điểm, xếp thứ {rank}/{len(table.rows)}"
    else:
        text = f"{place}{what} {esc(label)}: {names} — {fmt_points(target)}/{fmt_points(criterion.max_points)} điểm"
    return Reply(text + f"{_demo(table)}.", buttons=_table_button(token))


def rank_of_reply(table: ResultTable, unit: Unit, label: str, token: str) -> Reply:
    row = table.row_of(unit.id)
    if row is None:
        return Reply(f"{esc(unit.name)} chưa có điểm {esc(label)}.")
    grade = f", loại {esc(row.result.grade)}" if row.result.grade else ""
    return Reply(
        f"{esc(unit.short_name)} {esc(label)}: {fmt_points(row.result.total)} điểm, "
        f"xếp thứ {row.result.rank}/{len(table.rows)}{grade}{_demo(table)}.",
        buttons=[[Button(f"Chi tiết {unit.short_name}", f"/ketqua u:{unit.id} {token}")], *_table_button(token)],
    )


def compare_reply(
    table: ResultTable, first: Unit, second: Unit, criterion: Criterion | None, label: str, token: str
) -> Reply:
    """'Thanh Liêm hơn Bình Lục mấy điểm' -> the two figures and the difference."""
    a, b = table.row_of(first.id), table.row_of(second.id)
    missing = [u for u, r in ((first, a), (second, b)) if r is None]
    if missing:
        return Reply(f"{esc(missing[0].name)} chưa có điểm {esc(label)}.")
    assert a is not None and b is not None
    pa, pb = _points_of(a, criterion), _points_of(b, criterion)
    what = f" ({_criterion_label(criterion)})" if criterion else ""
    head = (
        f"{capitalize(esc(label))}{what}: {esc(first.short_name)} {fmt_points(pa)} điểm, "
        f"{esc(second.short_name)} {fmt_points(pb)} điểm"
    )
    if pa == pb:
        verdict = "bằng điểm nhau"
    else:
        better, worse = (first, second) if pa > pb else (second, first)
        verdict = f"{esc(better.short_name)} hơn {esc(worse.short_name)} {fmt_points(abs(pa - pb))} điểm"
    return Reply(f"{head}: {verdict}{_demo(table)}.", buttons=_table_button(token))


def grade_reply(table: ResultTable, grade: str, label: str, token: str) -> Reply:
    """'những đơn vị nào loại tốt' -> those units, counted."""
    rows = [r for r in table.rows if r.result.grade and normalize(r.result.grade) == grade]
    name = next((r.result.grade for r in rows), None) or GRADE_NAMES.get(grade, grade)
    if not rows:
        return Reply(f"{capitalize(esc(label))}: không có đơn vị nào loại {esc(name)}{_demo(table)}.")
    names = ", ".join(f"{esc(r.unit.short_name)} ({fmt_points(r.result.total)})" for r in rows)
    return Reply(
        f"Loại {esc(name)} {esc(label)}: {len(rows)}/{len(table.rows)} đơn vị — {names}{_demo(table)}.",
        buttons=_table_button(token),
    )


def threshold_reply(bands: Sequence[GradeBand], grade: str | None) -> Reply:
    """'bao nhiêu điểm thì xuất sắc' -> that grade's band; no grade: the whole scale."""

    def line(band: GradeBand) -> str:
        if band.below is None:
            return f"{esc(band.grade)}: từ {fmt_points(band.minimum)} điểm trở lên"
        if band.minimum <= 0:
            return f"{esc(band.grade)}: dưới {fmt_points(band.below)} điểm"
        return f"{esc(band.grade)}: từ {fmt_points(band.minimum)} đến dưới {fmt_points(band.below)} điểm"

    if not bands:
        return Reply("Cụm chưa đặt ngưỡng xếp loại.")
    asked = [b for b in bands if grade and normalize(b.grade) == grade]
    if asked:
        return Reply(f"Loại {line(asked[0])}.")
    return Reply("Ngưỡng xếp loại của cụm: " + "; ".join(line(b) for b in bands) + ".")


def criterion_of_unit_reply(table: ResultTable, unit: Unit, criterion: Criterion, label: str, token: str) -> Reply:
    """'điểm dân vận của Phủ Lý' -> that one figure."""
    row = table.row_of(unit.id)
    if row is None or criterion.code not in row.scores:
        return Reply(f"{esc(unit.name)} chưa có điểm {_criterion_label(criterion)} {esc(label)}.")
    points = row.scores[criterion.code]
    if criterion.kind == "adjustment":
        value = ("+" if points > 0 else "") + fmt_points(points)
    else:
        value = f"{fmt_points(points)}/{fmt_points(criterion.max_points)}"
    return Reply(
        f"{esc(unit.short_name)} — {_criterion_label(criterion)} {esc(label)}: {value} điểm{_demo(table)}.",
        buttons=[[Button(f"Chi tiết {unit.short_name}", f"/ketqua u:{unit.id} {token}")]],
    )


def criterion_table_reply(table: ResultTable, criterion: Criterion, label: str, token: str) -> Reply:
    """'điểm G2 các đơn vị' -> one criterion, every unit, highest first."""
    rows = sorted(table.rows, key=lambda r: _points_of(r, criterion), reverse=True)
    lines = [f"<b>{_criterion_label(criterion)} — {esc(label)}</b>{_demo(table)}"]
    lines.extend(f"{esc(r.unit.short_name)}: {fmt_points(_points_of(r, criterion))}" for r in rows)
    return Reply("\n".join(lines), buttons=_table_button(token))


def nth_reply(table: ResultTable, place: int, label: str, token: str) -> Reply:
    """'đơn vị nào xếp thứ 2' -> the unit(s) of that rank."""
    rows = [r for r in table.rows if r.result.rank == place]
    if not rows:
        return Reply(f"{capitalize(esc(label))}: không có đơn vị nào xếp thứ {place}.", buttons=_table_button(token))
    names = ", ".join(f"{esc(r.unit.short_name)} ({fmt_points(r.result.total)} điểm)" for r in rows)
    return Reply(f"Xếp thứ {place} {esc(label)}: {names}{_demo(table)}.", buttons=_table_button(token))


def average_reply(table: ResultTable, criterion: Criterion | None, label: str, token: str) -> Reply:
    """'điểm trung bình của cụm' -> one figure."""
    if not table.rows:
        return Reply(f"Chưa có điểm nào {esc(label)}.")
    values = [_points_of(r, criterion) for r in table.rows]
    mean = sum(values, Decimal(0)) / len(values)
    what = f" {_criterion_label(criterion)}" if criterion else ""
    return Reply(
        f"Điểm trung bình{what} {esc(label)} của {len(values)} đơn vị: {fmt_points(mean.quantize(Decimal('0.01')))}"
        f"{_demo(table)}.",
        buttons=_table_button(token),
    )


# --- The ranking as a picture (/xephang) --------------------------------------------------------------

GRADE_COLOURS = {"xuat sac": "#2e7d32", "tot": "#1565c0", "dat": "#f9a825", "chua dat": "#c62828"}
NO_GRADE_COLOUR = "#757575"


@lru_cache(maxsize=64)
def _grade_colour(grade: str) -> str:
    """A grade's bar colour (a cluster has a few grade names: each is normalised once)."""
    return GRADE_COLOURS.get(normalize(grade), NO_GRADE_COLOUR)


def ranking_chart(table: ResultTable, label: str, cluster_name: str) -> BarChart:
    """Units sorted by total, coloured by grade, the period in the title; "số liệu minh họa" across
    it while the data is the demo's."""
    grades = [row.result.grade or "" for row in table.rows]
    colours = tuple(_grade_colour(grade) for grade in grades)
    legend = tuple(dict.fromkeys((colour, grade) for colour, grade in zip(colours, grades, strict=True) if grade))
    return BarChart(
        title=f"Xếp hạng thi đua {label} — {cluster_name}",
        labels=tuple(row.unit.short_name for row in table.rows),
        values=tuple(float(row.result.total) for row in table.rows),
        colours=colours,
        axis="Tổng điểm",
        watermark=ILLUSTRATIVE if table.period.illustrative else None,
        legend=legend,
    )


def ranking_photo(table: ResultTable, label: str, cluster_name: str) -> Document | None:
    """The ranking as a picture, None for a period without scores (never an empty chart)."""
    if not table.rows:
        return None
    png = render_png(ranking_chart(table, label, cluster_name))
    caption = f"Xếp hạng thi đua {label}" + (f" ({ILLUSTRATIVE})" if table.period.illustrative else "")
    return Document(f"xep-hang-{_slug(label)}.png", png, caption=caption)


def ranking_with_chart(table: ResultTable, label: str, cluster_name: str, period_token: str) -> Reply:
    """/xephang: the table as text (buttons to each unit) and the same ranking as a bar chart."""
    reply = ranking_reply(table, label, cluster_name, period_token)
    reply.photo = ranking_photo(table, label, cluster_name)
    return reply


def _slug(text: str) -> str:
    return normalize(text).replace(" ", "-").replace("/", "-")


# --- One unit as a picture (/ketqua <đơn vị>): its totals across periods, its criteria against their maxima


def _short(name: str, most: int = 30) -> str:
    return name if len(name) <= most else name[: most - 1].rstrip(" ,") + "…"


def unit_chart(table: ResultTable, unit: Unit, label: str, trend: list[PeriodTotal]) -> PanelChart | None:
    """Two panels: the unit's total per review period up to this one (a line), and this period's
    points per criterion against the criterion's maximum (the ± line left out: it has no maximum
    to fill). None when the unit has no score this period."""
    row = table.row_of(unit.id)
    if row is None:
        return None
    criteria = [c for c in table.criteria if c.kind != "adjustment" and c.code in row.scores]
    return PanelChart(
        title=f"{unit.short_name} — kết quả thi đua {label}",
        panels=(
            LinePanel(
                title="Tổng điểm qua các kỳ",
                labels=tuple(period_spec(point.period).label() for point in trend),
                values=tuple(float(point.total) for point in trend),
                value_labels=tuple(f"{fmt_points(point.total)} (hạng {point.rank})" for point in trend),
                axis="Tổng điểm",
            ),
            ShareBars(
                title=f"Điểm từng tiêu chí {label} / tối đa",
                labels=tuple(_short(f"{c.code} {c.name}") for c in criteria),
                values=tuple(float(row.scores[c.code]) for c in criteria),
                maxima=tuple(float(c.max_points) for c in criteria),
                value_labels=tuple(f"{fmt_points(row.scores[c.code])}/{fmt_points(c.max_points)}" for c in criteria),
            ),
        ),
        watermark=ILLUSTRATIVE if any(p.period.illustrative for p in trend) or table.period.illustrative else None,
    )


def unit_with_chart(table: ResultTable, unit: Unit, label: str, period_token: str, trend: list[PeriodTotal]) -> Reply:
    """/ketqua <đơn vị>: the unit's card as text, and beside it one picture with its trend and criteria."""
    reply = unit_result_reply(table, unit, label, period_token)
    chart = unit_chart(table, unit, label, trend)
    if chart is not None:
        caption = f"{unit.short_name}: tổng điểm qua các kỳ và điểm từng tiêu chí {label}" + _demo(table)
        reply.photo = Document(f"ket-qua-{_slug(unit.short_name)}-{_slug(label)}.png", render_png(chart), caption)
    return reply
