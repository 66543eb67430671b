"""GET /v2/_catalog: only what the caller may pull, in order, in pages."""

from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from tests.conftest import basic
from tests.registry.helpers import (
    ADMIN,
    API_VERSION,
    CHALLENGE,
    PASSWORD,
    assert_error,
    create_org,
    create_user,
    push_image,
    set_member,
    set_private,
    token,
)

LINK_RE = re.compile(r'^<(/v2/_catalog\?[^>]+)>; rel="next"$')
PUBLIC = ["acme/open", "admin/a", "admin/b", "alice/pub", "library/alpine"]
PRIVATE = ["acme/closed", "admin/hidden", "alice/mine"]


@pytest.fixture
def world(client: TestClient) -> TestClient:
    create_user(client, "alice")
    create_user(client, "bob")
    create_org(client, "acme", "admin")
    set_member(client, "acme", "bob", "member")
    for repo in PUBLIC + PRIVATE:
        owner = basic("alice", PASSWORD) if repo.startswith("alice/") else ADMIN
        push_image(client, repo, "v1", owner)
    for repo in PRIVATE:
        set_private(client, repo)
    return client


def catalog_token(client: TestClient, username: str | None, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Bearer " + token(client, "registry:catalog:*", username, password)}


def test_catalog_needs_credentials(client: TestClient) -> None:
    response = client.get("/v2/_catalog")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == CHALLENGE + ',scope="registry:catalog:*"'


def test_admin_sees_everything(world: TestClient) -> None:
    response = world.get("/v2/_catalog", headers=catalog_token(world, "admin", "adminpass123"))
    assert response.status_code == 200
    assert response.json() == {"repositories": sorted(PUBLIC + PRIVATE)}
    assert response.headers[API_VERSION[0]] == API_VERSION[1]
    assert world.get("/v2/_catalog", headers=ADMIN).json()["repositories"] == sorted(PUBLIC + PRIVATE)


def test_anonymous_sees_public_only(world: TestClient) -> None:
    response = world.get("/v2/_catalog", headers=catalog_token(world, None))
    assert response.json() == {"repositories": sorted(PUBLIC)}


def test_users_see_public_and_their_own(world: TestClient) -> None:
    alice = sorted([*PUBLIC, "alice/mine"])
    assert world.get("/v2/_catalog", headers=catalog_token(world, "alice")).json()["repositories"] == alice
    assert world.get("/v2/_catalog", headers=basic("alice", PASSWORD)).json()["repositories"] == alice
    # A plain member of acme gets nothing private from it.
    assert world.get("/v2/_catalog", headers=catalog_token(world, "bob")).json()["repositories"] == sorted(PUBLIC)


def test_org_editor_sees_private_org_repositories(world: TestClient) -> None:
    set_member(world, "acme", "bob", "editor")
    expected = sorted([*PUBLIC, "acme/closed"])
    assert world.get("/v2/_catalog", headers=catalog_token(world, "bob")).json()["repositories"] == expected


def test_pagination(world: TestClient) -> None:
    headers = catalog_token(world, "admin", "adminpass123")
    everything = sorted(PUBLIC + PRIVATE)
    response = world.get("/v2/_catalog", params={"n": "3"}, headers=headers)
    assert response.json()["repositories"] == everything[:3]
    link = LINK_RE.match(response.headers["link"])
    assert link, response.headers["link"]
    seen = list(response.json()["repositories"])
    for _ in range(10):
        response = world.get(link.group(1), headers=headers)
        assert response.status_code == 200
        assert len(response.json()["repositories"]) <= 3
        seen += response.json()["repositories"]
        if "link" not in response.headers:
            break
        link = LINK_RE.match(response.headers["link"])
        assert link
    assert seen == everything


def test_pagination_skips_hidden_repositories(world: TestClient) -> None:
    headers = catalog_token(world, None)
    response = world.get("/v2/_catalog", params={"n": "2", "last": "acme/closed"}, headers=headers)
    assert response.json()["repositories"] == ["acme/open", "admin/a"]
    response = world.get("/v2/_catalog", params={"n": "2", "last": "admin/a"}, headers=headers)
    assert response.json()["repositories"] == ["admin/b", "alice/pub"]
    response = world.get("/v2/_catalog", params={"last": "alice/pub"}, headers=headers)
    assert response.json()["repositories"] == ["library/alpine"]
    assert "link" not in response.headers


def test_n_zero_and_invalid(world: TestClient) -> None:
    headers = catalog_token(world, "admin", "adminpass123")
    response = world.get("/v2/_catalog", params={"n": "0"}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"repositories": []}
    assert "link" not in response.headers
    for n in ("-2", "x", "\u00b2"):
        assert_error(world.get("/v2/_catalog", params={"n": n}, headers=headers), 400, "PAGINATION_NUMBER_INVALID")
    response = world.get("/v2/_catalog", params={"n": "1" + "0" * 40}, headers=headers)
    assert response.json()["repositories"] == sorted(PUBLIC + PRIVATE)
