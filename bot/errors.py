"""Errors whose message is meant for the user (in Vietnamese)."""

from __future__ import annotations

from typing import Any


class UserError(Exception):
    """Bad input or a refused action. The message is shown to the user as is (plain text); the
    surrounding transaction is rolled back, so nothing is half-written. ``buttons`` (rows of
    :class:`bot.messages.Button`) go with the message, e.g. a "Hủy" to leave a dialog."""

    def __init__(self, message: str, *, buttons: list[list[Any]] | None = None) -> None:
        super().__init__(message)
        self.buttons = buttons or []


class DomainError(Exception):
    """A refused change, stated as facts (no wording): the use cases in :mod:`bot.services` raise it,
    :func:`bot.views.errors.phrase` phrases it for the user (the dispatcher does, when a handler did
    not). Like :class:`UserError`, the surrounding transaction is rolled back. ``detail`` is for logs."""

    buttons: list[list[Any]]

    def __init__(self, detail: str | None = None, **facts: Any) -> None:
        super().__init__(detail or ", ".join(f"{k}={v!r}" for k, v in facts.items()))
        self.facts = facts
        self.buttons = []
        for name, value in facts.items():
            setattr(self, name, value)


class NotAllowed(DomainError):
    """The actor's role does not allow ``action`` (it needs ``needed``)."""

    def __init__(self, *, action: str, role: str, needed: str = "admin") -> None:
        super().__init__(action=action, role=role, needed=needed)


class ItemNotFound(DomainError):
    """No item has ``code``."""

    def __init__(self, *, code: str) -> None:
        super().__init__(code=code)


class ItemCancelled(DomainError):
    """The item ``code`` was cancelled before."""

    def __init__(self, *, code: str) -> None:
        super().__init__(code=code)


class StaleItem(DomainError):
    """The item ``code`` changed since it was shown (``expected`` version, now ``actual``)."""

    def __init__(self, *, code: str, expected: int, actual: int) -> None:
        super().__init__(code=code, expected=expected, actual=actual)


class FieldNotEditable(DomainError):
    """``field`` cannot be changed on the item ``code``; ``editable`` lists what can (may be empty)."""

    def __init__(self, *, code: str, kind: str, field: str, editable: tuple[str, ...]) -> None:
        super().__init__(code=code, kind=kind, field=field, editable=editable)


class DueDatePassed(DomainError):
    """A task's new due day ``due`` is before ``today``."""

    def __init__(self, *, due: Any, today: Any) -> None:
        super().__init__(due=due, today=today)


class NoCluster(DomainError):
    """There is no emulation cluster in the data."""


class NoCriteria(DomainError):
    """The cluster has no scoring rubric."""

    def __init__(self, *, cluster_id: int) -> None:
        super().__init__(cluster_id=cluster_id)


class UnknownCriterion(DomainError):
    """``code`` is not a criterion of the rubric (``known``)."""

    def __init__(self, *, code: str, known: tuple[str, ...]) -> None:
        super().__init__(code=code, known=known)


class InvalidScore(DomainError):
    """The points given for ``criterion`` are not a number (``reason`` "not_a_number") or outside
    ``minimum``–``maximum`` (``reason`` "out_of_range")."""

    def __init__(self, *, criterion: str, name: str, value: Any, minimum: Any, maximum: Any, reason: str) -> None:
        super().__init__(criterion=criterion, name=name, value=value, minimum=minimum, maximum=maximum, reason=reason)


class PeriodNotFound(DomainError):
    """No scores were entered for the review period ``label``."""

    def __init__(self, *, label: str) -> None:
        super().__init__(label=label)


class AlreadyPublished(DomainError):
    """The results of ``label`` are published already."""

    def __init__(self, *, label: str) -> None:
        super().__init__(label=label)
