"""Officers report progress (/baocao); admins broadcast (/thongbao), manage members (/thanhvien,
/capquyen, /thuhoi) and read the audit log (/nhatky)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.messages import Button, Reply, esc
from bot.services import broadcasts, people, reports, tasks
from bot.services.members import ROLE_NAMES
from bot.textnorm import contains_phrase, normalize
from bot.views import audit as audit_views
from bot.views import people as people_views
from bot.views.refusals import NO_UNIT_TO_REPORT, phrased
from bot.views.reminders import announcement_text
from handlers import forms
from handlers.context import Context
from handlers.forms import Field, Form, Value, register

if TYPE_CHECKING:
    from bot.models import ChatLink

# --- /baocao ---------------------------------------------------------------------------------------


async def cmd_report(ctx: Context) -> Reply:
    """/baocao FT1 50% đã tập huấn khung — an officer's unit; admins may name the unit:
    /baocao FT1 Kim Bảng xong."""
    words = ctx.slots.text.split()
    if not words:
        raise UserError("Viết: /baocao <mã nhiệm vụ> <tiến độ> [ghi chú], ví dụ /baocao FT1 50% đã tập huấn khung.")
    task = await tasks.find_task(ctx.session, words[0])
    if task is None or task.status == "cancelled":
        raise UserError(f"Không có nhiệm vụ {words[0]}. Xem mã nhiệm vụ trong /nhiemvu.")
    rest = words[1:]
    unit = ctx.viewer.unit
    if ctx.viewer.at_least("admin"):
        named = (await ctx.directory()).find_in_text(" ".join(rest), communes=False)
        if named is not None and named.matched:
            unit = named.unit
            size = len(named.matched.split())
            position = next(
                (i for i in range(len(rest)) if normalize(" ".join(rest[i : i + size])) == named.matched), None
            )
            if position is not None:
                rest = rest[:position] + rest[position + size :]
    if unit is None:
        raise UserError(NO_UNIT_TO_REPORT)
    status, progress, used = _progress(rest)
    note = " ".join(rest[used:]) or None
    with phrased():
        report = await reports.report_task_progress(
            ctx.session, ctx.viewer, task.id, status, progress, note, ctx.now, unit_id=unit.id
        )
    assignment = report.assignment
    shown = tasks.status_name(assignment, ctx.today, task.due_on)
    return Reply(
        f"Đã ghi: {esc(task.code or '')} {esc(task.title)} — {esc(unit.short_name)}: {shown}."
        + (f"\nGhi chú: {esc(note)}" if note else "")
    )


_STATUS_TAIL = {"thuc", "hien", "lam", "xong", "thanh"}


def _progress(words: list[str]) -> tuple[str, int, int]:
    """The shortest leading words that say the progress ("60%", "xong", "đang thực hiện"); returns
    (status, percent, words used). The rest is the note."""
    for size in range(1, min(len(words), 3) + 1):
        try:
            status, progress = tasks.parse_progress(" ".join(words[:size]))
        except UserError:
            continue
        while size < len(words) and normalize(words[size]) in _STATUS_TAIL:
            size += 1
        return status, progress, size
    status, progress = tasks.parse_progress(" ".join(words))  # raises, with an example
    return status, progress, len(words)


# --- /thongbao ---------------------------------------------------------------------------------------


async def _scope(ctx: Context, text: str, _values: dict[str, Value]) -> dict[str, Value]:
    norm = normalize(text)
    if norm in ("nhom", "cac nhom", "chi nhom", "groups", "chi cac nhom"):
        return {"scope": "groups", "unit": None}
    if not norm or any(contains_phrase(norm, w) for w in ("ca cum", "toan cum", "tat ca", "all")):
        return {"scope": "cluster", "unit": None}
    return {"scope": "unit", "unit": (await forms.find_unit(ctx, text)).id}


async def scope_choices(ctx: Context, values: dict[str, Value]) -> list[Button]:
    return [Button("Cả cụm", "dlg:cả cụm"), Button("Chỉ các nhóm", "dlg:nhóm"), *await forms.unit_choices(ctx, values)]


def _split_announcement(text: str) -> list[str]:
    if "|" in text:
        scope, _, body = text.partition("|")
        return [scope.strip(), body.strip()]
    return ["cả cụm", text.strip()]


async def _recipients(ctx: Context, values: dict[str, Value]) -> list[ChatLink]:
    with phrased():
        return await broadcasts.announcement_recipients(
            ctx.session, ctx.viewer, values["scope"]["scope"], values["scope"]["unit"]
        )


async def _scope_text(ctx: Context, scope: dict[str, Value]) -> str:
    if scope["scope"] == "groups":
        return "các nhóm chat"
    if scope["scope"] == "unit":
        return (await ctx.directory()).by_id[scope["unit"]].name
    return "cả cụm"


async def _announce_summary(ctx: Context, values: dict[str, Value]) -> str:
    count = len(await _recipients(ctx, values))
    if not count:
        raise UserError(f"Không có chat nào nhận thông báo ở {await _scope_text(ctx, values['scope'])}.")
    where = esc(await _scope_text(ctx, values["scope"]))
    return f"Gửi tới {where}: {count} chat.\nXem trước:\n{announcement_text(values['text'])}"


async def _send_announcement(ctx: Context, values: dict[str, Value]) -> Reply:
    scope, text = values["scope"], values["text"]
    with phrased():
        sent = await broadcasts.send_announcement(ctx.session, ctx.viewer, scope["scope"], scope["unit"], text, ctx.now)
    return Reply(f"Đã xếp hàng gửi {sent.queued} tin; xem tiến độ bằng /guitin.")


ANNOUNCE_FORM = register(
    Form(
        name="thongbao",
        title="Gửi thông báo",
        usage="/thongbao Họp giao ban lúc 8h00 mai\n/thongbao Kim Bảng | Chuẩn bị báo cáo sơ kết\n/thongbao nhóm | ...",
        fields=(
            Field("scope", "Gửi tới đâu?", _scope, scope_choices),
            Field("text", "Nội dung thông báo?", forms.parse_text(2, 3500, "Nội dung")),
        ),
        save=_send_announcement,
        summary=_announce_summary,
        confirm_label="Gửi",
        confirm_line=True,
        split=_split_announcement,
    )
)


# --- members and roles -------------------------------------------------------------------------------


async def cmd_members(ctx: Context) -> Reply:
    unit = ctx.slots.unit.unit if ctx.slots.unit else None
    with phrased():
        users = await people.bot_users(ctx.session, ctx.viewer, unit.id if unit else None)
    if not users:
        return Reply("Chưa có ai dùng bot" + (f" ở {esc(unit.name)}." if unit else "."))
    directory = await ctx.directory()
    lines = [f"<b>Thành viên dùng bot{' — ' + esc(unit.name) if unit else ''}</b> ({len(users)})"]
    for user in users:
        member = user.member
        channels = [chat.channel + ("" if chat.active else " (đã chặn bot)") for chat in user.chats]
        where = directory.by_id[member.unit_id].short_name if member.unit_id in directory.by_id else "cấp cụm"
        name = " ".join(p for p in (member.rank, member.full_name) if p)
        lines.append(
            f"M{member.id} {esc(name)} — {esc(where)} — {ROLE_NAMES.get(member.role or '', '')}"
            + (f" ({esc(', '.join(channels))})" if channels else "")
        )
    officer = next((u.member for u in users if u.member.role != "admin"), None)
    admin = next((u.member for u in users if u.member.role == "admin"), None)
    hint = people_views.role_hint(officer, admin)
    return Reply("\n".join([*lines, hint] if hint else lines))


async def _set_role(ctx: Context, role: str) -> Reply:
    with phrased():
        member = await people.find_bot_user(ctx.session, ctx.viewer, ctx.slots.text)
        change = await (people.grant_admin if role == "admin" else people.revoke_admin)(
            ctx.session, ctx.viewer, member.id, ctx.now
        )
    if not change.changed:
        return Reply(f"{esc(member.full_name)} đã là {ROLE_NAMES[role]} từ trước.")
    note = ""
    if role != "admin":
        note = " (Người có tên trong QTBOT_ADMIN_TELEGRAM_IDS vẫn là quản trị theo cấu hình.)"
    return Reply(f"Đã chuyển {esc(member.full_name)} thành {ROLE_NAMES[role]}.{note}")


async def cmd_grant(ctx: Context) -> Reply:
    return await _set_role(ctx, "admin")


async def cmd_revoke(ctx: Context) -> Reply:
    return await _set_role(ctx, "officer")


async def cmd_audit_log(ctx: Context) -> Reply:
    count = int(ctx.slots.number) if ctx.slots.number and ctx.slots.number.isdigit() else 15
    with phrased():
        page = await people.audit_log(ctx.session, ctx.viewer, count)
    return audit_views.audit_reply(page.entries, page.names, ctx.tz)
