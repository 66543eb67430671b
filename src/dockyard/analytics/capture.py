"""Live capture: every manifest HEAD/GET the registry answers becomes one row of the shared event segments.

The bus handler runs on the request path, so it only appends the event, as a flat tuple, to a list. A background
task wakes every DOCKYARD_ANALYTICS_FLUSH_SECONDS (or as soon as DOCKYARD_ANALYTICS_FLUSH_EVENTS are waiting),
swaps the list for an empty one and hands the batch to a worker thread, which passes it to the writer: in the
server a child process (`writer_process`), which pseudonymises the address, looks up its place and parses the
user agent (each cached per distinct value) and writes the segments. Shutdown flushes whatever is left.

Events from distribution notifications take the same path (`submit`), so a registry that posts one event per
request still produces a few large segments rather than one file per pull.

Raw addresses exist only in memory, in the pending list; what reaches the disk is the pseudonym.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import anyio.to_thread

from dockyard.analytics.event_writer import Buffered, SegmentWriter, buffered
from dockyard.analytics.writer_process import WriterProcess
from dockyard.config import Settings
from dockyard.events import EventBus, wait_for_wake
from dockyard.registry.events import ManifestRequested

log = logging.getLogger(__name__)

# Past this many unwritten events (writes failing for a long time), the oldest are dropped, and counted, rather
# than letting memory grow without bound.
MAX_PENDING_FACTOR = 20


@dataclass(frozen=True, slots=True)
class CaptureStats:
    pending: int
    written: int
    dropped: int
    segments: int


class Capture:
    def __init__(
        self, writer: SegmentWriter, *, flush_seconds: float = 10.0, flush_events: int = 50_000, live: bool = True
    ) -> None:
        self.writer = writer
        self.flush_seconds = max(flush_seconds, 0.05)
        self.flush_events = max(flush_events, 1)
        self.live = live
        self._pending: list[Buffered] = []
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        # One flush at a time: the periodic one and an explicit one (shutdown, tests) must not interleave.
        self._flush_lock = threading.Lock()
        # Held only to append or to swap the list: the writer thread takes the list while requests add to it.
        self._pending_lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.segments = 0

    @classmethod
    def from_settings(cls, settings: Settings, secret: bytes) -> Capture:
        writer = WriterProcess(settings.data_dir, secret, settings.analytics_mmdb, fsync=settings.fsync)
        return cls(
            writer,
            flush_seconds=settings.analytics_flush_seconds,
            flush_events=settings.analytics_flush_events,
            live=settings.analytics_capture,
        )

    def subscribe(self, bus: EventBus) -> None:
        if self.live:
            bus.subscribe(ManifestRequested, self.record)

    # --- the request path: append and return -------------------------------------------------------------------
    def record(self, event: ManifestRequested) -> None:
        # The hot path of every manifest request: one append under an uncontended lock.
        with self._pending_lock:
            self._pending.append(buffered(event, "dockyard"))
            full = len(self._pending) >= self.flush_events
        if full:
            self._notify()

    def submit(self, events: Sequence[ManifestRequested], source: str) -> None:
        with self._pending_lock:
            self._pending.extend(buffered(event, source) for event in events)
            full = len(self._pending) >= self.flush_events
        if full:
            self._notify()

    def _notify(self) -> None:
        wake, loop = self._wake, self._loop
        if wake is None or loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wake.set()
        else:
            loop.call_soon_threadsafe(wake.set)

    # --- the background side -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="analytics-capture")

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            await wait_for_wake(self._wake, self.flush_seconds)
            try:
                await self.flush()
            except Exception:
                log.exception("writing analytics events failed; they stay pending and are retried")

    async def flush(self) -> int:
        """Write everything pending now; returns the number of events written."""
        return await anyio.to_thread.run_sync(self._flush_sync)

    def _flush_sync(self) -> int:
        with self._flush_lock:
            with self._pending_lock:
                batch, self._pending = self._pending, []
            if not batch:
                return 0
            try:
                paths = self.writer.write(batch)
            except Exception:
                self._requeue(batch)
                raise
            self.written += len(batch)
            self.segments += len(paths)
            return len(batch)

    def _requeue(self, batch: list[Buffered]) -> None:
        with self._pending_lock:
            pending = batch + self._pending
            limit = self.flush_events * MAX_PENDING_FACTOR
            if len(pending) > limit:
                self.dropped += len(pending) - limit
                log.error("analytics buffer full: dropped %d unwritten events", len(pending) - limit)
                pending = pending[-limit:]
            self._pending = pending

    async def close(self) -> None:
        """Stop the background task and write what is left (called on shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("writing the last analytics events at shutdown failed; %d lost", len(self._pending))
        self.writer.close()

    def stats(self) -> CaptureStats:
        return CaptureStats(len(self._pending), self.written, self.dropped, self.segments)
