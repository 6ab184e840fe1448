"""/donvi (/units): the cluster's members, head and deputy; one unit's details."""

from __future__ import annotations

import re

from bot.messages import Reply
from bot.views import units as views
from handlers.context import Context


async def cmd_units(ctx: Context) -> Reply:
    cluster = await ctx.cluster()
    if ctx.slots.unit is None and ctx.slots.area is not None:  # "Ba Sao là xã hay thị trấn"
        area = ctx.slots.area
        directory = await ctx.directory()
        parent = directory.by_id.get(area.unit.parent_id) if area.unit.parent_id else None
        return views.commune_reply(area.unit, parent, area.note)
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
    if ctx.slots.unit is not None and re.search(r"\b((bao nhieu|may) (xa|phuong|thi tran)|dia ban)\b", norm):
        return await cmd_units(ctx)  # "Kim Bảng có bao nhiêu xã": that unit's area
    ctx.slots.unit = None
    return await cmd_units(ctx)
