"""Repository names: the OCI grammar, and one-segment names that live under library/."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.registry.helpers import ADMIN, OCI_MANIFEST, assert_error, auth_for, push_image, put_manifest, token

INVALID = [
    "Admin/app",
    "admin/App",
    "admin/-app",
    "admin/app-",
    "admin/app_",
    "admin/a..b",
    "admin/a___b",
    "admin/.app",
    "admin//app",
    "admin/app/",
    "admin/ap%20p",
    "admin/" + "a" * 250,
]


VALID = ["admin/a.b", "admin/a_b", "admin/a__b", "admin/a--b", "admin/x/y/z", "admin/0"]


def test_invalid_names(client: TestClient) -> None:
    for name in INVALID:
        for response in (
            client.get(f"/v2/{name}/manifests/v1", headers=ADMIN),
            client.put(f"/v2/{name}/manifests/v1", content=b"{}", headers={**ADMIN, "Content-Type": OCI_MANIFEST}),
            client.get(f"/v2/{name}/tags/list", headers=ADMIN),
            client.post(f"/v2/{name}/blobs/uploads/", headers=ADMIN),
            client.get(f"/v2/{name}/blobs/sha256:{'0' * 64}", headers=ADMIN),
            client.get(f"/v2/{name}/manifests/v1"),
        ):
            assert response.status_code == 400, (name, response.request.method, response.text)
            assert_error(response, 400, "NAME_INVALID")


def test_valid_names(client: TestClient) -> None:
    for name in VALID:
        body, _ = push_image(client, name, "v1", ADMIN)
        assert client.get(f"/v2/{name}/manifests/v1", headers=ADMIN).content == body
        assert client.get(f"/v2/{name}/tags/list", headers=ADMIN).json() == {"name": name, "tags": ["v1"]}


def test_one_segment_names_live_in_library(client: TestClient) -> None:
    headers = auth_for(client, "alpine")
    body, digest = push_image(client, "alpine", "3.20", headers)
    library = auth_for(client, "library/alpine", "pull")
    response = client.get("/v2/library/alpine/manifests/3.20", headers=library)
    assert response.content == body
    # A token for one spelling is good for the other.
    assert client.get("/v2/alpine/manifests/3.20", headers=library).content == body
    assert client.get("/v2/alpine/tags/list", headers=headers).json() == {"name": "alpine", "tags": ["3.20"]}
    assert client.get("/v2/library/alpine/tags/list", headers=headers).json()["name"] == "library/alpine"
    catalog = {"Authorization": "Bearer " + token(client, "registry:catalog:*")}
    assert client.get("/v2/_catalog", headers=catalog).json()["repositories"] == ["library/alpine"]
    # Anonymous pulls of official images, like Docker Hub's.
    anonymous = auth_for(client, "alpine", "pull", username=None)
    assert client.get(f"/v2/alpine/manifests/{digest}", headers=anonymous).content == body
    # Pushing again through the long name changes the same repository.
    put_manifest(client, "library/alpine", "latest", body, headers, OCI_MANIFEST)
    assert client.get("/v2/alpine/tags/list", headers=headers).json()["tags"] == ["3.20", "latest"]


def test_upload_location_keeps_the_name_as_written(client: TestClient) -> None:
    response = client.post("/v2/alpine/blobs/uploads/", headers=ADMIN)
    assert response.status_code == 202
    assert response.headers["location"].startswith("/v2/alpine/blobs/uploads/")
    assert client.get(response.headers["location"], headers=ADMIN).status_code == 204
    same = response.headers["location"].replace("/v2/alpine/", "/v2/library/alpine/")
    assert client.get(same, headers=ADMIN).status_code == 204
