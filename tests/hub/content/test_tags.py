"""Tags through the Hub API: tag objects with per-platform images, listing with ordering, filters and pages,
single tags, HEAD checks and deletion."""

from __future__ import annotations

import json

from starlette.testclient import TestClient

from tests.hub.content.helpers import (
    OCI_INDEX,
    OCI_MANIFEST,
    PASSWORD,
    admin,
    auth_for,
    create_org,
    create_repo,
    create_user,
    encode,
    push,
    push_index,
    set_member,
    user,
)
from tests.registry.helpers import (
    DOCKER_CONFIG,
    DOCKER_LAYER,
    DOCKER_MANIFEST,
    assert_error,
    descriptor,
    digest_of,
    image_manifest,
    push_blob,
    put_manifest,
)

TAG_FIELDS = {
    "id", "name", "creator", "last_updater", "last_updater_username", "repository", "last_updated", "full_size", "v2",
    "tag_status", "tag_last_pulled", "tag_last_pushed", "media_type", "content_type", "digest", "images",
}  # fmt: skip
IMAGE_FIELDS = {
    "architecture", "features", "variant", "digest", "os", "os_features", "os_version", "size", "status",
    "last_pulled", "last_pushed", "layers",
}  # fmt: skip


def test_a_single_image_tag(client: TestClient) -> None:
    digest = push(client, "admin/app", "v1")
    response = client.get("/v2/namespaces/admin/repositories/app/tags/v1")
    assert response.status_code == 200
    tag = response.json()
    assert set(tag) == TAG_FIELDS
    assert tag["name"] == "v1" and tag["digest"] == digest and tag["v2"] is True
    assert tag["media_type"] == OCI_MANIFEST and tag["content_type"] == "image"
    assert tag["tag_status"] == "active" and tag["tag_last_pulled"] is None and tag["tag_last_pushed"]
    assert tag["last_updater_username"] == "admin" and tag["creator"] == tag["last_updater"]
    [image] = tag["images"]
    assert set(image) == IMAGE_FIELDS
    assert (image["os"], image["architecture"], image["digest"]) == ("linux", "amd64", digest)
    assert image["size"] == tag["full_size"] > 0
    assert image["status"] == "active" and image["last_pushed"]
    assert [layer["size"] for layer in image["layers"]] == [image["size"]]
    assert client.head("/v2/namespaces/admin/repositories/app/tags/v1").status_code == 200
    assert client.get("/v2/namespaces/admin/repositories/app/tags/v1/").status_code == 200
    assert client.get("/v2/repositories/admin/app/tags/v1/").json()["digest"] == digest
    assert client.get("/v2/repositories/admin/app/tags/v1").status_code == 200
    for missing in ("/v2/namespaces/admin/repositories/app/tags/nope", "/v2/repositories/admin/app/tags/nope/"):
        assert client.get(missing).status_code == 404
        assert client.head(missing).status_code == 404


def test_platform_and_layer_history_come_from_the_config(client: TestClient) -> None:
    headers = auth_for(client, "admin/arm")
    config = encode(
        {
            "architecture": "arm",
            "variant": "v7",
            "os": "linux",
            "history": [
                {"created_by": "ADD rootfs.tar /"},
                {"created_by": "ENV A=b", "empty_layer": True},
                {"created_by": "RUN make"},
            ],
        }
    )
    layers = [b"first layer", b"second layer!"]
    push_blob(client, "admin/arm", config, headers)
    for layer in layers:
        push_blob(client, "admin/arm", layer, headers)
    body = encode(
        image_manifest(config, layers, media_type=DOCKER_MANIFEST, config_type=DOCKER_CONFIG, layer_type=DOCKER_LAYER)
    )
    assert put_manifest(client, "admin/arm", "v1", body, headers, DOCKER_MANIFEST).status_code == 201
    tag = client.get("/v2/repositories/admin/arm/tags/v1/").json()
    [image] = tag["images"]
    assert (image["os"], image["architecture"], image["variant"]) == ("linux", "arm", "v7")
    assert image["layers"] == [
        {"digest": digest_of(layers[0]), "size": len(layers[0]), "instruction": "ADD rootfs.tar /"},
        {"digest": digest_of(layers[1]), "size": len(layers[1]), "instruction": "RUN make"},
    ]
    assert tag["full_size"] == sum(len(layer) for layer in layers)
    assert tag["media_type"] == DOCKER_MANIFEST and tag["content_type"] == "image"
    listed = client.get("/v2/repositories/admin/arm/tags/").json()["results"][0]
    assert listed["images"][0]["layers"] is None  # pages leave the layers out


def test_a_multi_platform_tag_has_one_image_per_platform(client: TestClient) -> None:
    headers = auth_for(client, "admin/multi")
    index_digest, children = push_index(client, "admin/multi", "latest", [("linux", "arm64"), ("linux", "amd64")])
    tag = client.get("/v2/namespaces/admin/repositories/multi/tags/latest").json()
    assert tag["digest"] == index_digest and tag["media_type"] == OCI_INDEX
    assert [(i["os"], i["architecture"], i["digest"]) for i in tag["images"]] == [
        ("linux", "arm64", children[0]),
        ("linux", "amd64", children[1]),
    ]
    assert tag["full_size"] == tag["images"][1]["size"]

    # An attestation manifest (platform unknown/unknown) is not an image of the tag.
    index = json.loads(client.get(f"/v2/admin/multi/manifests/{index_digest}", headers=headers).content)
    config = client.get(f"/v2/admin/multi/manifests/{children[0]}", headers=headers).json()["config"]
    attestation = encode({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": []})
    assert (
        put_manifest(client, "admin/multi", digest_of(attestation), attestation, headers, OCI_MANIFEST).status_code
        == 201
    )
    index["manifests"].append(
        descriptor(OCI_MANIFEST, attestation, platform={"os": "unknown", "architecture": "unknown"})
    )
    assert put_manifest(client, "admin/multi", "with-attestation", encode(index), headers, OCI_INDEX).status_code == 201
    tag = client.get("/v2/repositories/admin/multi/tags/with-attestation/").json()
    assert len(tag["images"]) == 2


def test_listing_orders_filters_and_pages(client: TestClient) -> None:
    for tag in ("b", "a", "c", "release-1", "release-2"):
        push(client, "admin/app", tag)
    path = "/v2/repositories/admin/app/tags/"

    def names(**params: object) -> list[str]:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        return [tag["name"] for tag in response.json()["results"]]

    assert names() == ["release-2", "release-1", "c", "a", "b"]  # newest first
    assert names(ordering="last_updated") == ["b", "a", "c", "release-1", "release-2"]
    assert names(ordering="name") == ["a", "b", "c", "release-1", "release-2"]
    assert names(ordering="-name") == ["release-2", "release-1", "c", "b", "a"]
    assert names(name="release", ordering="name") == ["release-1", "release-2"]
    assert names(name="_") == []
    page = client.get(path, params={"page_size": 2, "page": 1, "ordering": "name"}).json()
    assert page["count"] == 5 and [t["name"] for t in page["results"]] == ["a", "b"]
    assert page["next"] == "http://testserver/v2/repositories/admin/app/tags/?page_size=2&ordering=name&page=2"
    assert page["previous"] is None
    assert client.get(path, params={"page": 4, "page_size": 2}).status_code == 404
    assert client.get(path, params={"ordering": "size"}).status_code == 400
    assert client.get(path, params={"page_size": "many"}).status_code == 400
    current = client.get("/v2/namespaces/admin/repositories/app/tags", params={"ordering": "name"}).json()
    assert [t["name"] for t in current["results"]] == ["a", "b", "c", "release-1", "release-2"]
    assert client.get("/v2/repositories/admin/app/tags").json()["count"] == 5
    # The npm client's form: no trailing slash before the query string, Authorization: JWT.
    assert client.get("/v2/repositories/admin/app/tags?page_size=100&page=1").json()["count"] == 5


def test_head_on_the_tag_list_says_whether_there_are_tags(client: TestClient) -> None:
    headers = admin(client)
    assert create_repo(client, headers, "admin", "empty").status_code == 201
    push(client, "admin/full", "v1")
    assert client.head("/v2/namespaces/admin/repositories/full/tags").status_code == 200
    assert client.head("/v2/namespaces/admin/repositories/empty/tags").status_code == 404
    assert client.get("/v2/namespaces/admin/repositories/empty/tags").json() == {
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }
    assert client.head("/v2/namespaces/admin/repositories/nope/tags").status_code == 404


def test_creator_and_last_updater(client: TestClient) -> None:
    create_user(client, "bob")
    create_user(client, "carol")
    create_org(client, "acme", "bob")
    set_member(client, "acme", "carol", "editor")
    bob = push(client, "acme/app", "v1", username="bob", password=PASSWORD, seed="bob")
    tag = client.get("/v2/repositories/acme/app/tags/v1/").json()
    assert tag["last_updater_username"] == "bob" and tag["digest"] == bob
    push(client, "acme/app", "v1", username="carol", password=PASSWORD, seed="carol")
    tag = client.get("/v2/repositories/acme/app/tags/v1/").json()
    assert tag["last_updater_username"] == "carol"
    assert tag["creator"] != tag["last_updater"]


def test_delete_a_tag(client: TestClient) -> None:
    digest = push(client, "admin/app", "v1")
    push(client, "admin/app", "v2")
    headers = admin(client)
    bob = user(client, "bob")
    assert client.delete("/v2/repositories/admin/app/tags/v1/").status_code == 401
    assert client.delete("/v2/repositories/admin/app/tags/v1/", headers=bob).status_code == 403
    assert client.delete("/v2/repositories/admin/app/tags/v1/", headers=headers).status_code == 204
    assert client.delete("/v2/repositories/admin/app/tags/v1", headers=headers).status_code == 404
    assert client.get("/v2/repositories/admin/app/tags/").json()["count"] == 1
    registry = auth_for(client, "admin/app", "pull")
    assert_error(client.get("/v2/admin/app/manifests/v1", headers=registry), 404, "MANIFEST_UNKNOWN")
    # The image itself stays.
    assert (
        client.get(f"/v2/admin/app/manifests/{digest}", headers={**registry, "Accept": OCI_MANIFEST}).status_code == 200
    )


def test_delete_a_tag_of_an_official_image_by_its_short_name(client: TestClient) -> None:
    push(client, "library/nginx", "latest")
    push(client, "library/nginx", "stable")
    headers = admin(client)
    assert client.delete("/v2/repositories/nginx/tags/latest/", headers=headers).status_code == 204
    assert [t["name"] for t in client.get("/v2/repositories/library/nginx/tags/").json()["results"]] == ["stable"]
    assert client.get("/v2/repositories/_/nginx/tags/").json()["count"] == 1
    assert client.delete("/v2/repositories/nginx/tags/latest/", headers=headers).status_code == 404
    assert client.delete("/v2/repositories/nginx/tags/stable/", headers=user(client, "bob")).status_code == 403


def test_private_repository_tags_are_invisible(client: TestClient) -> None:
    headers = admin(client)
    assert create_repo(client, headers, "admin", "secret", is_private=True).status_code == 201
    push(client, "admin/secret", "v1")
    bob = user(client, "bob")
    for who in ({}, bob):
        for path in (
            "/v2/repositories/admin/secret/tags/",
            "/v2/repositories/admin/secret/tags/v1/",
            "/v2/namespaces/admin/repositories/secret/tags",
            "/v2/namespaces/admin/repositories/secret/tags/v1",
        ):
            assert client.get(path, headers=who).status_code == 404, path
            assert client.head(path, headers=who).status_code == 404, path
        assert client.delete("/v2/repositories/admin/secret/tags/v1/", headers=who).status_code in (401, 404)
    assert client.delete("/v2/repositories/admin/secret/tags/v1/", headers=bob).status_code == 404
    assert client.get("/v2/repositories/admin/secret/tags/", headers=headers).json()["count"] == 1
