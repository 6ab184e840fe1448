"""/ketqua (/results) and /xephang (/ranking): emulation scores, ranks and grades."""

from __future__ import annotations

import re

from bot.messages import Reply
from bot.services import results
from bot.views import results as views
from bot.vntime import PeriodSpec
from handlers.context import Context
from handlers.nlu import period_token

_OWN_UNIT = re.compile(r"\b(don vi (toi|minh|chung toi)|cua (toi|minh|chung toi)|chung toi)\b")


async def _table(ctx: Context) -> tuple[results.ResultTable | None, str, Reply | None]:
    """The table of the asked (or latest visible) period, or the reply explaining why there is none."""
    cluster = await ctx.cluster()
    if cluster is None:
        return None, "", Reply("Chưa có cụm thi đua nào trong dữ liệu.")
    admin = ctx.viewer.at_least("admin")
    spec = ctx.slots.period
    period = (
        await results.find_period(ctx.session, cluster.id, spec)
        if spec
        else await results.latest_period(ctx.session, cluster.id, ctx.today, include_drafts=admin)
    )
    if period is None or (period.status != "published" and not admin):
        visible = await results.visible_periods(ctx.session, cluster.id, include_drafts=admin)
        labels = [results.period_spec(p).label() for p in visible]
        label = spec.label() if spec else "nào"
        return None, "", views.no_period_reply(label, labels)
    return await results.result_table(ctx.session, period), results.period_spec(period).label(), None


async def cmd_results(ctx: Context, *, own_unit_by_default: bool = True) -> Reply:
    table, label, problem = await _table(ctx)
    if problem is not None:
        return problem
    assert table is not None
    unit = ctx.slots.unit.unit if ctx.slots.unit else None
    if unit is None and (own_unit_by_default or _OWN_UNIT.search(ctx.slots.norm)):
        unit = ctx.viewer.unit
    token = period_token(PeriodSpec(table.period.year, table.period.kind, table.period.number))
    cluster = await ctx.cluster()
    if unit is None:
        reply = views.ranking_reply(table, label, cluster.name if cluster else "", token)
        command = "/xephang"
    else:
        reply = views.unit_result_reply(table, unit, label, token)
        command = f"/ketqua u:{unit.id}"
    # A period picker: the other periods this asker may see.
    visible = await results.visible_periods(
        ctx.session, table.period.cluster_id, include_drafts=ctx.viewer.at_least("admin")
    )
    others = [p for p in visible if p.id != table.period.id][:4]
    if others:
        specs = [results.period_spec(p) for p in others]
        reply.buttons.append([views.period_button(spec, command, period_token(spec)) for spec in specs])
    return reply


async def ask_results(ctx: Context) -> Reply:
    """A plain question: the cluster table unless a unit (or "đơn vị tôi") is named."""
    return await cmd_results(ctx, own_unit_by_default=False)


async def cmd_ranking(ctx: Context) -> Reply:
    ctx.slots.unit = None
    return await cmd_results(ctx, own_unit_by_default=False)
