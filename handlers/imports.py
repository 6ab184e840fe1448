"""/nhap (/import): a duty roster or a score sheet from an Excel (.xlsx) or CSV file.

Send the file with the caption "/nhap lịch trực Kim Bảng" (or "/nhap điểm quý 3/2022"), or send
"/nhap ..." first and the file next. Every row is checked first and every error of every row is
listed at once; a file without errors gets a preview with counts and a confirm button (the checked
table waits in the dialog state, in the database); confirming writes it in one transaction."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.imports import ImportProblem, read_table
from bot.messages import Reply
from bot.services import dialogs, imports
from bot.textnorm import contains_phrase, normalize
from bot.views import imports as views
from bot.views.refusals import phrased
from bot.vntime import parse_period
from handlers import forms
from handlers.context import Context

if TYPE_CHECKING:
    from bot.models import DialogState

USAGE = (
    "Gửi tệp Excel (.xlsx) hoặc .csv kèm chú thích:\n"
    "• /nhap lịch trực Kim Bảng — cột Ngày, Trực chỉ huy, Trực ban, Trực chiến (thêm cột Đơn vị nếu nhiều đơn vị); "
    "thêm chữ “thay thế” để thay lịch đã có trong những ngày đó\n"
    "• /nhap điểm quý 3/2022 — cột Đơn vị, G1, G2, ..., TT (điểm thưởng/trừ)\n"
    "• /nhap nhiệm vụ — cột Nhiệm vụ, Hạn hoàn thành, Đơn vị thực hiện (tên đơn vị hoặc “cả cụm”)\n"
    "• /nhap diễn tập — cột Xã, phường, thị trấn, Kiểm tra, duyệt (và Thực hành nếu có)\n"
    "Mẫu tệp: /mau trực, /mau điểm, /mau nhiệm vụ, /mau diễn tập"
)


async def _save(ctx: Context, step: str, data: dict) -> None:
    await dialogs.save(
        ctx.session,
        channel=ctx.incoming.channel,
        chat_id=ctx.incoming.chat_id,
        user_id=ctx.incoming.sender_id,
        name="nhap",
        step=step,
        data=data,
        now=ctx.now,
        lifetime=timedelta(minutes=ctx.settings.dialog_timeout_minutes),
    )


async def cmd_import(ctx: Context) -> Reply:
    if ctx.incoming.attachment is None:
        await _save(ctx, "file", {"args": ctx.slots.text})
        return Reply(f"{USAGE}\nBot đang chờ tệp.", buttons=[forms.cancel_row()])
    return await _check(ctx, ctx.slots.text)


async def carry_on(ctx: Context, state: DialogState, text: str) -> Reply:
    """The file sent after "/nhap ...", the confirmation of a checked file, or "Hủy"."""
    if text == forms.CANCEL or state.expires_at < ctx.now:
        await dialogs.end(ctx.session, state)
        return views.CANCELLED
    if ctx.incoming.attachment is not None:  # a (corrected) file: check it, replacing any earlier one
        return await _check(ctx, text if text.strip() else str(state.data.get("args", "")))
    if state.step == "confirm" and text == forms.CONFIRM:
        reply = await _write(ctx, state.data)
        await dialogs.end(ctx.session, state)
        return reply
    waiting = views.WAITING_CONFIRM if state.step == "confirm" else views.WAITING_FILE
    return Reply(waiting, buttons=[forms.cancel_row()])


def _kind(args: str) -> str:
    norm = normalize(args)
    if contains_phrase(norm, "diem") or contains_phrase(norm, "cham diem"):
        return "scores"
    if contains_phrase(norm, "nhiem vu"):
        return "tasks"
    if contains_phrase(norm, "dien tap"):
        return "drills"
    if contains_phrase(norm, "truc") or contains_phrase(norm, "lich truc"):
        return "roster"
    raise UserError(f"Tệp này là gì? {USAGE}")


async def _check(ctx: Context, args: str) -> Reply:
    """Read and check the file without writing; a file without errors waits for the confirmation."""
    attachment = ctx.incoming.attachment
    assert attachment is not None
    kind = _kind(args)
    if attachment.size is not None and attachment.size > 2 * 1024 * 1024:
        raise ImportProblem("Tệp quá lớn; tối đa 2 MB.")
    content = await attachment.fetch()  # type: ignore[misc]
    table = read_table(attachment.filename, content)
    data = {"args": args, "kind": kind, "filename": attachment.filename, "table": table}
    if kind == "scores":
        units, label, _ = await _scores(ctx, data, write=False)
        preview = views.scores_preview(attachment.filename, units, label, confirm=forms.CONFIRM, cancel=forms.CANCEL)
    elif kind in ("tasks", "drills"):
        done_items = await _items(ctx, data, write=False)
        preview = views.items_preview(
            attachment.filename, kind, done_items.count, confirm=forms.CONFIRM, cancel=forms.CANCEL
        )
    else:
        done = await _roster(ctx, data, write=False)
        names = await _unit_names(ctx, done.unit_ids)
        preview = views.roster_preview(
            attachment.filename,
            done.created,
            done.replaced,
            names,
            done.first_day,
            done.last_day,
            confirm=forms.CONFIRM,
            cancel=forms.CANCEL,
        )
    await _save(ctx, "confirm", data)
    return preview


async def _write(ctx: Context, data: dict) -> Reply:
    if data["kind"] == "scores":
        units, label, published = await _scores(ctx, data, write=True)
        return views.scores_done(units, label, published)
    if data["kind"] in ("tasks", "drills"):
        done_items = await _items(ctx, data, write=True)
        return views.items_done(str(data["kind"]), done_items.count, done_items.told)
    done = await _roster(ctx, data, write=True)
    names = await _unit_names(ctx, done.unit_ids)
    return views.roster_done(done.created, done.replaced, names, done.first_day, done.last_day, done.told)


async def _unit_names(ctx: Context, unit_ids: list[int]) -> list[str]:
    directory = await ctx.directory()
    return [directory.by_id[u].short_name for u in unit_ids]


async def _roster(ctx: Context, data: dict, *, write: bool) -> imports.RosterImport:
    directory = await ctx.directory()
    args = str(data["args"])
    default = directory.find_in_text(args, communes=False)
    with phrased():
        return await imports.import_duty_roster(
            ctx.session,
            ctx.viewer,
            data["table"],
            directory=directory,
            default_unit_id=default.unit.id if default is not None else None,
            replace=contains_phrase(normalize(args), "thay the"),
            filename=str(data["filename"]),
            handover=ctx.settings.duty_handover,
            now=ctx.now,
            tz=ctx.tz,
            write=write,
            on_progress=ctx.counter(
                lambda done, total: views.progress(str(data["filename"]), done, total, writing=write),
                every=imports.PROGRESS_STEP,
            ),
        )


async def _scores(ctx: Context, data: dict, *, write: bool) -> tuple[int, str, bool]:
    """(units, period label, whether the period is published)."""
    cluster = await ctx.cluster()
    if cluster is None:
        raise UserError("Chưa có cụm thi đua nào trong dữ liệu.")
    spec = parse_period(str(data["args"]), ctx.today)
    if spec is None:
        raise UserError("Ghi kỳ chấm trong chú thích, ví dụ: /nhap điểm quý 3/2022.")
    with phrased():
        done = await imports.import_scores(
            ctx.session,
            ctx.viewer,
            data["table"],
            cluster=cluster,
            period=spec,
            directory=await ctx.directory(),
            now=ctx.now,
            write=write,
        )
    return done.units, spec.label(), done.period is not None and done.period.status == "published"


async def _items(ctx: Context, data: dict, *, write: bool) -> imports.ItemsImport:
    directory = await ctx.directory()
    with phrased():
        if data["kind"] == "tasks":
            return await imports.import_tasks(
                ctx.session,
                ctx.viewer,
                data["table"],
                cluster=await ctx.cluster(),
                directory=directory,
                now=ctx.now,
                tz=ctx.tz,
                write=write,
            )
        return await imports.import_drills(
            ctx.session, ctx.viewer, data["table"], directory=directory, now=ctx.now, tz=ctx.tz, write=write
        )
