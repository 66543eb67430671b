"""Per-client API rate limits in Docker Hub's style: `X-RateLimit-Limit` (requests a minute),
`X-RateLimit-Remaining`, `X-RateLimit-Reset` (unix time), and 429 with `Retry-After` once used up.

A client is the signed-in account when the request carries a valid Hub token, otherwise its address. Counters
live in this process's memory (one fixed one-minute window per client, from the client's first request in it, so
that clients do not all get their budget back at the same second, and a burst is never split by a clock minute),
which is what a single server needs; with several replicas each enforces the limit on the traffic it sees.
"""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dockyard.accounts.sessions import ACCESS
from dockyard.api.deps import bearer_token
from dockyard.http import client_ip

if TYPE_CHECKING:
    from dockyard.app import Services

WINDOW_SECONDS = 60
# Machine-to-machine endpoints with their own authentication: a registry posts one notification per request it
# serves, far beyond a person's API budget, and a 429 would only make it resend.
EXEMPT_PATHS = frozenset({"/api/registry-events", "/api/registry-events/"})
MAX_CLIENTS = 100_000


class FixedWindowLimiter:
    def __init__(self, limit: int, window_seconds: int = WINDOW_SECONDS) -> None:
        self.limit = limit
        self.window = window_seconds
        self._windows: dict[str, tuple[float, int]] = {}  # client -> (window start, requests in it)

    def hit(self, client: str, now: float) -> tuple[bool, int, int]:
        """Count a request: (allowed, remaining, unix time the window resets)."""
        start, used = self._windows.get(client, (now, 0))
        if now >= start + self.window:
            start, used = now, 0
        if len(self._windows) >= MAX_CLIENTS and client not in self._windows:
            self._windows = {k: v for k, v in self._windows.items() if now < v[0] + self.window}
        allowed = used < self.limit
        if allowed:
            used += 1
        self._windows[client] = (start, used)
        return allowed, max(self.limit - used, 0), math.ceil(start + self.window)


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.limiter: FixedWindowLimiter | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        services: Services | None = getattr(scope["app"].state, "services", None)
        limit = services.settings.api_rate_limit_per_minute if services else 0
        if services is None or limit <= 0 or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        if self.limiter is None or self.limiter.limit != limit:
            self.limiter = FixedWindowLimiter(limit)
        request = Request(scope)
        allowed, remaining, reset = self.limiter.hit(self._client(request, services), time.time())
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
        }
        if not allowed:
            retry_after = max(1, math.ceil(reset - time.time()))
            body = json.dumps({"detail": "Rate limit exceeded", "message": "Rate limit exceeded", "error": False})
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(retry_after).encode()),
                        *((k.lower().encode(), v.encode()) for k, v in headers.items()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                mutable = MutableHeaders(scope=message)
                for key, value in headers.items():
                    mutable[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)

    @staticmethod
    def _client(request: Request, services: Services) -> str:
        token = bearer_token(request)
        if token is not None:
            claims = services.hub_tokens.decode(token, ACCESS)
            if claims is not None:
                return f"account:{claims['uid']}"
        return "ip:" + client_ip(request, services.settings.trusted_proxies)
