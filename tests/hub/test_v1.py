"""The legacy v1 index API: Basic credentials, repositories, images mapped onto manifests, v1 tokens, sign-up."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.conftest import ADMIN_PASSWORD, basic
from tests.hub.community import PASSWORD, create_user, fast_passwords, push, set_private

__all__ = ["fast_passwords"]

ALICE = basic("alice", PASSWORD)
ADMIN = basic("admin", ADMIN_PASSWORD)


def test_login_check(client: TestClient) -> None:
    create_user(client, "alice")
    assert client.get("/v1/users/", headers=ALICE).json() == "OK"
    assert client.get("/v1/users", headers=ALICE).status_code == 200
    wrong = client.get("/v1/users/", headers=basic("alice", "wrong-password"))
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"].startswith("Basic")
    assert client.get("/v1/users/").status_code == 401


def test_create_images_token_and_delete(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    created = client.put(
        "/v1/repositories/alice/app/", json=[{"id": "9e89cc6f"}], headers={**ALICE, "X-Docker-Token": "true"}
    )
    assert created.status_code == 200 and created.json() == ""
    token = created.headers["x-docker-token"]
    assert token.startswith("signature=") and 'repository="alice/app"' in token and token.endswith("access=write")
    assert created.headers["www-authenticate"] == f"Token {token}"
    assert created.headers["x-docker-endpoints"] == "testserver"
    # The token is a registry bearer token for the repository, and PUT .../auth accepts it back.
    signature = token.split(",")[0].removeprefix("signature=")
    assert client.get("/v2/alice/app/tags/list", headers={"Authorization": f"Bearer {signature}"}).status_code == 200
    assert client.put("/v1/repositories/alice/app/auth", headers={"Authorization": f"Token {token}"}).json() == "OK"
    assert client.put("/v1/repositories/bob/app/auth", headers={"Authorization": f"Token {token}"}).status_code in (
        403,
        404,
    )

    digest = push(client, "alice/app", "v1", "alice")
    images = client.get("/v1/repositories/alice/app/images")
    assert images.status_code == 200
    assert images.json() == [{"id": digest.split(":", 1)[1], "checksum": digest}]
    put = client.put("/v1/repositories/alice/app/images", json=[{"id": "abc", "checksum": digest}], headers=ALICE)
    assert put.status_code == 204
    assert client.put("/v1/repositories/alice/app/images", json={"id": 1}, headers=ALICE).status_code == 400
    assert client.put("/v1/repositories/alice/app/images", json=[], headers=basic("bob", PASSWORD)).status_code == 403

    # Bob can neither create in alice's namespace nor delete her repository.
    assert client.put("/v1/repositories/alice/other/", headers=basic("bob", PASSWORD)).status_code == 403
    assert client.delete("/v1/repositories/alice/app/", headers=basic("bob", PASSWORD)).status_code == 403
    deleted = client.delete("/v1/repositories/alice/app/", headers={**ALICE, "X-Docker-Token": "true"})
    assert deleted.status_code == 202 and deleted.headers["x-docker-token"].endswith("access=delete")
    assert client.get("/v1/repositories/alice/app/images").status_code == 404
    assert client.get("/v2/alice/app/tags/list", headers=basic("alice", PASSWORD)).status_code == 404


def test_library_forms_are_for_admins(client: TestClient) -> None:
    create_user(client, "alice")
    assert client.put("/v1/repositories/base/", headers=ALICE).status_code == 403
    assert client.put("/v1/repositories/base/", headers=ADMIN).status_code == 200
    assert client.get("/v1/repositories/base/images").json() == []
    digest = push(client, "library/base", "latest")
    assert client.get("/v1/repositories/base/images").json()[0]["checksum"] == digest
    assert client.put("/v1/repositories/base/auth", headers=ALICE).json() == "OK"
    assert client.delete("/v1/repositories/base/", headers=ALICE).status_code == 403
    assert client.delete("/v1/repositories/base/", headers=ADMIN).status_code == 202
    assert client.put("/v1/repositories/Bad..Name/", headers=ADMIN).status_code == 400


def test_private_repositories_stay_invisible(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    push(client, "alice/secret", "v1", "alice")
    set_private(client, "alice/secret")
    bob = basic("bob", PASSWORD)
    assert client.get("/v1/repositories/alice/secret/images").status_code == 404
    assert client.get("/v1/repositories/alice/secret/images", headers=bob).status_code == 404
    assert client.put("/v1/repositories/alice/secret/auth", headers=bob).status_code == 404
    assert client.delete("/v1/repositories/alice/secret/", headers=bob).status_code == 404
    assert len(client.get("/v1/repositories/alice/secret/images", headers=ALICE).json()) == 1


def test_update_own_user(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    changed = client.put("/v1/users/alice/", json={"password": "new-password-1", "email": "a@b.example"}, headers=ALICE)
    assert changed.status_code == 204
    assert client.get("/v1/users/", headers=basic("alice", "new-password-1")).status_code == 200
    assert (
        client.put(
            "/v1/users/bob/", json={"email": "x@y.example"}, headers=basic("alice", "new-password-1")
        ).status_code
        == 403
    )
    assert client.put("/v1/users/alice/", json={}, headers=basic("alice", "new-password-1")).status_code == 400
    assert (
        client.put("/v1/users/alice/", json={"password": "short"}, headers=basic("alice", "new-password-1")).status_code
        == 400
    )


def test_signup_is_off_by_default(client: TestClient) -> None:
    body = {"username": "newbie", "password": "password123", "email": "n@example.com"}
    refused = client.post("/v1/users/", json=body)
    assert refused.status_code == 403 and "detail" in refused.json()


@pytest.fixture
def open_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(dataclasses.replace(settings, allow_signup=True))) as test_client:
        yield test_client


def test_signup_when_enabled(open_client: TestClient) -> None:
    body = {"username": "newbie", "password": "password123", "email": "n@example.com"}
    created = open_client.post("/v1/users/", json=body)
    assert created.status_code == 201 and created.json() == "User Created"
    assert open_client.get("/v1/users/", headers=basic("newbie", "password123")).json() == "OK"
    assert open_client.post("/v1/users/", json=body).status_code == 409
    assert open_client.post("/v1/users/", json={**body, "username": "Bad Name"}).status_code == 400
    assert open_client.post("/v1/users/", json={**body, "email": "nope"}).status_code == 400
