"""A private repository must look exactly like a missing one to anyone who may not read it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from httpx2 import Response
from starlette.testclient import TestClient

from tests.conftest import basic
from tests.registry.helpers import (
    ADMIN,
    OCI_MANIFEST,
    PASSWORD,
    assert_error,
    create_org,
    create_user,
    granted,
    push_image,
    set_member,
    set_private,
    token,
)

Probe = Callable[[TestClient, str, dict[str, str]], Response]


@pytest.fixture
def secret(client: TestClient) -> tuple[bytes, str]:
    create_user(client, "alice")
    body, digest = push_image(client, "admin/secret", "v1", ADMIN)
    set_private(client, "admin/secret")
    return body, digest


def probes(body: bytes, digest: str) -> dict[str, Probe]:
    layer = "sha256:" + "0" * 64
    return {
        "manifest by tag": lambda c, r, h: c.get(f"/v2/{r}/manifests/v1", headers=h),
        "manifest by digest": lambda c, r, h: c.get(f"/v2/{r}/manifests/{digest}", headers=h),
        "manifest HEAD": lambda c, r, h: c.head(f"/v2/{r}/manifests/v1", headers=h),
        "missing tag": lambda c, r, h: c.get(f"/v2/{r}/manifests/nope", headers=h),
        "blob": lambda c, r, h: c.get(f"/v2/{r}/blobs/{layer}", headers=h),
        "blob HEAD": lambda c, r, h: c.head(f"/v2/{r}/blobs/{layer}", headers=h),
        "tags": lambda c, r, h: c.get(f"/v2/{r}/tags/list", headers=h),
        "referrers": lambda c, r, h: c.get(f"/v2/{r}/referrers/{digest}", headers=h),
        "upload": lambda c, r, h: c.post(f"/v2/{r}/blobs/uploads/", headers=h),
        "upload status": lambda c, r, h: c.get(f"/v2/{r}/blobs/uploads/some-id", headers=h),
        "manifest PUT": lambda c, r, h: c.put(
            f"/v2/{r}/manifests/v2", content=body, headers={**h, "Content-Type": OCI_MANIFEST}
        ),
        "manifest DELETE": lambda c, r, h: c.delete(f"/v2/{r}/manifests/{digest}", headers=h),
        "blob DELETE": lambda c, r, h: c.delete(f"/v2/{r}/blobs/{layer}", headers=h),
    }


def outsiders(client: TestClient) -> dict[str, Callable[[str], dict[str, str]]]:
    def bearer(username: str | None, password: str = PASSWORD) -> Callable[[str], dict[str, str]]:
        return lambda repo: {"Authorization": "Bearer " + token(client, f"repository:{repo}:*", username, password)}

    return {
        "nobody": lambda repo: {},
        "anonymous token": bearer(None),
        "alice token": bearer("alice"),
        "alice basic": lambda repo: basic("alice", PASSWORD),
    }


def normalised(response: Response, repo: str) -> tuple[int, str, str]:
    return (
        response.status_code,
        response.text.replace(repo, "<repo>"),
        response.headers.get("www-authenticate", "").replace(repo, "<repo>"),
    )


def test_private_looks_missing(client: TestClient, secret: tuple[bytes, str]) -> None:
    for who, credentials in outsiders(client).items():
        for what, probe in probes(*secret).items():
            hidden = probe(client, "admin/secret", credentials("admin/secret"))
            missing = probe(client, "admin/missing", credentials("admin/missing"))
            assert normalised(hidden, "admin/secret") == normalised(missing, "admin/missing"), (who, what)
            assert hidden.status_code == 401, (who, what, hidden.status_code)


def test_tokens_and_catalog_reveal_nothing(client: TestClient, secret: tuple[bytes, str]) -> None:
    for username in (None, "alice"):
        assert granted(client, "repository:admin/secret:pull", username, PASSWORD) == []
        assert granted(client, "repository:admin/secret:pull", username, PASSWORD) == granted(
            client, "repository:admin/missing:pull", username, PASSWORD
        )
    headers = {"Authorization": "Bearer " + token(client, "registry:catalog:*", "alice", PASSWORD)}
    assert "admin/secret" not in client.get("/v2/_catalog", headers=headers).json()["repositories"]


def test_the_owner_still_sees_it(client: TestClient, secret: tuple[bytes, str]) -> None:
    body, digest = secret
    assert client.get("/v2/admin/secret/manifests/v1", headers=ADMIN).content == body
    assert client.get(f"/v2/admin/secret/manifests/{digest}", headers=ADMIN).content == body
    assert client.get("/v2/admin/secret/tags/list", headers=ADMIN).json()["tags"] == ["v1"]


def test_org_private_repository(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    create_org(client, "acme", "alice")
    set_member(client, "acme", "bob", "member")
    body, _ = push_image(client, "acme/secret", "v1", basic("alice", PASSWORD))
    set_private(client, "acme/secret")
    bob = basic("bob", PASSWORD)
    hidden = client.get("/v2/acme/secret/manifests/v1", headers=bob)
    missing = client.get("/v2/acme/missing/manifests/v1", headers=bob)
    assert_error(hidden, 401, "UNAUTHORIZED")
    assert normalised(hidden, "acme/secret") == normalised(missing, "acme/missing")
    set_member(client, "acme", "bob", "editor")
    assert client.get("/v2/acme/secret/manifests/v1", headers=bob).content == body


def test_making_a_repository_public_again(client: TestClient, secret: tuple[bytes, str]) -> None:
    set_private(client, "admin/secret", False)
    anonymous = {"Authorization": "Bearer " + token(client, "repository:admin/secret:pull", None)}
    assert client.get("/v2/admin/secret/manifests/v1", headers=anonymous).content == secret[0]
