"""Test databases: SQLite by default, PostgreSQL when QTBOT_TEST_DATABASE_URL is set.

Two templates are built once per run (schema only; schema + demo data) and every test gets its own
copy: a file copy on SQLite, ``CREATE DATABASE ... TEMPLATE`` on PostgreSQL. Tests never share state.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from bot.app import App
from bot.config import Settings
from bot.db import create_engine, session_factory, upgrade_database
from bot.demo import load_demo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PG_URL = os.environ.get("QTBOT_TEST_DATABASE_URL", "").strip()
# Tests are hermetic: a developer's own QTBOT_* settings (token, admins...) must not leak in.
for _name in [n for n in os.environ if n.startswith("QTBOT_") and n != "QTBOT_TEST_DATABASE_URL"]:
    del os.environ[_name]
_counter = itertools.count()


def local(text: str) -> datetime:
    """'2022-06-22 10:00' in Vietnam time."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)


async def _build(url: str, demo: bool) -> None:
    engine = create_engine(url)
    try:
        await upgrade_database(engine)
        if demo:
            async with session_factory(engine)() as session, session.begin():
                await load_demo(session, TZ)
    finally:
        await engine.dispose()


def _pg_admin_dsn() -> str:
    url = make_url(PG_URL)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_url(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


async def _pg_execute(*statements: str) -> None:
    connection = await asyncpg.connect(_pg_admin_dsn())
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


class Templates:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = f"qtbot_{os.getpid()}"

    def build(self) -> None:
        for demo in (False, True):
            name = self._name(demo)
            if PG_URL:
                asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"'))
                asyncio.run(_build(_pg_url(name), demo))
            else:
                path = self.root / f"{name}.db"
                asyncio.run(_build(f"sqlite+aiosqlite:///{path}", demo))
                with sqlite3.connect(path) as connection:
                    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _name(self, demo: bool) -> str:
        return f"{self.prefix}_{'demo' if demo else 'empty'}"

    def new_database(self, demo: bool, tmp_path: Path) -> tuple[str, str | None]:
        """A fresh copy; returns its URL and (PostgreSQL) the database name to drop afterwards."""
        if PG_URL:
            name = f"{self.prefix}_t{next(_counter)}"
            asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._name(demo)}"'))
            return _pg_url(name), name
        path = tmp_path / "qtbot.db"
        shutil.copyfile(self.root / f"{self._name(demo)}.db", path)
        return f"sqlite+aiosqlite:///{path}", None

    def drop(self, name: str | None) -> None:
        if name:
            asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def cleanup(self) -> None:
        if PG_URL:
            for demo in (False, True):
                asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{self._name(demo)}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    built = Templates(tmp_path_factory.mktemp("templates"))
    built.build()
    yield built
    built.cleanup()


def _database(templates: Templates, tmp_path: Path, demo: bool) -> Iterator[str]:
    url, name = templates.new_database(demo, tmp_path)
    yield url
    templates.drop(name)


@pytest.fixture
def empty_db_url(templates: Templates, tmp_path: Path) -> Iterator[str]:
    yield from _database(templates, tmp_path, demo=False)


@pytest.fixture
def demo_db_url(templates: Templates, tmp_path: Path) -> Iterator[str]:
    yield from _database(templates, tmp_path, demo=True)


def make_settings(url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {"database_url": url, "timezone": "Asia/Ho_Chi_Minh"}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def demo_app(demo_db_url: str) -> AsyncIterator[App]:
    app = App(make_settings(demo_db_url))
    yield app
    await app.close()


@pytest.fixture
async def empty_app(empty_db_url: str) -> AsyncIterator[App]:
    app = App(make_settings(empty_db_url))
    await app.prepare()
    yield app
    await app.close()
