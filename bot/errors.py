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
