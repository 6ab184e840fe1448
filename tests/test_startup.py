"""Start-up stays quick: each qtbot subcommand imports only what it needs (bench/startup.py times it),
and a database already at the newest migration is not handed to Alembic at all."""

from __future__ import annotations

import gc
import inspect
import json
import subprocess
import sys
from pathlib import Path

from bot.app import GC_YOUNG_THRESHOLD, App, settle_memory
from tests.chatting import qtbot_env

# What `qtbot --help` must not import: the libraries that take most of a second between them.
HEAVY = ("telegram", "sqlalchemy", "httpx", "starlette", "uvicorn", "apscheduler", "pydantic", "alembic")
# What a console question must not import: the messengers, the web server, Alembic on a database at
# head, PostgreSQL's dialect on SQLite, the file and chart libraries, metrics, the scheduler, pydantic
# (bot/config.py reads the settings), and the handlers of other commands (loaded when first routed).
NOT_FOR_A_QUESTION = (
    "telegram",
    "httpx",
    "starlette",
    "uvicorn",
    "alembic",
    "sqlalchemy.dialects.postgresql",
    "openpyxl",
    "matplotlib",
    "PIL",
    "icalendar",
    "feedparser",
    "prometheus_client",
    "apscheduler",
    "pydantic",
    "pydantic_settings",
    "handlers.exports",
    "handlers.imports",
    "handlers.edit",
    "handlers.manage",
    "handlers.calendar",
)

REPORT_MODULES = """
import json, sys
from bot.cli import main
try:
    main(sys.argv[2:])
except SystemExit:
    pass
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
"""


def imported(args: list[str], tmp_path: Path, env: dict[str, str], stdin: str = "") -> tuple[set[str], str]:
    """The modules loaded by ``qtbot <args>`` run to the end, and its output."""
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", REPORT_MODULES, str(report), *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=True,
    )
    return set(json.loads(report.read_text())), done.stdout


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in packages))


def test_help_imports_none_of_the_heavy_libraries(tmp_path: Path) -> None:
    modules, out = imported(["--help"], tmp_path, qtbot_env(f"sqlite+aiosqlite:///{tmp_path / 'qtbot.db'}"))
    assert "chat" in out and "tick" in out
    assert loaded(modules, HEAVY) == []


def test_a_console_question_imports_neither_messengers_nor_web_nor_alembic(tmp_path: Path) -> None:
    env = qtbot_env(f"sqlite+aiosqlite:///{tmp_path / 'qtbot.db'}")
    subprocess.run([sys.executable, "-m", "bot.cli", "demo"], env=env, cwd=tmp_path, check=True, capture_output=True)
    modules, out = imported(["chat", "--as", "officer:Kim Bảng"], tmp_path, env, stdin="hôm nay ai trực chỉ huy?\n")
    assert "Trực chỉ huy: Trung tá Lê Quang Cường" in out, out
    assert loaded(modules, NOT_FOR_A_QUESTION) == []


def test_every_handler_in_the_routing_tables_resolves() -> None:
    """The command and subject tables name handlers as "module:function", imported when first routed:
    each name must lead to a coroutine function, so a typo fails here and not in a chat."""
    from handlers.router import COMMANDS, INTENTS, Lazy, resolve

    lazies = [command.handler for command in COMMANDS] + [handler for _, handler in INTENTS.values()]
    assert all(isinstance(handler, Lazy) for handler in lazies)
    for handler in lazies:
        assert inspect.iscoroutinefunction(resolve(handler.path)), handler.path


def test_the_default_crontab_lines_parse() -> None:
    """Settings take the default digest times without parsing them (so a question does not import
    apscheduler): they must be right."""
    from apscheduler.triggers.cron import CronTrigger

    from bot.config import DEFAULT_CRONS, Settings

    fields = Settings.model_fields
    assert tuple(fields[f"digest_{kind}_cron"].default for kind in ("daily", "weekly", "news")) == DEFAULT_CRONS
    for line in DEFAULT_CRONS:
        CronTrigger.from_crontab(line)


def test_the_head_read_from_the_files_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    from bot.db import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_a_database_behind_is_still_upgraded(demo_app: App) -> None:
    from alembic import command
    from sqlalchemy import text

    from bot.db import alembic_config, head_revision, upgrade_database

    async with demo_app.engine.begin() as connection:
        await connection.run_sync(lambda c: command.downgrade(alembic_config(c), "0004"))
    await upgrade_database(demo_app.engine)
    async with demo_app.engine.connect() as connection:
        assert (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar() == head_revision()


def test_a_settled_process_collects_its_young_objects_less_often() -> None:
    before = gc.get_threshold()
    try:
        settle_memory()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert before[0] < GC_YOUNG_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
