"""The one registry of notices: notice kind -> render(payload, tz) -> :class:`Reply` (HTML subset).

Services store a notice as a kind and its facts (:mod:`bot.services.notices`); the dispatcher renders it
when it sends, and each channel turns the HTML subset into what it shows (Telegram: HTML; Zalo and the
console: plain text)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from bot.messages import Reply
from bot.offsets import parse_offset
from bot.services.duty import DutyDay
from bot.services.editable import ItemFacts
from bot.services.notices import FINISHED_TEXT
from bot.services.schedule import fmt_moment, labelled_title
from bot.views import acks as ack_views
from bot.views import digests as digest_views
from bot.views import readiness as readiness_views
from bot.views import reminders as views
from bot.views import swaps as swap_views
from bot.views.common import capitalize, when

#: the cluster's time zone, for readers that have no settings at hand (the rendered ``OutboxMessage.text``).
DEFAULT_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

Renderer = Callable[[dict[str, Any], ZoneInfo], Reply]


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _unit(facts: dict[str, Any] | None) -> Any:
    return SimpleNamespace(**facts) if facts else None


def _event(facts: dict[str, Any]) -> Any:
    """An object with what the event views read (duck-typed like :class:`bot.models.Event`)."""
    return SimpleNamespace(
        **{
            **facts,
            "starts_at": _dt(facts["starts_at"]),
            "ends_at": _dt(facts.get("ends_at")),
            "units": [SimpleNamespace(short_name=name) for name in facts.get("units", [])],
        }
    )


def _shift(facts: dict[str, Any]) -> Any:
    member = facts.get("member")
    return SimpleNamespace(
        **{
            **facts,
            "duty_date": _day(facts["duty_date"]),
            "starts_at": _dt(facts["starts_at"]),
            "ends_at": _dt(facts["ends_at"]),
            "member": SimpleNamespace(**member) if member else None,
        }
    )


def _task(facts: dict[str, Any]) -> Any:
    return SimpleNamespace(**{**facts, "due_on": _day(facts.get("due_on"))})


def _item(facts: dict[str, Any]) -> ItemFacts:
    values = dict(facts)
    for key in ("starts_at", "ends_at"):
        values[key] = _dt(values.get(key))
    for key in ("duty_date", "due_on"):
        values[key] = _day(values.get(key))
    return ItemFacts(**values)


def _event_label(kind: str, title: str) -> str:
    return labelled_title(kind, title)


# --- reminders (the planner) ------------------------------------------------------------------------


# Reminders take ``now``, the moment they are sent, so that one sent late says how long is really left.


def event_reminder(p: dict[str, Any], tz: ZoneInfo, now: datetime | None = None) -> Reply:
    offset, area = parse_offset(p["offset"]), _unit(p.get("area"))
    return views.event_reminder(_event(p["event"]), offset, tz, area=area, now=now)


def duty_reminder(p: dict[str, Any], tz: ZoneInfo, now: datetime | None = None) -> Reply:
    return views.duty_reminder_person(_shift(p["shift"]), _unit(p["unit"]), parse_offset(p["offset"]), tz, now)


def duty_roster_reminder(p: dict[str, Any], tz: ZoneInfo, now: datetime | None = None) -> Reply:
    shifts = [_shift(s) for s in p["shifts"]]
    return views.duty_reminder_group(shifts, _unit(p["unit"]), parse_offset(p["offset"]), tz, now)


def task_reminder(p: dict[str, Any], tz: ZoneInfo, now: datetime | None = None) -> Reply:
    assignment = SimpleNamespace(**p["assignment"])
    offset = parse_offset(p["offset"])
    return views.task_reminder(_task(p["task"]), assignment, _unit(p["unit"]), offset, tz, now)


TimedRenderer = Callable[[dict[str, Any], ZoneInfo, datetime | None], Reply]
#: the notices whose wording depends on when they are sent.
TIMED: dict[str, TimedRenderer] = {
    "event_reminder": event_reminder,
    "duty_reminder": duty_reminder,
    "duty_roster_reminder": duty_roster_reminder,
    "task_reminder": task_reminder,
}


# --- new, changed, cancelled -------------------------------------------------------------------------


def event_new(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    return views.new_event_notice(_event(p["event"]), tz)


def event_changed(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    old, new = _event(p["before"]), _event(p["after"])
    before = fmt_moment(old.starts_at, tz) if not old.all_day else capitalize(when(old, tz))
    after = capitalize(when(new, tz))
    if p.get("old_location") != p.get("new_location"):
        before = f"{before}, tại {p.get('old_location') or '?'}"
        after = f"{after}, tại {p.get('new_location') or '?'}"
    return views.change_notice(_event_label(p["event_kind"], p["title"]), before, after)


def event_cancelled(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    event = _event(p["event"])
    return views.cancel_notice(_event_label(event.kind, event.title), capitalize(when(event, tz)))


_SUBJECTS = {"shift": "Ca trực", "task": "Nhiệm vụ"}


def item_changed(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    before, after = views.item_line(_item(p["before"]), tz), views.item_line(_item(p["after"]), tz)
    return views.change_notice(_SUBJECTS[p["subject"]], before, after)


def item_cancelled(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    what = views.item_line(_item(p["item"]), tz) if "item" in p else p["what"]
    return views.cancel_notice(_SUBJECTS[p["subject"]], what)


def shift_assigned(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    return views.shift_notice(_shift(p["shift"]), _unit(p["unit"]), tz)


def task_new(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    del tz
    return views.new_task_notice(_task(p["task"]), list(p["units"]))


def drill_plan_new(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    del tz
    return views.new_drill_plan_notice(p["title"], date.fromisoformat(p["review_day"]), p["area_short_name"])


def results_published(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    del tz
    return Reply(views.results_published_text(p["period"], p["cluster"]))


def announcement(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    del tz
    return Reply(views.announcement_text(p["text"]))


# --- digests ---------------------------------------------------------------------------------------
# The services send a digest only when it has something in it, so these always have a text.


def _roster(days: list[dict[str, Any]]) -> list[DutyDay]:
    return [DutyDay(date.fromisoformat(d["day"]), [_shift(s) for s in d["shifts"]]) for d in days]


def _digest_parts(p: dict[str, Any]) -> tuple[Any, list[DutyDay], list[Any], list[tuple[Any, None]]]:
    events = [_event({"kind": "other", **e}) for e in p["events"]]
    return _unit(p.get("unit")), _roster(p["roster"]), events, [(_task(t), None) for t in p["tasks"]]


def _some(reply: Reply | None) -> Reply:
    assert reply is not None, "an empty digest is not written"
    return reply


def digest_daily(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    unit, roster, events, tasks = _digest_parts(p)
    published = [SimpleNamespace(**period) for period in p["published"]]
    today = date.fromisoformat(p["today"])
    extra = {"gaps": p.get("gaps"), "reinforced": p.get("reinforced")}
    return _some(digest_views.daily(today, unit, roster, events, tasks, published, tz, **extra))  # type: ignore[arg-type]


def digest_weekly(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    unit, roster, events, tasks = _digest_parts(p)
    monday, sunday = date.fromisoformat(p["monday"]), date.fromisoformat(p["sunday"])
    return _some(digest_views.weekly(monday, sunday, unit, roster, events, tasks, tz))


def digest_news(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    items = [SimpleNamespace(**{**i, "published_at": _dt(i["published_at"])}) for i in p["items"]]
    return _some(digest_views.news(items, tz))


def duty_unacked(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    return ack_views.escalation(_shift(p["shift"]), _unit(p["unit"]), int(p["minutes"]), tz)


def duty_late_ack(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    return ack_views.late_ack(_shift(p["shift"]), _unit(p["unit"]), datetime.fromisoformat(p["acked_at"]), tz)


def finished_text(p: dict[str, Any], tz: ZoneInfo) -> Reply:
    del tz
    return Reply(p["text"])


RENDERERS: dict[str, Renderer] = {
    "event_reminder": event_reminder,
    "duty_reminder": duty_reminder,
    "duty_roster_reminder": duty_roster_reminder,
    "task_reminder": task_reminder,
    "event_new": event_new,
    "event_changed": event_changed,
    "event_cancelled": event_cancelled,
    "item_changed": item_changed,
    "item_cancelled": item_cancelled,
    "shift_assigned": shift_assigned,
    "task_new": task_new,
    "drill_plan_new": drill_plan_new,
    "results_published": results_published,
    "announcement": announcement,
    "digest_daily": digest_daily,
    "digest_weekly": digest_weekly,
    "digest_news": digest_news,
    "escalation": duty_unacked,
    "late_ack": duty_late_ack,
    "duty_gap": lambda p, _tz: readiness_views.gap_notice(p),
    "readiness_start": lambda p, _tz: readiness_views.period_start_notice(p),
    FINISHED_TEXT: finished_text,
    **swap_views.RENDERERS,
}


def render(kind: str, payload: dict[str, Any], tz: ZoneInfo, now: datetime | None = None) -> Reply:
    """The notice as the HTML subset, as of ``now`` (when it is sent; None: as planned); an unknown kind
    is a bug (KeyError), retried like any send failure."""
    if now is not None and kind in TIMED:
        return _with_actions(kind, payload, TIMED[kind](payload, tz, now))
    return _with_actions(kind, payload, RENDERERS[kind](payload, tz))


def _with_actions(kind: str, payload: dict[str, Any], reply: Reply) -> Reply:
    """A duty reminder to the person on duty offers "Đã nhận"; a reminder sent to a person (the
    dispatcher adds its row's ``outbox_id``) offers "Nhắc lại sau 1 giờ", unless it is itself the
    snoozed copy."""
    buttons = []
    if kind == "duty_reminder":
        buttons.append(ack_views.ack_button(int(payload["shift"]["id"])))
    if kind in TIMED and payload.get("outbox_id") is not None and not payload.get("snoozed"):
        buttons.append(ack_views.snooze_button(int(payload["outbox_id"])))
    return replace(reply, buttons=[*reply.buttons, buttons]) if buttons else reply
