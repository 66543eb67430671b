"""Cross-repository blob mounts: POST /v2/<name>/blobs/uploads/?mount=<digest>[&from=<repo>]."""

from __future__ import annotations

import pytest
from httpx2 import Response
from starlette.testclient import TestClient

from tests.conftest import basic
from tests.registry.helpers import (
    ADMIN,
    PASSWORD,
    assert_error,
    auth_for,
    create_user,
    digest_of,
    push_blob,
    set_private,
    token,
)

DATA = b"a layer that already exists"


@pytest.fixture
def source(client: TestClient) -> str:
    return push_blob(client, "admin/src", DATA, ADMIN)


def mount(client: TestClient, target: str, digest: str, headers: dict[str, str], source: str | None = None) -> Response:
    params = {"mount": digest}
    if source is not None:
        params["from"] = source
    return client.post(f"/v2/{target}/blobs/uploads/", params=params, headers=headers)


def assert_mounted(response: Response, client: TestClient, target: str, digest: str, headers: dict[str, str]) -> None:
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v2/{target}/blobs/{digest}"
    assert response.headers["docker-content-digest"] == digest
    assert client.get(f"/v2/{target}/blobs/{digest}", headers=headers).content == DATA


def assert_upload_started(
    response: Response, client: TestClient, target: str, digest: str, headers: dict[str, str]
) -> None:
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    assert location.startswith(f"/v2/{target}/blobs/uploads/")
    assert client.get(location, headers=headers).status_code == 204
    assert_error(client.get(f"/v2/{target}/blobs/{digest}", headers=headers), 404, "BLOB_UNKNOWN")
    # The upload it started works like any other.
    response = client.put(location, params={"digest": digest}, content=DATA, headers=headers)
    assert response.status_code == 201


def test_mount_with_from(client: TestClient, source: str) -> None:
    scope = "repository:admin/dst:pull,push repository:admin/src:pull"
    headers = {"Authorization": "Bearer " + token(client, scope)}
    assert_mounted(mount(client, "admin/dst", source, headers, "admin/src"), client, "admin/dst", source, headers)
    # The source keeps it.
    assert client.get(f"/v2/admin/src/blobs/{source}", headers=headers).content == DATA


def test_mount_without_from(client: TestClient, source: str) -> None:
    headers = auth_for(client, "admin/dst", "pull,push")
    assert_mounted(mount(client, "admin/dst", source, headers), client, "admin/dst", source, headers)


def test_mount_with_basic_auth(client: TestClient, source: str) -> None:
    assert_mounted(mount(client, "admin/dst", source, ADMIN, "admin/src"), client, "admin/dst", source, ADMIN)


def test_mount_from_a_public_repository_of_someone_else(client: TestClient, source: str) -> None:
    create_user(client, "alice")
    alice = auth_for(client, "alice/app", "pull,push", "alice", PASSWORD)
    assert_mounted(mount(client, "alice/app", source, alice, "admin/src"), client, "alice/app", source, alice)


def test_mount_from_an_unreadable_repository_falls_back_to_an_upload(client: TestClient, source: str) -> None:
    set_private(client, "admin/src")
    create_user(client, "alice")
    for headers in (auth_for(client, "alice/app", "pull,push", "alice", PASSWORD), basic("alice", PASSWORD)):
        response = mount(client, "alice/app", source, headers, "admin/src")
        assert_upload_started(response, client, "alice/app", source, headers)
        client.delete(f"/v2/alice/app/blobs/{source}", headers=auth_for(client, "alice/app", "*", "alice", PASSWORD))


def test_mount_without_from_needs_a_readable_holder(client: TestClient, source: str) -> None:
    set_private(client, "admin/src")
    create_user(client, "alice")
    alice = auth_for(client, "alice/app", "pull,push", "alice", PASSWORD)
    assert_upload_started(mount(client, "alice/app", source, alice), client, "alice/app", source, alice)


def test_mount_from_somewhere_without_the_blob(client: TestClient, source: str) -> None:
    push_blob(client, "admin/other", b"other", ADMIN)
    headers = auth_for(client, "admin/dst", "pull,push,delete")
    for source_repo in ("admin/missing", "admin/other", "Not/Valid", "nobody/repo"):
        response = mount(client, "admin/dst", source, headers, source_repo)
        assert_upload_started(response, client, "admin/dst", source, headers)
        assert client.delete(f"/v2/admin/dst/blobs/{source}", headers=headers).status_code == 202


def test_mount_of_an_unknown_digest(client: TestClient, source: str) -> None:
    headers = auth_for(client, "admin/dst", "pull,push")
    missing = digest_of(b"nowhere")
    assert mount(client, "admin/dst", missing, headers, "admin/src").status_code == 202
    assert mount(client, "admin/dst", missing, headers).status_code == 202


def test_mount_of_an_invalid_digest(client: TestClient, source: str) -> None:
    headers = auth_for(client, "admin/dst", "pull,push")
    response = mount(client, "admin/dst", "sha256:nope", headers, "admin/src")
    assert_error(response, 400, "DIGEST_INVALID")


def test_mount_needs_push_on_the_target(client: TestClient, source: str) -> None:
    create_user(client, "alice")
    alice = auth_for(client, "admin/dst", "pull,push", "alice", PASSWORD)
    assert_error(mount(client, "admin/dst", source, alice, "admin/src"), 401, "UNAUTHORIZED")
    assert_error(mount(client, "admin/dst", source, {}, "admin/src"), 401, "UNAUTHORIZED")
