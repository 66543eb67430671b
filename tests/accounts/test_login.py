"""Signing in to the Hub API: `/v2/users/login` and `/v2/auth/token` issue real, expiring JWTs."""

from __future__ import annotations

import jwt
import pytest
from starlette.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD, basic
from tests.registry.helpers import create_user

# Real argon2id at its lowest cost: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("fast_passwords")


def test_login_returns_a_signed_jwt_with_expiry(client: TestClient) -> None:
    response = client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token"}
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["sub"] == "admin" and claims["exp"] > claims["iat"]


def test_login_with_trailing_slash_and_wrong_password(client: TestClient) -> None:
    response = client.post("/v2/users/login/", json={"username": "admin", "password": "wrong-password"})
    assert response.status_code == 401
    assert response.json()["detail"] == "Incorrect authentication credentials"
    assert response.json()["message"] == response.json()["detail"]


def test_login_validates_its_body(client: TestClient) -> None:
    response = client.post("/v2/users/login", json={"username": "admin"})
    assert response.status_code == 400
    assert "password" in response.json()["fields"]
    response = client.post("/v2/users/login", content=b"not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_auth_token_expires_in_ten_minutes(client: TestClient) -> None:
    response = client.post("/v2/auth/token", json={"identifier": "admin", "secret": ADMIN_PASSWORD})
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600
    assert client.post("/v2/auth/token", json={"identifier": "admin", "secret": "nope"}).status_code == 401


def test_unknown_hub_route_is_a_json_404(client: TestClient) -> None:
    response = client.get("/v2/users/nobody/unknown-thing/")
    assert response.status_code == 404
    assert "detail" in response.json()


# --- refresh tokens and logging out --------------------------------------------------------------------------
def _login_with_refresh(client: TestClient) -> dict[str, str]:
    response = client.post("/v2/users/login?refresh_token=true", json={"username": "admin", "password": ADMIN_PASSWORD})
    assert response.status_code == 200
    body: dict[str, str] = response.json()
    assert set(body) == {"token", "refresh_token"}
    return body


def test_refresh_token_is_a_long_lived_jwt_redeemed_at_auth_token(client: TestClient) -> None:
    body = _login_with_refresh(client)
    refresh = jwt.decode(body["refresh_token"], options={"verify_signature": False})
    access = jwt.decode(body["token"], options={"verify_signature": False})
    assert refresh["typ"] == "refresh" and refresh["exp"] - refresh["iat"] >= 30 * 24 * 3600
    assert access["sid"] == refresh["jti"]
    response = client.post("/v2/auth/token", json={"identifier": "admin", "secret": body["refresh_token"]})
    assert response.status_code == 200
    redeemed = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert redeemed["sub"] == "admin" and redeemed["sid"] == refresh["jti"]
    # A refresh token is not an access token, and belongs to its user only.
    headers = {"Authorization": f"Bearer {body['refresh_token']}"}
    assert client.get("/v2/access-tokens", headers=headers).status_code == 401
    as_org = {"identifier": "library", "secret": body["refresh_token"]}
    assert client.post("/v2/auth/token", json=as_org).status_code == 401


def test_refresh_token_works_at_the_registry(client: TestClient) -> None:
    refresh = _login_with_refresh(client)["refresh_token"]
    form = {"grant_type": "refresh_token", "refresh_token": refresh, "service": "dockyard"}
    form["scope"] = "repository:admin/x:push"
    response = client.post("/token", data=form)
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["access"][0]["actions"] == ["push"]
    assert client.get("/token", params={"service": "dockyard"}, headers=basic("admin", refresh)).status_code == 200


def test_logout_revokes_the_token_and_its_session(client: TestClient) -> None:
    body = _login_with_refresh(client)
    session = {"Authorization": f"JWT {body['token']}"}
    sibling = client.post("/v2/auth/token", json={"identifier": "admin", "secret": body["refresh_token"]}).json()
    other = client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()["token"]
    assert client.get("/v2/access-tokens", headers=session).status_code == 200
    response = client.post("/v2/logout/", headers=session)
    assert response.status_code == 200 and "detail" not in response.json()
    assert client.get("/v2/access-tokens", headers=session).status_code == 401
    sibling_headers = {"Authorization": f"Bearer {sibling['access_token']}"}
    assert client.get("/v2/access-tokens", headers=sibling_headers).status_code == 401
    redeem = {"identifier": "admin", "secret": body["refresh_token"]}
    assert client.post("/v2/auth/token", json=redeem).status_code == 401
    form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"], "service": "dockyard"}
    assert client.post("/token", data=form).status_code == 401
    # Other sessions of the same user are untouched.
    assert client.get("/v2/access-tokens", headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_logout_can_revoke_a_named_refresh_token(client: TestClient) -> None:
    first = _login_with_refresh(client)
    other = client.post("/v2/users/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()["token"]
    response = client.post(
        "/v2/logout", json={"refresh_token": first["refresh_token"]}, headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 200
    redeem = {"identifier": "admin", "secret": first["refresh_token"]}
    assert client.post("/v2/auth/token", json=redeem).status_code == 401


def test_logout_needs_a_token(client: TestClient) -> None:
    assert client.post("/v2/logout/").status_code == 401
    assert client.post("/v2/logout/", headers={"Authorization": "Bearer nonsense"}).status_code == 401


def test_a_password_that_looks_like_a_jwt_still_works(client: TestClient) -> None:
    create_user(client, "dotty", "pass.word.123")
    assert client.post("/v2/auth/token", json={"identifier": "dotty", "secret": "pass.word.123"}).status_code == 200
    assert client.get("/v2/", headers=basic("dotty", "pass.word.123")).status_code == 200
