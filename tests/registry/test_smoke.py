"""A first end-to-end path through the in-process app: token, blob upload, manifest push and pull."""

from __future__ import annotations

import hashlib
import json

from starlette.testclient import TestClient

from tests.conftest import bearer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def digest_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_push_and_pull_round_trip(client: TestClient) -> None:
    auth = bearer(client, "repository:admin/app:pull,push")
    config, layer = b"{}", b"layer bytes"
    for blob in (config, layer):
        response = client.post(f"/v2/admin/app/blobs/uploads/?digest={digest_of(blob)}", content=blob, headers=auth)
        assert response.status_code == 201, response.text
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest_of(config), "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest_of(layer), "size": 11}],
        }
    ).encode()
    response = client.put(
        "/v2/admin/app/manifests/v1", content=manifest, headers={**auth, "Content-Type": OCI_MANIFEST}
    )
    assert response.status_code == 201, response.text
    assert response.headers["docker-content-digest"] == digest_of(manifest)

    pull = bearer(client, "repository:admin/app:pull", username=None)
    response = client.get("/v2/admin/app/manifests/v1", headers={**pull, "Accept": OCI_MANIFEST})
    assert response.status_code == 200
    assert response.content == manifest
    response = client.get(f"/v2/admin/app/blobs/{digest_of(layer)}", headers=pull)
    assert response.content == layer
