"""Start-up failures: one Vietnamese line naming the setting to fix, and never a secret.

Every way ``qtbot`` can fail to start ends in :func:`fail`: a token the platform rejects, an API that
does not answer, a database that cannot be reached or does not exist, a log level that is not one.
The secrets (tokens, webhook secrets, the database password) are kept out of that line, and out of
every log line and traceback (:class:`RedactingFormatter`).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sqlite3
import sys
from collections.abc import Iterator, Sequence

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PREFIX = "Không khởi động được"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class StartupFailure(Exception):
    """Start-up cannot go on: ``setting`` is the QTBOT_ setting to fix, ``reason`` says what is wrong."""

    def __init__(self, setting: str, reason: str) -> None:
        super().__init__(f"{setting}: {reason}")
        self.setting = setting
        self.reason = reason


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def fail(setting: str, reason: str, secrets: Sequence[str] = ()) -> int:
    """Print the one line (standard error) and return the exit code."""
    print(redact(f"{PREFIX}: {setting}: {reason}", secrets).replace("\n", " "), file=sys.stderr)
    return 1


class RedactingFormatter(logging.Formatter):
    """Formats a record, its exception and its stack, then takes every secret out of the whole text:
    an exception's message or a traceback's frame can carry a token as well as a log message can."""

    def __init__(self, fmt: str, secrets: Sequence[str]) -> None:
        super().__init__(fmt)
        self.secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def log_level(value: str) -> int:
    """QTBOT_LOG_LEVEL as a level, or :class:`StartupFailure`."""
    name = value.strip().upper()
    if name not in LOG_LEVELS:
        raise StartupFailure("QTBOT_LOG_LEVEL", f"không có mức ghi log “{value}”; dùng {', '.join(LOG_LEVELS)}.")
    return logging.getLevelName(name)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def database_failure(exc: BaseException, database_url: str) -> StartupFailure | None:
    """Why the database could not be opened, as a :class:`StartupFailure` naming QTBOT_DATABASE_URL
    (the address without its password); None when ``exc`` is not about reaching the database."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return StartupFailure("QTBOT_DATABASE_URL", "địa chỉ cơ sở dữ liệu không đọc được.")
    if url.get_backend_name() == "sqlite":
        for cause in _chain(exc):
            if isinstance(cause, sqlite3.Error | OSError):
                return StartupFailure(
                    "QTBOT_DATABASE_URL",
                    f"không mở được tệp SQLite “{url.database}” ({cause}); kiểm tra thư mục và quyền ghi.",
                )
        return None
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    for cause in _chain(exc):
        name = type(cause).__name__
        if name == "InvalidCatalogNameError":
            return StartupFailure(
                "QTBOT_DATABASE_URL",
                f"máy chủ PostgreSQL {where} không có cơ sở dữ liệu “{url.database}”; "
                f"tạo nó (createdb {url.database}).",
            )
        if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
            return StartupFailure(
                "QTBOT_DATABASE_URL",
                f"máy chủ PostgreSQL {where} từ chối người dùng “{url.username}” (sai tên hoặc mật khẩu).",
            )
        if isinstance(cause, socket.gaierror):
            return StartupFailure("QTBOT_DATABASE_URL", f"không tìm thấy máy chủ PostgreSQL “{url.host}”.")
        if isinstance(cause, OSError | TimeoutError):
            return StartupFailure(
                "QTBOT_DATABASE_URL", f"không kết nối được PostgreSQL tại {where}; máy chủ có đang chạy không?"
            )
    return None


@contextlib.contextmanager
def database_errors(database_url: str) -> Iterator[None]:
    """Around the first uses of the database (the engine, the schema upgrade): one that cannot be
    reached or opened becomes a :class:`StartupFailure` naming QTBOT_DATABASE_URL."""
    try:
        yield
    except Exception as exc:
        failure = database_failure(exc, database_url)
        if failure is None:
            raise
        raise failure from None
