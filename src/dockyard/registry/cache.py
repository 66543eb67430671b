"""A small in-process cache of manifest and blob lookups, the registry's hottest reads.

A pull asks for the same few tags thousands of times a second, and each answer is a (repository, reference) ->
manifest lookup; its layers are (repository, digest) -> blob lookups. A database round trip costs about a
millisecond of CPU here (thread hops), a dictionary lookup a microsecond. Entries are dropped the moment this
process changes the repository (push, delete), so a single server always answers from the database's current
state. Other processes (replicas, `dockyard gc`) cannot reach into this memory, so every entry also expires after
a short time: that bounds how long another replica's change can take to show here.
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


@dataclass(frozen=True, slots=True)
class CachedBlob:
    digest: str
    size: int


BLOB_ENTRY_BYTES = 200  # roughly what a blob entry takes, for the byte budget
# Blob entries share a repository's map with its manifest references; a tag or digest never starts like this.
_BLOB_KEY = "blob:"


class ManifestCache:
    def __init__(self, ttl_seconds: float, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.ttl = ttl_seconds
        self.max_bytes = max_bytes
        # repository path -> reference (tag or digest), or blob key -> (expiry, entry)
        self._repositories: dict[str, dict[str, tuple[float, CachedManifest | CachedBlob]]] = {}
        self._bytes = 0
        # Bumped by every invalidation. A lookup that read the database before a change committed must not put
        # its stale answer back after the change invalidated the cache: it passes the epoch it started in.
        self.epoch = 0

    def get(self, path: str, reference: str) -> CachedManifest | None:
        entry = self._get(path, reference)
        return entry if isinstance(entry, CachedManifest) else None

    def put(self, path: str, reference: str, manifest: CachedManifest, epoch: int) -> None:
        self._put(path, reference, manifest, epoch)

    def get_blob(self, path: str, digest: str) -> CachedBlob | None:
        """A blob known to be linked into the repository (misses are never cached: a push is about to fix them)."""
        entry = self._get(path, _BLOB_KEY + digest)
        return entry if isinstance(entry, CachedBlob) else None

    def put_blob(self, path: str, blob: CachedBlob, epoch: int) -> None:
        self._put(path, _BLOB_KEY + blob.digest, blob, epoch)

    def _get(self, path: str, key: str) -> CachedManifest | CachedBlob | None:
        entry = self._repositories.get(path, {}).get(key)
        if entry is None:
            return None
        if entry[0] < time.monotonic():
            self.invalidate(path)
            return None
        return entry[1]

    def _put(self, path: str, key: str, value: CachedManifest | CachedBlob, epoch: int) -> None:
        size = _weight(value)
        if self.ttl <= 0 or size > self.max_bytes // 16 or epoch != self.epoch:
            return
        if self._bytes + size > self.max_bytes:
            self.clear()
        entries = self._repositories.setdefault(path, {})
        old = entries.get(key)
        if old is not None:
            self._bytes -= _weight(old[1])
        entries[key] = (time.monotonic() + self.ttl, value)
        self._bytes += size

    def invalidate(self, path: str) -> None:
        """Forget everything about one repository (called after any change to it in this process)."""
        self.epoch += 1
        entries = self._repositories.pop(path, None)
        if entries:
            self._bytes -= sum(_weight(entry[1]) for entry in entries.values())

    def clear(self) -> None:
        self.epoch += 1
        self._repositories.clear()
        self._bytes = 0


def _weight(value: CachedManifest | CachedBlob) -> int:
    return len(value.content) if isinstance(value, CachedManifest) else BLOB_ENTRY_BYTES
