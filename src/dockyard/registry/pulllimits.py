"""Docker Hub-style pull rate limits (off unless configured).

A pull is a GET of an image manifest: HEAD requests (version checks) and index GETs do not count, so a
multi-arch pull counts once for the platform it fetches. Anonymous callers are counted by address (IPv6 by /64,
as Docker Hub does), signed-in ones by account. Both GET and HEAD answers carry `ratelimit-limit`,
`ratelimit-remaining` (`N;w=SECONDS`) and `docker-ratelimit-source`; a caller with no limit gets no headers.
Counts are kept per process in a sliding window of small buckets.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass

from dockyard.registry.auth import Caller
from dockyard.registry.errors import TooManyRequests

BUCKETS = 60
LIMIT_MESSAGE = (
    "You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: "
    "https://www.docker.com/increase-rate-limits"
)


@dataclass(frozen=True, slots=True)
class PullAllowance:
    limit: int
    remaining: int
    window: int
    source: str

    def headers(self) -> dict[str, str]:
        return {
            "ratelimit-limit": f"{self.limit};w={self.window}",
            "ratelimit-remaining": f"{self.remaining};w={self.window}",
            "docker-ratelimit-source": self.source,
        }


def _address_source(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


class PullLimiter:
    def __init__(self, anonymous: int, authenticated: int, window_seconds: int) -> None:
        self.anonymous = anonymous
        self.authenticated = authenticated
        self.window = window_seconds
        self.bucket_seconds = max(1, window_seconds // BUCKETS)
        self._counts: dict[str, deque[list[int]]] = {}  # source -> [[bucket start, pulls], ...]

    def _source(self, caller: Caller) -> tuple[str, int]:
        if caller.subject.account_id is not None:
            return str(caller.subject.account_id), self.authenticated
        if caller.subject.org_grant is not None:
            # An organisation access token pulls on the organisation's allowance, not its address's.
            return f"org:{caller.subject.org_grant.org_id}", self.authenticated
        return _address_source(caller.client_ip), self.anonymous

    def _used(self, source: str, now: float) -> int:
        buckets = self._counts.get(source)
        if not buckets:
            return 0
        horizon = now - self.window
        while buckets and buckets[0][0] + self.bucket_seconds <= horizon:
            buckets.popleft()
        if not buckets:
            del self._counts[source]
            return 0
        return sum(count for _, count in buckets)

    def check(self, caller: Caller, now: float, *, blocking: bool) -> PullAllowance | None:
        """The caller's allowance before a request; for a GET (`blocking`), 429 once nothing is left."""
        source, limit = self._source(caller)
        if limit <= 0:
            return None
        allowance = PullAllowance(limit, max(limit - self._used(source, now), 0), self.window, source)
        if blocking and allowance.remaining == 0:
            raise TooManyRequests(LIMIT_MESSAGE, headers=allowance.headers())
        return allowance

    def count(self, caller: Caller, now: float) -> PullAllowance | None:
        source, limit = self._source(caller)
        if limit <= 0:
            return None
        start = int(now // self.bucket_seconds) * self.bucket_seconds
        buckets = self._counts.setdefault(source, deque())
        if buckets and buckets[-1][0] == start:
            buckets[-1][1] += 1
        else:
            buckets.append([start, 1])
        return PullAllowance(limit, max(limit - self._used(source, now), 0), self.window, source)
