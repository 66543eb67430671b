"""Pushing blobs: monolithic and chunked uploads, status, cancellation and digest checks."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.registry.helpers import API_VERSION, assert_error, auth_for, digest_of, services

DATA = b"0123456789" * 100


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_for(client, "admin/app")


def start(client: TestClient, headers: dict[str, str], repo: str = "admin/app") -> str:
    response = client.post(f"/v2/{repo}/blobs/uploads/", headers=headers)
    assert response.status_code == 202, response.text
    location = response.headers["location"]
    upload_id = response.headers["docker-upload-uuid"]
    assert location == f"/v2/{repo}/blobs/uploads/{upload_id}"
    assert response.headers["range"] == "0-0"
    assert response.headers[API_VERSION[0]] == API_VERSION[1]
    return location


def assert_blob(client: TestClient, headers: dict[str, str], digest: str, data: bytes) -> None:
    response = client.get(f"/v2/admin/app/blobs/{digest}", headers=headers)
    assert response.status_code == 200
    assert response.content == data


def assert_no_blob(client: TestClient, headers: dict[str, str], digest: str) -> None:
    assert_error(client.get(f"/v2/admin/app/blobs/{digest}", headers=headers), 404, "BLOB_UNKNOWN")
    assert not services(client).storage.local_path(digest).exists()


def test_post_then_monolithic_put(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    digest = digest_of(DATA)
    response = client.put(location, params={"digest": digest}, content=DATA, headers=headers)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v2/admin/app/blobs/{digest}"
    assert response.headers["docker-content-digest"] == digest
    assert_blob(client, headers, digest, DATA)
    # The upload is finished: it cannot be used again.
    assert_error(client.get(location, headers=headers), 404, "BLOB_UPLOAD_UNKNOWN")


def test_post_with_digest_and_body(client: TestClient, headers: dict[str, str]) -> None:
    digest = digest_of(DATA)
    response = client.post("/v2/admin/app/blobs/uploads", params={"digest": digest}, content=DATA, headers=headers)
    assert response.status_code == 201
    assert response.headers["location"] == f"/v2/admin/app/blobs/{digest}"
    assert response.headers["docker-content-digest"] == digest
    assert_blob(client, headers, digest, DATA)


def test_post_with_wrong_digest(client: TestClient, headers: dict[str, str]) -> None:
    wrong = digest_of(b"something else")
    response = client.post("/v2/admin/app/blobs/uploads/", params={"digest": wrong}, content=DATA, headers=headers)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_no_blob(client, headers, wrong)
    assert_no_blob(client, headers, digest_of(DATA))
    assert services(client).storage.upload_ids() == []


def test_post_with_malformed_digest(client: TestClient, headers: dict[str, str]) -> None:
    response = client.post(
        "/v2/admin/app/blobs/uploads/", params={"digest": "sha256:nope"}, content=DATA, headers=headers
    )
    assert_error(response, 400, "DIGEST_INVALID")
    assert services(client).storage.upload_ids() == []


def test_chunked_upload(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    response = client.patch(
        location,
        content=DATA[:300],
        headers={**headers, "Content-Range": "0-299", "Content-Type": "application/octet-stream"},
    )
    assert response.status_code == 202
    assert response.headers["range"] == "0-299"
    assert response.headers["location"] == location
    assert response.headers["docker-upload-uuid"] == location.rsplit("/", 1)[1]

    response = client.patch(location, content=DATA[300:700], headers={**headers, "Content-Range": "300-699"})
    assert response.status_code == 202
    assert response.headers["range"] == "0-699"

    # A chunk without Content-Range is appended (streamed upload).
    response = client.patch(location, content=DATA[700:900], headers=headers)
    assert response.status_code == 202
    assert response.headers["range"] == "0-899"

    digest = digest_of(DATA)
    response = client.put(location, params={"digest": digest}, content=DATA[900:], headers=headers)
    assert response.status_code == 201, response.text
    assert_blob(client, headers, digest, DATA)


def test_chunk_at_the_wrong_offset(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    assert client.patch(location, content=DATA[:100], headers={**headers, "Content-Range": "0-99"}).status_code == 202
    for content_range in ("50-149", "101-200", "0-99"):
        response = client.patch(location, content=DATA[100:200], headers={**headers, "Content-Range": content_range})
        assert response.status_code == 416, content_range
        assert response.headers["range"] == "0-99"
        assert response.json()["errors"][0]["code"] == "BLOB_UPLOAD_INVALID"
    # The upload keeps what it had, and carries on from there.
    status = client.get(location, headers=headers)
    assert status.status_code == 204
    assert status.headers["range"] == "0-99"
    assert (
        client.patch(location, content=DATA[100:], headers={**headers, "Content-Range": "100-999"}).status_code == 202
    )
    digest = digest_of(DATA)
    assert client.put(location, params={"digest": digest}, headers=headers).status_code == 201
    assert_blob(client, headers, digest, DATA)


def test_malformed_content_range(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    for content_range in ("nonsense", "5-1", "-1", "a-b", "bytes=0-9", b"\xb2-\xb3"):
        response = client.patch(location, content=b"abc", headers={**headers, "Content-Range": content_range})
        assert response.status_code == 416, (content_range, response.text)
        assert client.get(location, headers=headers).headers["range"] == "0-0"


def test_upload_status(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    response = client.get(location, headers=headers)
    assert response.status_code == 204
    assert response.headers["range"] == "0-0"
    assert response.headers["location"] == location
    assert response.headers["docker-upload-uuid"] == location.rsplit("/", 1)[1]
    client.patch(location, content=DATA[:10], headers=headers)
    assert client.get(location, headers=headers).headers["range"] == "0-9"
    # HEAD is a status request too, never a cancellation.
    response = client.head(location, headers=headers)
    assert response.status_code == 204
    assert response.headers["range"] == "0-9"
    assert client.get(location, headers=headers).headers["range"] == "0-9"


def test_cancel_upload(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    client.patch(location, content=DATA, headers=headers)
    response = client.delete(location, headers=headers)
    assert response.status_code == 204
    assert_error(client.get(location, headers=headers), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.patch(location, content=b"x", headers=headers), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.put(location, params={"digest": digest_of(DATA)}, headers=headers), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.delete(location, headers=headers), 404, "BLOB_UPLOAD_UNKNOWN")
    assert services(client).storage.upload_ids() == []
    assert location.rsplit("/", 1)[1] not in services(client).registry._upload_locks  # nothing left behind


def test_digest_mismatch_on_put(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    client.patch(location, content=DATA, headers=headers)
    wrong = digest_of(DATA + b"!")
    response = client.put(location, params={"digest": wrong}, headers=headers)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_no_blob(client, headers, wrong)
    assert_no_blob(client, headers, digest_of(DATA))
    sha512 = digest_of(DATA + b"!", "sha512")
    assert_error(client.put(location, params={"digest": sha512}, headers=headers), 400, "DIGEST_INVALID")
    assert_no_blob(client, headers, sha512)


def test_put_without_digest(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    response = client.put(location, content=DATA, headers=headers)
    assert_error(response, 400, "DIGEST_INVALID")
    assert_error(client.put(location, params={"digest": "sha256:xyz"}, headers=headers), 400, "DIGEST_INVALID")


def test_unknown_upload(client: TestClient, headers: dict[str, str]) -> None:
    start(client, headers)  # the repository exists
    location = "/v2/admin/app/blobs/uploads/00000000-0000-0000-0000-000000000000"
    assert_error(client.get(location, headers=headers), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.patch(location, content=b"x", headers=headers), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(
        client.put(location, params={"digest": digest_of(b"x")}, content=b"x", headers=headers),
        404,
        "BLOB_UPLOAD_UNKNOWN",
    )
    assert_error(client.delete(location, headers=headers), 404, "BLOB_UPLOAD_UNKNOWN")
    for weird in ("..", "...", "%2e%2e", "secret.key"):
        response = client.get(f"/v2/admin/app/blobs/uploads/{weird}", headers=headers)
        assert response.status_code in (404,), (weird, response.status_code)


def test_upload_belongs_to_its_repository(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    other = auth_for(client, "admin/other")
    start(client, other, "admin/other")
    elsewhere = location.replace("/admin/app/", "/admin/other/")
    assert_error(client.get(elsewhere, headers=other), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(client.patch(elsewhere, content=b"x", headers=other), 404, "BLOB_UPLOAD_UNKNOWN")
    assert client.get(location, headers=headers).status_code == 204


def test_upload_needs_push(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    pull = auth_for(client, "admin/app", "pull")
    assert_error(client.post("/v2/admin/app/blobs/uploads/", headers=pull), 401, "UNAUTHORIZED")
    assert_error(client.patch(location, content=b"x", headers=pull), 401, "UNAUTHORIZED")
    assert_error(client.put(location, params={"digest": digest_of(b"")}, headers=pull), 401, "UNAUTHORIZED")
    assert_error(client.get(location), 401, "UNAUTHORIZED")


def test_empty_blob_and_same_blob_twice(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    empty = digest_of(b"")
    assert client.put(location, params={"digest": empty}, headers=headers).status_code == 201
    assert_blob(client, headers, empty, b"")
    for _ in range(2):
        response = client.post(
            "/v2/admin/app/blobs/uploads/", params={"digest": digest_of(DATA)}, content=DATA, headers=headers
        )
        assert response.status_code == 201
    assert_blob(client, headers, digest_of(DATA), DATA)


def test_push_to_a_namespace_that_does_not_exist(client: TestClient) -> None:
    headers = auth_for(client, "ghost/app")
    assert_error(client.post("/v2/ghost/app/blobs/uploads/", headers=headers), 401, "UNAUTHORIZED")


def test_final_chunk_with_content_range(client: TestClient, headers: dict[str, str]) -> None:
    location = start(client, headers)
    assert client.patch(location, content=DATA[:500], headers={**headers, "Content-Range": "0-499"}).status_code == 202
    digest = digest_of(DATA)
    response = client.put(
        location, params={"digest": digest}, content=DATA[400:], headers={**headers, "Content-Range": "400-999"}
    )
    assert response.status_code == 416
    assert response.headers["range"] == "0-499"
    assert_no_blob(client, headers, digest)
    assert client.get(location, headers=headers).headers["range"] == "0-499"
    response = client.put(
        location, params={"digest": digest}, content=DATA[500:], headers={**headers, "Content-Range": "500-999"}
    )
    assert response.status_code == 201, response.text
    assert_blob(client, headers, digest, DATA)
