"""The audit log (/nhatky) in sentences: who, when, what, before → after, with names and dates.

Entries are stored as an action kind and its facts (:mod:`bot.services.audit`); each kind has its
renderer here, as notices have theirs in :mod:`bot.views.notices`. No internal key (``member.role``,
``announcement#None``, ``role=truc_ban``) reaches the reader; a kind without a renderer still reads
as a sentence ("thay đổi dữ liệu").
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages import Reply, esc
from bot.models import AuditEntry
from bot.services.audit import AuditNames
from bot.services.duty import role_name
from bot.services.members import ROLE_NAMES
from bot.services.subscriptions import KINDS
from bot.vntime import fmt_date, fmt_points, fmt_time

Renderer = Callable[[AuditEntry, AuditNames, ZoneInfo], str]

_ITEM_KINDS = {"event": "lịch", "shift": "ca trực", "task": "nhiệm vụ", "drill": "kế hoạch diễn tập"}
_ITEM_PREFIXES = {"event": "S", "shift": "T", "task": "N", "drill": "D"}
_SCOPES = {"cluster": "cả cụm", "groups": "các nhóm", "unit": "đơn vị"}
_FIELDS = {
    "when": "thời gian",
    "place": "địa điểm",
    "title": "nội dung",
    "units": "thành phần",
    "person": "người trực",
    "day": "ngày trực",
    "due": "hạn",
}
_STATUSES = {"done": "hoàn thành", "in_progress": "đang thực hiện", "not_started": "chưa thực hiện"}


def _day(value: Any) -> str:
    try:
        return fmt_date(date.fromisoformat(str(value)[:10]))
    except ValueError:
        return str(value)


def _points(value: Any) -> str:
    try:
        return fmt_points(value) if value is not None else "—"
    except (ArithmeticError, TypeError, ValueError):
        return str(value)


def _unit(names: AuditNames, value: Any) -> str:
    if isinstance(value, int):
        return names.units.get(value, "đơn vị đã xóa")
    return str(value) if value else "?"


def _b(entry: AuditEntry) -> dict[str, Any]:
    return entry.before or {}


def _a(entry: AuditEntry) -> dict[str, Any]:
    return entry.after or {}


def _quoted(text: Any, limit: int = 80) -> str:
    plain = " ".join(str(text or "").split())
    return f"“{plain if len(plain) <= limit else plain[: limit - 1] + '…'}”"


# --- one renderer per action kind ------------------------------------------------------------------


def _event_create(e: AuditEntry, _n: AuditNames, tz: ZoneInfo) -> str:
    after = _a(e)
    when = ""
    if after.get("starts_at"):
        moment = datetime.fromisoformat(after["starts_at"]).astimezone(tz)
        when = f" lúc {fmt_time(moment.time())} {fmt_date(moment.date())}"
    where = f", tại {after['location']}" if after.get("location") else ""
    return f"thêm lịch [S{e.entity_id}] {_quoted(after.get('title'))}{when}{where}"


def _duty_create(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    days = after.get("days") or []
    span = _day(days[0]) if len(days) == 1 else f"{_day(days[0])}–{_day(days[-1])}" if days else ""
    role = role_name(str(after.get("role", ""))).lower()
    return f"thêm {len(days)} ca {role} của {after.get('unit', '?')}" + (f" ({span})" if span else "")


def _drill_create(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    review = f", kiểm tra, duyệt {_day(after['review'])}" if after.get("review") else ""
    return f"thêm kế hoạch diễn tập [D{e.entity_id}] {after.get('area', '?')}{review}"


def _task_create(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    units = after.get("units") or []
    who = ", ".join(units) if isinstance(units, list) else str(units)
    return (
        f"giao nhiệm vụ {after.get('code') or f'N{e.entity_id}'} {_quoted(after.get('title'))}, "
        f"hạn {_day(after.get('due'))}" + (f", cho {who}" if who else "")
    )


def _scores_enter(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    before, after = _b(e), dict(_a(e))
    unit = _unit(n, after.pop("unit_id", None))
    changes = []
    for code, value in after.items():
        old = before.get(code)
        changes.append(f"{code} {_points(value)}" if old is None else f"{code} {_points(old)} → {_points(value)}")
    period = n.periods.get(e.entity_id or 0, "")
    return f"chấm điểm {unit}{' ' + period if period else ''}: " + ", ".join(changes)


def _scores_import(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    return f"nhập điểm {after.get('period', '')} của {after.get('units', 0)} đơn vị từ tệp"


def _duty_import(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    replaced = f", thay {after['replaced']} ca cũ" if after.get("replaced") else ""
    units, shifts = after.get("units", 0), after.get("shifts", 0)
    return f"nhập {shifts} ca trực của {units} đơn vị từ tệp {after.get('file', '')}{replaced}"


def _results_publish(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    return f"công bố kết quả thi đua {_a(e).get('period', '')}"


def _news_post(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    return f"đăng tin {_quoted(_a(e).get('title'))}"


def _news_source(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    return f"thêm nguồn tin {_a(e).get('url', '')}"


def _announcement(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    scope = after.get("scope") or {}
    where = _SCOPES.get(str(scope.get("scope")), "")
    if scope.get("scope") == "unit":
        where = _unit(n, scope.get("unit"))
    return f"gửi thông báo tới {where} ({after.get('chats', 0)} chat): {_quoted(after.get('text'))}"


def _invite(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    role = ROLE_NAMES.get(str(after.get("role")), "cán bộ")
    return f"tạo mã mời {role} cho {after.get('unit', '?')} (dùng được {after.get('max_uses', 1)} lần)"


def _join(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    role = ROLE_NAMES.get(str(after.get("role")), "cán bộ")
    return f"tham gia bot với vai trò {role} của {after.get('unit', '?')}"


def _member_role(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    who = n.members.get(e.entity_id or 0, "một thành viên")
    before = ROLE_NAMES.get(str(_b(e).get("role")), "?")
    after = ROLE_NAMES.get(str(_a(e).get("role")), "?")
    return f"đổi vai trò của {who} (M{e.entity_id}): {before} → {after}"


def _group_link(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    title = n.chats.get(e.entity_id or 0)
    group = f"nhóm “{title}”" if title else "một nhóm"
    return f"liên kết {group} với {_unit(n, after.get('unit_id'))}"


def _kinds(e: AuditEntry) -> str:
    return ", ".join(KINDS.get(k, k).lower() for k in _a(e).get("kinds") or [])


def _subscription_on(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    return f"bật nhận tin: {_kinds(e)}"


def _subscription_off(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    return f"tắt nhận tin: {_kinds(e)}"


def _quiet(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    start, _, end = str(_a(e).get("quiet", "")).partition("-")
    return f"đặt giờ yên lặng {start.replace(':', 'h')}–{end.replace(':', 'h')}"


def _quiet_off(_e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    return "bỏ giờ yên lặng"


def _task_report(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    before, after = _b(e), _a(e)

    def state(facts: dict[str, Any]) -> str:
        status = _STATUSES.get(str(facts.get("status")), str(facts.get("status") or "chưa báo cáo"))
        return status + (f" ({facts['progress']}%)" if facts.get("progress") is not None else "")

    note = f"; ghi chú {_quoted(after['report'])}" if after.get("report") else ""
    change = f"{state(before)} → {state(after)}" if before else state(after)
    code = n.tasks.get(e.entity_id or 0, f"N{e.entity_id}")
    return f"báo cáo nhiệm vụ {code} của {after.get('unit', '?')}: {change}{note}"


def _item_code(kind: str, e: AuditEntry, names: AuditNames) -> str:
    if kind == "task" and e.entity_id in names.tasks:
        return names.tasks[e.entity_id]
    return f"{_ITEM_PREFIXES.get(kind, '')}{e.entity_id}"


def _item_change(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    kind = e.action.partition(".")[0]
    field = _FIELDS.get(str(_a(e).get("field")), "nội dung")
    code = _item_code(kind, e, n)
    return f"sửa {field} {_ITEM_KINDS.get(kind, 'mục')} [{code}]: {_b(e).get('text', '?')} → {_a(e).get('text', '?')}"


def _item_cancel(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    kind = e.action.partition(".")[0]
    code = _item_code(kind, e, n)
    return f"hủy {_ITEM_KINDS.get(kind, 'mục')} [{code}]: {_b(e).get('text', '?')}"


def _readiness_add(e: AuditEntry, _n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    units = ", ".join(after.get("units") or []) or "cả cụm"
    return (
        f"thêm đợt tăng cường trực {_quoted(after.get('name'))} "
        f"{_day(after.get('starts_on'))}–{_day(after.get('ends_on'))} ({units})"
    )


def _duty_ack(e: AuditEntry, _n: AuditNames, tz: ZoneInfo) -> str:
    at = _a(e).get("acked_at")
    when = ""
    if at:
        moment = datetime.fromisoformat(at).astimezone(tz)
        when = f" lúc {fmt_time(moment.time())} {fmt_date(moment.date())}"
    return f"xác nhận đã nhận ca trực [T{e.entity_id}]{when}"


def _calendar_feed(e: AuditEntry, n: AuditNames, _tz: ZoneInfo) -> str:
    after = _a(e)
    whose = {"cluster": "của cả cụm", "mine": "của mình"}.get(str(after.get("scope")))
    what = whose or f"của {_unit(n, after.get('unit_id'))}"
    return f"{'đổi' if e.action == 'ical.renew' else 'tạo'} địa chỉ lịch (/ical) {what}"


RENDERERS: dict[str, Renderer] = {
    "ical.new": _calendar_feed,
    "ical.renew": _calendar_feed,
    "event.create": _event_create,
    "duty.create": _duty_create,
    "drill.create": _drill_create,
    "task.create": _task_create,
    "scores.enter": _scores_enter,
    "scores.import": _scores_import,
    "duty.import": _duty_import,
    "results.publish": _results_publish,
    "news.post": _news_post,
    "news.source": _news_source,
    "announcement.send": _announcement,
    "invite.create": _invite,
    "member.join": _join,
    "member.role": _member_role,
    "group.link": _group_link,
    "subscription.on": _subscription_on,
    "subscription.off": _subscription_off,
    "settings.quiet": _quiet,
    "settings.quiet_off": _quiet_off,
    "task.report": _task_report,
    "readiness.add": _readiness_add,
    "duty.ack": _duty_ack,
    **{f"{kind}.change": _item_change for kind in _ITEM_KINDS},
    **{f"{kind}.cancel": _item_cancel for kind in _ITEM_KINDS},
}

_CHANNEL_SUFFIX = re.compile(r"\s*\((?:telegram|zalo|console):[^)]*\)$")


def actor_name(entry: AuditEntry, names: AuditNames) -> str:
    """Who did it: the member's name, or the name the chat gave (no channel:id)."""
    if entry.actor_member_id is not None and entry.actor_member_id in names.members:
        return names.members[entry.actor_member_id]
    return _CHANNEL_SUFFIX.sub("", entry.actor_label) or "?"


def what_was_done(entry: AuditEntry, names: AuditNames, tz: ZoneInfo) -> str:
    """'đổi vai trò của Vũ Thành Long (M11): cán bộ → quản trị'."""
    render = RENDERERS.get(entry.action)
    return render(entry, names, tz) if render is not None else "thay đổi dữ liệu"


def entry_sentence(entry: AuditEntry, names: AuditNames, tz: ZoneInfo) -> str:
    """'14h05 22/06/2022 — Nguyễn Văn A đổi vai trò của Vũ Thành Long (M11): cán bộ → quản trị.'"""
    moment = entry.at.astimezone(tz)
    what = what_was_done(entry, names, tz)
    return f"{fmt_time(moment.time())} {fmt_date(moment.date())} — {actor_name(entry, names)} {what}."


def audit_reply(entries: list[AuditEntry], names: AuditNames, tz: ZoneInfo) -> Reply:
    if not entries:
        return Reply("Nhật ký trống.")
    lines = ["<b>Nhật ký thay đổi</b> (mới nhất trước)"]
    lines += [f"• {esc(entry_sentence(entry, names, tz))}" for entry in entries]
    return Reply("\n".join(lines))
