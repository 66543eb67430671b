"""429, 502, 503 and 504 are retried a bounded number of times, after the wait `Retry-After` asks for (or a
growing backoff); a `Retry-After` longer than the client will wait, and every other refusal, raise at once."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from dockyard.client import AsyncHub, Hub, NotFound, RateLimited, RetryPolicy, ServerError
from dockyard.client.errors import AuthenticationError, BadRequest
from dockyard.client.retry import retry_after
from tests.client.fake import FakeServer, Reply

USER = "/v2/user/"
OK = Reply(json={"username": "alice"})
FAST = RetryPolicy(retries=3, backoff=0.01, max_backoff=0.02)


def test_retry_after_is_honoured(fake: FakeServer) -> None:
    fake.add("GET", USER, Reply(429, {"detail": "Rate limit exceeded", "error": False}, {"Retry-After": "1"}), OK)
    with Hub(fake.base_url, cache=False) as hub:
        started = time.monotonic()
        assert hub.me().username == "alice"
        elapsed = time.monotonic() - started
    assert elapsed >= 0.95
    assert len(fake.seen("GET", USER)) == 2


def test_server_errors_are_retried_with_backoff_then_succeed(fake: FakeServer) -> None:
    fake.add("GET", USER, Reply(503), Reply(502), Reply(504), OK)
    with Hub(fake.base_url, cache=False, retries=FAST) as hub:
        assert hub.me().username == "alice"
    assert len(fake.seen("GET", USER)) == 4


def test_attempts_are_bounded(fake: FakeServer) -> None:
    fake.add("GET", USER, Reply(503, {"detail": "maintenance", "message": "maintenance"}))
    with Hub(fake.base_url, cache=False, retries=FAST) as hub, pytest.raises(ServerError) as raised:
        hub.me()
    assert raised.value.status == 503
    assert raised.value.detail == "maintenance"
    assert len(fake.seen("GET", USER)) == 4  # the first attempt and three retries


def test_retries_can_be_turned_off(fake: FakeServer) -> None:
    fake.add("GET", USER, Reply(429, {"detail": "slow down"}, {"Retry-After": "0"}))
    with Hub(fake.base_url, cache=False, retries=0) as hub, pytest.raises(RateLimited):
        hub.me()
    assert len(fake.seen("GET", USER)) == 1


def test_a_retry_after_longer_than_the_limit_raises_at_once(fake: FakeServer) -> None:
    fake.add("GET", USER, Reply(429, {"detail": "Rate limit exceeded"}, {"Retry-After": "3600"}), OK)
    with Hub(fake.base_url, cache=False, retries=RetryPolicy(max_wait=5)) as hub:
        started = time.monotonic()
        with pytest.raises(RateLimited) as raised:
            hub.me()
        assert time.monotonic() - started < 1
    assert raised.value.retry_after is not None and raised.value.retry_after > 3500
    assert raised.value.message == "Rate limit exceeded"
    assert len(fake.seen("GET", USER)) == 1


@pytest.mark.parametrize(
    ("status", "error"), [(400, BadRequest), (401, AuthenticationError), (404, NotFound), (500, ServerError)]
)
def test_other_refusals_are_not_retried(fake: FakeServer, status: int, error: type[Exception]) -> None:
    fake.add("GET", USER, Reply(status, {"detail": "no", "message": "no"}), OK)
    with Hub(fake.base_url, cache=False, retries=FAST) as hub, pytest.raises(error):
        hub.me()
    assert len(fake.seen("GET", USER)) == 1


def test_a_post_is_retried_only_when_it_was_not_processed(fake: FakeServer) -> None:
    created = Reply(201, {"uuid": "u", "token_label": "ci", "token": "dckr_pat_x"})
    fake.add("POST", "/v2/access-tokens", Reply(502), created)
    with Hub(fake.base_url, cache=False, retries=FAST) as hub, pytest.raises(ServerError):
        hub.create_access_token("ci")
    assert len(fake.seen("POST", "/v2/access-tokens")) == 1
    fake.add("POST", "/v2/access-tokens", Reply(503, headers={"Retry-After": "0"}), Reply(429), created)
    with Hub(fake.base_url, cache=False, retries=FAST) as hub:
        assert hub.create_access_token("ci").uuid == "u"
    assert len(fake.seen("POST", "/v2/access-tokens")) == 4


def test_the_async_client_retries_the_same_way(fake: FakeServer) -> None:
    fake.add("GET", USER, Reply(429, headers={"Retry-After": "1"}), Reply(503), OK)

    async def main() -> str:
        async with AsyncHub(fake.base_url, cache=False, retries=FAST) as hub:
            return (await hub.me()).username

    started = time.monotonic()
    assert asyncio.run(main()) == "alice"
    assert time.monotonic() - started >= 0.95
    assert len(fake.seen("GET", USER)) == 3


def test_retry_after_forms() -> None:
    assert retry_after(httpx.Response(429, headers={"Retry-After": "7"})) == 7
    assert retry_after(httpx.Response(429, headers={"Retry-After": "Thu, 01 Jan 1970 00:00:00 GMT"})) == 0
    future = time.time() + 100
    legacy = retry_after(httpx.Response(429, headers={"X-Retry-After": str(int(future))}))
    assert legacy is not None and 90 < legacy <= 100
    assert retry_after(httpx.Response(429)) is None
    assert retry_after(httpx.Response(429, headers={"Retry-After": "soon"})) is None
