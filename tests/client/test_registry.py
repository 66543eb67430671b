"""Registry basics: the token found from the registry's challenge, tags resolved with HEAD, manifests, deletion
by digest, and the pull rate-limit headers."""

from __future__ import annotations

import base64

import pytest

from dockyard.client import Hub
from dockyard.client.registry import parse_challenge, parse_limit
from tests.client.fake import FakeServer, Reply, Seen

DIGEST = "sha256:" + "a" * 64
MANIFEST = "/v2/alice/app/manifests/v1"


def registry(fake: FakeServer) -> None:
    fake.add(
        "GET",
        "/v2/",
        Reply(401, {"errors": []}, {"WWW-Authenticate": f'Bearer realm="{fake.base_url}/token",service="svc"'}),
    )
    fake.add("GET", "/token", Reply(json={"token": "reg", "expires_in": 300}))

    def manifest(seen: Seen) -> Reply:
        if seen.headers.get("authorization") != "Bearer reg":
            return Reply(401)
        return Reply(
            200,
            json={
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "manifests": [
                    {"digest": DIGEST, "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}}
                ],
            },
            headers={
                "Docker-Content-Digest": DIGEST,
                "Content-Type": "application/vnd.oci.image.index.v1+json",
                "ratelimit-limit": "100;w=21600",
                "ratelimit-remaining": "97;w=21600",
                "docker-ratelimit-source": "192.0.2.1",
            },
        )

    fake.add("HEAD", MANIFEST, manifest)
    fake.add("GET", MANIFEST, manifest)
    fake.add("DELETE", f"/v2/alice/app/manifests/{DIGEST}", Reply(202))


def test_tokens_come_from_the_challenge_with_basic_credentials(fake: FakeServer) -> None:
    registry(fake)
    with Hub(fake.base_url, username="alice", password="dckr_pat_x") as hub:
        assert hub.resolve("alice/app", "v1") == DIGEST
        assert hub.resolve("alice/app", "v1") == DIGEST
    tokens = fake.seen("GET", "/token")
    assert len(tokens) == 1  # kept until it expires
    assert dict(tokens[0].query) == {"scope": "repository:alice/app:pull", "service": "svc"}
    assert tokens[0].headers["authorization"] == "Basic " + base64.b64encode(b"alice:dckr_pat_x").decode()
    assert len(fake.seen("GET", "/v2/")) == 1
    assert fake.seen("HEAD", MANIFEST)[0].headers["accept"].startswith("application/vnd.oci.image.index.v1+json")


def test_anonymous_tokens_and_manifests(fake: FakeServer) -> None:
    registry(fake)
    with Hub(fake.base_url) as hub:
        manifest = hub.get_manifest("alice/app", "v1")
    assert "authorization" not in fake.seen("GET", "/token")[0].headers
    assert manifest.digest == DIGEST
    assert manifest.media_type == "application/vnd.oci.image.index.v1+json"
    assert manifest.platforms == ["linux/arm64/v8"]


def test_delete_by_digest_only(fake: FakeServer) -> None:
    registry(fake)
    with Hub(fake.base_url, username="alice", password="pw") as hub:
        hub.delete_manifest("alice/app", DIGEST)
        with pytest.raises(ValueError):
            hub.delete_manifest("alice/app", "v1")
    assert dict(fake.seen("GET", "/token")[0].query)["scope"] == "repository:alice/app:delete"


def test_pull_limits(fake: FakeServer) -> None:
    registry(fake)
    with Hub(fake.base_url) as hub:
        limits = hub.pull_limits("alice/app", "v1")
        assert (limits.limit, limits.remaining, limits.window_seconds, limits.source) == (100, 97, 21600, "192.0.2.1")
        assert not limits.unlimited
        unlimited = hub.pull_limits("alice/none", "latest")
        assert unlimited.unlimited and unlimited.status == 404


def test_parsing() -> None:
    assert parse_challenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io"') == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
    }
    assert parse_challenge('Basic realm="x"') is None
    assert parse_challenge(None) is None
    assert parse_limit("100;w=21600") == (100, 21600)
    assert parse_limit("42") == (42, None)
    assert parse_limit(None) == (None, None)
