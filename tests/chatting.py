"""Talking to the bot in tests: the console as a given person at a given time, and the qtbot command."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from bot.app import App
from bot.channels.console import ConsoleChat, render
from bot.cli import fixed_clock
from tests.examples import NOW


async def console(app: App, identity: str = "officer:Kim Bảng", now: str = NOW) -> ConsoleChat:
    """A console user ('admin', 'guest' or 'officer:<unit>') whose clock stands at ``now``."""
    chat = ConsoleChat(app.dispatcher, identity, clock=fixed_clock(now, app.settings))
    await chat.setup()
    return chat


async def ask(chat: ConsoleChat, text: str) -> str:
    """Everything the bot answers to one line, as the console prints it."""
    return "\n".join(render(r) for r in await chat.say(text))


def button(reply: str, label: str) -> str:
    """The number to type to press the button labelled ``label`` in a console reply (or the label)."""
    buttons = {text.strip(): number for number, text in re.findall(r"\[(\d+)\] ([^\[\n]+)", reply)}
    return buttons.get(label, label)


def qtbot_env(database_url: str, **settings: str) -> dict[str, str]:
    """The environment of a separate qtbot process: only the given settings, none of the developer's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("QTBOT_")}
    env["QTBOT_DATABASE_URL"] = database_url
    env.update({f"QTBOT_{name.upper()}": value for name, value in settings.items()})
    return env


def qtbot(*args: str, env: dict[str, str], cwd: Path, stdin: str | None = None) -> str:
    """Run ``qtbot <args>`` to the end; its standard output."""
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=60,
        check=True,
    )
    return done.stdout


@contextlib.asynccontextmanager
async def qtbot_running(env: dict[str, str], cwd: Path) -> AsyncIterator[list[str]]:
    """``qtbot run`` as its own process; on exit it is stopped with SIGTERM, must exit cleanly, and
    its log is appended to the yielded list."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    logs: list[str] = []
    try:
        yield logs
    finally:
        process.terminate()
        output, _ = await asyncio.wait_for(process.communicate(), timeout=20)
        logs.append(output.decode())
    assert process.returncode == 0, logs[0]


async def qtbot_start_failure(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    """``qtbot run`` that is expected to stop at start-up: its exit code, standard output and error."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
