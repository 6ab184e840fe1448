"""/nhap (/import): a duty roster or a score sheet from an Excel (.xlsx) or CSV file.

Send the file with the caption "/nhap lịch trực Kim Bảng" (or "/nhap điểm quý 3/2022"), or send
"/nhap ..." first and the file next. Every row is checked first; one bad row means nothing is written,
and the answer lists the bad rows."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.imports import ImportProblem, read_table
from bot.messages import Reply, esc
from bot.services import dialogs, imports
from bot.textnorm import contains_phrase, normalize
from bot.views.refusals import phrased
from bot.vntime import fmt_date_range, parse_period
from handlers import forms
from handlers.context import Context

if TYPE_CHECKING:
    from bot.models import DialogState

USAGE = (
    "Gửi tệp Excel (.xlsx) hoặc .csv kèm chú thích:\n"
    "• /nhap lịch trực Kim Bảng — cột Ngày, Trực chỉ huy, Trực ban, Trực chiến (thêm cột Đơn vị nếu nhiều đơn vị); "
    "thêm chữ “thay thế” để thay lịch đã có trong những ngày đó\n"
    "• /nhap điểm quý 3/2022 — cột Đơn vị, G1, G2, ..., TT (điểm thưởng/trừ)"
)


async def cmd_import(ctx: Context) -> Reply:
    if ctx.incoming.attachment is None:
        await dialogs.save(
            ctx.session,
            channel=ctx.incoming.channel,
            chat_id=ctx.incoming.chat_id,
            user_id=ctx.incoming.sender_id,
            name="nhap",
            step="file",
            data={"args": ctx.slots.text},
            now=ctx.now,
            lifetime=timedelta(minutes=ctx.settings.dialog_timeout_minutes),
        )
        return Reply(f"{USAGE}\nBot đang chờ tệp.", buttons=[forms.cancel_row()])
    return await _import(ctx, ctx.slots.text)


async def carry_on(ctx: Context, state: DialogState, text: str) -> Reply:
    """The file sent after "/nhap ..." (or "Hủy")."""
    if text == forms.CANCEL or state.expires_at < ctx.now:
        await dialogs.end(ctx.session, state)
        return Reply("Đã hủy nhập tệp.")
    if ctx.incoming.attachment is None:
        return Reply("Bot đang chờ tệp .xlsx hoặc .csv (hoặc bấm Hủy).", buttons=[forms.cancel_row()])
    args = text if text.strip() else str(state.data.get("args", ""))
    reply = await _import(ctx, args)
    await dialogs.end(ctx.session, state)
    return reply


async def _import(ctx: Context, args: str) -> Reply:
    attachment = ctx.incoming.attachment
    assert attachment is not None
    if attachment.size is not None and attachment.size > 2 * 1024 * 1024:
        raise ImportProblem("Tệp quá lớn; tối đa 2 MB.")
    content = await attachment.fetch()  # type: ignore[misc]
    table = read_table(attachment.filename, content)
    norm = normalize(args)
    if contains_phrase(norm, "diem") or contains_phrase(norm, "cham diem"):
        return await _import_scores(ctx, table, args)
    if contains_phrase(norm, "truc") or contains_phrase(norm, "lich truc"):
        return await _import_roster(ctx, table, args, replace=contains_phrase(norm, "thay the"))
    raise UserError(f"Tệp này là gì? {USAGE}")


async def _import_roster(ctx: Context, table: list[list[str]], args: str, *, replace: bool) -> Reply:
    directory = await ctx.directory()
    default = directory.find_in_text(args, communes=False)
    with phrased():
        done = await imports.import_duty_roster(
            ctx.session,
            ctx.viewer,
            table,
            directory=directory,
            default_unit_id=default.unit.id if default is not None else None,
            replace=replace,
            filename=ctx.incoming.attachment.filename if ctx.incoming.attachment else None,
            handover=ctx.settings.duty_handover,
            now=ctx.now,
            tz=ctx.tz,
        )
    names = ", ".join(directory.by_id[u].short_name for u in done.unit_ids)
    extra = f"; thay {done.replaced} ca cũ" if done.replaced else ""
    return Reply(
        f"Đã nhập {done.created} ca trực của {esc(names)} ({fmt_date_range(done.first_day, done.last_day)}){extra}. "
        "Xem: /truc"
    )


async def _import_scores(ctx: Context, table: list[list[str]], args: str) -> Reply:
    cluster = await ctx.cluster()
    if cluster is None:
        raise UserError("Chưa có cụm thi đua nào trong dữ liệu.")
    spec = parse_period(args, ctx.today)
    if spec is None:
        raise UserError("Ghi kỳ chấm trong chú thích, ví dụ: /nhap điểm quý 3/2022.")
    with phrased():
        done = await imports.import_scores(
            ctx.session, ctx.viewer, table, cluster=cluster, period=spec, directory=await ctx.directory(), now=ctx.now
        )
    state = "đã công bố" if done.period.status == "published" else "chưa công bố; xem /xephang, công bố bằng /congbo"
    return Reply(f"Đã nhập điểm {done.units} đơn vị, {spec.label()} ({state}).")
