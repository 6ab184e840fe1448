"""Drill plan texts."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot.messages import Button, Reply, esc
from bot.models import Unit
from bot.services.drills import DrillView, step_order
from bot.views.common import area_label, code_tag, unit_list, when
from bot.vntime import fmt_date, fmt_date_range


def _milestone_lines(view: DrillView, tz: ZoneInfo, codes: bool = False) -> list[str]:
    ordered = sorted(view.milestones, key=lambda e: (e.starts_at, step_order(e.subkind)))
    return [f"  • {code_tag(f'S{e.id}', codes)}{esc(e.title)}: {when(e, tz)}" for e in ordered]


def _plan_code(view: DrillView, codes: bool) -> str:
    return f" [D{view.plan.id}]" if codes else ""


def area_reply(
    area: Unit,
    drills: list[DrillView],
    organisers: dict[int, Unit],
    note: str | None,
    tz: ZoneInfo,
    *,
    codes: bool = False,
) -> Reply:
    """A commune's drill plans; ``codes``: the plan's (D2) and milestones' (S12) codes, for admins."""
    lines = [esc(note)] if note else []
    if not drills:
        lines.append(f"Chưa có kế hoạch diễn tập nào của {esc(area.name)}.")
        return Reply("\n".join(lines))
    for view in drills:
        organiser = organisers.get(view.plan.organising_unit_id)
        by = f" ({esc(organiser.name)}, năm {view.plan.year})" if organiser else f" (năm {view.plan.year})"
        lines.append(f"<b>Diễn tập chiến đấu phòng thủ {area_label(area)}</b>{by}{_plan_code(view, codes)}")
        lines.extend(_milestone_lines(view, tz, codes))
        if view.plan.result:
            lines.append(f"  Kết quả: {esc(view.plan.result)}")
    return Reply("\n".join(lines))


def programme_reply(
    organiser: Unit,
    year: int,
    shared: DrillView | None,
    drills: list[DrillView],
    commune_count: int,
    tz: ZoneInfo,
    *,
    codes: bool = False,
) -> Reply:
    if not drills and shared is None:
        return Reply(f"Chưa có kế hoạch diễn tập năm {year} của {esc(organiser.name)}.")
    summary = _summary(shared, drills, commune_count, tz)
    lines = [f"<b>Diễn tập chiến đấu phòng thủ năm {year} — {esc(organiser.name)}</b>", summary + "."]
    for view in drills:
        if view.area is not None:
            lines.append(f"<b>{area_label(view.area)}</b>{_plan_code(view, codes)}")
            lines.extend(_milestone_lines(view, tz, codes))
    if shared is not None and shared.milestones:
        lines.append("<b>Mốc chung</b>")
        lines.extend(_milestone_lines(shared, tz, codes))
    return Reply("\n".join(lines))


def _summary(shared: DrillView | None, drills: list[DrillView], commune_count: int, tz: ZoneInfo) -> str:
    """'4/18 đơn vị: TT Ba Sao, Thanh Sơn, Nhật Tân, Đồng Hóa; tổng kết 20/10/2022'"""
    areas = [d.area for d in drills if d.area is not None]
    summary = f"{len(areas)}/{commune_count} đơn vị" if commune_count else f"{len(areas)} đơn vị"
    if areas:
        summary += f": {unit_list(areas)}"
    closing = next((e for e in (shared.milestones if shared else []) if e.subkind == "tong_ket"), None)
    if closing is not None:
        summary += f"; tổng kết {fmt_date(closing.starts_at.astimezone(tz).date())}"
    return summary


def count_reply(
    organiser: Unit, year: int, shared: DrillView | None, drills: list[DrillView], commune_count: int, tz: ZoneInfo
) -> Reply:
    """'năm nay huyện diễn tập mấy xã?' -> the count and the names, the plan a button away."""
    if not drills:
        return Reply(f"Chưa có kế hoạch diễn tập năm {year} của {esc(organiser.name)}.")
    text = f"Diễn tập năm {year} ({esc(organiser.short_name)}): {_summary(shared, drills, commune_count, tz)}."
    return Reply(text, buttons=[[Button("Cả kế hoạch diễn tập", f"/dientap u:{organiser.id} p:{year}y")]])


def drills_between_reply(organiser: Unit, drills: list[DrillView], start: date, end: date, tz: ZoneInfo) -> Reply:
    """'tháng 8 có diễn tập không' -> only the drills with a milestone in that span."""
    span = fmt_date_range(start, end)
    lines = []
    for view in drills:
        inside = [e for e in view.milestones if start <= e.starts_at.astimezone(tz).date() <= end]
        if view.area is None or not inside:
            continue
        steps = "; ".join(f"{esc(e.title).lower()} {when(e, tz)}" for e in sorted(inside, key=lambda e: e.starts_at))
        lines.append(f"• {area_label(view.area)}: {steps}")
    buttons = [[Button("Cả kế hoạch diễn tập", f"/dientap u:{organiser.id}")]]
    if not lines:
        upcoming = [
            (e.starts_at, v)
            for v in drills
            if v.area is not None
            for e in v.milestones
            if e.starts_at.astimezone(tz).date() > end
        ]
        text = f"Không có diễn tập nào {span} ({esc(organiser.short_name)})."
        if upcoming:
            moment, view = min(upcoming, key=lambda pair: pair[0])
            text += f" Gần nhất: {area_label(view.area)}, {fmt_date(moment.astimezone(tz).date())}."  # type: ignore[arg-type]
        return Reply(text, buttons=buttons)
    head = f"Có {len(lines)} cuộc diễn tập {span} ({esc(organiser.short_name)}):"
    return Reply("\n".join([head, *lines]), buttons=buttons)
