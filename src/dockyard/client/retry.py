"""When to try a request again, and how long to wait first.

429, 502, 503 and 504 are retried, at most `retries` times. A `Retry-After` header (seconds, or an HTTP date) is
honoured exactly; without one the wait grows exponentially from `backoff` up to `max_backoff`, with a little jitter.
A `Retry-After` longer than `max_wait` is not slept through: the error is raised at once, carrying the header, so
a caller is never blocked for longer than it agreed to. Methods that may have had an effect (POST, PATCH) are only
retried on 429 and 503, the two answers that say the request was not processed. Any other status (404, 401, 400...)
is never retried.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

import httpx

RETRY_STATUSES = frozenset({429, 502, 503, 504})
NOT_PROCESSED = frozenset({429, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait according to `Retry-After` (or Docker Hub's older `X-Retry-After`, a unix time)."""
    value = response.headers.get("retry-after")
    if value is not None:
        value = value.strip()
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
    legacy = response.headers.get("x-retry-after")
    if legacy is not None:
        try:
            return max(0.0, float(legacy) - time.time())
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class RetryPolicy:
    """`retries` extra attempts after the first; `RetryPolicy(retries=0)` turns retrying off."""

    retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 8.0
    max_wait: float = 60.0
    jitter: float = 0.1

    def delay(self, method: str, response: httpx.Response, attempt: int) -> float | None:
        """Seconds to wait before attempt number `attempt + 1` (attempts count from 1), or None to give up."""
        status = response.status_code
        if status not in RETRY_STATUSES or attempt > self.retries:
            return None
        if method.upper() not in IDEMPOTENT and status not in NOT_PROCESSED:
            return None
        told = retry_after(response)
        if told is not None:
            return told if told <= self.max_wait else None
        wait = min(self.max_backoff, self.backoff * 2.0 ** (attempt - 1))
        return wait * (1 + random.uniform(0, self.jitter))


def as_policy(retries: int | RetryPolicy | None) -> RetryPolicy:
    if isinstance(retries, RetryPolicy):
        return retries
    return RetryPolicy(retries=max(0, retries or 0))
