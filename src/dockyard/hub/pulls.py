"""Pull statistics: repository pull counts and last-pulled times of manifests and tags, from the registry's
ManifestRequested events.

This is the one seam between pulls and the numbers the Hub API shows; the analytics pipeline may later feed the
same `RegistryManagement.record_pulls` from its own data instead. The bus handler only appends to a buffer (it
runs on the pull's request path); a background task writes the buffer in batches, and the last batch is written
on shutdown. Only a GET that found its manifest counts: a HEAD is a version check, not a pull.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from datetime import datetime

from dockyard.db import Database
from dockyard.events import EventBus, wait_for_wake
from dockyard.registry.events import ManifestRequested
from dockyard.registry.management import PullTally, RegistryManagement
from dockyard.registry.service import RegistryService

log = logging.getLogger(__name__)

FLUSH_INTERVAL_SECONDS = 5.0
FLUSH_AT = 5_000
# While the database is unreachable, pulls beyond this many are dropped rather than growing memory without bound.
MAX_BUFFERED = 500_000


class PullRecorder:
    def __init__(self, db: Database, registry: RegistryService, *, interval: float = FLUSH_INTERVAL_SECONDS) -> None:
        self.db = db
        self.management = RegistryManagement(registry)
        self.interval = interval
        self._buffer: list[tuple[str, str, datetime]] = []
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def subscribe(self, bus: EventBus) -> None:
        bus.subscribe(ManifestRequested, self.capture)

    def capture(self, event: ManifestRequested) -> None:
        if event.method != "GET" or event.status != 200 or not event.digest:
            return
        if len(self._buffer) >= MAX_BUFFERED:
            self.dropped += 1
            return
        self._buffer.append((event.repository, event.digest, event.time))
        if len(self._buffer) >= FLUSH_AT:
            self._wake.set()

    async def flush(self) -> int:
        """Write what is buffered; returns how many manifest GETs were written."""
        async with self._lock:
            batch, self._buffer = self._buffer, []
            if not batch:
                return 0
            tallies: dict[str, dict[str, PullTally]] = defaultdict(dict)
            for path, digest, when in batch:
                previous = tallies[path].get(digest)
                if previous is None:
                    tallies[path][digest] = PullTally(1, when)
                else:
                    tallies[path][digest] = PullTally(previous.gets + 1, max(previous.last, when))
            try:
                async with self.db.writer() as session:
                    await self.management.record_pulls(session, tallies)
            except BaseException:
                # Put the batch back for the next attempt (also when cancelled at shutdown, so the final flush
                # writes it); the transaction wrote none of it.
                self._buffer[:0] = batch[: max(0, MAX_BUFFERED - len(self._buffer))]
                raise
            return len(batch)

    async def _run(self) -> None:
        while True:
            await wait_for_wake(self._wake, self.interval)
            try:
                await self.flush()
            except Exception:
                log.exception("writing pull statistics failed; will retry")

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Stop the background task and write what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        try:
            await self.flush()
        except Exception:
            log.exception("writing the last pull statistics failed")
