"""Pushing, pulling and deleting manifests of every supported kind, by tag and by digest."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.registry.helpers import (
    API_VERSION,
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    assert_error,
    auth_for,
    digest_of,
    index_manifest,
    push_image,
    put_manifest,
)

AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64", "variant": "v8"}


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_for(client, "admin/app")


def assert_manifest(
    client: TestClient, headers: dict[str, str], reference: str, body: bytes, media_type: str, accept: str | None = None
) -> None:
    extra = {"Accept": accept} if accept else {}
    digest = digest_of(body) if not reference.startswith("sha512:") else reference
    response = client.get(f"/v2/admin/app/manifests/{reference}", headers={**headers, **extra})
    assert response.status_code == 200, response.text
    assert response.content == body
    assert response.headers["content-type"] == media_type
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["etag"] == f'"{digest}"'
    assert response.headers[API_VERSION[0]] == API_VERSION[1]

    response = client.head(f"/v2/admin/app/manifests/{reference}", headers={**headers, **extra})
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-type"] == media_type
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["content-length"] == str(len(body))


@pytest.mark.parametrize("media_type", [OCI_MANIFEST, DOCKER_MANIFEST])
def test_image_manifest_by_tag_and_digest(client: TestClient, headers: dict[str, str], media_type: str) -> None:
    body, digest = push_image(client, "admin/app", "v1", headers, media_type=media_type)
    for accept in (None, media_type, f"{OCI_MANIFEST}, {DOCKER_MANIFEST}", "*/*"):
        assert_manifest(client, headers, "v1", body, media_type, accept)
        assert_manifest(client, headers, digest, body, media_type, accept)


def test_put_response(client: TestClient, headers: dict[str, str]) -> None:
    body, digest = push_image(client, "admin/app", None, headers)
    response = put_manifest(client, "admin/app", "latest", body, headers, OCI_MANIFEST)
    assert response.status_code == 201
    assert response.headers["location"] == f"/v2/admin/app/manifests/{digest}"
    assert response.headers["docker-content-digest"] == digest
    assert response.headers[API_VERSION[0]] == API_VERSION[1]
    assert "oci-subject" not in response.headers


def test_manifest_without_media_type_field(client: TestClient, headers: dict[str, str]) -> None:
    """OCI lets the mediaType field out; Content-Type (or the shape) says what it is."""
    body, _ = push_image(client, "admin/app", "v1", headers, media_type=None)  # type: ignore[arg-type]
    assert_manifest(client, headers, "v1", body, OCI_MANIFEST)
    response = put_manifest(client, "admin/app", "v2", body, headers, None)
    assert response.status_code == 201
    assert_manifest(client, headers, "v2", body, OCI_MANIFEST)


@pytest.mark.parametrize(("index_type", "child_type"), [(OCI_INDEX, OCI_MANIFEST), (DOCKER_LIST, DOCKER_MANIFEST)])
def test_index(client: TestClient, headers: dict[str, str], index_type: str, child_type: str) -> None:
    amd64, _ = push_image(client, "admin/app", None, headers, seed="amd64", media_type=child_type)
    arm64, _ = push_image(client, "admin/app", None, headers, seed="arm64", media_type=child_type)
    body = index_manifest([(amd64, child_type, AMD64), (arm64, child_type, ARM64)], index_type)
    response = put_manifest(client, "admin/app", "multi", body, headers, index_type)
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == digest_of(body)
    assert_manifest(client, headers, "multi", body, index_type)
    assert_manifest(client, headers, "multi", body, index_type, index_type)
    assert_manifest(client, headers, digest_of(body), body, index_type)
    assert_manifest(client, headers, digest_of(arm64), arm64, child_type)


def test_retag_moves_the_tag(client: TestClient, headers: dict[str, str]) -> None:
    first, _ = push_image(client, "admin/app", "v1", headers, seed="one")
    second, _ = push_image(client, "admin/app", "v1", headers, seed="two")
    assert_manifest(client, headers, "v1", second, OCI_MANIFEST)
    assert_manifest(client, headers, digest_of(first), first, OCI_MANIFEST)


def test_same_manifest_twice_and_under_two_tags(client: TestClient, headers: dict[str, str]) -> None:
    body, digest = push_image(client, "admin/app", "v1", headers)
    for tag in ("v1", "v2", digest):
        assert put_manifest(client, "admin/app", tag, body, headers, OCI_MANIFEST).status_code == 201
    assert client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"] == ["v1", "v2"]


def test_sha512_manifest_by_digest(client: TestClient, headers: dict[str, str]) -> None:
    body, sha256 = push_image(client, "admin/app", None, headers)
    sha512 = digest_of(body, "sha512")
    response = put_manifest(client, "admin/app", sha512, body, headers, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == sha512
    assert response.headers["location"] == f"/v2/admin/app/manifests/{sha512}"
    assert_manifest(client, headers, sha512, body, OCI_MANIFEST)
    assert client.delete(f"/v2/admin/app/manifests/{sha512}", headers=headers).status_code == 202
    assert_error(client.get(f"/v2/admin/app/manifests/{sha512}", headers=headers), 404, "MANIFEST_UNKNOWN")
    assert client.get(f"/v2/admin/app/manifests/{sha256}", headers=headers).status_code == 200


def test_unknown_manifest(client: TestClient, headers: dict[str, str]) -> None:
    push_image(client, "admin/app", "v1", headers)
    assert_error(client.get("/v2/admin/app/manifests/v2", headers=headers), 404, "MANIFEST_UNKNOWN")
    missing = digest_of(b"nothing")
    assert_error(client.get(f"/v2/admin/app/manifests/{missing}", headers=headers), 404, "MANIFEST_UNKNOWN")
    response = client.head("/v2/admin/app/manifests/v2", headers=headers)
    assert response.status_code == 404
    assert response.content == b""


def test_manifest_in_missing_repository(client: TestClient) -> None:
    headers = auth_for(client, "admin/nothing")
    assert_error(client.get("/v2/admin/nothing/manifests/v1", headers=headers), 404, "NAME_UNKNOWN")
    assert_error(client.delete("/v2/admin/nothing/manifests/v1", headers=headers), 404, "NAME_UNKNOWN")


def test_invalid_digest_reference(client: TestClient, headers: dict[str, str]) -> None:
    push_image(client, "admin/app", "v1", headers)
    for reference in ("sha256:abc", "sha256:" + "z" * 64, "md5:" + "a" * 32):
        assert_error(client.get(f"/v2/admin/app/manifests/{reference}", headers=headers), 400, "DIGEST_INVALID")
        assert_error(client.delete(f"/v2/admin/app/manifests/{reference}", headers=headers), 400, "DIGEST_INVALID")


def test_delete_by_digest_removes_every_tag(client: TestClient, headers: dict[str, str]) -> None:
    body, digest = push_image(client, "admin/app", "v1", headers)
    put_manifest(client, "admin/app", "v2", body, headers, OCI_MANIFEST)
    other, _ = push_image(client, "admin/app", "keep", headers, seed="other")
    response = client.delete(f"/v2/admin/app/manifests/{digest}", headers=headers)
    assert response.status_code == 202
    assert response.headers[API_VERSION[0]] == API_VERSION[1]
    assert_error(client.get(f"/v2/admin/app/manifests/{digest}", headers=headers), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get("/v2/admin/app/manifests/v1", headers=headers), 404, "MANIFEST_UNKNOWN")
    assert_error(client.get("/v2/admin/app/manifests/v2", headers=headers), 404, "MANIFEST_UNKNOWN")
    assert client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"] == ["keep"]
    assert client.get("/v2/admin/app/manifests/keep", headers=headers).content == other
    assert_error(client.delete(f"/v2/admin/app/manifests/{digest}", headers=headers), 404, "MANIFEST_UNKNOWN")


def test_delete_by_tag_removes_only_the_tag(client: TestClient, headers: dict[str, str]) -> None:
    body, digest = push_image(client, "admin/app", "v1", headers)
    put_manifest(client, "admin/app", "v2", body, headers, OCI_MANIFEST)
    assert client.delete("/v2/admin/app/manifests/v1", headers=headers).status_code == 202
    assert_error(client.get("/v2/admin/app/manifests/v1", headers=headers), 404, "MANIFEST_UNKNOWN")
    assert client.get("/v2/admin/app/manifests/v2", headers=headers).content == body
    assert client.get(f"/v2/admin/app/manifests/{digest}", headers=headers).content == body
    assert client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"] == ["v2"]
    assert_error(client.delete("/v2/admin/app/manifests/v1", headers=headers), 404, "MANIFEST_UNKNOWN")
    assert_error(client.delete("/v2/admin/app/manifests/-bad-", headers=headers), 404, "MANIFEST_UNKNOWN")


def test_delete_needs_delete(client: TestClient, headers: dict[str, str]) -> None:
    push_image(client, "admin/app", "v1", headers)
    push_pull = auth_for(client, "admin/app", "pull,push")
    assert_error(client.delete("/v2/admin/app/manifests/v1", headers=push_pull), 401, "UNAUTHORIZED")
    assert client.get("/v2/admin/app/manifests/v1", headers=push_pull).status_code == 200


def test_anonymous_pull_of_a_public_repository(client: TestClient, headers: dict[str, str]) -> None:
    body, digest = push_image(client, "admin/app", "v1", headers)
    anonymous = auth_for(client, "admin/app", "pull,push", username=None)
    assert client.get("/v2/admin/app/manifests/v1", headers=anonymous).content == body
    assert client.head(f"/v2/admin/app/manifests/{digest}", headers=anonymous).status_code == 200
    response = put_manifest(client, "admin/app", "v2", body, anonymous, OCI_MANIFEST)
    assert_error(response, 401, "UNAUTHORIZED")
    assert_error(client.get("/v2/admin/app/manifests/v1"), 401, "UNAUTHORIZED")


def test_push_by_digest_with_tag_parameters(client: TestClient, headers: dict[str, str]) -> None:
    body, digest = push_image(client, "admin/app", None, headers)
    response = client.put(
        f"/v2/admin/app/manifests/{digest}",
        params=[("tag", "v1"), ("tag", "latest"), ("tag", "v1")],
        content=body,
        headers={**headers, "Content-Type": OCI_MANIFEST},
    )
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == digest
    assert response.headers["oci-tag"] == "v1, latest"
    assert client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"] == ["latest", "v1"]
    assert client.get("/v2/admin/app/manifests/latest", headers=headers).content == body
    # Pushed by tag, ?tag= is not how tags are named, and no OCI-Tag header is sent.
    response = client.put(
        "/v2/admin/app/manifests/v2",
        params={"tag": "other"},
        content=body,
        headers={**headers, "Content-Type": OCI_MANIFEST},
    )
    assert response.status_code == 201
    assert "oci-tag" not in response.headers


def test_push_by_digest_with_invalid_tag_parameters(client: TestClient, headers: dict[str, str]) -> None:
    body, digest = push_image(client, "admin/app", None, headers)
    for params in ([("tag", "ok"), ("tag", "-bad")], [("tag", f"t{i}") for i in range(101)]):
        response = client.put(
            f"/v2/admin/app/manifests/{digest}",
            params=params,
            content=body,
            headers={**headers, "Content-Type": OCI_MANIFEST},
        )
        assert_error(response, 400, "TAG_INVALID")
    assert client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"] == []
