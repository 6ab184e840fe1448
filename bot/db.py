"""Async engine, sessions and schema upgrades; the same code serves SQLite and PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

import migrations
from bot.cache import TrackedSession

if TYPE_CHECKING:  # Alembic is imported only when there is something to migrate
    from alembic.config import Config

MIGRATIONS_DIR = Path(migrations.__file__).parent


class DatabaseUnavailable(Exception):
    """The database could not be reached while handling a message: the message was not handled, and a
    webhook answers 503 so the platform delivers it again."""


def unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached (not that a statement was wrong)."""
    if isinstance(exc, DatabaseUnavailable | OperationalError | InterfaceError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, OSError) and exc.errno is not None and exc.filename is None  # a socket, not a file


# Any constant works; it only has to be the same for every replica.
_MIGRATION_LOCK_ID = 7_220_623


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: object) -> AsyncEngine:
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def create_read_engine(url: str, engine: AsyncEngine) -> AsyncEngine:
    """The engine read-only questions are answered on: no transaction of their own to open and commit.

    PostgreSQL: autocommit (each SELECT alone, no BEGIN/COMMIT round trips), no ping.
    SQLite: its own small pool whose connections run their statements in the event loop's thread
    instead of aiosqlite's worker thread (an indexed read takes microseconds; the hand-offs to the
    worker and back cost far more on a busy machine), with ``query_only`` so that nothing can write
    through it. Reads never wait for a writer under WAL (a busy_timeout of 2 s covers the rare
    moments one must, such as WAL recovery), so the loop is not held by a lock; writes
    stay on ``engine``, whose statements may wait (busy_timeout) in the worker thread."""
    if not is_sqlite(url):
        # Its own pool, without the ping before each checkout (one more round trip per question):
        # the dispatcher asks again once on a fresh connection when a read finds its connection dead.
        return create_async_engine(url, pool_pre_ping=False, isolation_level="AUTOCOMMIT", pool_size=4)
    if make_url(url).database in (None, "", ":memory:"):
        return engine
    database = make_url(url).database
    inline = _inline_connection_class()

    async def connect() -> Any:
        def connector() -> sqlite3.Connection:
            # Made in the worker thread, then used in the loop's thread only.
            return sqlite3.connect(database, timeout=2, check_same_thread=False)

        connection = inline(connector, 64)
        connection._thread.daemon = True  # as SQLAlchemy does for its own aiosqlite connections
        return await connection

    # No AUTOCOMMIT here: the driver opens no transaction before a SELECT anyway, and resetting the
    # isolation level at each check-in would go through the worker thread.
    read = create_async_engine(url, async_creator=connect, pool_size=2, max_overflow=8)
    event.listen(read.sync_engine, "connect", _sqlite_read_pragmas)
    return read


@cache
def _inline_connection_class() -> type:
    import aiosqlite

    class InlineConnection(aiosqlite.Connection):
        """An aiosqlite connection whose calls, once connected, run at once in the caller's thread."""

        async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            if not self._running or not self._connection:
                raise ValueError("Connection closed")
            return fn(*args, **kwargs)

    return InlineConnection


def _sqlite_read_pragmas(dbapi_connection, record) -> None:
    _sqlite_pragmas(dbapi_connection, record)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    # A read waits for a lock only in rare moments (WAL recovery); the loop waits with it, so not long.
    cursor.execute("PRAGMA busy_timeout=2000")
    cursor.close()


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the console, the scheduler and the bot read while one of them writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: AsyncEngine, **info: object) -> async_sessionmaker[AsyncSession]:
    """Sessions whose commits keep the content version (bot/cache.py) up to date."""
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=TrackedSession, info=info)


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_REVISION = re.compile(r"^(down_revision|revision)\b[^=]*=\s*(?:\"([^\"]*)\"|None)", re.MULTILINE)


def head_revision() -> str:
    """The newest migration's revision, read from the files in migrations/versions without Alembic
    (which takes longer to import than a console question takes to answer; a test checks that this
    agrees with Alembic's own head)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict((name, value) for name, value in _REVISION.findall(path.read_text(encoding="utf-8")))
        revisions.add(found["revision"])
        parents.add(found.get("down_revision", ""))
    (head,) = revisions - parents
    return head


def _at_head(connection: Connection) -> bool:
    if not inspect(connection).has_table("alembic_version"):
        return False
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars()) == [head_revision()]


def _upgrade(connection: Connection) -> None:
    from alembic import command

    if connection.dialect.name == "postgresql":
        # Replicas starting together must not run the same migration twice.
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID})
    command.upgrade(alembic_config(connection), "head")


async def upgrade_database(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration (idempotent; safe with several replicas). A database
    already at the newest one is only looked at: every start, and every console question, does this."""
    async with engine.connect() as connection:
        if await connection.run_sync(_at_head):
            return
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)


def dialect_insert(dialect: str) -> Any:
    """The INSERT (with ON CONFLICT) of ``dialect``, imported on first use: PostgreSQL's module takes
    about 0.1 s to import, which a console question on SQLite need not pay."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


async def insert_ignore(session: AsyncSession, table: Table, rows: list[dict], *, key: str | list[str]) -> int:
    """INSERT rows, skipping those whose unique ``key`` (a column or several) already exists: another
    run or replica was first. Same statement on SQLite and PostgreSQL; returns rows inserted."""
    if not rows:
        return 0
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = dialect_insert(dialect)
    inserted = 0
    for start in range(0, len(rows), 500):
        columns = [key] if isinstance(key, str) else key
        statement = insert(table).values(rows[start : start + 500]).on_conflict_do_nothing(index_elements=columns)
        result = await session.execute(statement)
        inserted += result.rowcount or 0
    return inserted
