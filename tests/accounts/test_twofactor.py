"""Second factor: TOTP enrolment and confirmation, the login challenge exactly as Docker Hub answers it, TOTP and
recovery codes at `/v2/users/2fa-login`, and a password no longer being enough anywhere else."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlparse

import jwt
import pyotp
import pytest
from httpx2 import Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.testclient import TestClient

from dockyard.accounts.twofactor import TotpDevice
from tests.accounts.helpers import audit_events, create_pat, enrol_totp, hub, user_session
from tests.conftest import NOW, basic
from tests.registry.helpers import PASSWORD, create_user, in_transaction

# Real argon2id at its lowest cost: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("fast_passwords")

CHALLENGE = "Require secondary authentication on MFA enabled account"


@pytest.fixture
def enrolled(client: TestClient, clock: Callable[[float], None]) -> tuple[pyotp.TOTP, list[str]]:
    """alice with TOTP enabled (confirmed with the code of the step before NOW); her recovery codes."""
    create_user(client, "alice")
    return enrol_totp(client, "alice")


def _second(client: TestClient, code: str, challenge: str | None = None, path: str = "/v2/users/2fa-login") -> Response:
    """Answer a (fresh, unless given) login challenge with `code`."""
    return client.post(path, json={"login_2fa_token": challenge or _challenge(client), "code": code})


def _signed_in(client: TestClient, code: str) -> dict[str, str]:
    response = _second(client, code)
    assert response.status_code == 200, response.text
    return hub(response.json()["token"])


def _challenge(client: TestClient, password: str = PASSWORD, **params: str) -> str:
    response = client.post("/v2/users/login", params=params, json={"username": "alice", "password": password})
    assert response.status_code == 401
    token: str = response.json()["login_2fa_token"]
    return token


def test_enrolment_gives_a_provisioning_uri_and_keeps_the_secret_encrypted(
    client: TestClient, clock: Callable[[float], None]
) -> None:
    create_user(client, "alice")
    session = user_session(client, "alice")
    assert client.get("/v2/user/2fa", headers=session).json() == {
        "enabled": False, "pending": False, "recovery_codes_remaining": 0,
    }  # fmt: skip
    enrolment = client.post("/v2/user/2fa/totp", headers=session).json()
    uri = urlparse(enrolment["provisioning_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp" and uri.path == "/Dockyard:alice"
    query = parse_qs(uri.query)
    assert query["secret"] == [enrolment["secret"]] and query["issuer"] == ["Dockyard"]
    assert client.get("/v2/user/2fa", headers=session).json()["pending"] is True

    async def stored(db: AsyncSession) -> str:
        return (await db.execute(select(TotpDevice.secret))).scalar_one()

    assert enrolment["secret"] not in in_transaction(client, stored)
    # Pending enrolment changes nothing for signing in.
    assert client.post("/v2/users/login", json={"username": "alice", "password": PASSWORD}).status_code == 200


def test_confirmation_needs_a_valid_code(client: TestClient, clock: Callable[[float], None]) -> None:
    create_user(client, "alice")
    session = user_session(client, "alice")
    assert client.post("/v2/user/2fa/totp/confirm", json={"code": "123456"}, headers=session).status_code == 409
    totp = pyotp.TOTP(client.post("/v2/user/2fa/totp", headers=session).json()["secret"])
    wrong = str((int(totp.at(NOW)) + 1) % 1_000_000).zfill(6)
    assert client.post("/v2/user/2fa/totp/confirm", json={"code": wrong}, headers=session).status_code == 400
    stale = totp.at(NOW - 300)
    assert client.post("/v2/user/2fa/totp/confirm", json={"code": stale}, headers=session).status_code == 400
    assert client.post("/v2/user/2fa/totp/confirm", json={}, headers=session).status_code == 400
    response = client.post("/v2/user/2fa/totp/confirm", json={"code": totp.at(NOW)}, headers=session)
    assert response.status_code == 200
    codes = response.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/v2/user/2fa", headers=session).json() == {
        "enabled": True, "pending": False, "recovery_codes_remaining": 10,
    }  # fmt: skip
    assert client.post("/v2/user/2fa/totp", headers=session).status_code == 409


def test_password_login_answers_the_exact_challenge(client: TestClient, enrolled: tuple[pyotp.TOTP, list[str]]) -> None:
    response = client.post("/v2/users/login?refresh_token=true", json={"username": "alice", "password": PASSWORD})
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"detail", "message", "login_2fa_token"}
    assert body["detail"] == CHALLENGE and body["message"] == CHALLENGE
    assert "token" not in body
    wrong = client.post("/v2/users/login", json={"username": "alice", "password": "wrong-password"})
    assert wrong.status_code == 401 and "login_2fa_token" not in wrong.json()


def test_totp_completes_the_login_once(
    client: TestClient, enrolled: tuple[pyotp.TOTP, list[str]], clock: Callable[[float], None]
) -> None:
    totp, _ = enrolled
    challenge = _challenge(client, refresh_token="true")
    response = _second(client, totp.at(NOW), challenge, "/v2/users/2fa-login?refresh_token=true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"token", "refresh_token"}
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == "alice" and claims["typ"] == "access"
    assert client.get("/v2/user/2fa", headers=hub(body["token"])).status_code == 200
    # The challenge is spent, and so is the code (even with a fresh challenge).
    again = _second(client, totp.at(NOW + 30), challenge)
    assert again.status_code == 401
    replay = _second(client, totp.at(NOW))
    assert replay.status_code == 401 and replay.json()["detail"] == "Incorrect authentication credentials"
    # The next step's code works; a code from long ago does not.
    clock(NOW + 30)
    stale = _second(client, totp.at(NOW - 600))
    assert stale.status_code == 401
    fresh = _second(client, totp.at(NOW + 30), path="/v2/users/2fa-login/")
    assert fresh.status_code == 200 and set(fresh.json()) == {"token"}


def test_2fa_login_rejects_bad_input(client: TestClient, enrolled: tuple[pyotp.TOTP, list[str]]) -> None:
    totp, _ = enrolled
    assert client.post("/v2/users/2fa-login", json={"code": totp.at(NOW)}).status_code == 400
    assert client.post("/v2/users/2fa-login", json={"login_2fa_token": "x", "code": totp.at(NOW)}).status_code == 401
    # An access token is not a 2FA challenge.
    access = client.post("/v2/users/login", json={"username": "admin", "password": "adminpass123"}).json()["token"]
    assert client.post("/v2/users/2fa-login", json={"login_2fa_token": access, "code": totp.at(NOW)}).status_code == 401


def test_recovery_codes_are_single_use(client: TestClient, enrolled: tuple[pyotp.TOTP, list[str]]) -> None:
    _, codes = enrolled
    response = _second(client, codes[0].upper())
    assert response.status_code == 200
    session = hub(response.json()["token"])
    assert client.get("/v2/user/2fa", headers=session).json()["recovery_codes_remaining"] == 9
    again = _second(client, codes[0])
    assert again.status_code == 401
    other = _second(client, codes[1])
    assert other.status_code == 200


def test_regenerating_recovery_codes_retires_the_old_ones(
    client: TestClient, enrolled: tuple[pyotp.TOTP, list[str]]
) -> None:
    totp, codes = enrolled
    session = _signed_in(client, totp.at(NOW))
    assert client.post("/v2/user/2fa/recovery-codes", json={}, headers=session).status_code == 400
    wrong = {"password": "wrong-password"}
    assert client.post("/v2/user/2fa/recovery-codes", json=wrong, headers=session).status_code == 401
    response = client.post("/v2/user/2fa/recovery-codes", json={"password": PASSWORD}, headers=session)
    assert response.status_code == 200
    fresh = response.json()["recovery_codes"]
    assert not set(fresh) & set(codes)
    assert _second(client, codes[2]).status_code == 401
    assert _second(client, fresh[0]).status_code == 200


def test_a_password_alone_is_not_enough_elsewhere(client: TestClient, enrolled: tuple[pyotp.TOTP, list[str]]) -> None:
    response = client.post("/v2/auth/token", json={"identifier": "alice", "secret": PASSWORD})
    assert response.status_code == 401 and "access_token" not in response.json()
    assert "personal access token" in response.json()["detail"]
    token_service = client.get("/token", params={"service": "dockyard"}, headers=basic("alice", PASSWORD))
    assert token_service.status_code == 401
    assert client.get("/v2/", headers=basic("alice", PASSWORD)).status_code == 401


def test_a_pat_skips_the_second_factor(client: TestClient, enrolled: tuple[pyotp.TOTP, list[str]]) -> None:
    totp, _ = enrolled
    session = _signed_in(client, totp.at(NOW))
    secret = create_pat(client, session)["token"]
    response = client.post("/v2/users/login", json={"username": "alice", "password": secret})
    assert response.status_code == 200 and "token" in response.json()
    assert client.post("/v2/auth/token", json={"identifier": "alice", "secret": secret}).status_code == 200
    assert client.get("/v2/", headers=basic("alice", secret)).status_code == 200
    # ... but a session from a token does not manage the second factor.
    assert client.get("/v2/user/2fa", headers=hub(response.json()["token"])).status_code == 403


def test_disable_needs_a_code_or_the_password(
    client: TestClient, enrolled: tuple[pyotp.TOTP, list[str]], clock: Callable[[float], None]
) -> None:
    events = audit_events(client)
    totp, _ = enrolled
    session = _signed_in(client, totp.at(NOW))
    assert client.post("/v2/user/2fa/disable", json={}, headers=session).status_code == 400
    assert client.post("/v2/user/2fa/disable", json={"code": "000000"}, headers=session).status_code == 401
    # The code just used to sign in cannot be used again.
    assert client.post("/v2/user/2fa/disable", json={"code": totp.at(NOW)}, headers=session).status_code == 401
    response = client.post("/v2/user/2fa/disable", json={"code": totp.at(NOW + 30)}, headers=session)
    assert response.status_code == 200
    assert response.json() == {"enabled": False, "pending": False, "recovery_codes_remaining": 0}
    assert client.post("/v2/user/2fa/disable", json={"password": PASSWORD}, headers=session).status_code == 409
    assert client.post("/v2/users/login", json={"username": "alice", "password": PASSWORD}).status_code == 200
    assert client.get("/v2/", headers=basic("alice", PASSWORD)).status_code == 200
    assert [event.action for event in events] == ["user.2fa.disable"]


def test_two_factor_routes_need_a_session(client: TestClient) -> None:
    assert client.get("/v2/user/2fa").status_code == 401
    assert client.post("/v2/user/2fa/totp").status_code == 401
    assert client.post("/v2/user/2fa/disable", json={"password": "x"}).status_code == 401
