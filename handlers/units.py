"""/donvi (/units): the cluster's members, head and deputy; one unit's details."""

from __future__ import annotations

import re

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
    """'cụm 2 gồm những đơn vị nào? ai là cụm trưởng?' — the whole cluster; 'ai là cụm trưởng' alone —
    the head and deputy in a line."""
    norm = ctx.slots.norm
    only_head = re.search(r"\bcum (truong|pho)\b", norm) and not re.search(
        r"\b(gom|nhung don vi|danh sach|bao nhieu|may don vi|cac don vi)\b", norm
    )
    cluster = await ctx.cluster()
    if only_head and cluster is not None:
        return views.head_reply(cluster)
    ctx.slots.unit = None
    return await cmd_units(ctx)
