"""Signing in: the 2FA callback, lazy sign-in, renewal with the refresh token before expiry or after a 401, and
logout forgetting everything."""

from __future__ import annotations

import asyncio
import base64
import json
import time

import pytest

from dockyard.client import AsyncHub, AuthenticationError, Hub
from dockyard.client.context import Context, jwt_expiry
from tests.client.fake import FakeServer, Reply, Seen

CHALLENGE = Reply(401, {"detail": "Require secondary authentication on MFA enabled account", "login_2fa_token": "c"})


def jwt(exp: float, name: str = "x") -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part({'exp': int(exp), 'sub': name})}.sig"


def test_login_asks_the_callback_for_the_second_factor(fake: FakeServer) -> None:
    fresh = jwt(time.time() + 600, "session")
    fake.add("POST", "/v2/users/login", CHALLENGE)
    fake.add("POST", "/v2/users/2fa-login", Reply(json={"token": fresh, "refresh_token": "r1"}))
    fake.add("GET", "/v2/user/", Reply(json={"username": "alice"}))
    asked: list[str] = []

    def code() -> str:
        asked.append("asked")
        return " 123456 "

    with Hub(fake.base_url, username="alice", password="pw", otp_callback=code) as hub:
        assert hub.me().username == "alice"  # signs in first, by itself
        assert hub.token == fresh and hub.refresh_token == "r1"
    assert asked == ["asked"]
    login = fake.seen("POST", "/v2/users/login")[0]
    assert login.json() == {"username": "alice", "password": "pw"}
    assert dict(login.query) == {"refresh_token": "true"}
    assert "authorization" not in login.headers
    assert fake.seen("POST", "/v2/users/2fa-login")[0].json() == {"login_2fa_token": "c", "code": "123456"}
    assert fake.seen("GET", "/v2/user/")[0].headers["authorization"] == f"Bearer {fresh}"


def test_async_clients_take_coroutine_callbacks(fake: FakeServer) -> None:
    fake.add("POST", "/v2/users/login", CHALLENGE)
    fake.add("POST", "/v2/users/2fa-login", Reply(json={"token": "t"}))

    async def code() -> str:
        await asyncio.sleep(0)
        return "654321"

    async def main() -> str:
        async with AsyncHub(fake.base_url, otp_callback=code) as hub:
            return (await hub.login("alice", "pw")).token

    assert asyncio.run(main()) == "t"
    assert fake.seen("POST", "/v2/users/2fa-login")[0].json()["code"] == "654321"


def test_wrong_credentials(fake: FakeServer) -> None:
    fake.add("POST", "/v2/users/login", Reply(401, {"detail": "Incorrect authentication credentials"}))
    with Hub(fake.base_url) as hub, pytest.raises(AuthenticationError) as raised:
        hub.login("alice", "nope")
    assert raised.value.detail == "Incorrect authentication credentials"
    assert hub.token is None


def test_an_expiring_token_is_renewed_with_the_refresh_token(fake: FakeServer) -> None:
    fresh = jwt(time.time() + 600)
    fake.add("POST", "/v2/auth/token", Reply(json={"access_token": fresh}))
    fake.add("GET", "/v2/user/", Reply(json={"username": "alice"}))
    saved: list[str | None] = []
    with Hub(
        fake.base_url,
        username="alice",
        token=jwt(time.time() + 5),
        refresh_token="r1",
        on_token=lambda ctx: saved.append(ctx.token),
    ) as hub:
        hub.me()
    assert fake.seen("POST", "/v2/auth/token")[0].json() == {"identifier": "alice", "secret": "r1"}
    assert fake.seen("GET", "/v2/user/")[0].headers["authorization"] == f"Bearer {fresh}"
    assert saved == [fresh]


def test_a_401_signs_in_again_once(fake: FakeServer) -> None:
    fresh = jwt(time.time() + 600)
    fake.add("POST", "/v2/auth/token", Reply(json={"access_token": fresh}))

    def user(seen: Seen) -> Reply:
        if seen.headers.get("authorization") == f"Bearer {fresh}":
            return Reply(json={"username": "alice"})
        return Reply(401, {"detail": "Authentication credentials were not provided or are invalid."})

    fake.add("GET", "/v2/user/", user)
    with Hub(fake.base_url, username="alice", token="revoked", refresh_token="r1", cache=False) as hub:
        assert hub.me().username == "alice"
    assert len(fake.seen("GET", "/v2/user/")) == 2
    fake.add("POST", "/v2/auth/token", Reply(json={"access_token": "still-bad"}))
    with (
        Hub(fake.base_url, username="alice", token="revoked", refresh_token="r1", cache=False) as hub,
        pytest.raises(AuthenticationError),
    ):
        hub.me()
    assert len(fake.seen("GET", "/v2/user/")) == 4  # one new attempt, no loop


def test_without_a_way_to_sign_in_a_401_is_raised(fake: FakeServer) -> None:
    fake.add("GET", "/v2/user/", Reply(401, {"detail": "nope"}))
    with Hub(fake.base_url, token="t") as hub, pytest.raises(AuthenticationError):
        hub.me()
    assert fake.seen("POST") == []


def test_logout_revokes_the_session_and_forgets_it(fake: FakeServer) -> None:
    fake.add("POST", "/v2/logout/", Reply(json={}))
    with Hub(fake.base_url, username="alice", password="pw", token="t", refresh_token="r") as hub:
        hub.logout()
        assert hub.token is None and hub.refresh_token is None and hub.context.password is None
    sent = fake.seen("POST", "/v2/logout/")[0]
    assert sent.headers["authorization"] == "Bearer t"
    assert sent.json() == {"refresh_token": "r"}


def test_auth_token_for_an_organisation_access_token(fake: FakeServer) -> None:
    fake.add("POST", "/v2/auth/token", Reply(json={"access_token": "short"}))
    with Hub(fake.base_url) as hub:
        assert hub.auth_token("acme", "dckr_oat_x") == "short"
        assert hub.token == "short"


def test_jwt_expiry_and_docker_hub_defaults() -> None:
    assert jwt_expiry(jwt(1234)) == 1234
    assert jwt_expiry("not-a-jwt") is None
    hub = Context.build()
    assert (hub.base_url, hub.registry_url, hub.auth_url) == (
        "https://hub.docker.com",
        "https://registry-1.docker.io",
        "https://auth.docker.io/token",
    )
    own = Context.build("http://hub.example:5000/")
    assert (own.base_url, own.registry_url, own.auth_url) == (
        "http://hub.example:5000",
        "http://hub.example:5000",
        None,
    )
