"""Malformed input is a 400 (or a 404), never a server error, on every content route: NUL characters that
PostgreSQL refuses, names that cannot exist, times out of range, absurd pages."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.hub.content.helpers import admin, push

NUL = "%00"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v2/namespaces/ad{NUL}min/repositories"),
        ("GET", f"/v2/namespaces/admin/repositories/a{NUL}pp"),
        ("GET", f"/v2/repositories/admin/app/tags/v{NUL}1/"),
        ("GET", f"/v2/repositories/admin/app/tags/?name=v{NUL}"),
        ("GET", f"/v2/namespaces/admin/repositories?name=a{NUL}"),
        ("GET", f"/v2/search/repositories/?query=a{NUL}"),
        ("GET", f"/v1/search?q=a{NUL}"),
        ("GET", f"/v2/users/ad{NUL}min/repositories/"),
        ("GET", f"/v2/namespaces/admin/repositories/app/images/sha256:{NUL}/tags"),
        ("DELETE", f"/v2/repositories/admin/app/tags/v{NUL}1/"),
        ("DELETE", f"/v2/repositories/ng{NUL}inx/tags/v1/"),
        ("POST", f"/v2/repositories/ad{NUL}min/app/stars/"),
        ("GET", "/v2/namespaces/admin/repositories?page=99999999999999999999"),
        ("GET", "/v2/repositories/admin/app/tags/?page_size=-1"),
        ("GET", "/v2/namespaces/admin/repositories/app/images?active_from=0001-01-01T00:00:00%2B05:00"),
        ("GET", "/v2/namespaces/admin/repositories/app/images-summary?active_from=99999-01-01"),
    ],
)
def test_malformed_requests_are_client_errors(client: TestClient, method: str, path: str) -> None:
    push(client, "admin/app", "v1")
    response = client.request(method, path, headers=admin(client))
    assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v2/namespaces/admin/repositories", {"name": "ok", "description": "a\u0000b"}),
        ("/v2/namespaces/admin/repositories", {"name": "ok", "full_description": "\u0000"}),
        ("/v2/repositories/", {"name": "ok", "namespace": "ad\u0000min"}),
        ("/v2/namespaces/admin/repositories/app/immutabletags/verify", {"regex": "a\u0000"}),
        ("/v2/namespaces/admin/delete-images", {"manifests": [{"repository": "a\u0000p", "digest": "sha256:x"}]}),
        ("/v2/namespaces/admin/delete-images", {"manifests": [], "active_from": "0001-01-01T00:00:00+05:00"}),
        ("/v2/namespaces/admin/repositories", {"name": "ok", "is_private": None}),
    ],
)
def test_malformed_bodies_are_client_errors(client: TestClient, path: str, body: dict[str, object]) -> None:
    push(client, "admin/app", "v1")
    response = client.post(path, json=body, headers=admin(client))
    assert response.status_code == 400, response.text
    patch = client.patch("/v2/repositories/admin/app/", json={"description": "\u0000"}, headers=admin(client))
    assert patch.status_code == 400
