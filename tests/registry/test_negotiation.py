"""Accept negotiation on manifest GET and HEAD by tag."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.registry.helpers import (
    DOCKER_LIST,
    DOCKER_MANIFEST,
    OCI_INDEX,
    OCI_MANIFEST,
    assert_error,
    auth_for,
    digest_of,
    index_manifest,
    push_image,
    put_manifest,
)

AMD64 = {"os": "linux", "architecture": "amd64"}
ARM64 = {"os": "linux", "architecture": "arm64"}
WINDOWS = {"os": "windows", "architecture": "amd64"}


@pytest.fixture
def headers(client: TestClient) -> dict[str, str]:
    return auth_for(client, "admin/app")


def push_index(
    client: TestClient, headers: dict[str, str], index_type: str, child_type: str, platforms: list[dict[str, str]]
) -> tuple[bytes, dict[str, bytes]]:
    children = {}
    for platform in platforms:
        body, _ = push_image(client, "admin/app", None, headers, seed=str(platform), media_type=child_type)
        children[f"{platform['os']}/{platform['architecture']}"] = body
    index = index_manifest([(children[f"{p['os']}/{p['architecture']}"], child_type, p) for p in platforms], index_type)
    assert put_manifest(client, "admin/app", "latest", index, headers, index_type).status_code == 201
    return index, children


def get(client: TestClient, headers: dict[str, str], reference: str, *accept: str) -> tuple[int, bytes, dict[str, str]]:
    request_headers = dict(headers)
    if accept:
        request_headers["Accept"] = ", ".join(accept)
    response = client.get(f"/v2/admin/app/manifests/{reference}", headers=request_headers)
    head = client.head(f"/v2/admin/app/manifests/{reference}", headers=request_headers)
    assert head.status_code == response.status_code
    if response.status_code == 200:
        assert head.headers["docker-content-digest"] == response.headers["docker-content-digest"]
        assert head.headers["content-type"] == response.headers["content-type"]
    return response.status_code, response.content, dict(response.headers)


@pytest.mark.parametrize(("index_type", "child_type"), [(OCI_INDEX, OCI_MANIFEST), (DOCKER_LIST, DOCKER_MANIFEST)])
def test_image_only_client_gets_the_linux_amd64_child(
    client: TestClient, headers: dict[str, str], index_type: str, child_type: str
) -> None:
    index, children = push_index(client, headers, index_type, child_type, [ARM64, AMD64, WINDOWS])
    status, body, response_headers = get(client, headers, "latest", child_type)
    assert status == 200
    assert body == children["linux/amd64"]
    assert response_headers["content-type"] == child_type
    assert response_headers["docker-content-digest"] == digest_of(children["linux/amd64"])

    # Clients that accept the index get it, whatever else they accept.
    for accept in ((index_type,), (child_type, index_type), ("*/*",), ()):
        status, body, response_headers = get(client, headers, "latest", *accept)
        assert status == 200
        assert body == index
        assert response_headers["content-type"] == index_type


def test_accept_can_be_sent_as_several_headers(client: TestClient, headers: dict[str, str]) -> None:
    index, _children = push_index(client, headers, OCI_INDEX, OCI_MANIFEST, [AMD64])
    response = client.get(
        "/v2/admin/app/manifests/latest",
        headers=[*headers.items(), ("Accept", OCI_MANIFEST), ("Accept", f"{OCI_INDEX};q=0.9")],
    )
    assert response.status_code == 200
    assert response.content == index


def test_index_without_an_acceptable_child(client: TestClient, headers: dict[str, str]) -> None:
    push_index(client, headers, OCI_INDEX, OCI_MANIFEST, [ARM64, WINDOWS])
    status, body, _ = get(client, headers, "latest", OCI_MANIFEST)
    assert status == 404
    assert body.startswith(b'{"errors"') and b"MANIFEST_UNKNOWN" in body
    # The linux/amd64 child exists but its type is not acceptable either.
    push_index(client, headers, DOCKER_LIST, DOCKER_MANIFEST, [AMD64])
    status, body, _ = get(client, headers, "latest", OCI_MANIFEST)
    assert status == 404


def test_single_manifest_of_an_unaccepted_type(client: TestClient, headers: dict[str, str]) -> None:
    body, digest = push_image(client, "admin/app", "v1", headers, media_type=OCI_MANIFEST)
    response = client.get("/v2/admin/app/manifests/v1", headers={**headers, "Accept": DOCKER_MANIFEST})
    assert_error(response, 404, "MANIFEST_UNKNOWN")
    assert client.head("/v2/admin/app/manifests/v1", headers={**headers, "Accept": DOCKER_MANIFEST}).status_code == 404
    # By digest the client named exactly what it wants: no negotiation.
    response = client.get(f"/v2/admin/app/manifests/{digest}", headers={**headers, "Accept": DOCKER_MANIFEST})
    assert response.status_code == 200
    assert response.content == body


def test_accept_is_case_insensitive_and_ignores_parameters(client: TestClient, headers: dict[str, str]) -> None:
    body, _ = push_image(client, "admin/app", "v1", headers, media_type=DOCKER_MANIFEST)
    status, content, _ = get(client, headers, "v1", DOCKER_MANIFEST.upper() + "; q=0.5")
    assert status == 200
    assert content == body
