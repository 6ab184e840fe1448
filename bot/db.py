"""Async engine, sessions and schema upgrades; the same code serves SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, event, inspect, text
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

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


def create_take_engine(url: str, engine: AsyncEngine) -> AsyncEngine:
    """The engine a webhook update is taken on before its 200 (bot/services/channel_state.take_update).

    PostgreSQL: autocommit and no ping before each checkout. The take is one statement, atomic on its
    own; the ping of ``engine``'s pool is three round trips outside autocommit (BEGIN, ``;``, ROLLBACK),
    three quarters of the take's wait. A pooled connection found dead fails the take, which is then
    tried once more on a fresh connection (:meth:`bot.channels.seen.SeenKeys.take`). Never use it for
    more than one statement that must be atomic. SQLite: ``engine`` (the take commits on its own)."""
    if is_sqlite(url):
        return engine
    return create_async_engine(url, pool_pre_ping=False, isolation_level="AUTOCOMMIT", pool_size=2)


def create_read_engine(url: str, engine: AsyncEngine) -> AsyncEngine | InlineEngine | KeptEngine:
    """The engine read-only questions are answered on: no transaction of their own to open and commit.

    PostgreSQL: autocommit (each SELECT alone, no BEGIN/COMMIT round trips), no ping, and
    ``default_transaction_read_only`` so that nothing can write through it.
    SQLite: a plain (synchronous) sqlite3 engine whose sessions run in the event loop's thread
    (:class:`InlineEngine`): an indexed read takes microseconds, while the asyncio layers around it
    (a greenlet per statement, aiosqlite's hand-offs) cost several times that. ``query_only`` makes
    sure nothing can write through it. Reads never wait for a writer under WAL (a busy_timeout of 2 s
    covers the rare moments one must, such as WAL recovery), so the loop is not held by a lock;
    writes stay on ``engine``, whose statements may wait (busy_timeout) in aiosqlite's thread."""
    if not is_sqlite(url):
        # Its own pool, without the ping before each checkout (one more round trip per question):
        # the dispatcher asks again once on a fresh connection when a read finds its connection dead.
        # Read-only sessions on the server too: a write through this engine is refused.
        readonly = {"server_settings": {"default_transaction_read_only": "on"}}
        connect_args = readonly if make_url(url).get_driver_name() == "asyncpg" else {}
        return KeptEngine(
            create_async_engine(
                url, pool_pre_ping=False, isolation_level="AUTOCOMMIT", pool_size=4, connect_args=connect_args
            )
        )
    if make_url(url).database in (None, "", ":memory:"):
        return engine
    sync_url = make_url(url).set(drivername="sqlite")
    read = sa_create_engine(sync_url, connect_args={"timeout": 2}, pool_size=2, max_overflow=8)
    event.listen(read, "connect", _sqlite_read_pragmas)
    return InlineEngine(read)


class InlineEngine:
    """A synchronous SQLite engine for read-only questions, used from the event loop's thread through
    :class:`InlineSession`; it has what the app asks of an engine (``sync_engine``, ``dispose``).

    It keeps its connections checked out between questions (:meth:`checkout`, :meth:`checkin`): the
    pool's checkout and return (events, reset on return) cost a read question more than its select.
    Nothing is held between questions that way: pysqlite opens no transaction for a SELECT (and
    ``query_only`` allows nothing else), so each select reads what is committed when it runs."""

    # Connections kept idle; more are opened when questions interleave, and returned to the pool.
    KEEP = 2

    def __init__(self, engine: Engine) -> None:
        self.sync_engine = engine
        self._idle: list[Connection] = []

    def checkout(self) -> Connection:
        return self._idle.pop() if self._idle else self.sync_engine.connect()

    def checkin(self, connection: Connection, *, keep: bool = True) -> None:
        """``keep`` False (the question failed): the connection goes back to the pool, which resets it."""
        dbapi = None if connection.invalidated or connection.closed else connection.connection.dbapi_connection
        if dbapi is not None and getattr(dbapi, "in_transaction", False):
            connection.rollback()  # never expected of a read; but a kept connection must hold no snapshot
        if dbapi is None or not keep or len(self._idle) >= self.KEEP:
            connection.close()
        else:
            self._idle.append(connection)

    async def dispose(self) -> None:
        while self._idle:
            self._idle.pop().close()
        self.sync_engine.dispose()


class InlineSession:
    """The part of :class:`AsyncSession` that read-only questions use (execute, scalars, scalar, get),
    run at once in the caller's thread. Results are read before the session closes, as they are
    inside a question's ``async with``.

    A Core select (most of what questions read: rosters, results, snapshots) goes straight to one
    pooled :class:`Connection`; an ORM :class:`Session` is made only when a statement needs one (an
    entity select, ``get``), bound to that same connection. Each select reads what is committed when
    it runs (pysqlite opens no transaction for a SELECT), as on PostgreSQL's autocommit read engine: a
    question's answer comes from its one or two selects, and a commit between them changes the
    content version, so the next question is answered afresh. The Session's own work per statement
    and its setup and teardown cost more than such a read itself."""

    def __init__(self, engine: InlineEngine, factory: Callable[..., Session]) -> None:
        self._engine = engine
        self._factory = factory
        self._connection: Connection | None = None
        self._session: Session | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self._engine.checkout()
        return self._connection

    @property
    def sync_session(self) -> Session:
        if self._session is None:
            self._session = self._factory(bind=self.connection)
        return self._session

    @property
    def bind(self) -> Engine:
        return self._engine.sync_engine

    @property
    def info(self) -> dict[Any, Any]:
        return self.sync_session.info

    def _on_connection(self, statement: Any) -> bool:
        """Whether ``statement`` is plain Core (no ORM entity or attribute in it): no Session needed."""
        return not getattr(statement, "_propagate_attrs", None) and self._session is None

    async def execute(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if not kwargs and self._on_connection(statement):
            return self.connection.execute(statement, params)
        return self.sync_session.execute(statement, params, **kwargs)

    async def scalars(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if not kwargs and self._on_connection(statement):
            return self.connection.scalars(statement, params)
        return self.sync_session.scalars(statement, params, **kwargs)

    async def scalar(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if not kwargs and self._on_connection(statement):
            return self.connection.scalar(statement, params)
        return self.sync_session.scalar(statement, params, **kwargs)

    async def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        return self.sync_session.get(entity, ident, **kwargs)

    async def close(self, *, keep: bool = True) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self._connection is not None:
            self._engine.checkin(self._connection, keep=keep)
            self._connection = None

    async def __aenter__(self) -> InlineSession:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        await self.close(keep=kind is None)


class KeptEngine:
    """The PostgreSQL read engine (autocommit): it keeps a few connections checked out between
    questions, as :class:`InlineEngine` does: the pool's checkout and return (each a greenlet hand-off
    around events and a reset) cost a question more than a select. In autocommit nothing is held on
    the server between statements. A question that fails returns its connection to the pool (which
    resets it); one that finds the database unreachable drops the kept ones too (the pool replaces
    them), so the dispatcher's second try runs on a fresh connection."""

    KEEP = 2

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sync_engine = engine.sync_engine
        self.url = engine.url
        self._idle: list[AsyncConnection] = []

    async def checkout(self) -> AsyncConnection:
        return self._idle.pop() if self._idle else await self.engine.connect()

    async def checkin(self, connection: AsyncConnection, *, keep: bool = True) -> None:
        if keep and not connection.invalidated and not connection.closed and len(self._idle) < self.KEEP:
            self._idle.append(connection)
        else:
            await connection.close()

    async def drop_kept(self) -> None:
        while self._idle:
            await self._idle.pop().close()

    async def dispose(self) -> None:
        await self.drop_kept()
        await self.engine.dispose()


class ConnectionSession:
    """:class:`InlineSession`'s counterpart on PostgreSQL (an :class:`AsyncEngine` in autocommit): a
    Core select goes straight to one pooled :class:`AsyncConnection`, an :class:`AsyncSession` is made
    on that connection only for a statement that needs the ORM. The ORM Session's work per statement
    (finding its connection, ORM execution options) and its setup and teardown per question cost a
    good part of such a read's CPU time."""

    def __init__(self, engine: KeptEngine, factory: async_sessionmaker[AsyncSession]) -> None:
        self._engine = engine
        self._factory = factory
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None

    @property
    def bind(self) -> AsyncEngine:
        return self._engine.engine

    async def _connect(self) -> AsyncConnection:
        if self._connection is None:
            self._connection = await self._engine.checkout()
        return self._connection

    async def _orm(self) -> AsyncSession:
        if self._session is None:
            self._session = self._factory(bind=await self._connect())
        return self._session

    def _on_connection(self, statement: Any, kwargs: dict[str, Any]) -> bool:
        """Whether ``statement`` is plain Core (no ORM entity or attribute in it): no Session needed."""
        return not kwargs and not getattr(statement, "_propagate_attrs", None) and self._session is None

    async def execute(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if self._on_connection(statement, kwargs):
            return await (await self._connect()).execute(statement, params)
        return await (await self._orm()).execute(statement, params, **kwargs)

    async def scalars(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if self._on_connection(statement, kwargs):
            return await (await self._connect()).scalars(statement, params)
        return await (await self._orm()).scalars(statement, params, **kwargs)

    async def scalar(self, statement: Any, params: Any = None, **kwargs: Any) -> Any:
        if self._on_connection(statement, kwargs):
            return await (await self._connect()).scalar(statement, params)
        return await (await self._orm()).scalar(statement, params, **kwargs)

    async def get(self, entity: Any, ident: Any, **kwargs: Any) -> Any:
        return await (await self._orm()).get(entity, ident, **kwargs)

    async def close(self, *, keep: bool = True) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._connection is not None:
            await self._engine.checkin(self._connection, keep=keep)
            self._connection = None

    async def __aenter__(self) -> ConnectionSession:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, *tb: object) -> None:
        await self.close(keep=kind is None)
        if error is not None and unreachable(error):
            await self._engine.drop_kept()


def read_session_factory(read: AsyncEngine | InlineEngine | KeptEngine, **info: object) -> Callable[[], Any]:
    """Sessions on the engine of :func:`create_read_engine`: :class:`InlineSession` on SQLite,
    :class:`ConnectionSession` on PostgreSQL (an in-memory SQLite database reads on the writers'
    engine, in plain sessions)."""
    if isinstance(read, InlineEngine):
        factory = sessionmaker(read.sync_engine, expire_on_commit=False, info=info)
        return lambda: InlineSession(read, factory)
    if isinstance(read, KeptEngine):
        sessions = session_factory(read.engine, **info)
        return lambda: ConnectionSession(read, sessions)
    return session_factory(read, **info)


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
