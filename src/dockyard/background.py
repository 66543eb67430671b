"""Background loops: a task that does one round of work every so often, or sooner when woken, until stopped.

Stopping never cancels the task. A cancellation that lands inside a database call makes SQLAlchemy invalidate the
connection in mid-statement. On SQLite that has left the write lock held, so the last flush at shutdown waited out
the busy timeout and lost its rows; and a cancellation that came back as an ordinary database error was caught by
the loop's error handler, so shutdown waited forever. `stop()` asks the loop to end, wakes it, and waits for the
round under way to finish; work that may take long is asked to stop by its owner first (the analytics job ends
between two days or periods).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

# One round of work; it may return how soon the next round is due (never later than the loop's period).
Work = Callable[[], Awaitable[float | None]]


class Background:
    """`work` every `seconds` (never, when that is 0 or less: the loop is off)."""

    def __init__(self, name: str, work: Work, seconds: float, *, at_start: bool = False) -> None:
        self.name = name
        self.work = work
        self.seconds = seconds
        self.at_start = at_start
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Start the next round now (from the event loop's thread)."""
        self._wake.set()

    def start(self) -> None:
        if self.seconds <= 0:
            return
        self._stopping = False
        if self.at_start:
            self._wake.set()
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        await task

    async def _run(self) -> None:
        wait = self.seconds
        while True:
            await _sleep_until_woken(self._wake, wait)
            if self._stopping:
                return
            try:
                due = await self.work()
            except Exception:
                log.exception("%s failed; it runs again within %s s", self.name, self.seconds)
                due = None
            wait = self.seconds if due is None else min(due, self.seconds)


async def _sleep_until_woken(wake: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await wake.wait()
    wake.clear()
