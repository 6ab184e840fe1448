"""/dangky, /huydangky (/subscribe, /unsubscribe) and /caidat (/settings): what pushes a chat gets."""

from __future__ import annotations

import re

from bot import lexicon
from bot.errors import UserError
from bot.messages import Reply
from bot.services import chat_settings, subscriptions
from bot.services.chat_settings import ChatSettings
from bot.textnorm import contains_phrase
from bot.views import subscriptions as views
from bot.views.refusals import phrased
from bot.vntime import parse_time
from handlers.context import Context

_KIND_TOKEN = re.compile(r"(?<!\S)k:([a-z_]+)")
_QUIET = re.compile(r"^(?P<start>.+?)\s*(?:-|–|den|toi)\s*(?P<end>.+)$")


def _kinds(ctx: Context) -> list[str]:
    tokens = _KIND_TOKEN.findall(ctx.slots.text)
    if tokens:
        return [k for k in tokens if k in subscriptions.KINDS]
    norm = ctx.slots.norm
    if contains_phrase(norm, "tat ca") or contains_phrase(norm, "all"):
        return list(subscriptions.KINDS)
    # Longest phrase first, and what it matched is used up: "bản tin sáng" is the morning digest only,
    # not the news as well (its "tin").
    found = lexicon.phrases_in(norm, subscriptions.KIND_WORDS)
    found += [kind for kind in subscriptions.KINDS if contains_phrase(norm, kind)]
    return [kind for kind in subscriptions.KINDS if kind in found]  # in menu order


def _show(ctx: Context, settings: ChatSettings) -> Reply:
    link = settings.chat
    viewer = ctx.viewer
    person = viewer.member.full_name if viewer.member else viewer.sender_name
    title = views.chat_title(link.chat_type == "group", link.title, person)
    return views.settings_reply(title, settings.kinds, link.quiet_start, link.quiet_end)


async def _change(ctx: Context, *, on: bool) -> Reply:
    with phrased(group_chat=ctx.incoming.chat_type == "group"):
        settings = await chat_settings.settings_of(ctx.session, ctx.viewer)
        kinds = _kinds(ctx)
        if ctx.slots.norm and not kinds:
            names = ", ".join(subscriptions.KINDS.values())
            raise UserError(f"Không rõ loại tin “{ctx.slots.text.strip()}”. Có các loại: {names}; hoặc “tất cả”.")
        if kinds:
            change = chat_settings.subscribe if on else chat_settings.unsubscribe
            settings = await change(ctx.session, ctx.viewer, kinds, ctx.now)
    reply = _show(ctx, settings)
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
    norm = ctx.slots.norm
    with phrased(group_chat=ctx.incoming.chat_type == "group"):
        settings = await chat_settings.settings_of(ctx.session, ctx.viewer)
        if re.search(r"\b(bo|tat|xoa|khong) (gio )?yen lang\b", norm):
            settings = await chat_settings.set_quiet_hours(ctx.session, ctx.viewer, None, None, ctx.now)
        elif "yen lang" in norm:
            span = norm.split("yen lang", 1)[1].strip()
            match = _QUIET.match(span)
            start = parse_time(match.group("start")) if match else None
            end = parse_time(match.group("end")) if match else None
            if start is None or end is None:
                raise UserError("Viết giờ yên lặng như: /caidat yên lặng 22h-6h (từ 22h00 đến 06h00 hôm sau).")
            settings = await chat_settings.set_quiet_hours(ctx.session, ctx.viewer, start, end, ctx.now)
        elif norm:
            raise UserError("Không rõ cài đặt. Ví dụ: /caidat yên lặng 22h-6h, /caidat bỏ yên lặng.")
    return _show(ctx, settings)
