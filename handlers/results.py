"""/ketqua (/results) and /xephang (/ranking): emulation scores, ranks and grades."""

from __future__ import annotations

import re

from bot import lexicon
from bot.messages import Reply
from bot.services import results
from bot.views import results as views
from bot.vntime import PeriodSpec
from handlers import kept
from handlers.context import Context
from handlers.nlu import period_token

_OWN_UNIT = re.compile(r"\b(don vi (toi|minh|chung toi)|cua (toi|minh|chung toi)|chung toi)\b")


async def period_table(ctx: Context) -> tuple[results.ResultTable | None, str, Reply | None]:
    """The table of the asked (or latest visible) period, or the reply explaining why there is none."""
    table, label, problem, _book = await _period_table(ctx)
    return table, label, problem


_Found = tuple[results.ResultTable | None, str, Reply | None, results.ResultsBook | None]


async def _period_table(ctx: Context) -> _Found:
    """:func:`period_table`, and the book it comes from."""
    cluster = await ctx.cluster()
    if cluster is None:
        return None, "", Reply("Chưa có cụm thi đua nào trong dữ liệu."), None
    admin = ctx.viewer.at_least("admin")
    spec = ctx.slots.period
    book = await kept.results_book(ctx, cluster.id)
    visible = book.visible_periods(include_drafts=admin)
    # Drafts are among them for admins only, so a draft asked for by anyone else is not found.
    period = results.period_of(visible, spec) if spec else results.latest_of(visible, ctx.today)
    if period is None:
        labels = [results.period_spec(p).label() for p in visible]
        label = spec.label() if spec else "nào"
        return None, "", views.no_period_reply(label, labels), book
    return book.table(period), results.period_spec(period).label(), None, book


async def cmd_results(ctx: Context, *, own_unit_by_default: bool = True) -> Reply:
    table, label, problem, book = await _period_table(ctx)
    if problem is not None:
        return problem
    assert table is not None and book is not None
    unit = ctx.slots.unit.unit if ctx.slots.unit else None
    if unit is None and (own_unit_by_default or _OWN_UNIT.search(ctx.slots.norm)):
        unit = ctx.viewer.unit
    token = period_token(PeriodSpec(table.period.year, table.period.kind, table.period.number))
    cluster = await ctx.cluster()
    admin = ctx.viewer.at_least("admin")
    if unit is None:  # the table as text and as a bar chart (also what "/xephang biểu đồ" asks)
        reply = views.ranking_with_chart(table, label, cluster.name if cluster else "", token)
        command = "/xephang"
    else:  # the unit's card, and its trend across periods and criteria as a picture
        trend = book.unit_trend(table.period, unit.id, include_drafts=admin)
        reply = views.unit_with_chart(table, unit, label, token, trend)
        command = f"/ketqua u:{unit.id}"
    # A period picker: the other periods this asker may see.
    others = [p for p in book.visible_periods(include_drafts=admin) if p.id != table.period.id][:4]
    if others:
        specs = [results.period_spec(p) for p in others]
        reply.buttons.append([views.period_button(spec, command, period_token(spec)) for spec in specs])
    return reply


async def ask_results(ctx: Context) -> Reply:
    """A plain question about scores: exactly the figure asked for (top or bottom, a unit's rank, two
    units compared, the units of a grade, a grade's threshold, one criterion), with the full table a
    button away; otherwise the cluster table, or a unit's card when a unit (or "đơn vị tôi") is named."""
    slots = ctx.slots
    if slots.operation == "threshold" or (slots.grade and re.search(r"\b(bao nhieu|may) diem\b", slots.norm)):
        cluster = await ctx.cluster()
        bands = (await kept.results_book(ctx, cluster.id)).bands if cluster else ()
        return views.threshold_reply(bands, slots.grade)
    asks_figure = (
        slots.operation in ("top", "bottom", "rank_of", "compare", "nth", "average")
        or slots.grade is not None
        or slots.criterion is not None
    )
    if not asks_figure:
        if ctx.slots.subject == "ranking":
            ctx.slots.unit = None
        return await cmd_results(ctx, own_unit_by_default=False)
    table, label, problem = await period_table(ctx)
    if problem is not None:
        return problem
    assert table is not None
    token = period_token(PeriodSpec(table.period.year, table.period.kind, table.period.number))
    unit = slots.unit.unit if slots.unit else None
    if unit is None and _OWN_UNIT.search(slots.norm):
        unit = ctx.viewer.unit
    criterion = results.criterion_named(table.criteria, slots.criterion) if slots.criterion else None
    if slots.operation == "compare" and unit is not None:
        other = slots.unit2.unit if slots.unit2 else ctx.viewer.unit
        if other is not None and other.id != unit.id:
            return views.compare_reply(table, unit, other, criterion, label, token)
    if slots.operation == "nth" and unit is None:
        place = re.search(r"\b(?:(?:xep|dung|hang) (?:thu|hang)|hang) (\d)\b", slots.norm)
        return views.nth_reply(table, int(place.group(1)) if place else 1, label, token)
    if slots.operation == "average":
        return views.average_reply(table, criterion, label, token)
    if slots.operation in ("top", "bottom"):
        many = re.search(r"\b([2-9]|hai|ba|bon|nam) don vi\b|\btop ([2-9])\b", slots.norm)
        number = (many.group(1) or many.group(2)) if many else "1"
        count = int(lexicon.NUMBER_WORDS.get(number, number))
        return views.extreme_reply(table, slots.operation, criterion, label, token, count)
    if slots.grade is not None and unit is None:
        return views.grade_reply(table, slots.grade, label, token)
    if criterion is not None:
        if unit is not None:
            return views.criterion_of_unit_reply(table, unit, criterion, label, token)
        return views.criterion_table_reply(table, criterion, label, token)
    if unit is not None:
        return views.rank_of_reply(table, unit, label, token)
    return await cmd_results(ctx, own_unit_by_default=False)


async def cmd_ranking(ctx: Context) -> Reply:
    ctx.slots.unit = None
    return await cmd_results(ctx, own_unit_by_default=False)
