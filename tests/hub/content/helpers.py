"""Helpers for the Hub content tests (repositories, tags, images, stars, pulls, search): accounts, Hub logins,
pushes and pulls through the registry API, and the analytics job that turns pulls into the Hub's numbers."""

from __future__ import annotations

from typing import Any

from httpx2 import Response
from starlette.testclient import TestClient

from dockyard.analytics.jobs import AnalyticsJob, JobReport, run_once
from tests.conftest import ADMIN_PASSWORD
from tests.registry.helpers import (
    DOCKER_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    PASSWORD,
    auth_for,
    create_org,
    create_user,
    encode,
    in_app,
    index_manifest,
    push_image,
    put_manifest,
    services,
    set_member,
)

__all__ = [
    "DOCKER_LIST",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "PASSWORD",
    "auth_for",
    "create_org",
    "create_user",
    "encode",
    "set_member",
]


def login(client: TestClient, username: str, password: str = PASSWORD, scheme: str = "Bearer") -> dict[str, str]:
    """Authorization headers carrying a Hub JWT (`Bearer`, or the npm client's `JWT`)."""
    response = client.post("/v2/users/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"{scheme} {response.json()['token']}"}


def admin(client: TestClient) -> dict[str, str]:
    return login(client, "admin", ADMIN_PASSWORD)


def user(client: TestClient, name: str) -> dict[str, str]:
    create_user(client, name)
    return login(client, name)


def create_repo(client: TestClient, headers: dict[str, str], namespace: str, name: str, **fields: Any) -> Response:
    body = {"name": name, "namespace": namespace, **fields}
    return client.post(f"/v2/namespaces/{namespace}/repositories", json=body, headers=headers)


def push(
    client: TestClient,
    repo: str,
    tag: str | None,
    *,
    username: str = "admin",
    password: str = ADMIN_PASSWORD,
    seed: str = "",
) -> str:
    """Push a one-layer image to `repo` (tagged `tag`, or by digest); returns the manifest digest."""
    headers = auth_for(client, repo, username=username, password=password)
    _, digest = push_image(client, repo, tag, headers, seed=seed or f"{repo}:{tag}")
    return digest


def push_index(
    client: TestClient,
    repo: str,
    tag: str,
    platforms: list[tuple[str, str]],
    *,
    username: str = "admin",
    password: str = ADMIN_PASSWORD,
    seed: str = "",
) -> tuple[str, list[str]]:
    """Push one image per (os, architecture) by digest and an index over them under `tag`; returns the index
    digest and the children's digests."""
    headers = auth_for(client, repo, username=username, password=password)
    children = []
    digests = []
    for os_name, architecture in platforms:
        body, digest = push_image(client, repo, None, headers, seed=f"{seed}{repo}{os_name}{architecture}")
        children.append((body, OCI_MANIFEST, {"os": os_name, "architecture": architecture}))
        digests.append(digest)
    index = index_manifest(children)
    response = put_manifest(client, repo, tag, index, headers, OCI_INDEX)
    assert response.status_code == 201, response.text
    return response.headers["docker-content-digest"], digests


def pull(
    client: TestClient,
    repo: str,
    reference: str,
    *,
    method: str = "GET",
    accept: str | None = None,
    agent: str = "testclient",
) -> Response:
    """One manifest request. Requests with the same `agent` (all from the test client's address) are one client
    to the analytics classification, and its requests within a minute may make up one pull."""
    headers = auth_for(client, repo, "pull")
    headers["Accept"] = accept or f"{OCI_MANIFEST}, {OCI_INDEX}"
    headers["User-Agent"] = agent
    return client.request(method, f"/v2/{repo}/manifests/{reference}", headers=headers)


def run_analytics(client: TestClient) -> JobReport:
    """One round of the server's periodic analytics job (capture written first), which sets the Hub's pull
    numbers."""
    found = services(client)
    assert found.capture is not None
    capture = found.capture
    report: JobReport = in_app(client, lambda: run_once(AnalyticsJob(found.settings, found.db), capture.flush))
    return report
