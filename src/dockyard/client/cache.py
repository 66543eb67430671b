"""An in-memory cache of GET answers, like the npm client's (five minutes by default, can be turned off).

Entries are keyed by the caller's identity (a digest of the credentials, so two accounts never share an answer),
the full URL with its query, and the `Accept` header. Only successful answers of the Hub and DVP APIs are kept;
registry calls are never cached. Any write (POST, PUT, PATCH, DELETE) drops every entry on the same resource: the
entries whose path is the written path, lies under it, or lies above it (a collection the resource belongs to), so
creating a tag's repository, starring it or deleting one of its tags is seen at once by the next GET of the
repository, of its tag list and of the namespace's repository list. Paths are compared in a canonical form so the
two spellings of one resource (`/v2/namespaces/NS/repositories/R` and `/v2/repositories/NS/R/`, `/v2/api_tokens`
and `/v2/access-tokens`, with or without the trailing slash) invalidate each other.
"""

from __future__ import annotations

import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

DEFAULT_TTL = 300.0
MAX_ENTRIES = 512

_NAMESPACES = re.compile(r"^/v2/namespaces/([^/]+)/repositories(?=/|$)")
_API_TOKENS = re.compile(r"^/v2/api_tokens(?=/|$)")
CacheKey = tuple[str, str, str]


def canonical_path(path_or_url: str) -> str:
    """The path of a URL in the form used to compare resources: lower case, no trailing slash, one spelling."""
    path = urlsplit(path_or_url).path if "://" in path_or_url else path_or_url.split("?", 1)[0]
    path = path.lower().rstrip("/") or "/"
    path = _NAMESPACES.sub(r"/v2/repositories/\1", path)
    return _API_TOKENS.sub("/v2/access-tokens", path)


def related(a: str, b: str) -> bool:
    """True when one canonical path is the other or lies under it (whole segments only)."""
    if a == b:
        return True
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return longer.startswith(shorter.rstrip("/") + "/")


@dataclass
class _Entry:
    path: str
    expires: float
    response: httpx.Response


class ResponseCache:
    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        *,
        enabled: bool = True,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.enabled = enabled and ttl > 0
        self.max_entries = max_entries
        self.clock = clock
        self._entries: OrderedDict[CacheKey, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    @staticmethod
    def key(identity: str, url: str, accept: str = "") -> CacheKey:
        return (identity, url, accept)

    def get(self, key: CacheKey) -> httpx.Response | None:
        if not self.enabled:
            return None
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self.clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry.response

    def put(self, key: CacheKey, response: httpx.Response) -> None:
        if not self.enabled:
            return
        self._entries[key] = _Entry(canonical_path(key[1]), self.clock() + self.ttl, response)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def invalidate(self, paths: Iterable[str]) -> int:
        """Drop the entries related to any of these paths (or URLs); the number dropped."""
        targets = [canonical_path(path) for path in paths]
        doomed = [key for key, entry in self._entries.items() if any(related(entry.path, t) for t in targets)]
        for key in doomed:
            del self._entries[key]
        return len(doomed)

    def clear(self) -> None:
        self._entries.clear()
