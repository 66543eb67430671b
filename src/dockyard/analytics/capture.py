"""Live capture: every manifest HEAD/GET the registry answers becomes one row of the shared event segments.

The bus handler runs on the request path, so it is a list's own `append`: no Python code runs for an event there.
Every ENCODE_SECONDS a task on the event loop turns the events appended meanwhile into lines of text in a byte
buffer, so that their memory is soon reused. A second background task wakes every DOCKYARD_ANALYTICS_FLUSH_SECONDS
(or as soon as DOCKYARD_ANALYTICS_FLUSH_EVENTS are waiting), swaps the buffer for a spare and hands its bytes to a
worker thread, which passes them to the writer: in the server a child process (`writer_process`), which
pseudonymises the address, looks up its place and parses the user agent (each cached per distinct value) and
writes the segments. Shutdown flushes whatever is left.

Why so little on the request path: on one saturated core (`benchmarks/analytics_capture.py --interleave`), an
empty Python handler cost the manifest HEAD ~1.5 % of its throughput, encoding the line there 3-4 % and adding it
to the buffer 5-7 %, while appending the event and encoding a batch at a time cost 1-3 %; keeping the events until
the flush (10 s) instead cost ~6 %: their memory is then not reused by later requests. All of capture, the writing
included, costs that core 3-4 % (see the README).

Events from distribution notifications take the same path (`submit`), so a registry that posts one event per
request still produces a few large segments rather than one file per pull.

Raw addresses exist only in memory, in the buffer; what reaches the disk is the pseudonym.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio.to_thread

from dockyard.analytics.enrich import Enricher
from dockyard.analytics.event_writer import SegmentWriter, encoded
from dockyard.analytics.writer_process import WriterProcess
from dockyard.background import Background
from dockyard.config import Settings
from dockyard.events import EventBus
from dockyard.registry.events import ManifestRequested

log = logging.getLogger(__name__)

# Past this many unwritten events (writes failing for a long time), the oldest are dropped, and counted, rather
# than letting memory grow without bound.
MAX_PENDING_FACTOR = 20
# An encoded event is 150-400 bytes; a buffer larger than this per flush_events is not reused.
KEPT_BYTES_PER_EVENT = 1024
# How often appended events are encoded: at 10,000 requests a second, about a thousand events wait at most.
ENCODE_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Batch:
    """`count` encoded events, back to back."""

    count: int
    records: bytes | memoryview


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
        # The request path's handler: requests on any thread may append at any time, so an encoding round removes
        # only the events it took (under _encode_lock: the loop's rounds and a flush's thread take turns).
        self._events: list[ManifestRequested] = []
        self.record: Callable[[ManifestRequested], None] = self._events.append
        self._encode_lock = threading.Lock()
        self._encoder = Background("analytics capture encoder", self._encode_round, ENCODE_SECONDS)
        # Encoded events go here; a flush swaps it with the spare, hands its bytes to the writer and rewinds it.
        # Both keep their memory.
        self._buffer, self._spare = io.BytesIO(), io.BytesIO()
        self._count = 0
        # Batches the writer failed to write, oldest first: written before anything newer.
        self._kept: deque[Batch] = deque()
        self._background = Background("analytics capture writer", self._flush_round, self.flush_seconds)
        self._loop: asyncio.AbstractEventLoop | None = None  # set by start(): requests on other threads wake it
        # One flush at a time: the periodic one and an explicit one (shutdown, tests) must not interleave.
        self._flush_lock = threading.Lock()
        # Held only to add to the buffer or to swap it: the writer thread takes it while requests add to it.
        self._pending_lock = threading.Lock()
        self.written = 0
        self.dropped = 0
        self.segments = 0

    @classmethod
    def from_settings(cls, settings: Settings, secret: bytes) -> Capture:
        # The writer process opens the operator's MMDB files itself; a wrong path fails the server's start, here.
        Enricher.from_setting(settings.analytics_mmdb).close()
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

    # --- encoding: what requests appended, and events from other registries ------------------------------------
    async def _encode_round(self) -> None:
        self._encode_events()

    def _encode_events(self) -> None:
        with self._encode_lock:
            taken = self._events[:]
            if not taken:
                return
            del self._events[: len(taken)]
            self.submit(taken, "dockyard")

    def submit(self, events: Sequence[ManifestRequested], source: str) -> None:
        self._add(b"".join(encoded(event, source) for event in events), len(events))

    def _add(self, records: bytes, count: int) -> None:
        with self._pending_lock:
            self._buffer.write(records)
            self._count += count
            full = self._count >= self.flush_events
        if full:
            self._notify()

    def _notify(self) -> None:
        loop = self._loop
        if loop is None:
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._background.wake()
        else:
            loop.call_soon_threadsafe(self._background.wake)

    # --- the background side -------------------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._background.start()
        if self.live:
            self._encoder.start()

    async def _flush_round(self) -> None:
        # A failed flush keeps its events for the next round; the loop logs the failure.
        await self.flush()

    async def flush(self) -> int:
        """Write everything pending now; returns the number of events written."""
        return await anyio.to_thread.run_sync(self._flush_sync)

    def _flush_sync(self) -> int:
        with self._flush_lock:
            self._encode_events()
            with self._pending_lock:
                full, count = self._buffer, self._count
                self._buffer, self._spare, self._count = self._spare, full, 0
            try:
                with full.getbuffer() as view, view[: full.tell()] as records:
                    try:
                        written = self._write_kept()
                        if count:
                            written += self._write(Batch(count, records))
                    except Exception:
                        if count:  # kept (copied: the buffer is reused) for the next flush, after older ones
                            self._keep(Batch(count, bytes(records)))
                        raise
            finally:
                if full.tell() > self.flush_events * KEPT_BYTES_PER_EVENT:
                    self._spare = io.BytesIO()  # grown far past a normal batch (a stalled writer): not kept
                else:
                    full.seek(0)
            return written

    def _write_kept(self) -> int:
        written = 0
        while self._kept:
            written += self._write(self._kept[0])
            self._kept.popleft()
        return written

    def _write(self, batch: Batch) -> int:
        paths = self.writer.write_records(batch.records)
        self.written += batch.count
        self.segments += len(paths)
        return batch.count

    def _keep(self, batch: Batch) -> None:
        self._kept.append(batch)
        limit = self.flush_events * MAX_PENDING_FACTOR
        while len(self._kept) > 1 and sum(kept.count for kept in self._kept) > limit:
            oldest = self._kept.popleft()
            self.dropped += oldest.count
            log.error("analytics buffer full: dropped %d unwritten events", oldest.count)

    async def close(self) -> None:
        """Stop the background tasks and write what is left (called on shutdown)."""
        await self._encoder.stop()
        await self._background.stop()
        try:
            await self.flush()
        except Exception:
            log.exception("writing the last analytics events at shutdown failed; %d lost", self.stats().pending)
        self.writer.close()

    def stats(self) -> CaptureStats:
        pending = len(self._events) + self._count + sum(batch.count for batch in self._kept)
        return CaptureStats(pending, self.written, self.dropped, self.segments)
