"""Python registry clients against the running server: oras-py (artifacts) and python-dxf (blobs and aliases).

Both upload blobs monolithically (POST, then PUT with the body), and python-dxf is the one real client that sends a
manifest HEAD, so these cover paths skopeo and podman never take.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN
from tests.support.clients import RegistryHTTP
from tests.support.layout import seeded_bytes
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e

oras_client = pytest.importorskip("oras.client")
dxf = pytest.importorskip("dxf")

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"


# --- oras ------------------------------------------------------------------------------------------------------
def oras_for(server: DockyardServer, tmp_path: Path, auth_backend: str = "basic") -> tuple[Any, str]:
    """A logged-in client, and the docker config file the login wrote (kept out of the real ~/.docker).

    oras-py's default "token" backend never asks for a new token once it holds one (on a 401 it retries with the
    same token), so the pull-only token it gets from the first blob HEAD of a push cannot upload: see
    test_oras_push_with_the_token_backend. Its "basic" backend sends the credentials on every request."""
    config = tmp_path / "docker-config.json"
    client = oras_client.OrasClient(hostname=server.address, insecure=True, auth_backend=auth_backend)
    result = client.login(username=ADMIN, password=ADMIN_PASSWORD, hostname=server.address, config_path=str(config))
    assert "Succeeded" in json.dumps(result)
    return client, str(config)


def test_oras_push_pull_and_tags(
    server: DockyardServer, admin_http: RegistryHTTP, tmp_path: Path, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, config = oras_for(server, tmp_path)
    monkeypatch.chdir(tmp_path)  # oras-py only uploads files below the working directory
    artifact = tmp_path / "artifact.txt"
    artifact.write_bytes(b"an artifact pushed by oras " + unique.encode() + b"\n")
    notes = tmp_path / "notes.bin"
    notes.write_bytes(seeded_bytes(unique, 70_000))
    repo = f"{ADMIN}/oras-{unique}"
    target = f"{server.address}/{repo}"

    response = client.push(
        target=f"{target}:v1",
        files=["artifact.txt:text/plain", "notes.bin:application/octet-stream"],
        config_path=config,
    )
    assert response.status_code == 201
    client.push(target=f"{target}:v2", files=["artifact.txt:text/plain"], config_path=config)

    manifest = admin_http.manifest(repo, "v1", accept=OCI_MANIFEST)
    assert manifest.status_code == 200
    assert manifest.headers["content-type"] == OCI_MANIFEST
    layers = manifest.json()["layers"]
    assert [layer["annotations"]["org.opencontainers.image.title"] for layer in layers] == [
        "artifact.txt",
        "notes.bin",
    ]
    assert layers[0]["digest"] == "sha256:" + hashlib.sha256(artifact.read_bytes()).hexdigest()

    out = tmp_path / "pulled"
    pulled = client.pull(target=f"{target}:v1", outdir=str(out), config_path=config)
    assert sorted(Path(p).name for p in pulled) == ["artifact.txt", "notes.bin"]
    assert (out / "artifact.txt").read_bytes() == artifact.read_bytes()
    assert (out / "notes.bin").read_bytes() == notes.read_bytes()

    assert sorted(client.get_tags(target)) == ["v1", "v2"]
    assert client.get_manifest(f"{target}:v2")["layers"][0]["digest"] == layers[0]["digest"]


def test_oras_anonymous_pull_of_public_artifact(
    server: DockyardServer, tmp_path: Path, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, config = oras_for(server, tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "public.txt").write_text("public\n")
    target = f"{server.address}/{ADMIN}/oras-public-{unique}:v1"
    client.push(target=target, files=["public.txt:text/plain"], config_path=config)

    anonymous = oras_client.OrasClient(hostname=server.address, insecure=True)
    out = tmp_path / "anonymous"
    empty_config = tmp_path / "empty.json"
    empty_config.write_text(json.dumps({"auths": {}}))
    anonymous.pull(target=target, outdir=str(out), config_path=str(empty_config))
    assert (out / "public.txt").read_text() == "public\n"


@pytest.mark.xfail(
    strict=True,
    raises=ValueError,
    reason="oras-py's token backend retries a 401 with the token it already holds; the server answers a request "
    "whose token lacks push with 401 (as distribution does), so the upload never gets a push token. It would "
    "pass if the server answered 403 there, or granted push in a token that asked only for pull.",
)
def test_oras_push_with_the_token_backend(
    server: DockyardServer, tmp_path: Path, unique: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client, config = oras_for(server, tmp_path, auth_backend="token")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "token.txt").write_text("token\n")
    target = f"{server.address}/{ADMIN}/oras-token-{unique}:v1"
    response = client.push(target=target, files=["token.txt:text/plain"], config_path=config)
    assert response.status_code == 201


# --- python-dxf ------------------------------------------------------------------------------------------------
CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


def dxf_for(server: DockyardServer, repo: str, password: str = ADMIN_PASSWORD) -> Any:
    """A client that answers each 401 challenge with a token for the scope the challenge names.

    python-dxf's own `authenticate` refuses to send credentials over plain HTTP (DXFAuthInsecureError) and
    always asks the realm over https, so this callback does the same token exchange over http and hands the
    token to the client through its public `token` property."""

    def auth(client: Any, response: requests.Response) -> None:
        challenge = response.headers["www-authenticate"]
        assert challenge.lower().startswith("bearer "), challenge
        params = dict(CHALLENGE_PARAM.findall(challenge))
        query = {"service": params["service"]}
        if "scope" in params:
            query["scope"] = params["scope"]
        answer = requests.get(params["realm"], params=query, auth=(ADMIN, password), timeout=30)
        answer.raise_for_status()
        client.token = answer.json()["token"]

    return dxf.DXF(server.address, repo, auth=auth, insecure=True)


def test_dxf_blobs_and_aliases(server: DockyardServer, admin_http: RegistryHTTP, tmp_path: Path, unique: str) -> None:
    repo = f"{ADMIN}/dxf-{unique}"
    payload = seeded_bytes(f"dxf-{unique}", 300_000)
    blob_file = tmp_path / "blob.bin"
    blob_file.write_bytes(payload)
    expected = "sha256:" + hashlib.sha256(payload).hexdigest()
    client = dxf_for(server, repo)

    digest = client.push_blob(str(blob_file))
    assert digest == expected
    assert admin_http.blob(repo, digest).content == payload
    # Pushing it again is a HEAD that finds it.
    assert client.push_blob(str(blob_file)) == expected

    manifest_json = client.set_alias("v1", digest)
    manifest_digest = "sha256:" + hashlib.sha256(manifest_json.encode()).hexdigest()

    head_digest, response = client.head_manifest_and_response("v1")
    assert response.status_code == 200
    assert head_digest == manifest_digest
    assert response.headers["content-type"] == DOCKER_MANIFEST
    assert int(response.headers["content-length"]) == len(manifest_json.encode())
    assert response.content == b""
    assert response.headers["etag"].strip('"') == manifest_digest

    assert client.get_alias("v1") == [digest]
    assert b"".join(client.pull_blob(digest)) == payload
    chunks, size = client.pull_blob(digest, size=True)
    assert size == len(payload)
    assert b"".join(chunks) == payload
    assert client.blob_size(digest) == len(payload)

    client.set_alias("v2", digest)
    assert sorted(client.list_aliases()) == ["v1", "v2"]

    # Both aliases name the same manifest, so deleting one deletes the manifest and with it every tag.
    assert client.del_alias("v1") == [digest]
    assert client.list_aliases() == []
    with pytest.raises(requests.HTTPError) as missing:
        client.head_manifest_and_response("v2")
    assert missing.value.response.status_code == 404
    # The blob itself stays until garbage collection.
    assert b"".join(client.pull_blob(digest)) == payload


def test_dxf_wrong_password_is_refused(server: DockyardServer, unique: str) -> None:
    client = dxf_for(server, f"{ADMIN}/dxf-denied-{unique}", password="not-the-password")
    with pytest.raises(requests.HTTPError) as refused:
        client.list_aliases()
    assert refused.value.response.status_code == 401
