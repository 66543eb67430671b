"""Live capture: every manifest HEAD/GET the registry answers becomes one row of the shared event segments.

The bus handler runs on the request path, so it only appends the event, as a flat tuple, to a list. A background
task wakes every DOCKYARD_ANALYTICS_FLUSH_SECONDS (or as soon as DOCKYARD_ANALYTICS_FLUSH_EVENTS are waiting),
swaps the list for an empty one and hands the batch to a worker thread, which pseudonymises the address, looks up
its place and parses the user agent (each cached per distinct value) and writes the segments. Shutdown flushes
whatever is left.

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
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio.to_thread
import pyarrow as pa

from dockyard.analytics import segments
from dockyard.analytics.enrich import Enricher
from dockyard.analytics.pseudonyms import Pseudonymizer
from dockyard.analytics.useragents import clip, parse
from dockyard.config import Settings
from dockyard.events import EventBus, wait_for_wake
from dockyard.registry.events import ManifestRequested

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "library"
# Past this many unwritten events (writes failing for a long time), the oldest are dropped, and counted, rather
# than letting memory grow without bound.
MAX_PENDING_FACTOR = 20


def split_repository(path: str) -> tuple[str, str]:
    """`ns/repo` -> (ns, repo); `ns/a/b` -> (ns, a/b); a one-segment name belongs to `library`."""
    namespace, _, name = path.strip("/").partition("/")
    return (namespace, name) if name else (DEFAULT_NAMESPACE, namespace)


# A manifest request as the buffer holds it: a flat tuple of strings, numbers and a datetime, in the order of
# `buffered`. The garbage collector stops tracking such tuples after one look; buffered event objects it walks
# again on every full collection, which cost the saturated server about 15 % more CPU per manifest request.
Buffered = tuple[str, str, str | None, str, int, str, str, str | None, datetime, str]


def buffered(event: ManifestRequested, source: str) -> Buffered:
    return (
        event.repository, event.reference, event.digest, event.method, event.status, event.client_ip,
        event.user_agent, event.account, event.time, source,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class CaptureStats:
    pending: int
    written: int
    dropped: int
    segments: int


class _Interned:
    """A column as codes into its distinct values (first-seen order)."""

    def __init__(self, values: list[Any]) -> None:
        index: dict[Any, int] = {}
        self.codes = pa.array([index.setdefault(value, len(index)) for value in values], pa.int32())
        self.distinct = list(index)

    def take(self, per_value: list[Any], kind: pa.DataType | None = None) -> pa.Array:
        """One derived value per distinct value, spread back over the rows."""
        return pa.array(per_value, kind or pa.string()).take(self.codes)

    def dictionary(self) -> pa.DictionaryArray:
        """The column itself, dictionary-encoded (for columns without nulls)."""
        return pa.DictionaryArray.from_arrays(self.codes, pa.array(self.distinct, pa.string()))

    def plain(self) -> pa.Array:
        return pa.array(self.distinct, pa.string()).take(self.codes)


class EventWriter:
    """Turns manifest requests into enriched rows and writes them as segments. Used from one thread at a time."""

    def __init__(self, data_dir: Path, secret: bytes, enricher: Enricher, *, fsync: bool = False) -> None:
        self.data_dir = data_dir
        self.pseudonym = Pseudonymizer(secret)
        self.enricher = enricher
        self.fsync = fsync

    def row(self, event: ManifestRequested, source: str) -> segments.EventRow:
        user_agent = clip(event.user_agent)
        agent = parse(user_agent)
        place = self.enricher(event.client_ip)
        namespace, repository = split_repository(event.repository)
        return segments.EventRow(
            ts=event.time,
            client=self.pseudonym(event.client_ip),
            user_agent=user_agent,
            ua_tool=agent.tool,
            ua_version=agent.version,
            method=event.method,
            namespace=namespace,
            repository=repository,
            reference=event.reference,
            digest=event.digest,
            status=event.status,
            account=event.account,
            country=place.country,
            host=place.host,
            ip_type=place.ip_type,
            domain=place.domain,
            source=source,
        )

    def table(self, batch: Sequence[Buffered]) -> pa.Table:
        """The batch as a table in the segment format, built column by column. Repeating values (addresses,
        agents, repositories, references...) are interned first, so each distinct one is pseudonymised, placed or
        parsed once per batch (and cached across batches), and the per-event work is a dict lookup plus Arrow's
        C++: the writer shares the GIL with the event loop serving pulls, so every microsecond here counts."""
        repository, reference, digest, method, status, client_ip, user_agent, account, when, source = (
            list(column) for column in zip(*batch, strict=True)
        )
        ips = _Interned(client_ip)
        places = [self.enricher(ip) for ip in ips.distinct]
        agents = _Interned([clip(agent) for agent in user_agent])
        parsed = [parse(agent) for agent in agents.distinct]
        repositories = _Interned(repository)
        names = [split_repository(path) for path in repositories.distinct]
        columns = {
            "ts": pa.array(when, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us")),
            "client": ips.take([self.pseudonym(ip) for ip in ips.distinct], pa.uint64()),
            "user_agent": agents.dictionary(),
            "ua_tool": agents.take([agent.tool for agent in parsed]),
            "ua_version": agents.take([agent.version for agent in parsed]),
            "method": _Interned(method).dictionary(),
            "namespace": repositories.take([namespace for namespace, _ in names]),
            "repository": repositories.take([name for _, name in names]),
            "reference": _Interned(reference).dictionary(),
            "digest": _Interned(digest).plain(),
            "status": pa.array(status, pa.int16()),
            "account": _Interned(account).plain(),
            "country": ips.take([place.country for place in places]),
            "host": ips.take([place.host for place in places]),
            "ip_type": ips.take([place.ip_type for place in places]),
            "domain": ips.take([place.domain for place in places]),
            "source": _Interned(source).dictionary(),
        }
        return segments.conform(pa.table(columns))

    def write(self, batch: Sequence[Buffered]) -> list[Path]:
        if not batch:
            return []
        return segments.write_segments(self.data_dir, self.table(batch), fsync=self.fsync)


class Capture:
    def __init__(
        self, writer: EventWriter, *, flush_seconds: float = 10.0, flush_events: int = 50_000, live: bool = True
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
        writer = EventWriter(
            settings.data_dir, secret, Enricher.from_setting(settings.analytics_mmdb), fsync=settings.fsync
        )
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
        self.writer.enricher.close()

    def stats(self) -> CaptureStats:
        return CaptureStats(len(self._pending), self.written, self.dropped, self.segments)
