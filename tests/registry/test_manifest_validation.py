"""What the registry refuses to store as a manifest, and the OCI error it answers with."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.registry.helpers import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    assert_error,
    auth_for,
    descriptor,
    digest_of,
    encode,
    image_manifest,
    index_manifest,
    push_blob,
    push_image,
    put_manifest,
)

CONFIG = b'{"os":"linux"}'
LAYER = b"layer"


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    headers = auth_for(client, "admin/app")
    push_blob(client, "admin/app", CONFIG, headers)
    push_blob(client, "admin/app", LAYER, headers)
    return headers


def valid() -> dict[str, Any]:
    return image_manifest(CONFIG, [LAYER])


def assert_not_stored(client: TestClient, headers: dict[str, str], body: bytes, tag: str = "v1") -> None:
    assert_error(client.get(f"/v2/admin/app/manifests/{tag}", headers=headers), 404, "MANIFEST_UNKNOWN")
    response = client.get(f"/v2/admin/app/manifests/{digest_of(body)}", headers=headers)
    assert response.status_code in (400, 404)


def test_missing_blobs(client: TestClient, headers: dict[str, str]) -> None:
    missing_layer, missing_config = b"not uploaded", b'{"not":"uploaded"}'
    body = encode(image_manifest(missing_config, [LAYER, missing_layer]))
    response = put_manifest(client, "admin/app", "v1", body, headers, OCI_MANIFEST)
    error = assert_error(response, 400, "MANIFEST_BLOB_UNKNOWN")
    assert sorted(d["digest"] for d in error["detail"]) == sorted([digest_of(missing_layer), digest_of(missing_config)])
    assert_not_stored(client, headers, body)


def test_blob_in_another_repository_is_not_enough(client: TestClient, headers: dict[str, str]) -> None:
    other = auth_for(client, "admin/other")
    push_blob(client, "admin/other", b"elsewhere", other)
    body = encode(image_manifest(CONFIG, [b"elsewhere"]))
    assert_error(put_manifest(client, "admin/app", "v1", body, headers, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN")
    assert (
        put_manifest(
            client, "admin/other", "v1", encode(image_manifest(b"elsewhere", [])), other, OCI_MANIFEST
        ).status_code
        == 201
    )


def test_index_with_missing_child(client: TestClient, headers: dict[str, str]) -> None:
    present, _ = push_image(client, "admin/app", None, headers, seed="present")
    absent = encode(image_manifest(CONFIG, [LAYER], annotations={"absent": "yes"}))
    body = index_manifest([(present, OCI_MANIFEST, None), (absent, OCI_MANIFEST, None)])
    error = assert_error(
        put_manifest(client, "admin/app", "v1", body, headers, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN"
    )
    assert error["detail"] == [{"digest": digest_of(absent)}]
    assert_not_stored(client, headers, body)


def test_index_child_in_another_repository_is_not_enough(client: TestClient, headers: dict[str, str]) -> None:
    child, _ = push_image(client, "admin/other", None, auth_for(client, "admin/other"))
    body = index_manifest([(child, OCI_MANIFEST, None)])
    assert_error(put_manifest(client, "admin/app", "v1", body, headers, OCI_INDEX), 400, "MANIFEST_BLOB_UNKNOWN")


def test_non_distributable_layers_need_not_exist(client: TestClient, headers: dict[str, str]) -> None:
    foreign = [
        descriptor(
            "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
            b"windows base",
            urls=["https://example.com/a"],
        ),
        descriptor(
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", b"foreign", urls=["https://example.com/b"]
        ),
    ]
    document = valid()
    document["layers"] = [*foreign, *document["layers"]]
    body = encode(document)
    response = put_manifest(client, "admin/app", "v1", body, headers, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    assert client.get("/v2/admin/app/manifests/v1", headers=headers).content == body
    # ...but an ordinary layer that is missing still is an error.
    document["layers"].append(descriptor(OCI_LAYER, b"missing"))
    assert_error(
        put_manifest(client, "admin/app", "v2", encode(document), headers, OCI_MANIFEST), 400, "MANIFEST_BLOB_UNKNOWN"
    )


def _invalid_documents() -> Iterator[tuple[str, bytes, str | None]]:
    yield "not json", b"{not json", OCI_MANIFEST
    yield "not utf-8", b"\xff\xfe\x00", OCI_MANIFEST
    yield "empty", b"", OCI_MANIFEST
    yield "array", b"[]", OCI_MANIFEST
    yield "string", b'"manifest"', OCI_MANIFEST
    for version in (1, 3, "2", None, 2.5, 2.0, True):
        document = valid()
        document["schemaVersion"] = version
        yield f"schemaVersion {version!r}", encode(document), OCI_MANIFEST
    document = valid()
    del document["schemaVersion"]
    yield "no schemaVersion", encode(document), OCI_MANIFEST
    yield "type mismatch", encode(valid()), DOCKER_MANIFEST
    yield "index content-type on a manifest", encode(valid()), OCI_INDEX
    yield (
        "unknown content-type",
        encode(image_manifest(CONFIG, [LAYER], media_type=None)),
        "application/vnd.example+json",
    )
    yield "unknown mediaType", encode(image_manifest(CONFIG, [LAYER], media_type="application/vnd.example+json")), None
    yield (
        "schema1",
        encode(image_manifest(CONFIG, [LAYER], media_type="application/vnd.docker.distribution.manifest.v1+prettyjws")),
        None,
    )
    yield "mediaType not a string", encode({**valid(), "mediaType": 5}), None
    document = valid()
    del document["config"]
    yield "no config", encode(document), OCI_MANIFEST
    yield "config not an object", encode({**valid(), "config": "sha256:abc"}), OCI_MANIFEST
    yield "layers not a list", encode({**valid(), "layers": {}}), OCI_MANIFEST
    for broken in (
        {"digest": digest_of(LAYER), "size": 5},
        {"mediaType": OCI_LAYER, "digest": "sha256:short", "size": 5},
        {"mediaType": OCI_LAYER, "digest": digest_of(LAYER), "size": -1},
        {"mediaType": OCI_LAYER, "digest": digest_of(LAYER), "size": "5"},
        {"mediaType": OCI_LAYER, "digest": digest_of(LAYER), "size": True},
        {"mediaType": OCI_LAYER, "digest": digest_of(LAYER), "size": 5, "platform": "linux"},
    ):
        yield f"layer {broken}", encode({**valid(), "layers": [broken]}), OCI_MANIFEST
    yield "annotations not strings", encode({**valid(), "annotations": {"a": 1}}), OCI_MANIFEST
    yield "artifactType not a string", encode({**valid(), "artifactType": 7}), OCI_MANIFEST
    yield "subject not a descriptor", encode({**valid(), "subject": "sha256:abc"}), OCI_MANIFEST
    yield "index without manifests", encode({"schemaVersion": 2, "mediaType": OCI_INDEX}), OCI_INDEX
    yield "index manifests not a list", encode({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": {}}), OCI_INDEX
    yield (
        "list with a bad child",
        encode({"schemaVersion": 2, "mediaType": DOCKER_LIST, "manifests": [{}]}),
        DOCKER_LIST,
    )


def test_invalid_manifest(client: TestClient, headers: dict[str, str]) -> None:
    for case, body, content_type in _invalid_documents():
        response = put_manifest(client, "admin/app", "v1", body, headers, content_type)
        assert response.status_code == 400, (case, response.text)
        assert_error(response, 400, "MANIFEST_INVALID")
        assert_not_stored(client, headers, body)


def test_content_type_parameters_are_ignored(client: TestClient, headers: dict[str, str]) -> None:
    body = encode(valid())
    response = put_manifest(client, "admin/app", "v1", body, headers, OCI_MANIFEST + "; charset=utf-8")
    assert response.status_code == 201, response.text
    assert client.get("/v2/admin/app/manifests/v1", headers=headers).headers["content-type"] == OCI_MANIFEST


def test_too_large(client: TestClient, headers: dict[str, str]) -> None:
    document = valid()
    document["annotations"] = {"padding": "x" * (4 * 1024 * 1024)}
    body = encode(document)
    response = put_manifest(client, "admin/app", "v1", body, headers, OCI_MANIFEST)
    assert response.status_code == 413
    assert response.json()["errors"][0]["code"] in ("SIZE_INVALID", "MANIFEST_INVALID")

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    response = client.put(
        "/v2/admin/app/manifests/v1", content=chunks(), headers={**headers, "Content-Type": OCI_MANIFEST}
    )
    assert response.status_code == 413
    assert_not_stored(client, headers, body)


def test_just_under_the_limit(client: TestClient, headers: dict[str, str]) -> None:
    document = valid()
    document["annotations"] = {"padding": ""}
    overhead = len(encode(document))
    document["annotations"]["padding"] = "x" * (4 * 1024 * 1024 - overhead)
    body = encode(document)
    assert len(body) == 4 * 1024 * 1024
    assert put_manifest(client, "admin/app", "v1", body, headers, OCI_MANIFEST).status_code == 201


def test_digest_in_url_must_match(client: TestClient, headers: dict[str, str]) -> None:
    body = encode(valid())
    for reference in (digest_of(body + b" "), digest_of(body + b" ", "sha512")):
        response = put_manifest(client, "admin/app", reference, body, headers, OCI_MANIFEST)
        assert_error(response, 400, "DIGEST_INVALID")
    assert_error(put_manifest(client, "admin/app", "sha256:1234", body, headers, OCI_MANIFEST), 400, "DIGEST_INVALID")
    assert_not_stored(client, headers, body)
    # The bytes are what is hashed: re-serialised JSON is another manifest.
    pretty = json.dumps(valid(), indent=2).encode()
    assert put_manifest(client, "admin/app", digest_of(pretty), pretty, headers, OCI_MANIFEST).status_code == 201


INVALID_TAGS = ["-leading-dash", ".leading-dot", "a" * 129, "bad$tag", "bad+tag", "v1%0A", "v1%0D%0A"]
VALID_TAGS = ["a", "_underscore", "v1.2.3-rc.1_x", "A" * 128, "UPPER"]


def test_invalid_tags(client: TestClient, headers: dict[str, str]) -> None:
    body = encode(valid())
    for tag in INVALID_TAGS:
        response = put_manifest(client, "admin/app", tag, body, headers, OCI_MANIFEST)
        assert response.status_code == 400, tag
        assert_error(response, 400, "TAG_INVALID")
    assert client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"] == []


def test_valid_tags(client: TestClient, headers: dict[str, str]) -> None:
    body = encode(valid())
    for tag in VALID_TAGS:
        assert put_manifest(client, "admin/app", tag, body, headers, OCI_MANIFEST).status_code == 201, tag
        assert client.get(f"/v2/admin/app/manifests/{tag}", headers=headers).content == body
    assert client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"] == sorted(VALID_TAGS)


def test_manifest_put_needs_push(client: TestClient, headers: dict[str, str]) -> None:
    pull = auth_for(client, "admin/app", "pull")
    assert_error(put_manifest(client, "admin/app", "v1", encode(valid()), pull, OCI_MANIFEST), 401, "UNAUTHORIZED")
    assert_not_stored(client, headers, encode(valid()))
