"""Garbage collection: what registry.gc.collect removes, what it keeps, and that a dry run changes nothing."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.testclient import TestClient

from dockyard.registry import gc
from dockyard.registry.models import Blob, Manifest, RepositoryBlob, Upload
from tests.registry.helpers import (
    ADMIN,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_LAYER,
    OCI_MANIFEST,
    descriptor,
    digest_of,
    encode,
    image_manifest,
    in_app,
    in_transaction,
    index_manifest,
    push_blob,
    put_manifest,
    services,
)

REPO = "admin/app"


@dataclass
class Scene:
    kept_manifests: dict[str, bytes] = field(default_factory=dict)  # digest -> body
    gone_manifests: dict[str, bytes] = field(default_factory=dict)
    kept_blobs: dict[str, bytes] = field(default_factory=dict)
    gone_blobs: dict[str, bytes] = field(default_factory=dict)
    uploads: list[str] = field(default_factory=list)


def image(client: TestClient, name: str, shared: bytes) -> tuple[bytes, bytes, bytes]:
    """Push config + own layer + a shared layer; return (manifest, config, layer) without pushing the manifest."""
    config = encode({"name": name})
    layer = f"layer of {name}".encode()
    for blob in (config, layer, shared):
        push_blob(client, REPO, blob, ADMIN)
    return encode(image_manifest(config, [shared, layer])), config, layer


def put(client: TestClient, reference: str | None, body: bytes, media_type: str = OCI_MANIFEST) -> str:
    digest = digest_of(body)
    response = put_manifest(client, REPO, reference or digest, body, ADMIN, media_type)
    assert response.status_code == 201, response.text
    return digest


@pytest.fixture
def scene(client: TestClient) -> Scene:
    s = Scene()
    shared = b"a layer every image shares"
    s.kept_blobs[digest_of(shared)] = shared

    # A tagged image: everything it references stays.
    tagged, config, layer = image(client, "tagged", shared)
    s.kept_manifests[put(client, "v1", tagged)] = tagged
    s.kept_blobs |= {digest_of(config): config, digest_of(layer): layer}

    # An untagged image: it goes, and its own blobs with it, but not the shared layer.
    untagged, config, layer = image(client, "untagged", shared)
    s.gone_manifests[put(client, None, untagged)] = untagged
    s.gone_blobs |= {digest_of(config): config, digest_of(layer): layer}

    # A tagged index keeps its untagged children and their blobs.
    child, config, layer = image(client, "child of tagged index", shared)
    s.kept_manifests[put(client, None, child)] = child
    s.kept_blobs |= {digest_of(config): config, digest_of(layer): layer}
    index = index_manifest([(child, OCI_MANIFEST, {"os": "linux", "architecture": "amd64"})])
    s.kept_manifests[put(client, "multi", index, OCI_INDEX)] = index

    # An untagged index goes, and then its children do.
    orphan_child, config, layer = image(client, "child of untagged index", shared)
    s.gone_manifests[put(client, None, orphan_child)] = orphan_child
    s.gone_blobs |= {digest_of(config): config, digest_of(layer): layer}
    orphan_index = index_manifest([(orphan_child, OCI_MANIFEST, None)])
    s.gone_manifests[put(client, None, orphan_index, OCI_INDEX)] = orphan_index

    # A referrer stays while its subject does; a referrer of a collected manifest goes after it.
    empty = b"{}"
    push_blob(client, REPO, empty, ADMIN)
    s.kept_blobs[digest_of(empty)] = empty
    for subject, payload, bucket, blobs in (
        (tagged, b"signature of tagged", s.kept_manifests, s.kept_blobs),
        (untagged, b"signature of untagged", s.gone_manifests, s.gone_blobs),
    ):
        push_blob(client, REPO, payload, ADMIN)
        blobs[digest_of(payload)] = payload
        referrer = encode(
            image_manifest(
                empty,
                [payload],
                config_type=OCI_EMPTY,
                layer_type=OCI_LAYER,
                artifactType="application/vnd.example.signature",
                subject=descriptor(OCI_MANIFEST, subject),
            )
        )
        bucket[put(client, None, referrer)] = referrer

    # A blob nothing references.
    loose = b"uploaded but never used"
    push_blob(client, REPO, loose, ADMIN)
    s.gone_blobs[digest_of(loose)] = loose

    # An upload in progress (a row and a file), and an upload file whose row was lost.
    response = client.post(f"/v2/{REPO}/blobs/uploads/", headers=ADMIN)
    client.patch(response.headers["location"], content=b"half an upload", headers=ADMIN)
    s.uploads.append(response.headers["location"])
    storage = services(client).storage
    stray = storage.uploads_dir / "stray-upload"
    stray.write_bytes(b"left behind by a crash")
    old = time.time() - 10
    os.utime(stray, (old, old))
    return s


def collect(client: TestClient, *, dry_run: bool, grace: int = 0, expiry: int = 0) -> gc.GCReport:
    s = services(client)
    return in_app(
        client,
        lambda: gc.collect(
            s.db,
            s.storage,
            grace_seconds=grace,
            upload_expiry_seconds=expiry,
            dry_run=dry_run,
            cache=s.registry.cache,
        ),
    )


def counts(client: TestClient) -> tuple[int, int, int, int]:
    async def work(session: AsyncSession) -> tuple[int, int, int, int]:
        values = []
        for model in (Manifest, Blob, RepositoryBlob, Upload):
            values.append(int((await session.execute(select(func.count()).select_from(model))).scalar_one()))
        return values[0], values[1], values[2], values[3]

    return in_transaction(client, work)


def snapshot(client: TestClient, scene: Scene) -> dict[str, object]:
    """Everything observable: counts, files, and what HTTP answers (fresh reads, no cache involved)."""
    storage = services(client).storage
    blobs = {**scene.kept_blobs, **scene.gone_blobs}
    return {
        "counts": counts(client),
        "files": sorted(d for d in blobs if storage.local_path(d).exists()),
        "uploads": sorted(storage.upload_ids()),
        "tags": client.get(f"/v2/{REPO}/tags/list", headers=ADMIN).json()["tags"],
        "blob status": {d: client.head(f"/v2/{REPO}/blobs/{d}", headers=ADMIN).status_code for d in blobs},
    }


def assert_manifests(client: TestClient, manifests: dict[str, bytes], status: int) -> None:
    for digest, body in manifests.items():
        response = client.get(f"/v2/{REPO}/manifests/{digest}", headers=ADMIN)
        assert response.status_code == status, digest
        if status == 200:
            assert response.content == body


def test_dry_run_changes_nothing(client: TestClient, scene: Scene) -> None:
    before = snapshot(client, scene)
    report = collect(client, dry_run=True)
    # A dry run announces exactly what a real run removes, including what only falls out after the first pass.
    assert {digest for _, digest in report.manifests} == set(scene.gone_manifests)
    assert set(report.blobs) == set(scene.gone_blobs)
    assert "stray-upload" in report.uploads
    assert report.summary()
    assert snapshot(client, scene) == before
    assert_manifests(client, {**scene.kept_manifests, **scene.gone_manifests}, 200)
    for location in scene.uploads:
        assert client.get(location, headers=ADMIN).status_code == 204


def test_grace_period_protects_recent_work(client: TestClient, scene: Scene) -> None:
    before = snapshot(client, scene)
    report = collect(client, dry_run=False, grace=3600, expiry=3600)
    assert report.manifests == [] and report.blobs == [] and report.links == 0 and report.uploads == []
    assert snapshot(client, scene) == before


def test_collect(client: TestClient, scene: Scene) -> None:
    storage = services(client).storage
    report = collect(client, dry_run=False)

    assert {digest for _, digest in report.manifests} == set(scene.gone_manifests)
    assert set(report.blobs) == set(scene.gone_blobs)
    assert_manifests(client, scene.kept_manifests, 200)
    assert_manifests(client, scene.gone_manifests, 404)
    for digest, data in scene.kept_blobs.items():
        assert client.get(f"/v2/{REPO}/blobs/{digest}", headers=ADMIN).content == data
        assert storage.local_path(digest).exists()
    for digest in scene.gone_blobs:
        assert client.head(f"/v2/{REPO}/blobs/{digest}", headers=ADMIN).status_code == 404
        assert not storage.local_path(digest).exists()
    assert client.get(f"/v2/{REPO}/tags/list", headers=ADMIN).json()["tags"] == ["multi", "v1"]
    for location in scene.uploads:
        assert client.get(location, headers=ADMIN).status_code == 404
    assert storage.upload_ids() == []
    assert list(storage.trash_dir.iterdir()) == []
    manifests, blobs, links, uploads = counts(client)
    assert (manifests, blobs, links, uploads) == (
        len(scene.kept_manifests),
        len(scene.kept_blobs),
        len(scene.kept_blobs),
        0,
    )

    # A second run finds nothing more.
    again = collect(client, dry_run=False)
    assert again.manifests == [] and again.blobs == [] and again.links == 0 and again.uploads == []


def test_collected_blobs_can_be_pushed_again(client: TestClient, scene: Scene) -> None:
    collect(client, dry_run=False)
    digest, data = next(iter(scene.gone_blobs.items()))
    assert push_blob(client, REPO, data, ADMIN) == digest
    assert client.get(f"/v2/{REPO}/blobs/{digest}", headers=ADMIN).content == data


def test_blob_kept_while_another_repository_references_it(client: TestClient) -> None:
    shared = b"in two repositories"
    config = b'{"x":1}'
    for repo in ("admin/one", "admin/two"):
        push_blob(client, repo, shared, ADMIN)
        push_blob(client, repo, config, ADMIN)
    body = encode(image_manifest(config, [shared]))
    assert put_manifest(client, "admin/one", "v1", body, ADMIN, OCI_MANIFEST).status_code == 201
    assert client.head(f"/v2/admin/two/blobs/{digest_of(shared)}", headers=ADMIN).status_code == 200  # now cached
    collect(client, dry_run=False)
    assert client.get(f"/v2/admin/one/blobs/{digest_of(shared)}", headers=ADMIN).content == shared
    # admin/two's link was unreferenced there, so it is gone, but the blob itself stays for admin/one.
    assert client.head(f"/v2/admin/two/blobs/{digest_of(shared)}", headers=ADMIN).status_code == 404
    assert services(client).storage.local_path(digest_of(shared)).exists()


def test_collected_manifests_are_not_served_from_the_cache(client: TestClient) -> None:
    """The server's manifest cache must forget what an in-process collection deleted."""
    config, layer = b'{"cached":true}', b"cached layer"
    push_blob(client, REPO, config, ADMIN)
    push_blob(client, REPO, layer, ADMIN)
    body = encode(image_manifest(config, [layer]))
    digest = put(client, None, body)
    assert client.get(f"/v2/{REPO}/manifests/{digest}", headers=ADMIN).content == body
    assert client.head(f"/v2/{REPO}/manifests/{digest}", headers=ADMIN).status_code == 200
    collect(client, dry_run=False)
    assert client.get(f"/v2/{REPO}/manifests/{digest}", headers=ADMIN).status_code == 404
    assert client.head(f"/v2/{REPO}/manifests/{digest}", headers=ADMIN).status_code == 404
