"""GET /v2/<name>/tags/list with and without pagination."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.registry.helpers import API_VERSION, OCI_MANIFEST, assert_error, auth_for, push_image, put_manifest

TAGS = ["1.0", "V2", "a", "b-1", "b_2", "latest", "z"]
LINK_RE = re.compile(r'^<(/v2/[^>]+)>; rel="next"$')


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    headers = auth_for(client, "admin/app")
    body, _ = push_image(client, "admin/app", TAGS[0], headers)
    for tag in TAGS[1:]:
        assert put_manifest(client, "admin/app", tag, body, headers, OCI_MANIFEST).status_code == 201
    return headers


def test_all_tags_in_order(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v2/admin/app/tags/list", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"name": "admin/app", "tags": sorted(TAGS)}
    assert "link" not in response.headers
    assert response.headers[API_VERSION[0]] == API_VERSION[1]


def test_pages_follow_the_link_header(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v2/admin/app/tags/list", params={"n": "3"}, headers=headers)
    assert response.json()["tags"] == sorted(TAGS)[:3]
    link = LINK_RE.match(response.headers["link"])
    assert link, response.headers["link"]
    assert link.group(1) == f"/v2/admin/app/tags/list?n=3&last={sorted(TAGS)[2]}"
    seen = list(response.json()["tags"])
    url = link.group(1)
    for _ in range(10):
        response = client.get(url, headers=headers)
        assert response.status_code == 200
        assert len(response.json()["tags"]) <= 3
        seen += response.json()["tags"]
        if "link" not in response.headers:
            break
        match = LINK_RE.match(response.headers["link"])
        assert match
        url = match.group(1)
    assert seen == sorted(TAGS)


def test_last_without_n(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v2/admin/app/tags/list", params={"last": "b-1"}, headers=headers)
    assert response.json()["tags"] == [t for t in sorted(TAGS) if t > "b-1"]
    response = client.get("/v2/admin/app/tags/list", params={"last": "zzz"}, headers=headers)
    assert response.json()["tags"] == []
    assert "link" not in response.headers


def test_n_larger_than_the_list(client: TestClient, headers: dict[str, str]) -> None:
    for n in ("100", "99999999999999999999999999", "9" * 5000):
        response = client.get("/v2/admin/app/tags/list", params={"n": n}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["tags"] == sorted(TAGS)
        assert "link" not in response.headers


def test_n_zero(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get("/v2/admin/app/tags/list", params={"n": "0"}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"name": "admin/app", "tags": []}
    assert "link" not in response.headers


def test_invalid_n(client: TestClient, headers: dict[str, str]) -> None:
    for n in ("-1", "abc", "1.5", "\u00b2", "\u0663", " 3"):
        response = client.get("/v2/admin/app/tags/list", params={"n": n}, headers=headers)
        assert response.status_code == 400, n
        assert_error(response, 400, "PAGINATION_NUMBER_INVALID")


def test_unknown_repository(client: TestClient) -> None:
    headers = auth_for(client, "admin/nothing")
    assert_error(client.get("/v2/admin/nothing/tags/list", headers=headers), 404, "NAME_UNKNOWN")


def test_empty_repository(client: TestClient) -> None:
    headers = auth_for(client, "admin/empty")
    assert client.post("/v2/admin/empty/blobs/uploads/", headers=headers).status_code == 202
    response = client.get("/v2/admin/empty/tags/list", headers=headers)
    assert response.status_code == 200
    assert response.json() == {"name": "admin/empty", "tags": []}


def test_deleted_tags_are_gone(client: TestClient, headers: dict[str, str]) -> None:
    assert client.delete("/v2/admin/app/manifests/latest", headers=headers).status_code == 202
    tags = client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"]
    assert tags == sorted(set(TAGS) - {"latest"})


def test_tags_need_pull(client: TestClient, headers: dict[str, str]) -> None:
    assert_error(client.get("/v2/admin/app/tags/list"), 401, "UNAUTHORIZED")
    push_only = auth_for(client, "admin/app", "push")
    assert_error(client.get("/v2/admin/app/tags/list", headers=push_only), 401, "UNAUTHORIZED")
    anonymous = auth_for(client, "admin/app", "pull", username=None)
    assert client.get("/v2/admin/app/tags/list", headers=anonymous).json()["tags"] == sorted(TAGS)
