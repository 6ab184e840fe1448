"""Cluster admins' commands for pushes: /guitin (delivery log), /lienket (link a group to a unit),
/themnguon (add a news feed)."""

from __future__ import annotations

from datetime import timedelta

from bot.errors import UserError
from bot.messages import Reply, esc
from bot.services import deliveries, feeds, groups
from bot.views.deliveries import deliveries_reply
from bot.views.refusals import LINK_IN_GROUP, phrased
from handlers.context import Context


async def cmd_deliveries(ctx: Context) -> Reply:
    with phrased():
        log = await deliveries.delivery_log(ctx.session, ctx.viewer, ctx.now - timedelta(hours=24))
    return deliveries_reply(log, ctx.tz)


async def cmd_link_group(ctx: Context) -> Reply:
    """/lienket <đơn vị> inside a group: the group gets its unit's pushes and digests."""
    if ctx.incoming.chat_type != "group":
        raise UserError(LINK_IN_GROUP)
    if ctx.slots.unit is None:
        raise UserError("Thiếu tên đơn vị. Ví dụ: /lienket Kim Bảng")
    unit = ctx.slots.unit.unit
    with phrased(group_chat=True):
        await groups.link_group(
            ctx.session,
            ctx.viewer,
            channel=ctx.incoming.channel,
            chat_id=ctx.incoming.chat_id,
            title=ctx.incoming.chat_title,
            unit_id=unit.id,
            now=ctx.now,
        )
    return Reply(
        f"Đã liên kết nhóm với <b>{esc(unit.name)}</b>. Nhóm sẽ nhận nhắc lịch, lịch trực, bản tin của đơn vị.\n"
        "Xem hoặc đổi: /caidat"
    )


async def cmd_add_feed(ctx: Context) -> Reply:
    """/themnguon <địa chỉ RSS/Atom>"""
    url = ctx.slots.text.strip()
    with phrased():
        await feeds.add_feed(ctx.session, ctx.viewer, url, ctx.now)
    return Reply(f"Đã thêm nguồn tin {esc(url)}; bot đọc nguồn này {ctx.settings.news_interval_minutes} phút một lần.")
