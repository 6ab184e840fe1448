"""/start, /trogiup (/help) and /moi (/invite): joining the cluster's bot."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import UserError
from bot.messages import Reply, esc
from bot.services import people
from bot.services.members import ROLE_NAMES
from bot.views import help as help_views
from bot.views.common import unit_picker
from bot.views.refusals import phrased
from bot.vntime import fmt_date, fmt_time
from handlers.context import Context


async def cmd_start(ctx: Context) -> Reply | list[Reply]:
    code = ctx.slots.text.strip().split()[0] if ctx.slots.text.strip() else ""
    if not code:
        return help_views.help_reply(ctx.viewer.role, ctx.menu)
    if ctx.incoming.chat_type != "private":
        raise UserError("Hãy nhắn riêng cho bot (chat 1–1) để dùng mã mời.")
    with phrased():
        joined = await people.join_with_invite(ctx.session, ctx.viewer, code, chat_id=ctx.incoming.chat_id, now=ctx.now)
    member, unit = joined.member, joined.unit
    ctx.viewer.member, ctx.viewer.unit = member, (await ctx.directory()).by_id.get(unit.id)
    ctx.viewer.role = joined.role
    ctx.menu = ctx.menu_of(joined.role)  # the help lists what the new member may do now
    welcome = Reply(
        f"Chào đồng chí {esc(member.full_name)}! Đồng chí đã tham gia bot với vai trò "
        f"{ROLE_NAMES[member.role or 'officer']} của <b>{esc(unit.name)}</b>."
    )
    return [welcome, help_views.help_reply(ctx.viewer.role, ctx.menu)]


async def cmd_help(ctx: Context) -> Reply:
    return help_views.help_reply(ctx.viewer.role, ctx.menu)


async def small_talk(ctx: Context) -> Reply:
    """Greetings and thanks: a short friendly answer, not the whole help."""
    norm = ctx.slots.norm
    if re.search(r"\b(tam biet|bye|hen gap lai)\b", norm):
        return help_views.goodbye_reply()
    thanks = re.search(r"\b(cam on|cam an|thanks?|tks)\b", norm) is not None
    return help_views.small_talk_reply(thanks=thanks, guest=ctx.viewer.role == "guest")


async def out_of_scope(ctx: Context) -> Reply:
    """A request the bot cannot do ("soạn giúp tôi báo cáo"): say so and what it can do."""
    return help_views.out_of_scope_reply()


async def cmd_invite(ctx: Context) -> Reply:
    """/moi <đơn vị> [admin] [N lần] [N ngày]"""
    if ctx.slots.unit is None:
        directory = await ctx.directory()
        if ctx.slots.text.strip():
            raise UserError(f"Không tìm thấy đơn vị “{ctx.slots.text.strip()}”. Ví dụ: /moi Kim Bảng, /moi TĐ 151.")
        cluster = await ctx.cluster()
        units = cluster.units if cluster else directory.commands()
        return unit_picker("moi", units, prompt="Tạo mã mời cho đơn vị nào?")
    unit = ctx.slots.unit.unit
    norm = ctx.slots.norm
    role = "admin" if re.search(r"\b(admin|quan tri)\b", norm) else "officer"
    uses = re.search(r"\b(\d{1,3}) (lan|luot|nguoi)\b", norm)
    days = re.search(r"\b(\d{1,3}) ngay\b", norm)
    person = await people.person_named(ctx.session, unit.id, ctx.slots.text)
    with phrased():
        invite = await people.create_invite(
            ctx.session,
            ctx.viewer,
            unit_id=unit.id,
            role=role,
            max_uses=int(uses.group(1)) if uses else 1,
            valid_for=timedelta(days=int(days.group(1)) if days else 7),
            person_id=person.id if person else None,
            now=ctx.now,
        )
    expires = invite.expires_at.astimezone(ctx.tz) if invite.expires_at else None
    who = f" — đồng chí {esc(person.full_name)}" if person else ""
    lines = [
        f"Mã mời cho <b>{esc(unit.name)}</b>{who} ({ROLE_NAMES[role]}): <code>{invite.code}</code>",
        f"Dùng được {invite.max_uses} lần"
        + (f", hết hạn {fmt_time(expires.time())} {fmt_date(expires.date())}." if expires else "."),
        f"Người được mời gửi cho bot: /start {invite.code}",
    ]
    link = ctx.channel.deep_link(invite.code)
    if link:
        lines.append(f"Hoặc bấm: {esc(link)}")
    else:  # Zalo has no deep links: the code alone, sent to the bot, is enough
        lines.append(f"Trên Zalo: nhắn riêng cho bot mã {invite.code} (hoặc /start {invite.code}).")
    return Reply("\n".join(lines))
