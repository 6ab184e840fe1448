"""/xuat (/export): a roster, a period's results, the task matrix, the duty load or the audit log as
an Excel (.xlsx) file, or CSV when the arguments end in "csv".

The arguments are read by the same parser as /truc and /ketqua (units, spans, periods); what is not
clear (which table, which unit, which month) is asked back with options, never guessed."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from bot import lexicon
from bot.messages import Reply
from bot.services import drills, exports, tasks
from bot.services import results as results_service
from bot.textnorm import contains_phrase, normalize
from bot.views import exports as views
from bot.views.common import unit_picker
from bot.vntime import week_bounds
from handlers import results
from handlers.context import Context


def export_kind(norm: str) -> str | None:
    return next((kind for kind, words in lexicon.EXPORT_KINDS if any(contains_phrase(norm, w) for w in words)), None)


async def cmd_export(ctx: Context) -> Reply:
    norm = normalize(ctx.slots.text)
    fmt = "csv" if contains_phrase(norm, "csv") else "xlsx"
    kind = export_kind(norm)
    admin = ctx.viewer.at_least("admin")
    if kind is None or (kind == "nhatky" and not admin):
        return views.kind_question(admin)
    if kind == "truc":
        return await _roster(ctx, fmt)
    if kind == "ketqua":
        return await _results(ctx, fmt)
    if kind == "nhiemvu":
        return await _tasks(ctx, fmt)
    if kind == "thongke":
        return await _load(ctx, fmt)
    return await _audit(ctx, fmt)


async def _cluster_units(ctx: Context) -> list:
    cluster = await ctx.cluster()
    return list(cluster.units) if cluster else (await ctx.directory()).commands()


async def _roster(ctx: Context, fmt: str) -> Reply:
    slots = ctx.slots
    unit = slots.unit.unit if slots.unit else ctx.viewer.unit
    start, end = (slots.span[0], slots.span[1]) if slots.span else week_bounds(ctx.today)
    if unit is None or unit.kind == "commune":
        extra = f"trực s:{start:%Y%m%d}-{end:%Y%m%d} {fmt if fmt == 'csv' else ''}".strip()
        return unit_picker("xuat", await _cluster_units(ctx), extra, prompt="Xuất lịch trực của đơn vị nào?")
    start, end = exports.clamp_span(start, end)
    lines = await exports.roster_lines(ctx.session, unit.id, start, end)
    return views.file_reply(views.roster_table(unit, start, end, lines), fmt, views.roster_caption(unit, start, end))


async def _results(ctx: Context, fmt: str) -> Reply:
    table, label, problem = await results.period_table(ctx)
    if problem is not None:
        return problem
    assert table is not None
    cluster = await ctx.cluster()
    caption = views.results_caption(label, cluster.name if cluster else "")
    return views.file_reply(views.results_table(table, label), fmt, caption)


async def _tasks(ctx: Context, fmt: str) -> Reply:
    year = ctx.slots.period.year if ctx.slots.period else ctx.today.year
    found = await tasks.tasks_for(ctx.session, year=year)
    if not found:
        return views.no_tasks_reply(year)
    units = await _cluster_units(ctx)
    if ctx.slots.unit is not None:
        units = [ctx.slots.unit.unit]
    cells = exports.task_cells(found, [u.id for u in units], ctx.today)
    table = views.task_matrix_table(found, units, cells, ctx.tz, year)
    return views.file_reply(table, fmt, views.task_titles_caption(found, year))


async def _load(ctx: Context, fmt: str) -> Reply:
    if ctx.slots.span is None:
        return views.load_span_question()
    start, end = exports.clamp_span(ctx.slots.span[0], ctx.slots.span[1])
    units = [ctx.slots.unit.unit] if ctx.slots.unit else await _cluster_units(ctx)
    loads = await exports.duty_load(ctx.session, [u.id for u in units], start, end)
    table = views.load_table(loads, {u.id: u for u in units}, start, end)
    return views.file_reply(table, fmt, views.load_caption(start, end, len(loads)))


async def _audit(ctx: Context, fmt: str) -> Reply:
    if ctx.slots.span is None:
        return views.audit_span_question()
    start, end = exports.clamp_span(ctx.slots.span[0], ctx.slots.span[1])
    since = datetime.combine(start, time(0), ctx.tz)
    until = datetime.combine(end + timedelta(days=1), time(0), ctx.tz)
    found = await exports.audit_between(ctx.session, ctx.viewer, since, until)
    table = views.audit_table(found, ctx.tz, start, end)
    return views.file_reply(table, fmt, views.audit_caption(start, end, len(found.entries)))


async def cmd_template(ctx: Context) -> Reply:
    norm = normalize(ctx.slots.text)
    if contains_phrase(norm, "diem") or contains_phrase(norm, "cham diem"):
        cluster = await ctx.cluster()
        criteria = await results_service.criteria_of(ctx.session, cluster.id) if cluster else []
        if cluster is None or not criteria:
            return views.no_criteria_reply()
        table = views.score_template(criteria, cluster.units[0].short_name)
        return views.file_reply(table, "xlsx", views.template_caption("diem"))
    if contains_phrase(norm, "nhiem vu"):
        cluster = await ctx.cluster()
        names = ", ".join(u.short_name for u in cluster.units[:2]) if cluster else "cả cụm"
        table = views.task_template(ctx.today + timedelta(days=30), names)
        return views.file_reply(table, "xlsx", views.template_caption("nhiemvu"))
    if contains_phrase(norm, "dien tap"):
        commune = await drills.commune_without_plan(ctx.session, ctx.today.year, ctx.viewer.unit)
        table = views.drill_template(commune or "Nhật Tân", ctx.today + timedelta(days=30))
        return views.file_reply(table, "xlsx", views.template_caption("dientap"))
    if contains_phrase(norm, "truc"):
        table = views.roster_template(week_bounds(ctx.today)[1] + timedelta(days=1))
        return views.file_reply(table, "xlsx", views.template_caption("truc"))
    return views.template_question()
