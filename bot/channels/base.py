"""What the delivery layer needs from a channel, and the errors a channel raises when sending."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.messages import Reply


class StartupError(Exception):
    """A channel cannot start (token rejected, API unreachable): one Vietnamese line naming the
    setting, without the token."""


class DeliveryError(Exception):
    """Sending failed; the subclass says what the outbox should do."""


class RetryLater(DeliveryError):
    """Flood control (Telegram 429): wait ``seconds`` before sending anything else on this channel."""

    def __init__(self, seconds: float, message: str = "flood control") -> None:
        super().__init__(message)
        self.seconds = seconds


class TemporaryFailure(DeliveryError):
    """A 5xx answer, a timeout or a network error: try again later, a bounded number of times."""


class ChatUnreachable(DeliveryError):
    """The bot was blocked or removed, or the chat is gone: stop sending to it."""


class ChatMoved(DeliveryError):
    """The chat has a new id (a Telegram group upgraded to a supergroup): send there from now on."""

    def __init__(self, new_chat_id: str) -> None:
        super().__init__(f"chat moved to {new_chat_id}")
        self.new_chat_id = new_chat_id


class Rejected(DeliveryError):
    """The platform refused this message (a 400 other than a missing chat): trying again won't help."""


@dataclass(frozen=True)
class RateLimits:
    """Outgoing limits of a platform, as its servers enforce them."""

    per_second: float
    private_interval: float  # seconds between two messages to one private chat
    group_per_minute: int


class Channel(Protocol):
    """A transport the outbox can push through."""

    name: str
    limits: RateLimits

    async def deliver(self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "") -> None:
        """Send one message; raise a :class:`DeliveryError` subclass when it did not go out. ``kind``
        is what the message is (a subscription kind: duty, digest_daily...), for channels that
        ration what they send."""
