"""Requests that race: a client's first push sends its uploads (and multi-arch pushes their manifests) in
parallel. Real on PostgreSQL, where transactions run side by side; SQLite serialises writers anyway."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from starlette.testclient import TestClient

from tests.registry.helpers import OCI_INDEX, OCI_MANIFEST, auth_for, index_manifest, push_image, put_manifest

PARALLEL = 8


def test_parallel_first_uploads_create_the_repository_once(client: TestClient) -> None:
    headers = auth_for(client, "admin/fresh")
    with ThreadPoolExecutor(PARALLEL) as pool:
        responses = list(
            pool.map(lambda _: client.post("/v2/admin/fresh/blobs/uploads/", headers=headers), range(PARALLEL))
        )
    assert [r.status_code for r in responses] == [202] * PARALLEL
    for response in responses:
        assert client.get(response.headers["location"], headers=headers).status_code == 204


def test_parallel_pushes_of_the_same_index(client: TestClient) -> None:
    headers = auth_for(client, "admin/app")
    child, _ = push_image(client, "admin/app", None, headers)
    index = index_manifest([(child, OCI_MANIFEST, {"os": "linux", "architecture": "amd64"})])
    with ThreadPoolExecutor(PARALLEL) as pool:
        responses = list(
            pool.map(lambda i: put_manifest(client, "admin/app", f"t{i}", index, headers, OCI_INDEX), range(PARALLEL))
        )
    assert [r.status_code for r in responses] == [201] * PARALLEL
    assert len({r.headers["docker-content-digest"] for r in responses}) == 1
    tags = client.get("/v2/admin/app/tags/list", headers=headers).json()["tags"]
    assert tags == [f"t{i}" for i in range(PARALLEL)]
    for tag in tags:
        assert client.get(f"/v2/admin/app/manifests/{tag}", headers={**headers, "Accept": OCI_INDEX}).content == index


def test_parallel_pushes_to_one_tag(client: TestClient) -> None:
    headers = auth_for(client, "admin/app")
    bodies = [push_image(client, "admin/app", None, headers, seed=str(i))[0] for i in range(2)]
    with ThreadPoolExecutor(PARALLEL) as pool:
        responses = list(
            pool.map(
                lambda i: put_manifest(client, "admin/app", "latest", bodies[i % 2], headers, OCI_MANIFEST),
                range(PARALLEL),
            )
        )
    assert [r.status_code for r in responses] == [201] * PARALLEL
    assert client.get("/v2/admin/app/manifests/latest", headers=headers).content in bodies
