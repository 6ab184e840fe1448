"""The console in a real terminal (a pseudo-terminal): line editing and history, Ctrl-C and Ctrl-D
leave at once on a clean line, a push arriving while the user types does not overwrite what is typed,
and output piped into a reader that leaves early ends without a traceback."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.chatting import qtbot_env

ROOT = Path(__file__).resolve().parent.parent
LEFT, UP, CTRL_C, CTRL_D = "\x1b[D", "\x1b[A", "\x03", "\x04"


class Pty:
    """A process on a pseudo-terminal; ``type`` sends keys, ``until`` reads until a text shows."""

    def __init__(self, argv: list[str], env: dict[str, str], cwd: Path) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child
            os.chdir(cwd)
            os.execve(argv[0], argv, {**env, "TERM": "xterm"})
        self.raw = b""
        self.output = ""
        self.seen = 0

    def until(self, text: str, timeout: float = 30) -> str:
        """Read until ``text`` shows after what earlier calls found; everything read so far."""
        end = time.monotonic() + timeout
        while text not in self.output[self.seen :]:
            if time.monotonic() > end:
                raise AssertionError(f"{text!r} not in {self.output[self.seen :]!r}")
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.raw += os.read(self.fd, 65536)
                except OSError:  # the child is gone
                    break
                self.output = self.raw.decode(errors="replace")
        assert text in self.output[self.seen :], self.output
        self.seen = self.output.index(text, self.seen) + len(text)
        return self.output

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def exit_code(self, timeout: float = 15) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with_status = os.waitpid(self.pid, os.WNOHANG)
            if with_status[0]:
                return os.waitstatus_to_exitcode(with_status[1])
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                try:
                    self.raw += os.read(self.fd, 65536)
                except OSError:
                    time.sleep(0.05)
                self.output = self.raw.decode(errors="replace")
        os.kill(self.pid, 9)
        raise AssertionError(f"still running after {timeout} s: {self.output!r}")


@pytest.fixture
def demo_env(tmp_path: Path) -> dict[str, str]:
    env = qtbot_env(f"sqlite+aiosqlite:///{tmp_path / 'qtbot.db'}")
    subprocess.run([sys.executable, "-m", "bot.cli", "demo"], env=env, cwd=tmp_path, check=True, capture_output=True)
    return env


def chat(env: dict[str, str], cwd: Path) -> Pty:
    session = Pty([sys.executable, "-m", "bot.cli", "chat", "--as", "officer:Kim Bảng"], env, cwd)
    session.until("\n> ")
    return session


def test_lines_can_be_edited_and_recalled_and_ctrl_d_leaves_a_clean_line(demo_env: dict, tmp_path: Path) -> None:
    session = chat(demo_env, tmp_path)
    session.type(f"mai ai tc{LEFT}ru\r")  # "mai ai truc" once the cursor moved back
    session.until("Trực chỉ huy: Trung tá Phạm Minh Dũng")
    session.until("\n> ")
    session.type(CTRL_D)
    assert session.exit_code() == 0
    assert session.output.endswith("> \r\n"), session.output[-80:]
    assert (tmp_path / ".qtbot_history").read_text().splitlines() == ["mai ai truc"]

    again = chat(demo_env, tmp_path)
    again.type(f"{UP}\r")  # the line typed in the last session
    again.until("Trực chỉ huy: Trung tá Phạm Minh Dũng")
    again.until("\n> ")
    again.type(CTRL_D)
    assert again.exit_code() == 0


def test_ctrl_c_leaves_at_once_without_waiting_for_enter(demo_env: dict, tmp_path: Path) -> None:
    session = chat(demo_env, tmp_path)
    session.type("half a question")
    session.until("half a question")
    session.type(CTRL_C)
    assert session.exit_code(timeout=10) == 130  # without waiting for an Enter that never comes
    assert session.output.endswith("half a question\r\n"), session.output[-80:]
    assert "Traceback" not in session.output


PUSH_WHILE_TYPING = """
import asyncio, sys
from pathlib import Path
from bot.channels.console import Terminal

async def main():
    with Terminal(Path(sys.argv[1])) as terminal:
        reading = asyncio.ensure_future(terminal.read())
        while "typed" not in __import__("readline").get_line_buffer():
            await asyncio.sleep(0.05)
        terminal.write("[16h00] nhắc lịch\\n\\n")
        terminal.flush()
        print("\\nread:", await reading)

asyncio.run(main())
"""


def test_a_push_prints_above_the_line_being_typed(tmp_path: Path) -> None:
    script = [sys.executable, "-c", PUSH_WHILE_TYPING, str(tmp_path / "history")]
    session = Pty(script, {**os.environ, "PYTHONPATH": str(ROOT)}, ROOT)
    session.until("> ")
    session.type("typed so far")
    session.until("\x1b[K[16h00] nhắc lịch\r\n\r\n> typed so far")
    session.type(" and more\r")
    session.until("read: typed so far and more")
    assert session.exit_code() == 0


def test_piping_into_a_reader_that_leaves_early_prints_no_traceback(demo_env: dict, tmp_path: Path) -> None:
    questions = "\n".join(["lịch trực tuần này"] * 50) + "\n"
    shell = f"{sys.executable} -m bot.cli chat --as officer:'Kim Bảng' | head -n 3"
    done = subprocess.run(
        ["bash", "-c", shell], input=questions, capture_output=True, text=True, env=demo_env, cwd=tmp_path, timeout=60
    )
    assert len(done.stdout.splitlines()) == 3
    assert done.stderr == "", done.stderr
