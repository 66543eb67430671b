"""The registry publishes domain events on the bus for later domains (webhooks, analytics) to subscribe to."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from starlette.testclient import TestClient

from dockyard.events import EventBus
from dockyard.registry.events import BlobRequested, ManifestDeleted, ManifestPushed, ManifestRequested, TagDeleted
from tests.conftest import bearer

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _push(client: TestClient, auth: dict[str, str]) -> str:
    config = b"{}"
    assert (
        client.post(f"/v2/admin/ev/blobs/uploads/?digest={_digest(config)}", content=config, headers=auth).status_code
        == 201
    )
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": _digest(config), "size": 2},
            "layers": [],
        }
    ).encode()
    response = client.put("/v2/admin/ev/manifests/v1", content=manifest, headers={**auth, "Content-Type": OCI_MANIFEST})
    assert response.status_code == 201
    return response.headers["docker-content-digest"]


def test_push_pull_and_delete_publish_events(client: TestClient) -> None:
    seen: list[object] = []
    bus = client.app.state.services.bus  # type: ignore[attr-defined]
    for event_type in (ManifestPushed, ManifestRequested, BlobRequested, TagDeleted, ManifestDeleted):
        bus.subscribe(event_type, seen.append)
    auth = bearer(client, "repository:admin/ev:pull,push,delete")

    digest = _push(client, auth)
    pushed = [e for e in seen if isinstance(e, ManifestPushed)]
    assert [(e.repository, e.digest, e.tag, e.account) for e in pushed] == [("admin/ev", digest, "v1", "admin")]

    headers = {**auth, "User-Agent": "skopeo/1.9.3", "Accept": OCI_MANIFEST}
    assert client.head("/v2/admin/ev/manifests/v1", headers=headers).status_code == 200
    assert client.get(f"/v2/admin/ev/manifests/{digest}", headers=headers).status_code == 200
    assert client.get("/v2/admin/ev/manifests/missing", headers=headers).status_code == 404
    requested = [e for e in seen if isinstance(e, ManifestRequested)]
    assert [(e.method, e.reference, e.digest, e.status) for e in requested] == [
        ("HEAD", "v1", digest, 200),
        ("GET", digest, digest, 200),
        ("GET", "missing", None, 404),
    ]
    assert all(
        e.user_agent == "skopeo/1.9.3" and e.client_ip == "testclient" and e.account == "admin" for e in requested
    )

    assert client.get(f"/v2/admin/ev/blobs/{_digest(b'{}')}", headers=auth).status_code == 200
    blobs = [e for e in seen if isinstance(e, BlobRequested)]
    assert [(e.method, e.status) for e in blobs][-1] == ("GET", 200)

    assert client.delete(f"/v2/admin/ev/manifests/{digest}", headers=auth).status_code == 202
    assert [(e.tag, e.digest) for e in seen if isinstance(e, TagDeleted)] == [("v1", digest)]
    assert [e.digest for e in seen if isinstance(e, ManifestDeleted)] == [digest]


def test_a_failing_subscriber_does_not_fail_the_request(client: TestClient) -> None:
    def broken(_: object) -> None:
        raise RuntimeError("subscriber bug")

    client.app.state.services.bus.subscribe(ManifestPushed, broken)  # type: ignore[attr-defined]
    _push(client, bearer(client, "repository:admin/ev:pull,push"))


def test_an_unsubscribed_handler_gets_no_more_events() -> None:
    bus = EventBus()
    kept: list[TagDeleted] = []
    dropped: list[TagDeleted] = []
    bus.subscribe(TagDeleted, kept.append)
    bus.subscribe(TagDeleted, dropped.append)
    now = datetime.now(UTC)
    bus.publish(TagDeleted("admin/ev", "v1", "sha256:1", None, now))
    bus.unsubscribe(TagDeleted, dropped.append)
    bus.unsubscribe(TagDeleted, dropped.append)  # no longer subscribed: nothing happens
    bus.unsubscribe(ManifestPushed, kept.append)  # never subscribed to this type: nothing happens
    bus.publish(TagDeleted("admin/ev", "v2", "sha256:2", None, now))
    assert [e.tag for e in kept] == ["v1", "v2"]
    assert [e.tag for e in dropped] == ["v1"]
