"""A wake-all notification the fake Bot APIs use for long polls and waiting helpers."""

from __future__ import annotations

import asyncio


class Signal:
    """Wake every waiter at once (safe because everything runs in one event loop)."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float | None) -> bool:  # noqa: ASYNC109
        """True when notified within ``timeout`` seconds (None: no limit)."""
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        if timeout is not None and timeout <= 0:
            return False
        try:
            async with asyncio.timeout(timeout):
                await event.wait()
        except TimeoutError:
            return False
        return True
