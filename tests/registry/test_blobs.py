"""Reading and deleting blobs: HEAD, GET, Range requests, DELETE and the errors around them."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.registry.helpers import API_VERSION, assert_error, auth_for, digest_of, push_blob

DATA = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_for(client, "admin/app")


@pytest.fixture
def stored(client: TestClient, headers: dict[str, str]) -> str:
    return push_blob(client, "admin/app", DATA, headers)


def test_head_and_get(client: TestClient, headers: dict[str, str], stored: str) -> None:
    response = client.head(f"/v2/admin/app/blobs/{stored}", headers=headers)
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["docker-content-digest"] == stored
    assert response.headers[API_VERSION[0]] == API_VERSION[1]

    response = client.get(f"/v2/admin/app/blobs/{stored}", headers=headers)
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["docker-content-digest"] == stored
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{stored}"'


RANGES = [
    ("bytes=0-9", 0, 9),
    ("bytes=100-199", 100, 199),
    ("bytes=1000-", 1000, 1023),
    ("bytes=-24", 1000, 1023),
    ("bytes=1023-1023", 1023, 1023),
    ("bytes=1000-5000", 1000, 1023),
    (" bytes=0-0 ", 0, 0),
]
BAD_RANGES = [
    "bytes=500-0",
    "bytes=1024-",
    "bytes=2000-3000",
    "bytes=-0",
    "bytes=-",
    "bytes=abc",
    "items=0-1",
    "0-10",
    "bytes=0-1,5-6",
]


def test_range(client: TestClient, headers: dict[str, str], stored: str) -> None:
    for value, start, end in RANGES:
        response = client.get(f"/v2/admin/app/blobs/{stored}", headers={**headers, "Range": value})
        assert response.status_code == 206, (value, response.text)
        assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}", value
        assert response.headers["content-length"] == str(end - start + 1), value
        assert response.content == DATA[start : end + 1], value


def test_unsatisfiable_or_malformed_range(client: TestClient, headers: dict[str, str], stored: str) -> None:
    for value in BAD_RANGES:
        response = client.get(f"/v2/admin/app/blobs/{stored}", headers={**headers, "Range": value})
        assert response.status_code == 416, (value, response.status_code, response.text)
        assert response.headers["content-range"] == f"bytes */{len(DATA)}", value
        assert response.json()["errors"][0]["code"], value


def test_range_on_an_empty_blob(client: TestClient, headers: dict[str, str]) -> None:
    digest = push_blob(client, "admin/app", b"", headers)
    response = client.get(f"/v2/admin/app/blobs/{digest}", headers=headers)
    assert response.status_code == 200
    assert response.content == b""
    response = client.get(f"/v2/admin/app/blobs/{digest}", headers={**headers, "Range": "bytes=0-"})
    assert response.status_code == 416
    assert response.headers["content-range"] == "bytes */0"


def test_unknown_blob(client: TestClient, headers: dict[str, str], stored: str) -> None:
    missing = digest_of(b"never uploaded")
    error = assert_error(client.get(f"/v2/admin/app/blobs/{missing}", headers=headers), 404, "BLOB_UNKNOWN")
    assert error["detail"] == {"digest": missing}
    response = client.head(f"/v2/admin/app/blobs/{missing}", headers=headers)
    assert response.status_code == 404
    assert response.content == b""


def test_blob_is_only_readable_through_repositories_holding_it(
    client: TestClient, headers: dict[str, str], stored: str
) -> None:
    push_blob(client, "admin/other", b"something else", auth_for(client, "admin/other"))
    other = auth_for(client, "admin/other")
    assert_error(client.get(f"/v2/admin/other/blobs/{stored}", headers=other), 404, "BLOB_UNKNOWN")


def test_blob_in_missing_repository(client: TestClient) -> None:
    headers = auth_for(client, "admin/nothing")
    response = client.get(f"/v2/admin/nothing/blobs/{digest_of(b'x')}", headers=headers)
    assert_error(response, 404, "NAME_UNKNOWN")


INVALID_DIGESTS = [
    "sha256:abc",
    "sha256:" + "g" * 64,
    "sha256:" + "A" * 64,
    "md5:d41d8cd98f00b204e9800998ecf8427e",
    "sha512:" + "a" * 64,
    "sha256:" + "a" * 65,
    "notadigest",
    "sha256:",
    "sha256:" + "a" * 64 + "%0A",
]


def test_invalid_digest(client: TestClient, headers: dict[str, str], stored: str) -> None:
    for digest in INVALID_DIGESTS:
        assert_error(client.get(f"/v2/admin/app/blobs/{digest}", headers=headers), 400, "DIGEST_INVALID")
        assert_error(client.delete(f"/v2/admin/app/blobs/{digest}", headers=headers), 400, "DIGEST_INVALID")
        assert client.head(f"/v2/admin/app/blobs/{digest}", headers=headers).status_code == 400, digest


def test_delete_blob(client: TestClient, headers: dict[str, str], stored: str) -> None:
    assert client.head(f"/v2/admin/app/blobs/{stored}", headers=headers).status_code == 200  # now cached
    response = client.delete(f"/v2/admin/app/blobs/{stored}", headers=headers)
    assert response.status_code == 202
    assert response.headers[API_VERSION[0]] == API_VERSION[1]
    assert_error(client.get(f"/v2/admin/app/blobs/{stored}", headers=headers), 404, "BLOB_UNKNOWN")
    assert client.head(f"/v2/admin/app/blobs/{stored}", headers=headers).status_code == 404
    assert_error(client.delete(f"/v2/admin/app/blobs/{stored}", headers=headers), 404, "BLOB_UNKNOWN")


def test_delete_blob_needs_delete(client: TestClient, headers: dict[str, str], stored: str) -> None:
    push_pull = auth_for(client, "admin/app", "pull,push")
    assert_error(client.delete(f"/v2/admin/app/blobs/{stored}", headers=push_pull), 401, "UNAUTHORIZED")
    assert client.get(f"/v2/admin/app/blobs/{stored}", headers=push_pull).status_code == 200


def test_deleting_from_one_repository_leaves_the_other(
    client: TestClient, headers: dict[str, str], stored: str
) -> None:
    other = auth_for(client, "admin/other")
    push_blob(client, "admin/other", DATA, other)
    assert client.delete(f"/v2/admin/app/blobs/{stored}", headers=headers).status_code == 202
    assert client.get(f"/v2/admin/other/blobs/{stored}", headers=other).content == DATA


def test_sha512_blob(client: TestClient, headers: dict[str, str]) -> None:
    data = b"hashed with sha512"
    digest = push_blob(client, "admin/app", data, headers, algorithm="sha512")
    assert digest.startswith("sha512:") and len(digest) == 7 + 128
    response = client.get(f"/v2/admin/app/blobs/{digest}", headers=headers)
    assert response.status_code == 200
    assert response.content == data
    assert response.headers["docker-content-digest"] == digest
    response = client.get(f"/v2/admin/app/blobs/{digest}", headers={**headers, "Range": "bytes=7-"})
    assert response.status_code == 206
    assert response.content == data[7:]


def test_anonymous_pull_of_public_blob(client: TestClient, headers: dict[str, str], stored: str) -> None:
    anonymous = auth_for(client, "admin/app", "pull", username=None)
    assert client.get(f"/v2/admin/app/blobs/{stored}", headers=anonymous).content == DATA
    response = client.get(f"/v2/admin/app/blobs/{stored}")
    assert_error(response, 401, "UNAUTHORIZED")
