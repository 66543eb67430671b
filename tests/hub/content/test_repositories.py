"""Repositories through the Hub API: create, read, list, describe, privacy and delete, in the current
`/v2/namespaces/...` family and the legacy `/v2/repositories/...` one."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from dockyard.events import AuditEvent
from tests.hub.content.helpers import (
    admin,
    auth_for,
    create_org,
    create_repo,
    login,
    pull,
    push,
    set_member,
    user,
)
from tests.registry.helpers import assert_error, services

INFO_FIELDS = {
    "user", "name", "namespace", "repository_type", "status", "status_description", "description",
    "full_description", "is_private", "is_automated", "star_count", "pull_count", "collaborator_count",
    "last_updated", "date_registered", "last_modified", "affiliation", "hub_user", "has_starred", "permissions",
    "media_types", "content_types", "categories", "immutable_tags_settings", "storage_size", "source", "can_edit",
    "is_migrated",
}  # fmt: skip
LIST_FIELDS = {
    "name", "namespace", "repository_type", "status", "status_description", "description", "is_private",
    "star_count", "pull_count", "last_updated", "last_modified", "date_registered", "affiliation", "media_types",
    "content_types", "categories", "storage_size",
}  # fmt: skip
LEGACY_FIELDS = LIST_FIELDS | {"user", "is_automated", "can_edit", "is_migrated"}


def audit_events(client: TestClient) -> list[AuditEvent]:
    seen: list[AuditEvent] = []
    services(client).bus.subscribe(AuditEvent, seen.append)
    return seen


def test_create_returns_the_full_repository_info(client: TestClient) -> None:
    events = audit_events(client)
    headers = admin(client)
    response = create_repo(
        client, headers, "admin", "web-app", description="short", full_description="# README", is_private=False
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == INFO_FIELDS
    assert body["name"] == "web-app" and body["namespace"] == "admin" and body["user"] == "admin"
    assert body["description"] == "short" and body["full_description"] == "# README"
    assert body["permissions"] == {"read": True, "write": True, "admin": True}
    assert body["status"] == 0 and body["last_updated"] is None and body["date_registered"].endswith("Z")
    assert body["immutable_tags_settings"] == {"enabled": False, "rules": []}
    assert (body["star_count"], body["pull_count"], body["storage_size"]) == (0, 0, 0)
    assert [(e.account, e.action, e.name, e.actor) for e in events] == [
        ("admin", "repo.create", "admin/web-app", "admin")
    ]


def test_a_created_repository_takes_pushes_and_reports_them(client: TestClient) -> None:
    headers = admin(client)
    assert create_repo(client, headers, "admin", "app").status_code == 201
    push(client, "admin/app", "v1")
    body = client.get("/v2/namespaces/admin/repositories/app", headers=headers).json()
    assert body["status"] == 1 and body["status_description"] == "active" and body["last_updated"]
    assert body["media_types"] == ["application/vnd.oci.image.config.v1+json"]
    assert body["content_types"] == ["image"]
    assert body["storage_size"] > 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "A"}, "name"),
        ({"name": "a"}, "name"),
        ({"name": "Upper"}, "name"),
        ({"name": "bad--name"}, "name"),
        ({"name": "-lead"}, "name"),
        ({"name": "x" * 256}, "name"),
        ({"name": "ok", "description": "d" * 101}, "description"),
        ({"name": "ok", "is_private": "maybe"}, "is_private"),
        ({"name": "ok", "unknown": 1}, "unknown"),
        ({}, "name"),
    ],
)
def test_create_validates_its_body(client: TestClient, body: dict[str, object], field: str) -> None:
    response = client.post("/v2/namespaces/admin/repositories", json=body, headers=admin(client))
    assert response.status_code == 400, response.text
    assert field in response.json()["fields"]
    assert response.json()["detail"] == response.json()["message"]


def test_create_rules(client: TestClient) -> None:
    headers = admin(client)
    assert create_repo(client, headers, "admin", "dup").status_code == 201
    duplicate = create_repo(client, headers, "admin", "dup")
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    assert create_repo(client, headers, "nobody-here", "xx").status_code == 404
    mismatch = client.post(
        "/v2/namespaces/admin/repositories", json={"name": "xx", "namespace": "other"}, headers=headers
    )
    assert mismatch.status_code == 400
    assert create_repo(client, {}, "admin", "anon").status_code == 401
    bob = user(client, "bob")
    assert create_repo(client, bob, "admin", "intrusion").status_code == 403
    assert create_repo(client, bob, "bob", "mine").status_code == 201
    # Pushing into an organisation is what its owners and editors may do, so they may create there too.
    create_org(client, "acme", "bob")
    create_repo_as_member = user(client, "carol")
    set_member(client, "acme", "carol", "member")
    assert create_repo(client, create_repo_as_member, "acme", "app").status_code == 403
    set_member(client, "acme", "carol", "editor")
    assert create_repo(client, create_repo_as_member, "acme", "app").status_code == 201


def test_legacy_create_forms(client: TestClient) -> None:
    headers = login(client, "admin", "adminpass123", scheme="JWT")
    npm = client.post(
        "/v2/repositories/", json={"name": "npm-made", "namespace": "admin", "is_private": False}, headers=headers
    )
    assert npm.status_code == 201 and npm.json()["name"] == "npm-made"
    assert client.post("/v2/repositories/", json={"name": "no-namespace"}, headers=headers).status_code == 400
    in_path = client.post("/v2/repositories/admin/", json={"name": "in-path"}, headers=headers)
    assert in_path.status_code == 201 and in_path.json()["namespace"] == "admin"
    assert client.get("/v2/repositories/admin/in-path/").status_code == 200
    assert client.get("/v2/repositories/admin/in-path").status_code == 200


def test_get_and_head_in_both_families_and_slash_forms(client: TestClient) -> None:
    push(client, "admin/app", "v1")
    for path in (
        "/v2/namespaces/admin/repositories/app",
        "/v2/namespaces/admin/repositories/app/",
        "/v2/repositories/admin/app/",
        "/v2/repositories/admin/app",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert set(response.json()) == INFO_FIELDS and "detail" not in response.json()
        assert response.json()["permissions"] == {"read": True, "write": False, "admin": False}
        assert client.head(path).status_code == 200
    for path in ("/v2/namespaces/admin/repositories/nope", "/v2/repositories/admin/nope/", "/v2/repositories/zz/app/"):
        assert client.get(path).status_code == 404
        assert client.head(path).status_code == 404
    assert client.get("/v2/repositories/_/app/").status_code == 404  # `_` is library, which has no `app`


def test_patch_descriptions(client: TestClient) -> None:
    events = audit_events(client)
    push(client, "admin/app", "v1")
    headers = login(client, "admin", "adminpass123", scheme="JWT")
    response = client.patch("/v2/repositories/admin/app/", json={"description": "hi"}, headers=headers)
    assert response.status_code == 200 and response.json()["description"] == "hi"
    response = client.patch("/v2/repositories/admin/app", json={"full_description": "# Big"}, headers=headers)
    assert response.json()["description"] == "hi" and response.json()["full_description"] == "# Big"
    assert (
        client.patch("/v2/repositories/admin/app/", json={"description": "x" * 101}, headers=headers).status_code == 400
    )
    assert client.patch("/v2/repositories/admin/app/", json=["list"], headers=headers).status_code == 400
    assert client.patch("/v2/repositories/admin/app/", json={"description": "x"}).status_code == 401
    bob = user(client, "bob")
    assert client.patch("/v2/repositories/admin/app/", json={"description": "x"}, headers=bob).status_code == 403
    assert client.patch("/v2/repositories/admin/nope/", json={"description": "x"}, headers=headers).status_code == 404
    assert [e.action for e in events] == ["repo.update", "repo.update"]


def test_privacy_hides_the_repository_from_outsiders(client: TestClient) -> None:
    events = audit_events(client)
    push(client, "admin/secret", "v1")
    headers = admin(client)
    response = client.post("/v2/repositories/admin/secret/privacy/", json={"is_private": True}, headers=headers)
    assert response.status_code == 200 and response.json()["is_private"] is True
    bob = user(client, "bob")
    for who in ({}, bob):
        assert client.get("/v2/repositories/admin/secret/", headers=who).status_code == 404
        assert client.get("/v2/namespaces/admin/repositories/secret", headers=who).status_code == 404
        assert client.head("/v2/namespaces/admin/repositories/secret", headers=who).status_code == 404
        assert client.get("/v2/namespaces/admin/repositories", headers=who).json()["count"] == 0
        assert client.get("/v2/repositories/admin/", headers=who).json()["count"] == 0
        assert client.get("/v2/users/admin/repositories/", headers=who).json() == []
        assert client.get("/v2/repositories/admin/secret/tags/", headers=who).status_code == 404
    # The owner still sees it; an outsider's write is a 404 too, never a 403 that would confirm it exists.
    assert client.get("/v2/namespaces/admin/repositories", headers=headers).json()["count"] == 1
    assert client.patch("/v2/repositories/admin/secret/", json={"description": "x"}, headers=bob).status_code == 404
    assert client.delete("/v2/repositories/admin/secret/", headers=bob).status_code == 404
    public = client.post("/v2/repositories/admin/secret/privacy", json={"is_private": False}, headers=headers)
    assert public.json()["is_private"] is False
    assert client.get("/v2/repositories/admin/secret/").status_code == 200
    assert [(e.action, e.data) for e in events] == [
        ("repo.change_privacy", {"is_private": True}),
        ("repo.change_privacy", {"is_private": False}),
    ]
    assert client.post("/v2/repositories/admin/secret/privacy/", json={}, headers=headers).status_code == 400
    assert (
        client.post("/v2/repositories/admin/secret/privacy/", json={"is_private": True}, headers=bob).status_code == 403
    )


def test_delete_removes_everything_and_the_registry_forgets_it(client: TestClient) -> None:
    events = audit_events(client)
    push(client, "admin/gone", "v1")
    assert pull(client, "admin/gone", "v1").status_code == 200  # now in the manifest cache
    headers = admin(client)
    bob = user(client, "bob")
    assert client.delete("/v2/repositories/admin/gone/", headers=bob).status_code == 403
    assert client.delete("/v2/repositories/admin/gone/").status_code == 401
    assert client.delete("/v2/repositories/admin/gone/", headers=headers).status_code == 202
    assert client.get("/v2/repositories/admin/gone/").status_code == 404
    assert_error(pull(client, "admin/gone", "v1"), 404, "NAME_UNKNOWN")
    assert client.delete("/v2/repositories/admin/gone", headers=headers).status_code == 404
    assert [e.action for e in events] == ["repo.delete"]
    # The name is free again, and a new push starts from nothing.
    push(client, "admin/gone", "v2")
    tags = client.get("/v2/admin/gone/tags/list", headers=auth_for(client, "admin/gone", "pull")).json()["tags"]
    assert tags == ["v2"]


def test_listing_orders_filters_and_pages(client: TestClient) -> None:
    headers = admin(client)
    for name in ("charlie", "alpha", "bravo", "delta-db", "echo-db"):
        assert create_repo(client, headers, "admin", name).status_code == 201
    push(client, "admin/bravo", "v1")
    push(client, "admin/alpha", "v1")

    def names(path: str, **params: object) -> list[str]:
        response = client.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return [entry["name"] for entry in response.json()["results"]]

    current, legacy = "/v2/namespaces/admin/repositories", "/v2/repositories/admin/"
    assert names(current) == ["alpha", "bravo", "charlie", "delta-db", "echo-db"]
    assert names(current, ordering="-name") == ["echo-db", "delta-db", "charlie", "bravo", "alpha"]
    assert names(legacy, ordering="-last_updated")[:2] == ["alpha", "bravo"]
    assert names(current, ordering="last_updated")[-2:] == ["bravo", "alpha"]
    assert names(current, name="DB") == ["delta-db", "echo-db"]
    assert names(current, name="%") == []
    assert set(names(current, ordering="-pull_count")) == {"alpha", "bravo", "charlie", "delta-db", "echo-db"}

    page = client.get(current, params={"page_size": 2, "page": 2}, headers=headers).json()
    assert page["count"] == 5 and [e["name"] for e in page["results"]] == ["charlie", "delta-db"]
    assert page["next"] == "http://testserver/v2/namespaces/admin/repositories?page_size=2&page=3"
    assert page["previous"] == "http://testserver/v2/namespaces/admin/repositories?page_size=2&page=1"
    assert set(page["results"][0]) == LIST_FIELDS
    assert set(client.get(legacy, headers=headers).json()["results"][0]) == LEGACY_FIELDS
    assert client.get(current, params={"page": 4, "page_size": 2}, headers=headers).status_code == 404
    assert client.get(current, params={"page_size": 1000}, headers=headers).json()["count"] == 5
    assert client.get(current, params={"ordering": "stars"}).status_code == 400
    assert client.get(current, params={"page": 0}).status_code == 400
    assert client.get("/v2/namespaces/nobody/repositories").status_code == 404
    assert client.get("/v2/repositories/admin", headers=headers).json()["count"] == 5


def test_listing_shows_private_repositories_to_members_only(client: TestClient) -> None:
    bob = user(client, "bob")
    create_org(client, "acme", "bob")
    assert create_repo(client, bob, "acme", "open").status_code == 201
    assert create_repo(client, bob, "acme", "closed", is_private=True).status_code == 201
    carol = user(client, "carol")
    dave = user(client, "dave")
    set_member(client, "acme", "carol", "editor")

    def visible(headers: dict[str, str]) -> list[str]:
        return [e["name"] for e in client.get("/v2/repositories/acme/", headers=headers).json()["results"]]

    assert visible(bob) == ["closed", "open"]
    assert visible(carol) == ["closed", "open"]
    assert visible(dave) == ["open"]
    assert visible({}) == ["open"]
    assert visible(admin(client)) == ["closed", "open"]
    entries = client.get("/v2/repositories/acme/", headers=dave).json()["results"]
    assert entries[0]["can_edit"] is False
    assert all(e["can_edit"] for e in client.get("/v2/repositories/acme/", headers=carol).json()["results"])


def test_user_repositories_is_a_bare_array(client: TestClient) -> None:
    headers = admin(client)
    for name in ("one", "two"):
        create_repo(client, headers, "admin", name)
    response = client.get("/v2/users/admin/repositories/")
    assert response.status_code == 200
    body = response.json()
    assert [(r["namespace"], r["name"]) for r in body] == [("admin", "one"), ("admin", "two")]
    assert client.get("/v2/users/admin/repositories").json() == body
    assert client.get("/v2/users/nobody/repositories/").status_code == 404
