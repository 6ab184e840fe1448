"""A fake Telegram Bot API for end-to-end tests and benchmarks (see :mod:`tests.fakes.telegram.server`).

- :mod:`~tests.fakes.telegram.server`: :class:`FakeTelegram`, its records, the in-process transport and
  the HTTP server (``python -m tests.fakes.telegram`` serves one in its own process);
- :mod:`~tests.fakes.telegram.entities`: HTML / MarkdownV2 / Markdown entity parsers, :func:`utf16_len`;
- :mod:`~tests.fakes.telegram.multipart`: request body and multipart parsing, parameter helpers;
- :mod:`~tests.fakes.telegram.flood`: :class:`FloodLimits` and the flood control behind 429s;
- :mod:`~tests.fakes.telegram.errors`: :class:`TelegramAPIError`;
- :mod:`~tests.fakes.telegram.harness`: the real Telegram channel wired to the fake (imports the bot and
  python-telegram-bot, so it is not re-exported here).
"""

from tests.fakes.telegram.entities import (
    FormattedText,
    parse_formatted_text,
    parse_html,
    parse_markdown,
    parse_markdown_v2,
    utf16_len,
)
from tests.fakes.telegram.errors import TelegramAPIError
from tests.fakes.telegram.flood import FloodLimits
from tests.fakes.telegram.multipart import UploadedFile, parse_request_body
from tests.fakes.telegram.server import (
    ApiCall,
    CallbackAnswer,
    FakeStats,
    FakeTelegram,
    SentMessage,
    StoredFile,
    WebhookDelivery,
)

__all__ = [
    "ApiCall",
    "CallbackAnswer",
    "FakeStats",
    "FakeTelegram",
    "FloodLimits",
    "FormattedText",
    "SentMessage",
    "StoredFile",
    "TelegramAPIError",
    "UploadedFile",
    "WebhookDelivery",
    "parse_formatted_text",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "parse_request_body",
    "utf16_len",
]
