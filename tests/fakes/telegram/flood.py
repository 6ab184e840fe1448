"""Flood control of the fake Bot API: Telegram's documented send limits as sliding windows; a send over
a limit is answered with 429 and ``retry_after``."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

#: send-like methods subject to flood limits.
FLOOD_METHODS = frozenset(
    {
        "sendMessage", "sendDocument", "sendPhoto", "sendAudio", "sendVideo", "sendVoice",
        "sendAnimation", "sendSticker", "sendLocation", "sendContact", "sendPoll",
        "sendMediaGroup", "copyMessage", "forwardMessage",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FloodLimits:
    """Flood limits (``None`` disables one). Defaults are Telegram's documented limits."""

    global_per_second: float | None = 30
    per_chat_per_second: float | None = 1
    group_per_minute: float | None = 20


class _Window:
    """Sliding-window log: at most ``capacity`` events per ``period`` seconds (amortised O(1))."""

    __slots__ = ("capacity", "period", "stamps")

    def __init__(self, capacity: int, period: float) -> None:
        self.capacity = capacity
        self.period = period
        self.stamps: deque[float] = deque()

    def wait_time(self, now: float) -> float:
        stamps = self.stamps
        limit = now - self.period
        while stamps and stamps[0] <= limit:
            stamps.popleft()
        if len(stamps) < self.capacity:
            return 0.0
        return stamps[0] + self.period - now


def _window_shape(rate: float, period: float) -> tuple[int, float]:
    if rate >= 1:
        capacity = int(rate)
        return capacity, period * capacity / rate
    return 1, period / rate


class FloodControl:
    """The windows of one :class:`FloodLimits`: global, per chat and per group."""

    def __init__(self, limits: FloodLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._global = _Window(*_window_shape(limits.global_per_second, 1.0)) if limits.global_per_second else None
        self._chat_shape = _window_shape(limits.per_chat_per_second, 1.0) if limits.per_chat_per_second else None
        self._group_shape = _window_shape(limits.group_per_minute, 60.0) if limits.group_per_minute else None
        self._per_chat: dict[int, _Window] = {}
        self._per_group: dict[int, _Window] = {}
        self._checks = 0

    def _prune(self, now: float) -> None:
        for table in (self._per_chat, self._per_group):
            stale = [k for k, win in table.items() if not win.stamps or win.stamps[-1] <= now - win.period]
            for key in stale:
                del table[key]

    def acquire(self, chat_id: int, is_group: bool) -> int:
        """Record one send; return 0 when allowed, else ``retry_after`` seconds (>= 1)."""
        now = self.clock()
        self._checks += 1
        if self._checks % 50_000 == 0:
            self._prune(now)
        windows: list[_Window] = []
        if self._global is not None:
            windows.append(self._global)
        if self._chat_shape is not None:
            win = self._per_chat.get(chat_id)
            if win is None:
                win = self._per_chat[chat_id] = _Window(*self._chat_shape)
            windows.append(win)
        if is_group and self._group_shape is not None:
            win = self._per_group.get(chat_id)
            if win is None:
                win = self._per_group[chat_id] = _Window(*self._group_shape)
            windows.append(win)
        wait = max((w.wait_time(now) for w in windows), default=0.0)
        if wait > 0:
            return max(1, math.ceil(wait))
        for w in windows:
            w.stamps.append(now)
        return 0
