"""/donvi (/units): the cluster's members, head and deputy; one unit's details."""

from __future__ import annotations

from bot.messages import Reply
from bot.views import units as views
from handlers.context import Context


async def cmd_units(ctx: Context) -> Reply:
    cluster = await ctx.cluster()
    if ctx.slots.unit is not None:
        unit = ctx.slots.unit.unit
        role = cluster.role_of(unit.id) if cluster else None
        communes = (await ctx.directory()).communes_of(unit)
        return views.unit_reply(unit, role, cluster.name if cluster else None, communes)
    if cluster is None:
        return Reply("Chưa có cụm thi đua nào trong dữ liệu.")
    return views.cluster_reply(cluster)


async def ask_units(ctx: Context) -> Reply:
    """'cụm 2 gồm những đơn vị nào? ai là cụm trưởng?' — always the whole cluster."""
    ctx.slots.unit = None
    return await cmd_units(ctx)
