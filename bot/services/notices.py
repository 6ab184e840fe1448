"""Notices as facts: a kind and a JSON-serialisable payload, rendered per channel at send time by
:mod:`bot.views.notices`. Nothing here is worded for a user; entities become plain dicts (ISO dates)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.models import DutyShift, Event, Member, Task, TaskAssignment, Unit

#: a text composed outside the notice registry (an admin's broadcast, a channel's quota warning): stored as is.
FINISHED_TEXT = "text"


@dataclass(frozen=True)
class Notice:
    """What to tell a chat: ``kind`` picks the renderer, ``payload`` holds the facts."""

    kind: str
    payload: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def finished(cls, text: str) -> Notice:
        """A text already rendered elsewhere (HTML subset), kept in the outbox's ``text`` column."""
        return cls(FINISHED_TEXT, {"text": text})


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def unit_facts(unit: Unit) -> dict[str, Any]:
    return {
        "id": unit.id,
        "name": unit.name,
        "short_name": unit.short_name,
        "kind": unit.kind,
        "area_type": unit.area_type,
    }


def event_time_facts(event: Any) -> dict[str, Any]:
    """When an event (or an item describing one) happens."""
    return {
        "starts_at": iso(event.starts_at),
        "ends_at": iso(event.ends_at),
        "all_day": bool(event.all_day),
        "session": event.session,
    }


def event_brief(event: Event) -> dict[str, Any]:
    """What names an event and its time (no participants: they may not be loaded)."""
    return {"id": event.id, "kind": event.kind, "title": event.title, **event_time_facts(event)}


def event_facts(event: Event) -> dict[str, Any]:
    return {
        **event_brief(event),
        "location": event.location,
        "cluster_wide": bool(event.cluster_wide),
        "units": [u.short_name for u in event.units],
    }


def member_facts(member: Member | None) -> dict[str, Any] | None:
    if member is None:
        return None
    return {"rank": member.rank, "full_name": member.full_name, "position_short": member.position_short}


def shift_facts(shift: DutyShift) -> dict[str, Any]:
    return {
        "id": shift.id,
        "role": shift.role,
        "duty_date": iso(shift.duty_date),
        "starts_at": iso(shift.starts_at),
        "ends_at": iso(shift.ends_at),
        "note": shift.note,
        "member": member_facts(shift.member),
        "person_label": shift.person_label,
    }


def task_facts(task: Task) -> dict[str, Any]:
    return {"id": task.id, "code": task.code, "title": task.title, "due_on": iso(task.due_on)}


def assignment_facts(assignment: TaskAssignment) -> dict[str, Any]:
    return {"status": assignment.status, "progress": assignment.progress}


def item_facts(item: Any) -> dict[str, Any]:
    """An editable item's facts (:class:`bot.services.editable.ItemFacts`) as JSON."""
    from dataclasses import asdict

    return {k: iso(v) if isinstance(v, date | datetime) else v for k, v in asdict(item).items()}
