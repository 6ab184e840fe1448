"""Admins add items: /themhop, /themtruc, /themdientap, /themnhiemvu, /chamdiem, /congbo, /themtin.

Each is a :class:`handlers.forms.Form`: one line with "|" between the parts, or step by step. Every
save is one transaction with its audit entry; the chats concerned are told through the outbox.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.errors import UserError
from bot.messages import Reply, esc
from bot.services import duty, items
from bot.services import results as results_service
from bot.textnorm import normalize
from bot.views import items as item_views
from bot.vntime import PeriodSpec, fmt_date_range, fmt_weekday_date, parse_date_range
from handlers import forms
from handlers.context import Context
from handlers.forms import Field, Form, Value, iso_day, register

if TYPE_CHECKING:
    from bot.models import Criterion


async def _units_text(ctx: Context, value: dict[str, Value]) -> str:
    if value.get("cluster_wide"):
        return "cả cụm"
    directory = await ctx.directory()
    return ", ".join(directory.by_id[i].short_name for i in value["units"])


async def _cluster_id(ctx: Context) -> int | None:
    cluster = await ctx.cluster()
    return cluster.id if cluster else None


# --- /themhop ---------------------------------------------------------------------------------------


async def parse_place(ctx: Context, text: str, _values: dict[str, Value]) -> dict[str, Value]:
    """A unit (it hosts, and its name is the place) or a place written out ("Hội trường Bộ CHQS tỉnh")."""
    token = text.strip()
    if token.startswith("u:"):
        unit = await forms.find_unit(ctx, token)
        return {"host": unit.id, "location": unit.name}
    match = (await ctx.directory()).find_in_text(token, communes=False)
    if match is not None and match.matched and len(match.matched) >= len(normalize(token)) * 0.6:
        return {"host": match.unit.id, "location": match.unit.name}
    cleaned = " ".join(token.split())
    if not 2 <= len(cleaned) <= 200:
        raise UserError("Địa điểm phải dài 2–200 ký tự.")
    return {"host": None, "location": cleaned}


def _event_times(ctx: Context, value: dict[str, Value]) -> tuple[datetime, datetime | None]:
    day = iso_day(value["date"])
    start = datetime.combine(day, time.fromisoformat(value["time"]), ctx.tz)
    end = datetime.combine(day, time.fromisoformat(value["end"]), ctx.tz) if value.get("end") else None
    return start, end


async def _event_summary(ctx: Context, values: dict[str, Value]) -> str:
    start, end = _event_times(ctx, values["when"])
    span = f"{start.astimezone(ctx.tz):%H}h{start.astimezone(ctx.tz):%M}" + (
        f"–{end.astimezone(ctx.tz):%H}h{end.astimezone(ctx.tz):%M}" if end else ""
    )
    return (
        f"Nội dung: {esc(values['title'])}\nThời gian: {span} {fmt_weekday_date(start.astimezone(ctx.tz).date())}\n"
        f"Địa điểm: {esc(values['place']['location'])}\nThành phần: {await _units_text(ctx, values['units'])}"
    )


async def _save_event(ctx: Context, values: dict[str, Value]) -> Reply:
    start, end = _event_times(ctx, values["when"])
    draft = items.MeetingDraft(
        title=values["title"],
        starts_at=start,
        ends_at=end,
        session_name=values["when"]["session"],
        location=values["place"]["location"],
        host_unit_id=values["place"]["host"],
        unit_ids=tuple(values["units"]["units"]),
        cluster_wide=values["units"]["cluster_wide"],
    )
    added = await items.add_meeting(
        ctx.session, ctx.viewer, draft, cluster_id=await _cluster_id(ctx), now=ctx.now, tz=ctx.tz
    )
    return Reply(item_views.meeting_added(added.event, added.told, ctx.tz))


EVENT_FORM = register(
    Form(
        name="themhop",
        title="Thêm hội nghị, cuộc họp",
        usage="/themhop 14h00 23/6/2022 | Ban CHQS huyện Kim Bảng | Sơ kết thi đua 6 tháng đầu năm 2022 | cả cụm",
        fields=(
            Field(
                "when",
                "Thời gian? Ví dụ: 14h00 23/6/2022, chiều 23/6, 8h thứ Năm tuần sau, 14h-17h 23/6.",
                forms.parse_when,
            ),
            Field("place", "Địa điểm hoặc đơn vị chủ trì?", parse_place, forms.unit_choices),
            Field(
                "title", "Nội dung? Ví dụ: Sơ kết thi đua 6 tháng đầu năm 2022.", forms.parse_text(3, 300, "Nội dung")
            ),
            Field(
                "units",
                "Thành phần: cả cụm hay những đơn vị nào? (viết nhiều đơn vị cách nhau bằng dấu phẩy)",
                forms.parse_units,
                forms.participant_choices,
            ),
        ),
        save=_save_event,
        summary=_event_summary,
    )
)


# --- /themtruc --------------------------------------------------------------------------------------


async def parse_people(ctx: Context, text: str, values: dict[str, Value]) -> list[list[Value]]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UserError("Cho tên người trực (hoặc 'Tổ 1'); cả tuần thì các tên cách nhau bằng dấu phẩy.")
    days = values.get("days") or []
    if days and len(names) not in (1, len(days)):
        raise UserError(f"Có {len(days)} ngày nhưng {len(names)} tên: cho 1 tên cho cả đợt, hoặc đủ {len(days)} tên.")
    return [list(await duty.resolve_person(ctx.session, values["unit"], name)) for name in names]


async def _person_names(ctx: Context, people: list[list[Value]]) -> list[str]:
    return await duty.person_names(ctx.session, [(p[0], p[1]) for p in people])


async def _duty_summary(ctx: Context, values: dict[str, Value]) -> str:
    days = [iso_day(d) for d in values["days"]]
    directory = await ctx.directory()
    people = ", ".join(await _person_names(ctx, values["people"]))
    return (
        f"Đơn vị: {esc(directory.by_id[values['unit']].name)}\nNgày: {fmt_date_range(days[0], days[-1])}\n"
        f"Vai trò: {duty.role_name(values['role'])}\nNgười trực: {esc(people)}"
    )


async def _save_duty(ctx: Context, values: dict[str, Value]) -> Reply:
    draft = items.ShiftsDraft(
        unit_id=values["unit"],
        days=tuple(iso_day(d) for d in values["days"]),
        role=values["role"],
        people=tuple((p[0], p[1]) for p in values["people"]),
    )
    added = await items.add_shifts(
        ctx.session, ctx.viewer, draft, default_handover=ctx.settings.duty_handover, now=ctx.now, tz=ctx.tz
    )
    unit = (await ctx.directory()).by_id[values["unit"]]
    return Reply(item_views.shifts_added(added.shifts, unit.name, values["role"], added.told))


DUTY_FORM = register(
    Form(
        name="themtruc",
        title="Thêm lịch trực",
        usage="/themtruc Kim Bảng | 27/6/2022 | trực chỉ huy | Trung tá Lê Quang Cường\n"
        "/themtruc Kim Bảng | tuần 27/6 | trực ban | Long, Nam, Phúc, Quang, Long, Nam, Phúc",
        fields=(
            Field("unit", "Đơn vị nào?", forms.parse_unit, forms.unit_choices),
            Field("days", "Ngày trực? Ví dụ: 27/6/2022, mai; cả tuần: tuần 27/6; một đợt: 27/6-3/7.", forms.parse_days),
            Field("role", "Vai trò trực?", forms.parse_role, forms.role_choices),
            Field(
                "people",
                "Người trực? Tên cán bộ (ví dụ Trung tá Lê Quang Cường) hoặc 'Tổ 1'; "
                "nhiều ngày: các tên theo thứ tự ngày, cách nhau bằng dấu phẩy.",
                parse_people,
            ),
        ),
        save=_save_duty,
        summary=_duty_summary,
    )
)


# --- /themdientap -----------------------------------------------------------------------------------


async def _commune(ctx: Context, text: str, _values: dict[str, Value]) -> int:
    return (await forms.find_unit(ctx, text, communes=True)).id


async def _exercise(ctx: Context, text: str, values: dict[str, Value]) -> list[str] | None:
    if not text.strip():
        return None
    span = parse_date_range(text, ctx.today)
    if span is None:
        raise UserError("Viết ngày thực hành như: 24-25/8/2022.")
    return [span[0].isoformat(), span[1].isoformat()]


async def _drill_summary(ctx: Context, values: dict[str, Value]) -> str:
    directory = await ctx.directory()
    review = iso_day(values["review"])
    exercise = values.get("exercise")
    practice = fmt_date_range(iso_day(exercise[0]), iso_day(exercise[1])) if exercise else "hai ngày sau kiểm tra"
    return (
        f"Nơi diễn tập: {esc(directory.by_id[values['area']].name)}\nKiểm tra, duyệt: {fmt_weekday_date(review)}\n"
        f"Thực hành: {practice}"
    )


async def _save_drill(ctx: Context, values: dict[str, Value]) -> Reply:
    exercise = values.get("exercise")
    draft = items.DrillDraft(
        area_unit_id=values["area"],
        review_day=iso_day(values["review"]),
        exercise=(iso_day(exercise[0]), iso_day(exercise[1])) if exercise else None,
    )
    added = await items.add_drill_plan(ctx.session, ctx.viewer, draft, now=ctx.now, tz=ctx.tz)
    area = (await ctx.directory()).by_id[values["area"]]
    return Reply(item_views.drill_added(added.plan, area.short_name, added.told))


DRILL_FORM = register(
    Form(
        name="themdientap",
        title="Thêm kế hoạch diễn tập",
        usage="/themdientap xã Thụy Lôi | 18/10/2022 | 19-20/10/2022",
        fields=(
            Field("area", "Xã, phường, thị trấn nào? Ví dụ: xã Thụy Lôi.", _commune),
            Field("review", "Ngày kiểm tra, duyệt? Ví dụ: 18/10/2022.", forms.parse_day),
            Field(
                "exercise",
                "Ngày thực hành (mặc định hai ngày ngay sau)? Ví dụ: 19-20/10/2022.",
                _exercise,
                optional=True,
            ),
        ),
        save=_save_drill,
        summary=_drill_summary,
    )
)


# --- /themnhiemvu -----------------------------------------------------------------------------------


async def _task_summary(ctx: Context, values: dict[str, Value]) -> str:
    return (
        f"Nhiệm vụ: {esc(values['title'])}\nHạn: {fmt_weekday_date(iso_day(values['due']))}\n"
        f"Đơn vị: {await _units_text(ctx, values['units'])}"
    )


async def _save_task(ctx: Context, values: dict[str, Value]) -> Reply:
    cluster = await ctx.cluster()
    draft = items.TaskDraft(
        title=values["title"],
        due_on=iso_day(values["due"]),
        unit_ids=tuple(values["units"]["units"]),
        cluster_wide=values["units"]["cluster_wide"],
    )
    added = await items.add_task(
        ctx.session,
        ctx.viewer,
        draft,
        cluster_id=cluster.id if cluster else None,
        cluster_unit_ids=cluster.unit_ids() if cluster else [],
        now=ctx.now,
        today=ctx.today,
    )
    return Reply(item_views.task_added(added.task, len(added.unit_names), added.told))


TASK_FORM = register(
    Form(
        name="themnhiemvu",
        title="Thêm nhiệm vụ trọng tâm",
        usage="/themnhiemvu Hoàn thành báo cáo sơ kết | 15/7/2022 | cả cụm",
        fields=(
            Field("title", "Tên nhiệm vụ?", forms.parse_text(3, 400, "Tên nhiệm vụ")),
            Field("due", "Hạn hoàn thành? Ví dụ: 15/7/2022.", forms.parse_day),
            Field("units", "Giao cho: cả cụm hay những đơn vị nào?", forms.parse_units, forms.participant_choices),
        ),
        save=_save_task,
        summary=_task_summary,
    )
)


# --- /chamdiem and /congbo ----------------------------------------------------------------------------


async def _points(ctx: Context, text: str, _values: dict[str, Value]) -> dict[str, str]:
    cluster = await ctx.cluster()
    if cluster is None:
        raise UserError("Chưa có cụm thi đua nào trong dữ liệu.")
    criteria = await results_service.criteria_of(ctx.session, cluster.id)
    if not criteria:
        raise UserError("Cụm chưa có biểu điểm (tiêu chí chấm điểm).")
    return {code: str(value) for code, value in results_service.parse_points(text, criteria).items()}


def _spec(value: dict[str, Value]) -> PeriodSpec:
    return PeriodSpec(int(value["year"]), str(value["kind"]), int(value["number"]))


async def _missing(ctx: Context, values: dict[str, Value]) -> list[Criterion]:
    cluster = await ctx.cluster()
    return await items.criteria_missing(
        ctx.session,
        cluster_id=cluster.id if cluster else None,
        period=_spec(values["period"]),
        unit_id=values["unit"],
        given=set(values["points"]),
    )


async def _scores_incomplete(ctx: Context, values: dict[str, Value]) -> bool:
    return bool(await _missing(ctx, values))


async def _scores_summary(ctx: Context, values: dict[str, Value]) -> str:
    directory = await ctx.directory()
    return item_views.scores_preview(
        directory.by_id[values["unit"]].name,
        _spec(values["period"]).label(),
        {code: Decimal(v) for code, v in values["points"].items()},
        await _missing(ctx, values),
    )


async def _save_scores(ctx: Context, values: dict[str, Value]) -> Reply:
    cluster = await ctx.cluster()
    spec = _spec(values["period"])
    sheet = items.ScoreSheet(unit_id=values["unit"], period=spec, points=dict(values["points"]))
    recorded = await items.record_scores(
        ctx.session, ctx.viewer, sheet, cluster_id=cluster.id if cluster else None, now=ctx.now
    )
    unit = (await ctx.directory()).by_id[values["unit"]]
    return Reply(item_views.scores_recorded(recorded, unit.short_name, spec.label()))


SCORES_FORM = register(
    Form(
        name="chamdiem",
        title="Chấm điểm thi đua",
        usage="/chamdiem Kim Bảng | quý 3/2022 | G1=18,5 G2=27,5 G3=13,5 G4=13,5 G5=9 G6=9,5 TT=+1",
        fields=(
            Field("unit", "Đơn vị nào?", forms.parse_unit, forms.unit_choices),
            Field("period", "Kỳ chấm? Ví dụ: quý 3, quý III/2022, 6 tháng cuối năm.", forms.parse_period_field),
            Field(
                "points",
                "Điểm từng tiêu chí? Ví dụ: G1=18,5 G2=27,5 G3=13,5 G4=13,5 G5=9 G6=9,5 TT=+1 "
                "(hoặc các số theo thứ tự).",
                _points,
            ),
        ),
        save=_save_scores,
        summary=_scores_summary,
        confirm_when=_scores_incomplete,
    )
)


async def _period_summary(ctx: Context, values: dict[str, Value]) -> str:
    cluster = await ctx.cluster()
    assert cluster is not None
    spec = _spec(values["period"])
    preview = await items.results_to_publish(ctx.session, cluster.id, spec, cluster.unit_ids())
    return item_views.publish_preview(preview, spec.label())


async def _publish(ctx: Context, values: dict[str, Value]) -> Reply:
    cluster = await ctx.cluster()
    assert cluster is not None
    spec = _spec(values["period"])
    published = await items.publish_results(
        ctx.session, ctx.viewer, spec, cluster_id=cluster.id, cluster_name=cluster.name, now=ctx.now
    )
    return Reply(item_views.results_published(spec.label(), published.queued))


PUBLISH_FORM = register(
    Form(
        name="congbo",
        title="Công bố kết quả chấm điểm",
        usage="/congbo quý 3/2022",
        fields=(Field("period", "Kỳ nào? Ví dụ: quý 3/2022.", forms.parse_period_field),),
        save=_publish,
        summary=_period_summary,
        confirm_label="Công bố",
        confirm_line=True,
    )
)


# --- /themtin (guided too) ------------------------------------------------------------------------


async def _link(_ctx: Context, text: str, _values: dict[str, Value]) -> str | None:
    link = text.strip()
    if not link:
        return None
    if not link.startswith(("http://", "https://")) or " " in link:
        raise UserError("Đường link phải bắt đầu bằng http:// hoặc https://")
    return link[:1000]


async def _news_summary(_ctx: Context, values: dict[str, Value]) -> str:
    summary, link = values.get("summary") or "—", values.get("link") or "—"
    return f"Tiêu đề: {esc(values['title'])}\nTóm tắt: {esc(summary)}\nLink: {esc(link)}"


async def _save_news(ctx: Context, values: dict[str, Value]) -> Reply:
    draft = items.NewsDraft(title=values["title"], summary=values.get("summary"), link=values.get("link"))
    item = await items.post_news(ctx.session, ctx.viewer, draft, now=ctx.now)
    return Reply(item_views.news_posted(item.title))


NEWS_FORM = register(
    Form(
        name="themtin",
        title="Đăng tin",
        usage="/themtin Tiêu đề | tóm tắt (không bắt buộc) | https://... (không bắt buộc)",
        fields=(
            Field("title", "Tiêu đề tin?", forms.parse_text(3, 300, "Tiêu đề")),
            Field("summary", "Tóm tắt (không bắt buộc)?", forms.parse_text(0, 3000, "Tóm tắt"), optional=True),
            Field("link", "Đường link (không bắt buộc)?", _link, optional=True),
        ),
        save=_save_news,
        summary=_news_summary,
    )
)


async def cmd_form(ctx: Context) -> Reply | list[Reply]:
    """Every form command: its name is the command that was typed."""
    return await forms.run(ctx, forms.FORMS[ctx.command])
