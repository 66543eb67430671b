"""Hub API rate limits: X-RateLimit-* headers on every answer and 429 with Retry-After when used up."""

from __future__ import annotations

import dataclasses

from starlette.testclient import TestClient

from dockyard.api.ratelimit import FixedWindowLimiter
from dockyard.app import create_app
from dockyard.config import Settings
from tests.conftest import ADMIN_PASSWORD


def test_headers_count_down_and_429_when_used_up(settings: Settings) -> None:
    with TestClient(create_app(dataclasses.replace(settings, api_rate_limit_per_minute=3))) as client:
        remaining = []
        for _ in range(3):
            response = client.post("/v2/auth/token", json={"identifier": "admin", "secret": ADMIN_PASSWORD})
            assert response.status_code == 200
            assert response.headers["x-ratelimit-limit"] == "3"
            assert int(response.headers["x-ratelimit-reset"]) > 0
            remaining.append(response.headers["x-ratelimit-remaining"])
        assert remaining == ["2", "1", "0"]
        refused = client.post("/v2/auth/token", json={"identifier": "admin", "secret": ADMIN_PASSWORD})
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["detail"] == "Rate limit exceeded"
        # The registry is not subject to the Hub API's limit.
        assert client.get("/v2/").status_code == 401


def test_signed_in_callers_are_counted_by_account(settings: Settings) -> None:
    with TestClient(create_app(dataclasses.replace(settings, api_rate_limit_per_minute=2))) as client:
        token = client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()["token"]
        client.post("/v2/auth/token", json={"identifier": "admin", "secret": ADMIN_PASSWORD})  # address now used up
        response = client.get("/v2/users/nobody/unknown/", headers={"Authorization": f"JWT {token}"})
        assert response.headers["x-ratelimit-remaining"] == "1"


def test_a_window_starts_with_the_clients_first_request_not_on_the_clock_minute() -> None:
    limiter = FixedWindowLimiter(2)
    assert limiter.hit("a", 1_000_059.5) == (True, 1, 1_000_120)  # one second before a clock minute
    assert limiter.hit("a", 1_000_060.5) == (True, 0, 1_000_120)  # the minute turned: same window
    assert limiter.hit("a", 1_000_061.0)[0] is False
    assert limiter.hit("b", 1_000_061.0) == (True, 1, 1_000_121)  # every client its own window
    assert limiter.hit("a", 1_000_119.5) == (True, 1, 1_000_180)  # 60 s after its first request: a new one
