"""Conference, meeting and directive texts."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from bot.messages import Reply, esc
from bot.models import Directive, Event
from bot.services.schedule import labelled_title
from bot.services.units import ClusterView
from bot.views.calendar import add_to_calendar_row
from bot.views.common import capitalize, code_tag, span_label, when


def event_line(event: Event, tz: ZoneInfo, *, codes: bool = False) -> str:
    """``codes``: the reader is an admin, shown each item's code (S12) for /sua and /huy."""
    where = f", tại {esc(event.location)}" if event.location else ""
    return f"• {code_tag(f'S{event.id}', codes)}<b>{capitalize(when(event, tz))}</b>: {esc(event.title)}{where}"


def events_reply(events: list[Event], title: str, tz: ZoneInfo, *, empty: str, codes: bool = False) -> Reply:
    if not events:
        return Reply(f"<b>{esc(title)}</b>\n{esc(empty)}")
    return Reply(f"<b>{esc(title)}</b>\n" + "\n".join(event_line(e, tz, codes=codes) for e in events))


def conference_reply(event: Event, cluster: ClusterView | None, tz: ZoneInfo, *, codes: bool = False) -> Reply:
    """One conference in full: what, when, where, who, the directives it follows."""
    lines = [f"{code_tag(f'S{event.id}', codes)}<b>{esc(labelled_title(event.kind, event.title))}</b>"]
    where = f", tại {esc(event.location)}" if event.location else ""
    lines.append(f"{capitalize(when(event, tz))}{where}.")
    if event.cluster_wide and cluster is not None:
        names = ", ".join(esc(u.short_name) for u, _ in cluster.members)
        lines.append(f"Thành phần: {esc(cluster.name)} gồm {len(cluster.members)} đơn vị ({names}).")
    elif event.units:
        lines.append("Thành phần: " + ", ".join(esc(u.name) for u in event.units) + ".")
    if event.status == "cancelled":
        lines.insert(1, "<b>ĐÃ HỦY</b>")
    if event.summary:
        lines.append(f"Nội dung: {esc(event.summary)}")
    buttons = [] if event.status == "cancelled" else [add_to_calendar_row(f"S{event.id}")]
    return Reply("\n".join(lines), buttons=buttons)


def directive_text(directive: Directive) -> str:
    if directive.kind == "chi_thi":
        head = f"Chỉ thị {esc(directive.code or directive.number or '')}"
        if directive.issuer:
            head += f" của {esc(directive.issuer)}"
        text = f"{head} ({esc(directive.title)})."
    else:
        label = {"cuoc_van_dong": "Cuộc vận động", "phong_trao": "Phong trào"}.get(directive.kind, "")
        text = f"{label} “{esc(directive.title)}”."
    if directive.needs_verification:
        text += " <i>(Nội dung theo hiểu biết chung, cần kiểm chứng với văn bản gốc.)</i>"
    return text


def directives_reply(directives: list[Directive], asked: str | None) -> Reply:
    if not directives:
        which = f" số {esc(asked)}" if asked else ""
        return Reply(f"Chưa có thông tin về chỉ thị{which} trong dữ liệu của cụm.")
    return Reply("\n".join(directive_text(d) for d in directives))


_KIND_TITLES = {"inspection": "Lịch kiểm tra", "conference": "Lịch hội nghị", "meeting": "Lịch họp"}


def span_title(kind: str | None, label: str, start: date, end: date) -> str:
    """'Lịch hội nghị, họp tuần sau (27/06–03/07/2022)'; a kind asked for names only that kind."""
    head = _KIND_TITLES.get(kind or "", "Lịch hội nghị, họp")
    return f"{head} {esc(span_label(label, start, end))}"


def nothing_in_span(kind: str | None) -> str:
    return {"inspection": "Không có đợt kiểm tra nào.", "meeting": "Không có cuộc họp nào."}.get(
        kind or "", "Không có hội nghị, cuộc họp nào."
    )


def upcoming_title(kind: str | None) -> str:
    return _KIND_TITLES.get(kind or "", "Lịch hội nghị, họp, kiểm tra") + " sắp tới"
