"""/start, /trogiup (/help) and /moi (/invite): joining the cluster's bot."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.errors import UserError
from bot.messages import Reply, esc
from bot.services import audit, members
from bot.views import help as help_views
from bot.views.common import unit_picker
from bot.vntime import fmt_date, fmt_time
from handlers.context import Context


async def cmd_start(ctx: Context) -> Reply | list[Reply]:
    code = ctx.slots.text.strip().split()[0] if ctx.slots.text.strip() else ""
    if not code:
        return help_views.help_reply(ctx.viewer.role, ctx.menu)
    if ctx.incoming.chat_type != "private":
        raise UserError("Hãy nhắn riêng cho bot (chat 1–1) để dùng mã mời.")
    member, unit = await members.join_with_invite(
        ctx.session,
        code=code,
        channel=ctx.incoming.channel,
        chat_id=ctx.incoming.chat_id,
        sender_name=ctx.incoming.sender_name,
        now=ctx.now,
    )
    ctx.viewer.member, ctx.viewer.unit = member, (await ctx.directory()).by_id.get(unit.id)
    ctx.viewer.role = "admin" if ctx.viewer.role == "admin" else (member.role or "officer")
    await audit.record(
        ctx.session,
        ctx.viewer,
        "member.join",
        at=ctx.now,
        entity_type="member",
        entity_id=member.id,
        after={"unit": unit.name, "role": member.role, "invite": code},
    )
    welcome = Reply(
        f"Chào đồng chí {esc(member.full_name)}! Đồng chí đã tham gia bot với vai trò "
        f"{members.ROLE_NAMES[member.role or 'officer']} của <b>{esc(unit.name)}</b>."
    )
    return [welcome, help_views.help_reply(ctx.viewer.role, ctx.menu)]


async def cmd_help(ctx: Context) -> Reply:
    return help_views.help_reply(ctx.viewer.role, ctx.menu)


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
    person = await members.find_person(ctx.session, unit.id, ctx.slots.text)
    invite = await members.create_invite(
        ctx.session,
        unit=unit,
        role=role,
        created_by=ctx.viewer.member,
        now=ctx.now,
        max_uses=int(uses.group(1)) if uses else 1,
        valid_for=timedelta(days=int(days.group(1)) if days else 7),
        person=person,
    )
    await audit.record(
        ctx.session,
        ctx.viewer,
        "invite.create",
        at=ctx.now,
        entity_type="invite",
        entity_id=invite.id,
        after={"unit": unit.name, "role": role, "max_uses": invite.max_uses},
    )
    expires = invite.expires_at.astimezone(ctx.tz) if invite.expires_at else None
    who = f" — đồng chí {esc(person.full_name)}" if person else ""
    lines = [
        f"Mã mời cho <b>{esc(unit.name)}</b>{who} ({members.ROLE_NAMES[role]}): <code>{invite.code}</code>",
        f"Dùng được {invite.max_uses} lần"
        + (f", hết hạn {fmt_time(expires.time())} {fmt_date(expires.date())}." if expires else "."),
        f"Người được mời gửi cho bot: /start {invite.code}",
    ]
    link = ctx.channel.deep_link(invite.code)
    if link:
        lines.append(f"Hoặc bấm: {esc(link)}")
    return Reply("\n".join(lines))
