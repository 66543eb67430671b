"""GET /v2/: the API version check, and the challenge that sends clients to the token service."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.conftest import basic, bearer
from tests.registry.helpers import ADMIN, API_VERSION, CHALLENGE, assert_error


def test_base_without_credentials_is_challenged(client: TestClient) -> None:
    for path in ("/v2/", "/v2"):
        response = client.get(path)
        error = assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["www-authenticate"] == CHALLENGE
        assert error["message"]


def test_base_with_a_bearer_token(client: TestClient) -> None:
    response = client.get("/v2/", headers=bearer(client, None))
    assert response.status_code == 200
    assert response.json() == {}
    assert response.headers[API_VERSION[0]] == API_VERSION[1]


def test_base_with_an_anonymous_token(client: TestClient) -> None:
    response = client.get("/v2/", headers=bearer(client, None, username=None))
    assert response.status_code == 200
    assert response.headers[API_VERSION[0]] == API_VERSION[1]


def test_base_with_basic_credentials(client: TestClient) -> None:
    response = client.get("/v2/", headers=ADMIN)
    assert response.status_code == 200
    assert response.headers[API_VERSION[0]] == API_VERSION[1]


def test_base_with_bad_credentials_is_challenged(client: TestClient) -> None:
    for headers in (
        basic("admin", "wrong-password"),
        basic("nobody", "whatever123"),
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic !!!not-base64"},
        {"Authorization": "Digest username=admin"},
    ):
        response = client.get("/v2/", headers=headers)
        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["www-authenticate"] == CHALLENGE


def test_head_base_has_no_body(client: TestClient) -> None:
    response = client.head("/v2/")
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["www-authenticate"] == CHALLENGE
    assert client.head("/v2/", headers=ADMIN).status_code == 200
