"""Cluster admins' commands for pushes: /guitin (delivery log), /lienket (link a group to a unit),
/themtin (post a news item), /themnguon (add a news feed)."""

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

MAX_TITLE = 300


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


async def cmd_post_news(ctx: Context) -> Reply:
    """/themtin <tiêu đề> | <tóm tắt> | <đường link>"""
    parts = [p.strip() for p in ctx.slots.text.split("|")]
    title = parts[0] if parts else ""
    if not title:
        raise UserError("Viết: /themtin Tiêu đề | tóm tắt (không bắt buộc) | đường link (không bắt buộc)")
    if len(title) > MAX_TITLE:
        raise UserError(f"Tiêu đề dài quá ({len(title)} ký tự); tối đa {MAX_TITLE}.")
    link = parts[2] if len(parts) > 2 and parts[2] else None
    if link and not re.match(r"^https?://\S+$", link):
        raise UserError("Đường link phải bắt đầu bằng http:// hoặc https://")
    item = await news.post_item(
        ctx.session,
        title=title,
        summary=parts[1] if len(parts) > 1 and parts[1] else None,
        link=link,
        member_id=ctx.viewer.member.id if ctx.viewer.member else None,
        now=ctx.now,
    )
    await audit.record(
        ctx.session,
        ctx.viewer,
        "news.post",
        at=ctx.now,
        entity_type="news_item",
        entity_id=item.id,
        after={"title": title},
    )
    return Reply(f"Đã đăng tin: <b>{esc(title)}</b>. Tin sẽ có trong /tin và bản tin chiều.")


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
