"""Immutable tags: rules set through the Hub API, checked with `verify`, enforced by the registry on push."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from dockyard.events import AuditEvent
from tests.hub.content.helpers import OCI_MANIFEST, admin, auth_for, push, user
from tests.registry.helpers import assert_error, push_image, put_manifest, services

RULES = "/v2/namespaces/admin/repositories/app/immutabletags"


def set_rules(client: TestClient, headers: dict[str, str], enabled: bool, rules: list[str]) -> dict[str, object]:
    response = client.patch(RULES, json={"immutable_tags": enabled, "immutable_tags_rules": rules}, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_rules_are_stored_and_reported(client: TestClient) -> None:
    events: list[AuditEvent] = []
    services(client).bus.subscribe(AuditEvent, events.append)
    push(client, "admin/app", "v1")
    headers = admin(client)
    body = set_rules(client, headers, True, [r"v\d+", "release-.*", r"v\d+"])
    assert body["immutable_tags_settings"] == {"enabled": True, "rules": [r"v\d+", "release-.*"]}
    assert client.get("/v2/repositories/admin/app/").json()["immutable_tags_settings"]["enabled"] is True
    assert [(e.action, e.name) for e in events] == [("repo.immutable.tags.updated", "admin/app")]
    assert set_rules(client, headers, False, [])["immutable_tags_settings"] == {"enabled": False, "rules": []}


@pytest.mark.parametrize(
    "body",
    [
        {"immutable_tags": True, "immutable_tags_rules": ["[unclosed"]},
        {"immutable_tags": True, "immutable_tags_rules": ["(a+)+$"]},
        {"immutable_tags": True, "immutable_tags_rules": ["(a|ab)*"]},
        {"immutable_tags": True, "immutable_tags_rules": [""]},
        {"immutable_tags": True, "immutable_tags_rules": ["x" * 256]},
        {"immutable_tags": True, "immutable_tags_rules": ["v.*"] * 101},
        {"immutable_tags": "maybe", "immutable_tags_rules": []},
        {"immutable_tags_rules": ["v.*"]},
        {"immutable_tags": True, "immutable_tags_rules": "v.*"},
    ],
)
def test_invalid_rules_are_a_400(client: TestClient, body: dict[str, object]) -> None:
    push(client, "admin/app", "v1")
    response = client.patch(RULES, json=body, headers=admin(client))
    assert response.status_code == 400, response.text
    assert "detail" in response.json()


def test_who_may_change_rules(client: TestClient) -> None:
    push(client, "admin/app", "v1")
    body = {"immutable_tags": True, "immutable_tags_rules": ["v.*"]}
    assert client.patch(RULES, json=body).status_code == 401
    assert client.patch(RULES, json=body, headers=user(client, "bob")).status_code == 403
    assert client.patch(RULES + "/", json=body, headers=admin(client)).status_code == 200
    missing = "/v2/namespaces/admin/repositories/nope/immutabletags"
    assert client.patch(missing, json=body, headers=admin(client)).status_code == 404


def test_verify_lists_the_matching_tags(client: TestClient) -> None:
    for tag in ("v1", "v2", "v10", "latest", "release-1"):
        push(client, "admin/app", tag)
    headers = admin(client)
    verify = RULES + "/verify"
    assert client.post(verify, json={"regex": r"v\d+"}, headers=headers).json() == {"tags": ["v1", "v10", "v2"]}
    assert client.post(verify + "/", json={"regex": "late"}, headers=headers).json() == {"tags": []}
    assert client.post(verify, json={"regex": "("}, headers=headers).status_code == 400
    assert client.post(verify, json={"regex": "(x+)*"}, headers=headers).status_code == 400
    assert client.post(verify, json={}, headers=headers).status_code == 400
    assert client.post(verify, json={"regex": ".*"}).status_code == 401


def test_a_push_may_not_move_an_immutable_tag(client: TestClient) -> None:
    first = push(client, "admin/app", "v1")
    push(client, "admin/app", "latest")
    headers = admin(client)
    set_rules(client, headers, True, [r"v\d+"])
    registry = auth_for(client, "admin/app")
    body, digest = push_image(client, "admin/app", None, registry, seed="something else")

    moved = put_manifest(client, "admin/app", "v1", body, registry, OCI_MANIFEST)
    error = assert_error(moved, 403, "DENIED")
    assert "v1" in error["message"] and "immutable" in error["message"]
    pulled = client.get("/v2/admin/app/manifests/v1", headers={**registry, "Accept": OCI_MANIFEST})
    assert pulled.headers["docker-content-digest"] == first

    # Pushing by digest with ?tag= is refused the same way, and nothing of the refused push is kept.
    by_digest = client.put(
        f"/v2/admin/app/manifests/{digest}?tag=v1", content=body, headers={**registry, "Content-Type": OCI_MANIFEST}
    )
    assert_error(by_digest, 403, "DENIED")

    # Tags the rules do not match still move; new matching tags are created; the same content may be re-pushed.
    assert put_manifest(client, "admin/app", "latest", body, registry, OCI_MANIFEST).status_code == 201
    assert put_manifest(client, "admin/app", "v2", body, registry, OCI_MANIFEST).status_code == 201
    original = client.get(f"/v2/admin/app/manifests/{first}", headers={**registry, "Accept": OCI_MANIFEST}).content
    assert put_manifest(client, "admin/app", "v1", original, registry, OCI_MANIFEST).status_code == 201

    # With the rules switched off, the tag moves again.
    set_rules(client, headers, False, [r"v\d+"])
    assert put_manifest(client, "admin/app", "v1", body, registry, OCI_MANIFEST).status_code == 201


def test_an_immutable_tag_cannot_be_deleted(client: TestClient) -> None:
    digest = push(client, "admin/app", "v1")
    push(client, "admin/app", "latest")
    headers = admin(client)
    set_rules(client, headers, True, [r"v\d+"])
    registry = auth_for(client, "admin/app")

    assert_error(client.delete("/v2/admin/app/manifests/v1", headers=registry), 403, "DENIED")
    assert_error(client.delete(f"/v2/admin/app/manifests/{digest}", headers=registry), 403, "DENIED")
    refused = client.delete("/v2/repositories/admin/app/tags/v1/", headers=headers)
    assert refused.status_code == 403 and "immutable" in refused.json()["detail"]
    ignore = [
        {"repository": "app", "digest": digest, "warning": "is_active"},
        {"repository": "app", "digest": digest, "warning": "current_tag"},
    ]
    response = client.post(
        "/v2/namespaces/admin/delete-images",
        json={"manifests": [{"repository": "app", "digest": digest}], "ignore_warnings": ignore},
        headers=headers,
    )
    assert response.status_code == 400
    assert response.json()["errinfo"]["details"]["errors"] == [
        {"repository": "app", "digest": digest, "error": "immutable_tag"}
    ]
    assert client.get("/v2/repositories/admin/app/tags/v1/").status_code == 200

    # Tags the rules do not protect are deleted as usual; with the rules off, so is v1.
    assert client.delete("/v2/admin/app/manifests/latest", headers=registry).status_code == 202
    set_rules(client, headers, False, [r"v\d+"])
    assert client.delete("/v2/repositories/admin/app/tags/v1/", headers=headers).status_code == 204
