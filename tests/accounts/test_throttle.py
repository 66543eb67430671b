"""Login throttling: after too many failures for a username (or from an address), every sign-in path answers 429
with Retry-After, right password or not, until the window moves on; a success clears the username's count."""

from __future__ import annotations

import pyotp
import pytest
from starlette.testclient import TestClient

from dockyard.accounts.throttle import LoginThrottle, Throttled
from tests.accounts.helpers import user_session
from tests.conftest import ADMIN_PASSWORD, basic
from tests.registry.helpers import PASSWORD, assert_error, create_user

# Real argon2id at its lowest cost: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("fast_passwords")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _retry_after(throttle: LoginThrottle, user: str | None, ip: str | None) -> int:
    with pytest.raises(Throttled) as raised:
        throttle.check(user, ip)
    return raised.value.retry_after


def test_failures_per_user_expire_with_the_window() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(user_failures=3, ip_failures=100, window_seconds=60, clock=clock)
    for _ in range(3):
        throttle.check("alice", "10.0.0.1")
        throttle.failure("alice", "10.0.0.1")
        clock.now += 10
    assert _retry_after(throttle, "ALICE", "10.0.0.2") == 30  # now 1030; the first failure leaves at 1060
    throttle.check("bob", "10.0.0.1")
    clock.now = 1060.0
    throttle.check("alice", "10.0.0.1")


def test_success_clears_the_user_but_not_the_address() -> None:
    throttle = LoginThrottle(user_failures=2, ip_failures=3, window_seconds=60, clock=FakeClock())
    throttle.failure("alice", "10.0.0.1")
    throttle.failure("alice", "10.0.0.1")
    assert _retry_after(throttle, "alice", None) == 60
    throttle.success("alice")
    throttle.check("alice", None)
    throttle.failure("bob", "10.0.0.1")
    assert _retry_after(throttle, "carol", "10.0.0.1") == 60
    throttle.check("carol", "10.0.0.2")


def _fail_logins(client: TestClient, username: str, count: int) -> None:
    for _ in range(count):
        response = client.post("/v2/users/login", json={"username": username, "password": "wrong-password"})
        assert response.status_code == 401


def test_hub_login_is_throttled_per_user(client: TestClient) -> None:
    _fail_logins(client, "admin", 10)
    response = client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0
    body = response.json()
    assert body["detail"] == body["message"] and "try again" in body["detail"]
    assert client.post("/v2/auth/token", json={"identifier": "admin", "secret": ADMIN_PASSWORD}).status_code == 429
    token = client.get("/token", params={"service": "dockyard"}, headers=basic("admin", ADMIN_PASSWORD))
    assert token.status_code == 429 and token.headers["retry-after"]
    assert token.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    form = {"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD, "service": "dockyard"}
    assert client.post("/token", data=form).status_code == 429
    basic_auth = client.get("/v2/", headers=basic("admin", ADMIN_PASSWORD))
    assert_error(basic_auth, 429, "TOOMANYREQUESTS")
    assert basic_auth.headers["retry-after"]
    # Another user is not affected.
    create_user(client, "alice")
    assert client.post("/v2/users/login", json={"username": "alice", "password": PASSWORD}).status_code == 200


def test_success_resets_the_count(client: TestClient) -> None:
    _fail_logins(client, "admin", 9)
    assert client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200
    _fail_logins(client, "admin", 9)
    assert client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 200


def test_registry_failures_count_too(client: TestClient) -> None:
    for attempt in range(10):
        # Distinct wrong passwords: a repeated one is answered from the credential cache and counts once.
        response = client.get("/token", params={"service": "dockyard"}, headers=basic("admin", f"wrong-{attempt}"))
        assert response.status_code == 401
    assert client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD}).status_code == 429


def test_addresses_are_throttled_across_usernames(client: TestClient) -> None:
    for index in range(30):
        _fail_logins(client, f"nobody{index}", 1)
    response = client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 429


def test_wrong_second_factor_codes_count(client: TestClient) -> None:
    create_user(client, "alice")
    session = user_session(client, "alice")
    secret = client.post("/v2/user/2fa/totp", headers=session).json()["secret"]
    confirm = {"code": pyotp.TOTP(secret).now()}
    assert client.post("/v2/user/2fa/totp/confirm", json=confirm, headers=session).status_code == 200
    login = client.post("/v2/users/login", json={"username": "alice", "password": PASSWORD})
    challenge = login.json()["login_2fa_token"]
    for _ in range(10):
        response = client.post("/v2/users/2fa-login", json={"login_2fa_token": challenge, "code": "not-a-code"})
        assert response.status_code == 401
    response = client.post("/v2/users/2fa-login", json={"login_2fa_token": challenge, "code": "whatever"})
    assert response.status_code == 429 and response.headers["retry-after"]


def test_wrong_passwords_when_disabling_the_second_factor_count(client: TestClient) -> None:
    create_user(client, "alice")
    session = user_session(client, "alice")
    secret = client.post("/v2/user/2fa/totp", headers=session).json()["secret"]
    client.post("/v2/user/2fa/totp/confirm", json={"code": pyotp.TOTP(secret).now()}, headers=session)
    for _ in range(10):
        response = client.post("/v2/user/2fa/disable", json={"password": "wrong-password"}, headers=session)
        assert response.status_code == 401
    response = client.post("/v2/user/2fa/disable", json={"password": PASSWORD}, headers=session)
    assert response.status_code == 429 and response.headers["retry-after"]
    assert client.get("/v2/user/2fa", headers=session).json()["enabled"] is True


def test_v1_basic_auth_is_throttled_with_the_hub_error_shape(client: TestClient) -> None:
    _fail_logins(client, "admin", 10)
    response = client.get("/v1/users/", headers=basic("admin", ADMIN_PASSWORD))
    assert response.status_code == 429 and response.headers["retry-after"]
    assert response.json()["detail"] == response.json()["message"]
