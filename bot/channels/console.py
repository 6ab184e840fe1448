"""The bot in a terminal: one message per line on stdin, replies as plain text on stdout.

Works interactively and piped (``qtbot chat --as officer:"Kim Bảng" < docs/questions.txt``). Buttons
are printed numbered; typing the number presses the button. ``--now`` answers as if it were that time.
Every file the bot sends is saved under ``--files`` and printed as ``[tệp] <path>``; a line
``file:<path> <caption>`` sends that file to the bot as an upload with that caption.
In a terminal, lines can be edited and recalled (readline, history kept in a file), Ctrl-C and Ctrl-D
leave at once on a clean line, and pushed messages print above the line being typed.
"""

from __future__ import annotations

import asyncio
import contextlib
import mimetypes
import sys
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.channels.base import RateLimits
from bot.errors import UserError
from bot.messages import Attachment, ChannelInfo, Document, Incoming, Reply, esc, to_plain
from bot.models import utcnow
from bot.services.errors import PersonNotFound
from bot.services.members import ensure_local_identity, ensure_person_chat
from bot.services.units import load_directory
from bot.views import files as file_views
from bot.views.swaps import person_not_found
from bot.vntime import fmt_date, fmt_time
from handlers.router import Dispatcher

# Buttons print numbered; the dispatcher keeps what each number means (bot/services/options.py).
CHANNEL = ChannelInfo(name="console", buttons=False, formatting="plain", text_limit=1_000_000)
DEFAULT_FILES = Path("qtbot-files")


class FileShelf:
    """The folder (``--files``) where the console keeps the files the bot sends; a name already
    taken gets a number (lich-truc-2.xlsx), so nothing saved earlier is overwritten."""

    def __init__(self, folder: Path = DEFAULT_FILES) -> None:
        self.folder = folder

    def save(self, document: Document) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        name = Path(document.filename).name or "tep"
        stem, suffix = Path(name).stem, Path(name).suffix
        path = self.folder / name
        number = 1
        while True:
            try:
                with path.open("xb") as out:
                    out.write(document.content)
                return path
            except FileExistsError:
                number += 1
                path = self.folder / f"{stem}-{number}{suffix}"


def render(reply: Reply, shelf: FileShelf | None = None) -> str:
    """A reply as the console shows it: plain text, then numbered buttons; a file is saved on
    ``shelf`` and shown by its path (without a shelf, by its name and size)."""
    lines = [to_plain(reply.text)]
    if reply.notice:
        lines.insert(0, f"({reply.notice})")
    number = 0
    for row in reply.buttons:
        cells = []
        for button in row:
            number += 1
            cells.append(f"[{number}] {button.text}")
        lines.append("  ".join(cells))
    for attached in (reply.photo, reply.document):
        if attached is not None and shelf is not None:
            lines.append(file_views.saved_line(shelf.save(attached)))
        elif attached is not None:
            lines.append(f"(tệp đính kèm: {attached.filename}, {len(attached.content)} byte)")
    return "\n".join(lines)


def upload(line: str) -> tuple[Attachment, str]:
    """``file:<path> <caption>``: the file as an upload, and its caption. A path with spaces is
    written in quotes (file:"lịch trực.xlsx" /nhap ...). Raises UserError for a file that cannot be read."""
    rest = line[len(file_views.FILE_PREFIX) :].strip()
    if rest.startswith('"') and '"' in rest[1:]:
        raw, caption = rest[1:].split('"', 1)
    else:
        raw, _, caption = rest.partition(" ")
    if not raw:
        raise UserError(file_views.missing_path())
    path = Path(raw).expanduser()
    if not path.exists():
        raise UserError(file_views.not_found(raw))
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise UserError(file_views.not_readable(raw)) from exc

    async def fetch() -> bytes:
        return content

    mime, _ = mimetypes.guess_type(path.name)
    return Attachment(path.name, mime, len(content), fetch), caption.strip()


class ConsoleChat:
    """One console user talking to the bot; identity is 'admin', 'guest' or 'officer:<unit>'."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        identity: str,
        *,
        out: TextIO = sys.stdout,
        clock: Callable[[], datetime] = utcnow,
        shelf: FileShelf | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.identity = identity
        self.out = out
        self.clock = clock
        self.shelf = shelf or FileShelf()
        self.chat_id = ""

    async def setup(self) -> None:
        """Create the console user's membership on first use (the console is a trusted local tool)."""
        role, _, unit_name = self.identity.partition(":")
        if role == "person":
            await self._setup_person(unit_name.strip().strip('"'))
            return
        if role not in ("admin", "guest", "officer"):
            raise UserError(
                '--as phải là admin, guest, officer:<đơn vị> hoặc person:<họ tên>, ví dụ officer:"Kim Bảng".'
            )
        if role == "officer" and not unit_name.strip():
            raise UserError('Thiếu tên đơn vị: --as officer:"Kim Bảng".')
        async with self.dispatcher.sessions() as session, session.begin():
            unit = None
            if unit_name.strip():
                match = (await load_directory(session)).resolve(unit_name)
                if match is None:
                    raise UserError(
                        f"Không tìm thấy đơn vị “{unit_name}”. Chạy `./run.sh demo` để nạp dữ liệu minh họa?"
                    )
                unit = match.unit
            self.chat_id = f"{role}:{unit.key}" if unit else role
            if role != "guest":
                label = f"Người dùng console ({unit.short_name})" if unit else "Quản trị (console)"
                await ensure_local_identity(
                    session, channel="console", chat_id=self.chat_id, role=role, unit=unit, name=label
                )

    async def _setup_person(self, name: str) -> None:
        """--as person:"Vũ Thành Long": speak as that person of a unit's roster (an officer of their unit)."""
        if not name:
            raise UserError('Thiếu họ tên: --as person:"Vũ Thành Long".')
        try:
            async with self.dispatcher.sessions() as session, session.begin():
                link = await ensure_person_chat(session, channel="console", name=name)
                self.chat_id = link.chat_id
        except PersonNotFound as exc:
            raise UserError(person_not_found(exc.name, exc.names)) from exc

    def incoming(self, line: str) -> Incoming:
        """A typed line as a message; ``file:<path> <caption>`` as an upload with that caption."""
        attachment = None
        if line.startswith(file_views.FILE_PREFIX):
            attachment, line = upload(line)
        return Incoming(
            channel="console",
            chat_id=self.chat_id,
            chat_type="private",
            sender_id=self.chat_id,
            sender_name="console",
            received_at=self.clock(),
            text=line,
            attachment=attachment,
        )

    async def say(self, line: str) -> list[Reply]:
        try:
            incoming = self.incoming(line)
        except UserError as exc:
            return [Reply(esc(str(exc)))]
        return await self.dispatcher.handle(incoming, CHANNEL, progress=self.show_progress)

    async def show_progress(self, text: str) -> None:
        """A long answer's progress: a line of its own, printed at once (before the answer)."""
        self.out.write(to_plain(text) + "\n")
        self.out.flush()

    async def run(self, stream: TextIO, *, echo: bool) -> None:
        """Answer every line of ``stream`` (piped input); ``echo`` prints each question before its answer."""
        await self._converse(lambda: _in_thread(stream.readline), echo=echo)

    async def run_terminal(self, terminal: Terminal) -> None:
        """Answer what the user types at ``terminal`` until Ctrl-D (or Ctrl-C, which cancels this)."""
        with terminal:
            await self._converse(terminal.read, echo=False)

    async def _converse(self, read: Callable[[], Awaitable[str | None]], *, echo: bool) -> None:
        while True:
            line = await read()
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            if echo:
                self.out.write(f"> {line}\n")
            for reply in await self.say(line):
                self.out.write(render(reply, self.shelf) + "\n")
            self.out.write("\n")
            self.out.flush()


async def _in_thread(read: Callable[[], str]) -> str | None:
    """``read()`` in a daemon thread of its own: unlike asyncio.to_thread's executor, nothing waits for
    it at exit, so Ctrl-C leaves at once instead of after the next Enter. None at end of input."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str | None] = loop.create_future()

    def resolve(line: str | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(line)

    def reader() -> None:
        try:
            line: str | None = read() or None
            error = None
        except EOFError:
            line, error = None, None
        except BaseException as exc:  # handed to the awaiting side
            line, error = None, exc
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nobody is waiting
            loop.call_soon_threadsafe(resolve, line, error)

    threading.Thread(target=reader, name="console-input", daemon=True).start()
    return await done


class Terminal:
    """stdin and stdout when both are a terminal: readline's line editing and history (kept in
    ``history``), a "> " prompt, and output from elsewhere (pushes) printed above the line being typed,
    which is then drawn again. Used as a context manager: on exit the history is saved, the terminal
    settings are restored and the cursor is left at the start of a clean line."""

    PROMPT = "> "

    def __init__(self, history: Path, *, out: TextIO = sys.stdout) -> None:
        self.history = history
        self.out = out
        self.prompting = False
        self._saved_tty: list | None = None

    @staticmethod
    def available() -> bool:
        return sys.stdin.isatty() and sys.stdout.isatty()

    def __enter__(self) -> Terminal:
        import readline  # line editing and history for input(); only in a terminal
        import termios

        with contextlib.suppress(termios.error):
            self._saved_tty = termios.tcgetattr(sys.stdin.fileno())
        readline.set_history_length(1000)
        with contextlib.suppress(OSError):
            readline.read_history_file(self.history)
        return self

    def __exit__(self, error: type[BaseException] | None, *_: object) -> None:
        import readline
        import termios

        if error is not None:  # Ctrl-C: leave the prompt (or the "^C") on a line of its own
            self.out.write("\n")
        self.out.flush()
        with contextlib.suppress(OSError):
            readline.write_history_file(self.history)
        if self._saved_tty is not None:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, self._saved_tty)

    async def read(self) -> str | None:
        """The next line typed; None on Ctrl-D (after moving to a clean line)."""
        self.prompting = True
        try:
            line = await _in_thread(lambda: input(self.PROMPT))
        finally:
            self.prompting = False
        if line is None:
            self.out.write("\n")
        return line

    def write(self, text: str) -> None:
        """Print ``text``; while the user is typing, above their line, which is then drawn again."""
        if not self.prompting:
            self.out.write(text)
            return
        import readline

        self.out.write("\r\x1b[K" + text + self.PROMPT + readline.get_line_buffer())

    def flush(self) -> None:
        self.out.flush()


class ConsolePushes:
    """The console as an outbox channel: pushed messages are printed with the time they went out."""

    name = "console"
    limits = RateLimits(per_second=1_000_000, private_interval=0, group_per_minute=1_000_000)

    def __init__(
        self,
        out: TextIO | Terminal | None,
        *,
        clock: Callable[[], datetime] = utcnow,
        tz: ZoneInfo,
        dispatcher: Dispatcher | None = None,
        shelf: FileShelf | None = None,
    ) -> None:
        """``out`` None: deliver silently (the caller prints its own report, as ``qtbot tick`` does).
        With ``dispatcher``, the numbered options of a pushed message are kept for its chat, so typing
        "1" there presses its first button ("Đã nhận")."""
        self.out = out
        self.clock = clock
        self.tz = tz
        self.dispatcher = dispatcher
        self.shelf = shelf or FileShelf()

    async def deliver(self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "", first_part: int = 0) -> None:
        del is_group, first_part  # the console has no length limit: one part
        if reply.buttons and self.dispatcher is not None:
            await self.dispatcher.remember_options("console", chat_id, [reply], now=self.clock())
        if self.out is None:
            return
        moment = self.clock().astimezone(self.tz)
        stamp = f"{fmt_time(moment.time())} {fmt_date(moment.date())}"
        self.out.write(f"[{stamp}] → {chat_id}\n{render(reply, self.shelf)}\n\n")
        self.out.flush()
