"""/dangky, /huydangky (/subscribe, /unsubscribe) and /caidat (/settings): what pushes a chat gets."""

from __future__ import annotations

import re

from bot.errors import UserError
from bot.messages import Reply
from bot.models import ChatLink
from bot.services import audit, subscriptions
from bot.textnorm import contains_phrase
from bot.views import subscriptions as views
from bot.vntime import parse_time
from handlers.context import Context

_KIND_TOKEN = re.compile(r"(?<!\S)k:([a-z_]+)")
_QUIET = re.compile(r"^(?P<start>.+?)\s*(?:-|–|den|toi)\s*(?P<end>.+)$")


def _chat(ctx: Context) -> ChatLink:
    link = ctx.viewer.chat_link
    if link is None or not link.active:
        if ctx.incoming.chat_type == "group":
            raise UserError("Nhóm này chưa liên kết với đơn vị nào. Quản trị dùng /lienket <đơn vị> trong nhóm.")
        raise UserError("Đồng chí chưa tham gia bot. Gửi /start MÃ_MỜI để tham gia.")
    if link.chat_type == "group" and not ctx.viewer.at_least("admin"):
        raise UserError("Chỉ cán bộ quản trị mới đổi cài đặt nhận tin của nhóm.")
    return link


def _kinds(ctx: Context) -> list[str]:
    tokens = _KIND_TOKEN.findall(ctx.slots.text)
    if tokens:
        return [k for k in tokens if k in subscriptions.KINDS]
    norm = ctx.slots.norm
    if contains_phrase(norm, "tat ca") or contains_phrase(norm, "all"):
        return list(subscriptions.KINDS)
    found = [
        kind
        for word, kind in sorted(subscriptions.KIND_WORDS.items(), key=lambda w: -len(w[0]))
        if contains_phrase(norm, word)
    ]
    found += [kind for kind in subscriptions.KINDS if contains_phrase(norm, kind)]
    return [kind for kind in subscriptions.KINDS if kind in found]  # in menu order


async def _show(ctx: Context, link: ChatLink) -> Reply:
    kinds = await subscriptions.subscriptions_of(ctx.session, link)
    title = link.title or ("nhóm" if link.chat_type == "group" else "đồng chí")
    return views.settings_reply(title, kinds, link.quiet_start, link.quiet_end)


async def _change(ctx: Context, *, on: bool) -> Reply:
    link = _chat(ctx)
    kinds = _kinds(ctx)
    if ctx.slots.norm and not kinds:
        names = ", ".join(subscriptions.KINDS.values())
        raise UserError(f"Không rõ loại tin “{ctx.slots.text.strip()}”. Có các loại: {names}; hoặc “tất cả”.")
    if kinds:
        if on:
            await subscriptions.subscribe(ctx.session, link, kinds)
        else:
            await subscriptions.unsubscribe(ctx.session, link, kinds)
        await audit.record(
            ctx.session,
            ctx.viewer,
            "subscription.on" if on else "subscription.off",
            at=ctx.now,
            entity_type="chat_link",
            entity_id=link.id,
            after={"kinds": kinds},
        )
    reply = await _show(ctx, link)
    if kinds:
        names = ", ".join(subscriptions.KINDS[k] for k in kinds)
        reply.notice = f"{'Đã bật' if on else 'Đã tắt'}: {names}"
    return reply


async def cmd_subscribe(ctx: Context) -> Reply:
    return await _change(ctx, on=True)


async def cmd_unsubscribe(ctx: Context) -> Reply:
    return await _change(ctx, on=False)


async def cmd_settings(ctx: Context) -> Reply:
    """/caidat; /caidat yên lặng 22h-6h; /caidat bỏ yên lặng"""
    link = _chat(ctx)
    norm = ctx.slots.norm
    if re.search(r"\b(bo|tat|xoa|khong) (gio )?yen lang\b", norm):
        link.quiet_start = link.quiet_end = None
        await audit.record(
            ctx.session, ctx.viewer, "settings.quiet_off", at=ctx.now, entity_type="chat_link", entity_id=link.id
        )
    elif "yen lang" in norm:
        span = norm.split("yen lang", 1)[1].strip()
        match = _QUIET.match(span)
        start = parse_time(match.group("start")) if match else None
        end = parse_time(match.group("end")) if match else None
        if start is None or end is None or start == end:
            raise UserError("Viết giờ yên lặng như: /caidat yên lặng 22h-6h (từ 22h00 đến 06h00 hôm sau).")
        link.quiet_start, link.quiet_end = start, end
        await audit.record(
            ctx.session,
            ctx.viewer,
            "settings.quiet",
            at=ctx.now,
            entity_type="chat_link",
            entity_id=link.id,
            after={"quiet": f"{start:%H:%M}-{end:%H:%M}"},
        )
    elif norm:
        raise UserError("Không rõ cài đặt. Ví dụ: /caidat yên lặng 22h-6h, /caidat bỏ yên lặng.")
    return await _show(ctx, link)
