"""Helpers for driving the registry through the in-process app: digests, pushes, accounts and OCI error checks.

Accounts and repository privacy are set up through the accounts service and the database (the Hub API that will
manage them does not exist yet); everything the tests assert on goes through HTTP.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import jwt
import pytest
from argon2 import PasswordHasher
from httpx2 import Response
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.testclient import TestClient

from dockyard.accounts import passwords
from dockyard.accounts.service import AccountsService
from dockyard.app import Services
from dockyard.registry.models import Repository
from tests.conftest import ADMIN_PASSWORD, basic

T = TypeVar("T")

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

API_VERSION = ("docker-distribution-api-version", "registry/2.0")
CHALLENGE = 'Bearer realm="http://testserver/token",service="dockyard"'
PASSWORD = "password123"
ADMIN = basic("admin", ADMIN_PASSWORD)


def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Swap the argon2id parameters for the cheapest ones (still argon2id, still salted and verified)."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=256, parallelism=1))


def digest_of(data: bytes, algorithm: str = "sha256") -> str:
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":")).encode()


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest_of(data), "size": len(data), **extra}


def assert_error(response: Response, status: int, code: str) -> dict[str, Any]:
    """The response is an OCI error with `code`; returns the first error object."""
    assert response.status_code == status, response.text
    assert response.headers.get(API_VERSION[0]) == API_VERSION[1]
    body = response.json()
    assert isinstance(body.get("errors"), list) and body["errors"], body
    codes = [error["code"] for error in body["errors"]]
    assert code in codes, body
    assert all(isinstance(error.get("message"), str) for error in body["errors"])
    error: dict[str, Any] = body["errors"][0]
    return error


# --- tokens ------------------------------------------------------------------------------------------------
def token(client: TestClient, scope: str | None, username: str | None = "admin", password: str = ADMIN_PASSWORD) -> str:
    params = {"service": "dockyard"}
    if scope:
        params["scope"] = scope
    headers = basic(username, password) if username else {}
    response = client.get("/token", params=params, headers=headers)
    assert response.status_code == 200, response.text
    value: str = response.json()["token"]
    return value


def granted(
    client: TestClient, scope: str, username: str | None = "admin", password: str = ADMIN_PASSWORD
) -> list[str]:
    """The actions /token grants on one repository scope."""
    params = {"service": "dockyard", "scope": scope}
    headers = basic(username, password) if username else {}
    response = client.get("/token", params=params, headers=headers)
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    entries = [entry for entry in claims["access"] if entry["type"] == "repository"]
    assert len(entries) == 1, claims
    actions: list[str] = entries[0]["actions"]
    return actions


def auth_for(
    client: TestClient,
    repo: str,
    actions: str = "pull,push,delete",
    username: str | None = "admin",
    password: str = ADMIN_PASSWORD,
) -> dict[str, str]:
    return {"Authorization": "Bearer " + token(client, f"repository:{repo}:{actions}", username, password)}


# --- pushing -----------------------------------------------------------------------------------------------
def push_blob(client: TestClient, repo: str, data: bytes, headers: dict[str, str], algorithm: str = "sha256") -> str:
    digest = digest_of(data, algorithm)
    response = client.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data, headers=headers)
    assert response.status_code == 201, response.text
    return digest


def image_manifest(
    config: bytes,
    layers: list[bytes],
    *,
    media_type: str | None = OCI_MANIFEST,
    config_type: str = OCI_CONFIG,
    layer_type: str = OCI_LAYER,
    **extra: Any,
) -> dict[str, Any]:
    document: dict[str, Any] = {"schemaVersion": 2}
    if media_type is not None:
        document["mediaType"] = media_type
    document["config"] = descriptor(config_type, config)
    document["layers"] = [descriptor(layer_type, layer) for layer in layers]
    document.update(extra)
    return document


def put_manifest(
    client: TestClient, repo: str, reference: str, body: bytes, headers: dict[str, str], media_type: str | None
) -> Response:
    extra = {"Content-Type": media_type} if media_type else {}
    return client.put(f"/v2/{repo}/manifests/{reference}", content=body, headers={**headers, **extra})


def push_image(
    client: TestClient,
    repo: str,
    reference: str | None,
    headers: dict[str, str],
    *,
    seed: str = "",
    media_type: str = OCI_MANIFEST,
    **extra: Any,
) -> tuple[bytes, str]:
    """Push a config, one layer and a manifest over them; returns the manifest bytes and digest."""
    docker = media_type == DOCKER_MANIFEST
    config = encode({"architecture": "amd64", "os": "linux", "seed": seed})
    layer = f"layer {repo} {seed}".encode()
    push_blob(client, repo, config, headers)
    push_blob(client, repo, layer, headers)
    body = encode(
        image_manifest(
            config,
            [layer],
            media_type=media_type,
            config_type=DOCKER_CONFIG if docker else OCI_CONFIG,
            layer_type=DOCKER_LAYER if docker else OCI_LAYER,
            **extra,
        )
    )
    digest = digest_of(body)
    response = put_manifest(client, repo, reference or digest, body, headers, media_type)
    assert response.status_code == 201, response.text
    return body, digest


def index_manifest(children: list[tuple[bytes, str, dict[str, str] | None]], media_type: str = OCI_INDEX) -> bytes:
    """An index over (manifest bytes, manifest media type, platform) triples."""
    manifests = []
    for body, child_type, platform in children:
        entry = descriptor(child_type, body)
        if platform is not None:
            entry["platform"] = platform
        manifests.append(entry)
    return encode({"schemaVersion": 2, "mediaType": media_type, "manifests": manifests})


# --- accounts and the database -----------------------------------------------------------------------------
def services(client: TestClient) -> Services:
    found: Services = client.app.state.services  # type: ignore[attr-defined]
    return found


def in_app(client: TestClient, work: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine on the app's event loop (where its database engines live)."""
    assert client.portal is not None
    return client.portal.call(work)


def in_transaction(client: TestClient, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    async def run() -> T:
        async with services(client).db.writer() as session:
            return await work(session)

    return in_app(client, run)


def create_user(client: TestClient, name: str, password: str = PASSWORD) -> None:
    async def work(session: AsyncSession) -> None:
        await AccountsService(session).create_user(name, password, email=f"{name}@example.com")

    in_transaction(client, work)


def create_org(client: TestClient, name: str, owner: str) -> None:
    async def work(session: AsyncSession) -> None:
        await AccountsService(session).create_org(name, owner)

    in_transaction(client, work)


def set_member(client: TestClient, org: str, user: str, role: str) -> None:
    async def work(session: AsyncSession) -> None:
        await AccountsService(session).set_member(org, user, role)

    in_transaction(client, work)


def set_private(client: TestClient, path: str, private: bool = True) -> None:
    async def work(session: AsyncSession) -> None:
        result = await session.execute(update(Repository).where(Repository.path == path).values(is_private=private))
        assert result.rowcount == 1, path  # type: ignore[attr-defined]

    in_transaction(client, work)
