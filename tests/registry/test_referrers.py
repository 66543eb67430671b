"""The referrers API (OCI Distribution 1.1): manifests with a subject, listed by the subject's digest."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.registry.helpers import (
    OCI_CONFIG,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    assert_error,
    auth_for,
    descriptor,
    digest_of,
    encode,
    image_manifest,
    push_blob,
    push_image,
    put_manifest,
)

SBOM = "application/vnd.example.sbom.v1"
SIGNATURE = "application/vnd.example.signature.v1"
EMPTY = b"{}"


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    headers = auth_for(client, "admin/app")
    push_blob(client, "admin/app", EMPTY, headers)
    return headers


@pytest.fixture
def subject(client: TestClient, headers: dict[str, str]) -> tuple[bytes, str]:
    return push_image(client, "admin/app", "v1", headers)


def artifact(
    client: TestClient,
    headers: dict[str, str],
    subject: tuple[bytes, str],
    artifact_type: str | None,
    payload: bytes,
    annotations: dict[str, str] | None = None,
    config_type: str = OCI_EMPTY,
) -> tuple[bytes, str]:
    push_blob(client, "admin/app", payload, headers)
    extra: dict[str, Any] = {"subject": descriptor(OCI_MANIFEST, subject[0])}
    if artifact_type:
        extra["artifactType"] = artifact_type
    if annotations:
        extra["annotations"] = annotations
    body = encode(
        image_manifest(EMPTY, [payload], config_type=config_type, layer_type="application/octet-stream", **extra)
    )
    digest = digest_of(body)
    response = put_manifest(client, "admin/app", digest, body, headers, OCI_MANIFEST)
    assert response.status_code == 201, response.text
    assert response.headers["oci-subject"] == subject[1]
    return body, digest


def referrers(
    client: TestClient, headers: dict[str, str], digest: str, **params: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    response = client.get(f"/v2/admin/app/referrers/{digest}", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == OCI_INDEX
    body = response.json()
    assert body["schemaVersion"] == 2
    assert body["mediaType"] == OCI_INDEX
    manifests: list[dict[str, Any]] = body["manifests"]
    return manifests, dict(response.headers)


def test_referrers_are_listed(client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]) -> None:
    sbom, sbom_digest = artifact(client, headers, subject, SBOM, b"sbom", {"org.example.kind": "sbom"})
    signature, signature_digest = artifact(client, headers, subject, SIGNATURE, b"signature")
    manifests, response_headers = referrers(client, headers, subject[1])
    assert "oci-filters-applied" not in response_headers
    assert sorted(manifests, key=lambda m: m["digest"]) == sorted(
        [
            {
                "mediaType": OCI_MANIFEST,
                "digest": sbom_digest,
                "size": len(sbom),
                "artifactType": SBOM,
                "annotations": {"org.example.kind": "sbom"},
            },
            {"mediaType": OCI_MANIFEST, "digest": signature_digest, "size": len(signature), "artifactType": SIGNATURE},
        ],
        key=lambda m: str(m["digest"]),
    )


def test_artifact_type_filter(client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]) -> None:
    _, sbom_digest = artifact(client, headers, subject, SBOM, b"sbom")
    artifact(client, headers, subject, SIGNATURE, b"signature")
    manifests, response_headers = referrers(client, headers, subject[1], artifactType=SBOM)
    assert [m["digest"] for m in manifests] == [sbom_digest]
    assert response_headers["oci-filters-applied"] == "artifactType"
    manifests, response_headers = referrers(client, headers, subject[1], artifactType="application/none")
    assert manifests == []
    assert response_headers["oci-filters-applied"] == "artifactType"


def test_artifact_type_falls_back_to_the_config_media_type(
    client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]
) -> None:
    push_blob(client, "admin/app", b'{"x":1}', headers)
    body = encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.example.config.v1+json", b'{"x":1}'),
            "layers": [],
            "subject": descriptor(OCI_MANIFEST, subject[0]),
        }
    )
    assert put_manifest(client, "admin/app", digest_of(body), body, headers, OCI_MANIFEST).status_code == 201
    manifests, _ = referrers(client, headers, subject[1])
    assert manifests[0]["artifactType"] == "application/vnd.example.config.v1+json"
    manifests, _ = referrers(client, headers, subject[1], artifactType="application/vnd.example.config.v1+json")
    assert len(manifests) == 1


def test_index_as_a_referrer(client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]) -> None:
    child, _ = push_image(client, "admin/app", None, headers, seed="child")
    body = encode(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "artifactType": SBOM,
            "manifests": [descriptor(OCI_MANIFEST, child)],
            "subject": descriptor(OCI_MANIFEST, subject[0]),
        }
    )
    response = put_manifest(client, "admin/app", "sbom-index", body, headers, OCI_INDEX)
    assert response.status_code == 201
    assert response.headers["oci-subject"] == subject[1]
    manifests, _ = referrers(client, headers, subject[1])
    assert manifests == [{"mediaType": OCI_INDEX, "digest": digest_of(body), "size": len(body), "artifactType": SBOM}]


def test_subject_need_not_exist(client: TestClient, headers: dict[str, str]) -> None:
    future = (encode(image_manifest(b"future", [])), "")
    future = (future[0], digest_of(future[0]))
    _, digest = artifact(client, headers, future, SBOM, b"early")
    manifests, _ = referrers(client, headers, future[1])
    assert [m["digest"] for m in manifests] == [digest]


def test_unknown_subject_gives_an_empty_index(
    client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]
) -> None:
    manifests, _ = referrers(client, headers, digest_of(b"nobody refers to this"))
    assert manifests == []
    manifests, _ = referrers(client, headers, subject[1])
    assert manifests == []


def test_deleted_referrers_disappear(client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]) -> None:
    _, digest = artifact(client, headers, subject, SBOM, b"sbom")
    assert client.delete(f"/v2/admin/app/manifests/{digest}", headers=headers).status_code == 202
    assert referrers(client, headers, subject[1])[0] == []


def test_referrers_stay_in_their_repository(
    client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]
) -> None:
    artifact(client, headers, subject, SBOM, b"sbom")
    other = auth_for(client, "admin/other")
    push_image(client, "admin/other", "v1", other)
    response = client.get(f"/v2/admin/other/referrers/{subject[1]}", headers=other)
    assert response.json()["manifests"] == []


def test_invalid_digest(client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]) -> None:
    for digest in ("sha256:abc", "v1", "sha256:" + "Z" * 64):
        assert_error(client.get(f"/v2/admin/app/referrers/{digest}", headers=headers), 400, "DIGEST_INVALID")


def test_missing_repository_and_permissions(
    client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]
) -> None:
    # A repository not pushed yet has no referrers, rather than not existing (for those who may read it).
    nothing = auth_for(client, "admin/nothing")
    response = client.get(f"/v2/admin/nothing/referrers/{subject[1]}", headers=nothing)
    assert response.status_code == 200
    assert response.json()["manifests"] == []
    assert_error(client.get(f"/v2/admin/nothing/referrers/{subject[1]}"), 401, "UNAUTHORIZED")
    assert_error(client.get(f"/v2/admin/app/referrers/{subject[1]}"), 401, "UNAUTHORIZED")


def test_config_media_type_referrer_with_plain_config(
    client: TestClient, headers: dict[str, str], subject: tuple[bytes, str]
) -> None:
    _, digest = artifact(client, headers, subject, None, b"plain", config_type=OCI_CONFIG)
    manifests, _ = referrers(client, headers, subject[1], artifactType=OCI_CONFIG)
    assert [m["digest"] for m in manifests] == [digest]
