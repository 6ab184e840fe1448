"""Errors of the fake Bot API: the JSON error answer and Telegram's ``Bad Request`` wording."""

from __future__ import annotations

from typing import Any

JSON = dict[str, Any]


class TelegramAPIError(Exception):
    """An error answer of the Bot API: HTTP status = ``error_code``."""

    def __init__(
        self,
        error_code: int,
        description: str,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.retry_after = retry_after
        self.migrate_to_chat_id = migrate_to_chat_id

    def payload(self) -> JSON:
        """The JSON body Telegram answers with."""
        body: JSON = {"ok": False, "error_code": self.error_code, "description": self.description}
        parameters: JSON = {}
        if self.retry_after is not None:
            parameters["retry_after"] = self.retry_after
        if self.migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = self.migrate_to_chat_id
        if parameters:
            body["parameters"] = parameters
        return body


def bad_request(text: str) -> TelegramAPIError:
    """A 400 error worded as Telegram does: ``Bad Request: <text>``."""
    return TelegramAPIError(400, f"Bad Request: {text}")
