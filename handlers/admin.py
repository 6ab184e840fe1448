"""Cluster admins' commands for pushes: /guitin (delivery log), /lienket (link a group to a unit),
/themnguon (add a news feed)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.delivery import delivery_stats
from bot.errors import UserError
from bot.messages import Reply, esc
from bot.models import ChatLink, NewsSource
from bot.services import audit, news, subscriptions
from bot.services.members import find_chat
from bot.views.deliveries import deliveries_reply
from handlers.context import Context


async def cmd_deliveries(ctx: Context) -> Reply:
    counts, failures = await delivery_stats(ctx.session, ctx.now - timedelta(hours=24))
    return deliveries_reply(counts, failures, ctx.tz)


async def cmd_link_group(ctx: Context) -> Reply:
    """/lienket <đơn vị> inside a group: the group gets its unit's pushes and digests."""
    if ctx.incoming.chat_type != "group":
        raise UserError("Dùng /lienket <đơn vị> ngay trong nhóm cần liên kết (thêm bot vào nhóm trước).")
    if ctx.slots.unit is None:
        raise UserError("Thiếu tên đơn vị. Ví dụ: /lienket Kim Bảng")
    unit = ctx.slots.unit.unit
    link = await find_chat(ctx.session, ctx.incoming.channel, ctx.incoming.chat_id)
    before = {"unit_id": link.unit_id, "active": link.active} if link else None
    if link is None:
        link = ChatLink(
            channel=ctx.incoming.channel, chat_id=ctx.incoming.chat_id, chat_type="group", created_at=ctx.now
        )
        ctx.session.add(link)
    link.unit_id, link.active, link.deactivated_reason = unit.id, True, None
    link.title = ctx.incoming.chat_title or link.title
    await ctx.session.flush()
    added = await subscriptions.subscribe(ctx.session, link, subscriptions.KINDS)
    await audit.record(
        ctx.session,
        ctx.viewer,
        "group.link",
        at=ctx.now,
        entity_type="chat_link",
        entity_id=link.id,
        before=before,
        after={"unit_id": unit.id, "subscribed": added},
    )
    return Reply(
        f"Đã liên kết nhóm với <b>{esc(unit.name)}</b>. Nhóm sẽ nhận nhắc lịch, lịch trực, bản tin của đơn vị.\n"
        "Xem hoặc đổi: /caidat"
    )


async def cmd_add_feed(ctx: Context) -> Reply:
    """/themnguon <địa chỉ RSS/Atom>"""
    url = ctx.slots.text.strip()
    if not re.match(r"^https?://\S+$", url):
        raise UserError("Viết: /themnguon https://... (địa chỉ RSS hoặc Atom)")
    await news.ensure_sources(ctx.session, [url])
    source_id = await ctx.session.scalar(select(NewsSource.id).where(NewsSource.url == url))
    await audit.record(
        ctx.session,
        ctx.viewer,
        "news.source",
        at=ctx.now,
        entity_type="news_source",
        entity_id=source_id,
        after={"url": url},
    )
    return Reply(f"Đã thêm nguồn tin {esc(url)}; bot đọc nguồn này {ctx.settings.news_interval_minutes} phút một lần.")
