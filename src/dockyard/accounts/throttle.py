"""Login throttling: too many failed sign-ins for one username, or from one client address, and further attempts
are refused for a while, right or wrong, so passwords and codes cannot be guessed at speed.

It is in memory, per process: an attacker spread over many replicas gets a few times the budget, which still
turns an online guessing attack from hopeless-to-stop into hopeless-to-run. Every sign-in path shares one
instance: `/v2/users/login`, `/v2/users/2fa-login`, `/v2/auth/token`, the registry's `/token` and HTTP Basic.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

USER_FAILURES = 10
IP_FAILURES = 30
WINDOW_SECONDS = 300.0
MAX_KEYS = 100_000


class Throttled(Exception):
    """Refused before checking the credentials; `retry_after` is in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed sign-in attempts; try again in {retry_after} seconds")
        self.retry_after = retry_after


class LoginThrottle:
    def __init__(
        self,
        user_failures: int = USER_FAILURES,
        ip_failures: int = IP_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = {"user": user_failures, "ip": ip_failures}
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}

    def _keys(self, username: str | None, ip: str | None) -> list[tuple[str, str]]:
        keys = []
        if username:
            keys.append(("user", "user:" + username.lower()))
        if ip:
            keys.append(("ip", "ip:" + ip))
        return keys

    def _recent(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def check(self, username: str | None, ip: str | None) -> None:
        """Raise Throttled when the username or the address has used up its failures in the window."""
        now = self.clock()
        for kind, key in self._keys(username, ip):
            times = self._recent(key, now)
            if times is not None and len(times) >= self.limits[kind]:
                # Free again once the oldest failure that still counts leaves the window.
                oldest_counted = times[len(times) - self.limits[kind]]
                raise Throttled(max(1, math.ceil(oldest_counted + self.window - now)))

    def failure(self, username: str | None, ip: str | None) -> None:
        now = self.clock()
        if len(self._failures) >= MAX_KEYS:
            # A flood of distinct usernames must not grow memory without bound; forgetting is the safe side.
            self._failures.clear()
        for kind, key in self._keys(username, ip):
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while len(times) > self.limits[kind]:
                times.popleft()

    def success(self, username: str | None) -> None:
        if username:
            self._failures.pop("user:" + username.lower(), None)
