"""Docker Hub-style pull limits: counted on image-manifest GETs only, reported on GET and HEAD, 429 when used up."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.conftest import bearer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture
def limited(settings: Settings) -> Iterator[TestClient]:
    limited_settings = dataclasses.replace(
        settings, pull_limit_anonymous=2, pull_limit_authenticated=3, pull_limit_window_seconds=3600
    )
    with TestClient(create_app(limited_settings)) as client:
        yield client


def _push_image_and_index(client: TestClient) -> tuple[str, str]:
    auth = bearer(client, "repository:admin/lim:pull,push")
    config = b'{"architecture":"amd64","os":"linux"}'
    client.post(f"/v2/admin/lim/blobs/uploads/?digest={_digest(config)}", content=config, headers=auth)
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [],
        }
    ).encode()
    image = client.put("/v2/admin/lim/manifests/img", content=manifest, headers={**auth, "Content-Type": OCI_MANIFEST})
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [
                {
                    "mediaType": OCI_MANIFEST,
                    "digest": image.headers["docker-content-digest"],
                    "size": len(manifest),
                    "platform": {"os": "linux", "architecture": "amd64"},
                }
            ],
        }
    ).encode()
    assert (
        client.put(
            "/v2/admin/lim/manifests/idx", content=index, headers={**auth, "Content-Type": OCI_INDEX}
        ).status_code
        == 201
    )
    return image.headers["docker-content-digest"], _digest(index)


def test_anonymous_pulls_are_limited_per_address(limited: TestClient) -> None:
    image, _ = _push_image_and_index(limited)
    anonymous = {
        **bearer(limited, "repository:admin/lim:pull", username=None),
        "Accept": f"{OCI_MANIFEST}, {OCI_INDEX}",
    }

    head = limited.head("/v2/admin/lim/manifests/img", headers=anonymous)
    assert head.headers["ratelimit-limit"] == "2;w=3600"
    assert head.headers["ratelimit-remaining"] == "2;w=3600"
    assert head.headers["docker-ratelimit-source"] == "testclient"

    # An index GET is not a pull; the platform manifest after it is.
    assert limited.get("/v2/admin/lim/manifests/idx", headers=anonymous).headers["ratelimit-remaining"] == "2;w=3600"
    assert (
        limited.get(f"/v2/admin/lim/manifests/{image}", headers=anonymous).headers["ratelimit-remaining"] == "1;w=3600"
    )
    assert limited.get("/v2/admin/lim/manifests/img", headers=anonymous).headers["ratelimit-remaining"] == "0;w=3600"

    refused = limited.get("/v2/admin/lim/manifests/img", headers=anonymous)
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert "pull rate limit" in refused.json()["errors"][0]["message"]
    # Version checks still answer, and still say how much is left.
    head = limited.head("/v2/admin/lim/manifests/img", headers=anonymous)
    assert head.status_code == 200 and head.headers["ratelimit-remaining"] == "0;w=3600"


def test_signed_in_callers_have_their_own_allowance(limited: TestClient) -> None:
    _push_image_and_index(limited)
    auth = {**bearer(limited, "repository:admin/lim:pull"), "Accept": OCI_MANIFEST}
    response = limited.get("/v2/admin/lim/manifests/img", headers=auth)
    assert response.headers["ratelimit-limit"] == "3;w=3600"
    assert response.headers["ratelimit-remaining"] == "2;w=3600"
    assert response.headers["docker-ratelimit-source"] != "testclient"


def test_no_limit_headers_when_limits_are_off(client: TestClient) -> None:
    _push_image_and_index(client)
    response = client.get(
        "/v2/admin/lim/manifests/img", headers={**bearer(client, "repository:admin/lim:pull"), "Accept": OCI_MANIFEST}
    )
    assert response.status_code == 200
    assert "ratelimit-limit" not in response.headers
