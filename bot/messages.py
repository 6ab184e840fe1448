"""Channel-neutral messages: what a channel hands to the handlers and what it gets back.

Reply text uses a small HTML subset (<b>, <i>, <code>, <pre>) with every piece of user or database
text escaped (:func:`esc`); Telegram shows it as is, the console and Zalo strip the tags.
"""

from __future__ import annotations

import html
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

# Telegram's own limits (TELEGRAM.md): text 4096 characters, callback_data 64 bytes.
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64


def esc(value: object) -> str:
    return html.escape(str(value), quote=False)


_TAG = re.compile(r"</?(?:b|i|u|s|code|pre)>")


def to_plain(text: str) -> str:
    """Markup to plain text, for channels without formatting."""
    return html.unescape(_TAG.sub("", text))


@dataclass(frozen=True)
class Button:
    text: str
    data: str

    def __post_init__(self) -> None:
        if not 1 <= len(self.data.encode()) <= MAX_CALLBACK_BYTES:
            raise ValueError(f"callback data must be 1..{MAX_CALLBACK_BYTES} bytes: {self.data!r}")


@dataclass(frozen=True)
class Attachment:
    """A file the user sent. ``fetch`` downloads its bytes from the platform when needed."""

    filename: str
    mime_type: str | None
    size: int | None
    fetch: Callable[[], object]  # async () -> bytes


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    caption: str | None = None


@dataclass
class Incoming:
    channel: str
    chat_id: str
    chat_type: str  # private / group
    sender_id: str
    sender_name: str
    received_at: datetime
    text: str | None = None
    callback_data: str | None = None
    attachment: Attachment | None = None
    chat_title: str | None = None
    # In a group, whether the message is meant for the bot (a mention or a reply to it).
    addressed: bool = True


@dataclass
class Reply:
    text: str
    buttons: list[list[Button]] = field(default_factory=list)
    # For a button press: replace the message that carried the button instead of sending a new one.
    edit: bool = False
    # For a button press: a short notice shown by the client (Telegram's answerCallbackQuery).
    notice: str | None = None
    document: Document | None = None
    # A picture (PNG): Telegram sendPhoto, Zalo sendPhoto by an address of the web app, the console a file.
    photo: Document | None = None


# Where a long answer reports how far it has got, before the answer itself: the channel shows each
# text it is given (a message edited in place, or a line of its own; see ChannelInfo.edits).
ProgressSink = Callable[[str], Awaitable[None]]


@dataclass(frozen=True)
class ChannelInfo:
    """What a channel can do, as handlers and the dispatcher need to know it.

    ``buttons`` False: choices are shown as numbered options and typed back as numbers (the
    dispatcher keeps them per chat in the database). ``text_limit`` is what one message may hold, as
    the platform counts it (Telegram and Zalo both count UTF-16 units); ``formatting`` is ``html``
    (our small subset) or ``plain``. ``deep_link`` makes a join link from an invite code, where the
    platform has them (Zalo has none: the code is sent to the bot as a message). ``edits``: progress
    (:data:`ProgressSink`) is shown as one message edited as it goes (Telegram); otherwise each
    progress text is a message, or a line, of its own."""

    name: str
    buttons: bool = True
    text_limit: int = MAX_TEXT
    formatting: str = "html"
    deep_link: Callable[[str], str | None] = lambda _code: None
    edits: bool = False


def utf16_len(text: str) -> int:
    """Length as Telegram and Zalo count it: UTF-16 code units (an emoji counts two)."""
    return len(text.encode("utf-16-le")) // 2


def _cut(line: str, limit: int, measure: Callable[[str], int]) -> tuple[str, str]:
    """The longest head of ``line`` within ``limit`` (by ``measure``), and the rest."""
    if measure is len:
        return line[:limit], line[limit:]
    end = min(len(line), limit)
    while end > 1 and measure(line[:end]) > limit:
        end -= 1
    return line[:end], line[end:]


def split_text(text: str, limit: int = MAX_TEXT, *, measure: Callable[[str], int] = len) -> list[str]:
    """Split a long reply at line breaks into parts of at most ``limit`` (as ``measure`` counts).

    Markup never spans lines in our replies, so each part stays well-formed; a single line longer than
    the limit is cut hard (it can only be plain user text)."""
    if measure(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while measure(line) > limit:
            if current:
                parts.append(current)
                current = ""
            head, line = _cut(line, limit, measure)
            parts.append(head)
        candidate = f"{current}\n{line}" if current else line
        if measure(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts
