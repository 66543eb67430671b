"""Signing in to the Hub API: `/v2/users/login` and `/v2/auth/token` issue real, expiring JWTs."""

from __future__ import annotations

import jwt
from starlette.testclient import TestClient

from tests.conftest import ADMIN_PASSWORD


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
