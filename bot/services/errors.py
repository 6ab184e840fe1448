r"""Domain errors of the people, groups, feeds, subscriptions, reports and imports use cases.

Each carries the facts of a refusal, never a sentence for the user: :mod:`bot.views.refusals` phrases
them in Vietnamese. They are :class:`bot.errors.DomainError`\ s, so the dispatcher rolls the
transaction back and phrases them even where a handler did not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Literal

from bot.errors import DomainError

if TYPE_CHECKING:
    from bot.imports import RowError


class Refused(DomainError):
    """A use case refused a change (or a read); nothing was written. ``str()`` is for logs only."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)


class AdminOnly(Refused):
    """Only an admin may do ``action`` (an audit-style name: "member.role", "group.link", ...)."""

    def __init__(self, action: str) -> None:
        super().__init__(f"{action}: admins only")
        self.action = action


class SelfDemotion(Refused):
    """An admin tried to take away their own admin role."""

    def __init__(self, member_id: int) -> None:
        super().__init__(f"member {member_id} cannot revoke their own role")
        self.member_id = member_id


InviteProblem = Literal["unknown", "revoked", "expired", "used_up"]


class InviteRefused(Refused):
    """An invite code that cannot be used (unknown, revoked, expired or used up)."""

    def __init__(self, code: str, reason: InviteProblem) -> None:
        super().__init__(f"invite {code!r}: {reason}")
        self.code, self.reason = code, reason


class InvalidInvite(Refused):
    """An invite asked for with a role other than officer/admin, or a number of uses out of 1..500."""

    def __init__(self, field: Literal["role", "max_uses"], value: object) -> None:
        super().__init__(f"invite {field}={value!r} not allowed")
        self.field, self.value = field, value


class MemberNotFound(Refused):
    """No bot user matches ``reference`` ("M12" or a name)."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"no bot user {reference!r}")
        self.reference = reference


class AmbiguousMember(Refused):
    """Several bot users match the name ``reference``."""

    def __init__(self, reference: str, count: int) -> None:
        super().__init__(f"{count} bot users match {reference!r}")
        self.reference, self.count = reference, count


class UnitNotFound(Refused):
    def __init__(self, unit_id: int) -> None:
        super().__init__(f"no unit {unit_id}")
        self.unit_id = unit_id


class PersonNotInUnit(Refused):
    """An invite for a person who is not an active member of the invite's unit."""

    def __init__(self, person_id: int, unit_id: int) -> None:
        super().__init__(f"member {person_id} is not in unit {unit_id}")
        self.person_id, self.unit_id = person_id, unit_id


class NotAGroup(Refused):
    """Only group chats are linked to units; this chat is a person's private chat."""

    def __init__(self, channel: str, chat_id: str) -> None:
        super().__init__(f"{channel}:{chat_id} is a private chat")
        self.channel, self.chat_id = channel, chat_id


class InvalidFeed(Refused):
    """A news feed address that is not an http(s) URL."""

    def __init__(self, url: str) -> None:
        super().__init__(f"not a feed address: {url!r}")
        self.url = url


class FeedUnreachable(Refused):
    """The address did not answer as a news feed when it was added: ``reason`` is "status" (it answered
    HTTP ``status``), "timeout", "network" or "not_a_feed" (it answered, but not with RSS or Atom)."""

    def __init__(self, url: str, reason: str, status: int | None = None) -> None:
        super().__init__(f"feed {url!r} not usable: {reason} {status or ''}".strip())
        self.url, self.reason, self.status = url, reason, status


class TaskNotFound(Refused):
    def __init__(self, task_id: int) -> None:
        super().__init__(f"no open task {task_id}")
        self.task_id = task_id


class NoUnitToReport(Refused):
    """The reporter belongs to no unit and named none."""

    def __init__(self) -> None:
        super().__init__("no unit to report for")


class NotAssigned(Refused):
    """The unit was not given this task."""

    def __init__(self, task_code: str, unit_id: int) -> None:
        super().__init__(f"unit {unit_id} not assigned task {task_code}")
        self.task_code, self.unit_id = task_code, unit_id


class InvalidProgress(Refused):
    def __init__(self, status: str, percent: int) -> None:
        super().__init__(f"progress {status}/{percent}% not allowed")
        self.status, self.percent = status, percent


class NoRecipients(Refused):
    """No chat of the scope takes announcements."""

    def __init__(self, scope: str, unit_id: int | None) -> None:
        super().__init__(f"no chat takes announcements in {scope} {unit_id or ''}".strip())
        self.scope, self.unit_id = scope, unit_id


class ChatNotJoined(Refused):
    """The chat the message came from is not (or no longer) linked: a guest's chat, an unlinked group."""

    def __init__(self) -> None:
        super().__init__("chat not linked")


class UnknownKinds(Refused):
    def __init__(self, kinds: list[str]) -> None:
        super().__init__(f"unknown subscription kinds {kinds!r}")
        self.kinds = kinds


class InvalidQuietHours(Refused):
    """Quiet hours need a start and an end that differ."""

    def __init__(self) -> None:
        super().__init__("quiet hours need two different times")


# --- imports ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnknownUnitRow:
    """A roster row names a unit nobody knows."""

    row: int
    unit: str


@dataclass(frozen=True)
class OutsideClusterRow:
    """A score row names something that is not a unit of the cluster."""

    row: int
    unit: str


@dataclass(frozen=True)
class OutOfRangeRow:
    """A score outside its criterion's bounds."""

    row: int
    code: str
    value: Decimal
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class PastDayRow:
    """A roster row for a day whose shift has already begun."""

    row: int
    day: date


@dataclass(frozen=True)
class TakenShiftRow:
    """A roster row for a role already held that day (an import without "thay thế")."""

    row: int
    role: str
    day: date
    person: str
    shift_id: int


@dataclass(frozen=True)
class RefusedRow:
    """A row the single-item use case (/themnhiemvu, /themdientap) refuses, with its reason."""

    row: int
    column: str
    value: str
    reason: str  # the use case's own Vietnamese message


RowProblem = UnknownUnitRow | OutsideClusterRow | OutOfRangeRow | PastDayRow | TakenShiftRow | RefusedRow


class ImportRejected(Refused):
    """A file with errors: nothing was imported."""


class RowsRejected(ImportRejected):
    """Every error of a file at once: rows the parser could not read (``unreadable``, their messages
    from :mod:`bot.imports`) and readable rows that do not fit the data (unknown units, scores out of
    range, days gone by, roles already held)."""

    def __init__(self, problems: list[RowProblem], unreadable: list[RowError] | None = None) -> None:
        super().__init__(f"{len(problems)} rows do not fit, {len(unreadable or [])} unreadable")
        self.problems = problems
        self.unreadable = unreadable or []


class UnitUnknownForRoster(ImportRejected):
    """A roster without a unit column, and no unit named with the command."""

    def __init__(self) -> None:
        super().__init__("roster names no unit")


class PersonNotFound(DomainError):
    """``qtbot chat --as person:<name>``: no person of a unit, or several, have that name."""

    name: str
    names: list[str]
