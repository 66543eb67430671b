"""`podman search` against the running server: it calls the v1 index's `/v1/search`, which must list public
repositories (official ones by their bare name) and keep private ones out."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN
from tests.support.clients import ContainerTools
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e


def hub_token(server: DockyardServer) -> dict[str, str]:
    response = httpx.post(f"{server.base_url}/v2/users/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def test_podman_search_finds_public_repositories(server: DockyardServer, tmp_path: Path) -> None:
    headers = hub_token(server)
    for namespace, name, private in (
        ("admin", "searchable-web", False),
        ("library", "searchable", False),
        ("admin", "searchable-hidden", True),
    ):
        body = {"name": name, "namespace": namespace, "description": f"{name} image", "is_private": private}
        response = httpx.post(f"{server.base_url}/v2/namespaces/{namespace}/repositories", json=body, headers=headers)
        assert response.status_code == 201, response.text
    podman = ContainerTools(tmp_path / "podman")
    result = podman.podman(
        "search", "--tls-verify=false", "--no-trunc", "--format", "json", f"{server.address}/searchable"
    )
    found = {entry["Name"]: entry for entry in json.loads(result.stdout)}
    assert set(found) == {f"{server.address}/searchable", f"{server.address}/admin/searchable-web"}
    assert found[f"{server.address}/admin/searchable-web"]["Description"] == "searchable-web image"
    assert found[f"{server.address}/searchable"]["Official"] == "[OK]"
