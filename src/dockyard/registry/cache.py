"""A small in-process cache of manifest lookups, the registry's hottest read.

A pull asks for the same few tags thousands of times a second, and each answer is a (repository, reference) ->
manifest lookup. Entries are dropped the moment this process changes the repository (push, delete), so a single
server always answers from the database's current state. Other processes (replicas, `dockyard gc`) cannot reach
into this memory, so every entry also expires after a short time: that bounds how long another replica's change
can take to show here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CachedManifest:
    repository_id: int
    digest: str
    media_type: str
    size: int
    content: bytes


class ManifestCache:
    def __init__(self, ttl_seconds: float, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.ttl = ttl_seconds
        self.max_bytes = max_bytes
        # repository path -> reference (tag or digest) -> (expiry, manifest)
        self._repositories: dict[str, dict[str, tuple[float, CachedManifest]]] = {}
        self._bytes = 0
        # Bumped by every invalidation. A lookup that read the database before a change committed must not put
        # its stale answer back after the change invalidated the cache: it passes the epoch it started in.
        self.epoch = 0

    def get(self, path: str, reference: str) -> CachedManifest | None:
        entry = self._repositories.get(path, {}).get(reference)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self.invalidate(path)
            return None
        return entry[1]

    def put(self, path: str, reference: str, manifest: CachedManifest, epoch: int) -> None:
        size = len(manifest.content)
        if self.ttl <= 0 or size > self.max_bytes // 16 or epoch != self.epoch:
            return
        if self._bytes + size > self.max_bytes:
            self.clear()
        references = self._repositories.setdefault(path, {})
        old = references.get(reference)
        if old is not None:
            self._bytes -= len(old[1].content)
        references[reference] = (time.monotonic() + self.ttl, manifest)
        self._bytes += size

    def invalidate(self, path: str) -> None:
        """Forget everything about one repository (called after any change to it in this process)."""
        self.epoch += 1
        references = self._repositories.pop(path, None)
        if references:
            self._bytes -= sum(len(entry[1].content) for entry in references.values())

    def clear(self) -> None:
        self.epoch += 1
        self._repositories.clear()
        self._bytes = 0
