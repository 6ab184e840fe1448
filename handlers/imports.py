"""/nhap (/import): a duty roster or a score sheet from an Excel (.xlsx) or CSV file.

Send the file with the caption "/nhap lịch trực Kim Bảng" (or "/nhap điểm quý 3/2022"), or send
"/nhap ..." first and the file next. Every row is checked first; one bad row means nothing is written,
and the answer lists the bad rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from bot.errors import UserError
from bot.imports import ImportProblem, parse_roster, parse_scores, read_table
from bot.messages import Reply, esc
from bot.models import DialogState, DutyShift, Unit
from bot.services import audit, changes, dialogs, duty
from bot.services import results as results_service
from bot.textnorm import contains_phrase, normalize
from bot.vntime import fmt_date, fmt_date_range, fmt_points, parse_period
from handlers import forms
from handlers.context import Context

USAGE = (
    "Gửi tệp Excel (.xlsx) hoặc .csv kèm chú thích:\n"
    "• /nhap lịch trực Kim Bảng — cột Ngày, Trực chỉ huy, Trực ban, Trực chiến (thêm cột Đơn vị nếu nhiều đơn vị); "
    "thêm chữ “thay thế” để thay lịch đã có trong những ngày đó\n"
    "• /nhap điểm quý 3/2022 — cột Đơn vị, G1, G2, ..., TT (điểm thưởng/trừ)"
)
MAX_LISTED = 10


def _problems(errors: list) -> UserError:
    lines = [e.message for e in errors[:MAX_LISTED]]
    if len(errors) > MAX_LISTED:
        lines.append(f"... và {len(errors) - MAX_LISTED} lỗi khác.")
    return UserError("Không nhập gì vì tệp có lỗi:\n" + "\n".join(lines) + "\nSửa tệp rồi gửi lại.")


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
    rows, errors = parse_roster(table, ctx.today)
    if errors:
        raise _problems(errors)
    directory = await ctx.directory()
    default = directory.find_in_text(args, communes=False)
    by_unit: dict[int, dict[str, list[tuple[date, str]]]] = defaultdict(lambda: defaultdict(list))
    problems = []
    for row in rows:
        unit = None
        if row.unit:
            match = directory.resolve(row.unit)
            if match is None:
                problems.append(f"Dòng {row.row}: không có đơn vị “{row.unit}”.")
                continue
            unit = match.unit
        elif default is not None:
            unit = default.unit
        else:
            raise UserError("Tệp không có cột Đơn vị: ghi đơn vị trong chú thích, ví dụ /nhap lịch trực Kim Bảng.")
        for role, person in row.people.items():
            by_unit[unit.id][role].append((row.day, person))
    if problems:
        raise UserError("Không nhập gì vì tệp có lỗi:\n" + "\n".join(problems[:MAX_LISTED]))
    created, replaced = 0, 0
    for unit_id, roles in by_unit.items():
        unit = await ctx.session.get(Unit, unit_id)
        assert unit is not None
        handover = unit.duty_handover or ctx.settings.duty_handover
        for role, entries in roles.items():
            if replace:
                for day, _ in entries:
                    start, end = duty.shift_times(day, handover, ctx.tz)
                    while (old := await duty.overlapping(ctx.session, unit_id, role, start, end)) is not None:
                        what = f"{duty.role_name(role)} {unit.short_name} {fmt_date(old.duty_date)}: "
                        await changes.cancel_shift(ctx.session, old, what=what + duty.person_text(old), now=ctx.now)
                        replaced += 1
            people = [await duty.resolve_person(ctx.session, unit_id, person) for _, person in entries]
            shifts: list[DutyShift] = await duty.new_shifts(
                ctx.session,
                unit_id=unit_id,
                days=[day for day, _ in entries],
                role=role,
                people=people,
                handover=handover,
                now=ctx.now,
                tz=ctx.tz,
            )
            created += len(shifts)
    days = sorted(row.day for row in rows)
    await audit.record(
        ctx.session,
        ctx.viewer,
        "duty.import",
        at=ctx.now,
        entity_type="duty_shift",
        after={
            "file": ctx.incoming.attachment.filename if ctx.incoming.attachment else None,
            "shifts": created,
            "replaced": replaced,
            "units": len(by_unit),
        },
    )
    names = ", ".join(directory.by_id[u].short_name for u in by_unit)
    extra = f"; thay {replaced} ca cũ" if replaced else ""
    return Reply(f"Đã nhập {created} ca trực của {esc(names)} ({fmt_date_range(days[0], days[-1])}){extra}. Xem: /truc")


async def _import_scores(ctx: Context, table: list[list[str]], args: str) -> Reply:
    cluster = await ctx.cluster()
    if cluster is None:
        raise UserError("Chưa có cụm thi đua nào trong dữ liệu.")
    spec = parse_period(args, ctx.today)
    if spec is None:
        raise UserError("Ghi kỳ chấm trong chú thích, ví dụ: /nhap điểm quý 3/2022.")
    criteria = await results_service.criteria_of(ctx.session, cluster.id)
    rows, errors = parse_scores(table, [c.code for c in criteria])
    if errors:
        raise _problems(errors)
    by_code = {c.code.upper(): c for c in criteria}
    problems: list[str] = []
    resolved = []
    for row in rows:
        match = (await ctx.directory()).resolve(row.unit)
        if match is None or match.unit.id not in cluster.unit_ids():
            problems.append(f"Dòng {row.row}: “{row.unit}” không phải đơn vị trong cụm.")
            continue
        for code, value in row.points.items():
            criterion = by_code[code]
            if not criterion.min_points <= value <= criterion.max_points:
                problems.append(
                    f"Dòng {row.row}: {code} = {fmt_points(value)} ngoài khung "
                    f"{fmt_points(criterion.min_points)}–{fmt_points(criterion.max_points)}."
                )
        resolved.append((match.unit, row))
    if problems:
        raise UserError("Không nhập gì vì tệp có lỗi:\n" + "\n".join(problems[:MAX_LISTED]))
    period = await results_service.ensure_period(ctx.session, cluster.id, spec)
    for unit, row in resolved:
        await results_service.enter_scores(
            ctx.session,
            period=period,
            unit_id=unit.id,
            points=row.points,
            member_id=ctx.viewer.member.id if ctx.viewer.member else None,
            now=ctx.now,
        )
    await audit.record(
        ctx.session,
        ctx.viewer,
        "scores.import",
        at=ctx.now,
        entity_type="review_period",
        entity_id=period.id,
        after={"period": spec.label(), "units": len(resolved)},
    )
    state = "đã công bố" if period.status == "published" else "chưa công bố; xem /xephang, công bố bằng /congbo"
    return Reply(f"Đã nhập điểm {len(resolved)} đơn vị, {spec.label()} ({state}).")
