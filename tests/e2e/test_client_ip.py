"""Which address the server believes a request comes from, seen through the registry's anonymous pull limits.

Anonymous pulls are counted per client address, and every manifest answer says whose count it used
(`docker-ratelimit-source`). X-Forwarded-For may change that address only when the peer is a trusted proxy
(DOCKYARD_TRUSTED_PROXIES); here the tests themselves play the proxy, from 127.0.0.1.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN
from tests.support.clients import anonymous_headers
from tests.support.layout import OCI, canonical_json, sha256_digest
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e

REPO = f"{ADMIN}/addresses"
LIMIT = 2


def serve(server_factory: Callable[..., DockyardServer], trusted: str | None) -> DockyardServer:
    server = server_factory(settings={"DOCKYARD_TRUSTED_PROXIES": trusted, "DOCKYARD_PULL_LIMIT_ANONYMOUS": str(LIMIT)})
    with httpx.Client(base_url=server.base_url, auth=(ADMIN, ADMIN_PASSWORD)) as http:
        config, layer = b"{}", b"not really a layer"
        for blob in (config, layer):
            response = http.post(f"/v2/{REPO}/blobs/uploads/", params={"digest": sha256_digest(blob)}, content=blob)
            assert response.status_code == 201, response.text
        manifest = canonical_json(
            {
                "schemaVersion": 2,
                "mediaType": OCI.manifest,
                "config": {"mediaType": OCI.config, "digest": sha256_digest(config), "size": len(config)},
                "layers": [{"mediaType": OCI.layer, "digest": sha256_digest(layer), "size": len(layer)}],
            }
        )
        response = http.put(f"/v2/{REPO}/manifests/v1", content=manifest, headers={"Content-Type": OCI.manifest})
        assert response.status_code == 201, response.text
    return server


def anonymous_pull(server: DockyardServer, forwarded_for: str | None = None) -> httpx.Response:
    headers = {**anonymous_headers(server.base_url, REPO), "Accept": OCI.manifest}
    if forwarded_for is not None:
        headers["X-Forwarded-For"] = forwarded_for
    return httpx.get(f"{server.base_url}/v2/{REPO}/manifests/v1", headers=headers)


def source(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.headers["docker-ratelimit-source"]


def test_forwarded_for_is_believed_from_a_trusted_proxy(server_factory: Callable[..., DockyardServer]) -> None:
    server = serve(server_factory, "127.0.0.1/32")

    assert source(anonymous_pull(server)) == "127.0.0.1"
    assert source(anonymous_pull(server, "203.0.113.7")) == "203.0.113.7"
    # Read from the right: a client cannot choose its address by putting one in front.
    assert source(anonymous_pull(server, "198.51.100.1, 203.0.113.9")) == "203.0.113.9"
    # Hops that are trusted proxies themselves are skipped.
    assert source(anonymous_pull(server, "203.0.113.10, 127.0.0.1")) == "203.0.113.10"
    # Garbage is not an address: the peer is used.
    assert source(anonymous_pull(server, "not-an-address")) == "127.0.0.1"
    # IPv6 clients are counted by /64, as Docker Hub does.
    assert source(anonymous_pull(server, "2001:db8::1")) == "2001:db8::"

    # Each forwarded address has its own allowance.
    assert source(anonymous_pull(server, "192.0.2.50")) == "192.0.2.50"
    limited = anonymous_pull(server, "192.0.2.50")
    assert limited.status_code == 200
    assert limited.headers["ratelimit-remaining"].startswith("0;")
    refused = anonymous_pull(server, "192.0.2.50")
    assert refused.status_code == 429
    assert json.loads(refused.text)["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert source(anonymous_pull(server, "192.0.2.51")) == "192.0.2.51"


def test_forwarded_for_is_ignored_without_trusted_proxies(server_factory: Callable[..., DockyardServer]) -> None:
    server = serve(server_factory, None)

    assert source(anonymous_pull(server, "203.0.113.7")) == "127.0.0.1"
    assert source(anonymous_pull(server, "198.51.100.1")) == "127.0.0.1"
    # Every request counted against the real peer, whatever it claims: the allowance is spent.
    refused = anonymous_pull(server, "192.0.2.99")
    assert refused.status_code == 429
    assert refused.headers["docker-ratelimit-source"] == "127.0.0.1"
