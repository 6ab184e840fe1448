"""The README tells the truth on a fresh clone: its console and `tick` transcripts are replayed through
the real `qtbot` entry point on a new database, in the README's order, and compared line by line (a
line ``...`` stands for one or more lines left out); its edit examples name items of the demo data."""

from __future__ import annotations

import difflib
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.app import App
from tests.chatting import ask, console, qtbot_env

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


@dataclass
class Command:
    line: str  # as the README shows it, without "$ "
    expected: list[str]


def transcripts(markdown: str) -> list[Command]:
    """Every ``$ command`` in a fenced block of ``markdown``, with the lines shown after it."""
    commands: list[Command] = []
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", markdown, flags=re.MULTILINE | re.DOTALL):
        if not block.startswith("$ "):
            continue
        for line in block.splitlines():
            if line.startswith("$ "):
                commands.append(Command(line[2:], []))
            else:
                commands[-1].expected.append(line)
    return commands


def argv_and_stdin(line: str) -> tuple[list[str], str | None]:
    """``./run.sh chat --as ... < docs/questions.txt`` as the qtbot command run.sh runs, and its input."""
    words = shlex.split(line)
    stdin = None
    if "<" in words:
        at = words.index("<")
        stdin = (ROOT / words[at + 1]).read_text(encoding="utf-8")
        words = words[:at] + words[at + 2 :]
    program, *args = words
    assert program == "./run.sh", f"the README should show ./run.sh, not {program}"
    if not args or (args[0].startswith("-") and args[0] not in ("-h", "--help")):
        args = ["run", *args]  # what run.sh does
    return [sys.executable, "-m", "bot.cli", *args], stdin


def same(expected: list[str], actual: list[str]) -> bool:
    """``actual`` reads as ``expected``, where a ``...`` line stands for one or more lines."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(same(expected[1:], actual[cut:]) for cut in range(1, len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and same(expected[1:], actual[1:])


def trimmed(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_the_readme_has_the_transcripts_a_newcomer_runs() -> None:
    shown = [command.line.split()[:2] for command in transcripts(README)]
    assert shown[:3] == [["./run.sh", "demo"], ["./run.sh", "chat"], ["./run.sh", "tick"]]
    # Then a duty swap played from three consoles, with tick delivering in between.
    assert {tuple(words) for words in shown[3:]} <= {("./run.sh", "chat"), ("./run.sh", "tick")}


def test_the_readme_transcripts_replay_on_a_fresh_database(tmp_path: Path) -> None:
    env = qtbot_env(f"sqlite+aiosqlite:///{tmp_path / 'qtbot.db'}")
    for command in transcripts(README):
        argv, stdin = argv_and_stdin(command.line)
        done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
        assert done.returncode == 0, (command.line, done.stderr)
        expected, actual = trimmed(command.expected), trimmed(done.stdout.splitlines())
        diff = "\n".join(difflib.unified_diff(expected, actual, "README.md", "qtbot", lineterm=""))
        assert same(expected, actual), f"$ {command.line}\n{diff}"


def edit_examples(markdown: str) -> list[str]:
    """The examples in the README's row for /sua and /huy."""
    row = next(line for line in markdown.splitlines() if line.startswith("| `/sua`"))
    return [example for example in re.findall(r"`([^`]+)`", row.split("|")[2]) if example.startswith("/")]


def test_the_readme_lists_edit_examples() -> None:
    assert [example.split()[0] for example in edit_examples(README)] == ["/sua", "/sua", "/huy"]


@pytest.mark.parametrize("example", edit_examples(README))
async def test_the_readme_edit_examples_work_on_the_demo_data(demo_app: App, example: str) -> None:
    admin = await console(demo_app, "admin")
    preview = await ask(admin, example)
    assert "[1] Xác nhận" in preview, preview
    done = await ask(admin, "1")
    if example.startswith("/huy"):
        assert "Đã hủy" in done, done
        return
    before = next(line for line in done.splitlines() if line.startswith("Trước:"))
    after = next(line for line in done.splitlines() if line.startswith("Nay:"))
    assert "Đã sửa" in done and before != after, done
    if example.split()[1].upper().startswith("S"):  # a drill milestone stays in its plan's month
        month = re.compile(r"/(\d\d/\d{4})")
        assert month.findall(before) == month.findall(after), done


def _installed() -> bool:
    stamp = ROOT / ".venv" / ".qtbot-installed"
    return stamp.exists() and stamp.stat().st_mtime >= (ROOT / "pyproject.toml").stat().st_mtime


@pytest.mark.skipif(not _installed(), reason="./run.sh would install .venv first")
def test_run_sh_hands_subcommands_to_qtbot(tmp_path: Path) -> None:
    env = qtbot_env(f"sqlite+aiosqlite:///{tmp_path / 'qtbot.db'}")

    def run_sh(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [str(ROOT / "run.sh"), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "{run,chat,tick,web,demo,migrate}" in run_sh("--help")
    assert "bản ghi mới" in run_sh("demo")
    questions = (ROOT / "docs" / "questions.txt").read_text(encoding="utf-8")
    # run.sh works in the repository: the pictures the questions bring go to a folder of the test's.
    files = str(tmp_path / "files")
    assert "Trực chỉ huy: Trung tá Lê Quang Cường" in run_sh(
        "chat", "--as", "officer:Kim Bảng", "--files", files, stdin=questions
    )
    assert "Đã gửi 1" in run_sh("tick", "--now", "2022-06-22 16:00")
    assert "Giờ của bot: 2022-06-23 08:00" in run_sh("--now", "2022-06-23 08:00", stdin="")


def test_the_greeting_shows_commands_that_run() -> None:
    """Every `./run.sh ...` the no-token greeting suggests is a qtbot command line that parses."""
    from bot.cli import NO_TOKEN_HELP, parser

    suggested = [line.split(":", 1)[1].strip() for line in NO_TOKEN_HELP.splitlines() if "./run.sh" in line]
    assert len(suggested) == 4, NO_TOKEN_HELP
    for line in suggested:
        argv, _ = argv_and_stdin(line)
        parser().parse_args(argv[3:])  # exits (failing the test) on anything qtbot does not take
