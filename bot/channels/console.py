"""The bot in a terminal: one message per line on stdin, replies as plain text on stdout.

Works interactively and piped (``qtbot chat --as officer:"Kim Bảng" < questions.txt``). Buttons are
printed numbered; typing the number presses the button. ``--now`` answers as if it were that time.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.channels.base import RateLimits
from bot.errors import UserError
from bot.messages import ChannelInfo, Incoming, Reply, to_plain
from bot.models import utcnow
from bot.services.members import ensure_local_identity
from bot.services.units import load_directory
from bot.vntime import fmt_date, fmt_time
from handlers.router import Dispatcher

# Buttons print numbered; the dispatcher keeps what each number means (bot/services/options.py).
CHANNEL = ChannelInfo(name="console", buttons=False, formatting="plain", text_limit=1_000_000)


def render(reply: Reply) -> str:
    """A reply as the console shows it: plain text, then numbered buttons."""
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
    if reply.document is not None:
        lines.append(f"(tệp đính kèm: {reply.document.filename}, {len(reply.document.content)} byte)")
    return "\n".join(lines)


class ConsoleChat:
    """One console user talking to the bot; identity is 'admin', 'guest' or 'officer:<unit>'."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        identity: str,
        *,
        out: TextIO = sys.stdout,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.dispatcher = dispatcher
        self.identity = identity
        self.out = out
        self.clock = clock
        self.chat_id = ""

    async def setup(self) -> None:
        """Create the console user's membership on first use (the console is a trusted local tool)."""
        role, _, unit_name = self.identity.partition(":")
        if role not in ("admin", "guest", "officer"):
            raise UserError('--as phải là admin, guest hoặc officer:<đơn vị>, ví dụ officer:"Kim Bảng".')
        if role == "officer" and not unit_name.strip():
            raise UserError('Thiếu tên đơn vị: --as officer:"Kim Bảng".')
        async with self.dispatcher.sessions() as session, session.begin():
            unit = None
            if unit_name.strip():
                match = (await load_directory(session)).resolve(unit_name)
                if match is None:
                    raise UserError(f"Không tìm thấy đơn vị “{unit_name}”. Chạy `qtbot demo` để nạp dữ liệu mẫu?")
                unit = match.unit
            self.chat_id = f"{role}:{unit.key}" if unit else role
            if role != "guest":
                label = f"Người dùng console ({unit.short_name})" if unit else "Quản trị (console)"
                await ensure_local_identity(
                    session, channel="console", chat_id=self.chat_id, role=role, unit=unit, name=label
                )

    def incoming(self, line: str) -> Incoming:
        return Incoming(
            channel="console",
            chat_id=self.chat_id,
            chat_type="private",
            sender_id=self.chat_id,
            sender_name="console",
            received_at=self.clock(),
            text=line,
        )

    async def say(self, line: str) -> list[Reply]:
        return await self.dispatcher.handle(self.incoming(line), CHANNEL)

    async def run(self, stream: TextIO, *, echo: bool) -> None:
        interactive = stream.isatty()
        while True:
            if interactive:
                self.out.write("> ")
                self.out.flush()
            line = await asyncio.to_thread(stream.readline)
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            if echo:
                self.out.write(f"> {line}\n")
            for reply in await self.say(line):
                self.out.write(render(reply) + "\n")
            self.out.write("\n")
            self.out.flush()


class ConsolePushes:
    """The console as an outbox channel: pushed messages are printed with the time they went out."""

    name = "console"
    limits = RateLimits(per_second=1_000_000, private_interval=0, group_per_minute=1_000_000)

    def __init__(self, out: TextIO | None, *, clock: Callable[[], datetime] = utcnow, tz: ZoneInfo) -> None:
        """``out`` None: deliver silently (the caller prints its own report, as ``qtbot tick`` does)."""
        self.out = out
        self.clock = clock
        self.tz = tz

    async def deliver(self, chat_id: str, reply: Reply, *, is_group: bool, kind: str = "") -> None:
        del is_group
        if self.out is None:
            return
        moment = self.clock().astimezone(self.tz)
        stamp = f"{fmt_time(moment.time())} {fmt_date(moment.date())}"
        self.out.write(f"[{stamp}] → {chat_id}\n{render(reply)}\n\n")
        self.out.flush()
