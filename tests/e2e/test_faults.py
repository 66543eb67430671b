"""Faults: clients that vanish mid-body, and a server killed with SIGKILL mid-push.

What must hold, whatever the timing:
- a blob becomes visible only whole (its digest verified), never half-written;
- an upload keeps only the chunks that were acknowledged (or whatever the client sent since, as the upload's
  reported offset says), or it is gone; a client can always carry on from the offset the server reports;
- everything acknowledged with 201 survives a crash, and uploads survive a restart.

Requests with a body that stops half way are written on a raw socket. To be sure the server is really in the
middle of storing such a body when the client goes (or when it is killed), the tests watch the upload's file
grow in the server's data directory before they pull the plug; they never rely on how long anything takes.
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN, ADMIN_CREDS
from tests.support.clients import ContainerTools
from tests.support.layout import ImageLayout, seeded_bytes, sha256_digest
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
WAIT = 60.0
T = TypeVar("T")


def wait_for(condition: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    """Poll until `condition` returns something truthy; fail (not hang) if it never does."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}", pytrace=False)
        time.sleep(0.02)


class PartialRequest:
    """An HTTP/1.1 request on a raw socket whose body can stop anywhere: the client then simply goes away."""

    def __init__(
        self,
        server: DockyardServer,
        method: str,
        path: str,
        *,
        length: int | None = None,
        headers: dict[str, str] | None = None,
        authorization: str = "Basic " + base64.b64encode(ADMIN_CREDS.encode()).decode(),
    ) -> None:
        """`length` declares Content-Length; without it the body is sent with Transfer-Encoding: chunked."""
        self.chunked = length is None
        self.sock = socket.create_connection((server.host, server.port), timeout=30)
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {server.address}",
            f"Authorization: {authorization}",
            "Content-Type: application/octet-stream",
            "Transfer-Encoding: chunked" if self.chunked else f"Content-Length: {length}",
            *(f"{k}: {v}" for k, v in (headers or {}).items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(self, data: bytes) -> None:
        if self.chunked:
            self.sock.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        else:
            self.sock.sendall(data)

    def abandon(self) -> None:
        self.sock.close()


# --- helpers over plain HTTP -----------------------------------------------------------------------------------
def client_for(server: DockyardServer) -> httpx.Client:
    return httpx.Client(base_url=server.base_url, auth=(ADMIN, ADMIN_PASSWORD), timeout=60)


def start_upload(http: httpx.Client, repo: str) -> str:
    response = http.post(f"/v2/{repo}/blobs/uploads/")
    assert response.status_code == 202, response.text
    return response.headers["docker-upload-uuid"]


def patch(http: httpx.Client, repo: str, upload: str, data: bytes, offset: int) -> httpx.Response:
    return http.patch(
        f"/v2/{repo}/blobs/uploads/{upload}",
        content=data,
        headers={"Content-Type": "application/octet-stream", "Content-Range": f"{offset}-{offset + len(data) - 1}"},
    )


def finish(http: httpx.Client, repo: str, upload: str, digest: str, data: bytes = b"") -> httpx.Response:
    return http.put(f"/v2/{repo}/blobs/uploads/{upload}", params={"digest": digest}, content=data)


def upload_offset(http: httpx.Client, repo: str, upload: str) -> int | None:
    """The number of bytes the server holds for an upload, or None if the upload is gone."""
    response = http.get(f"/v2/{repo}/blobs/uploads/{upload}")
    if response.status_code == 404:
        return None
    assert response.status_code == 204, response.text
    # "0-0" stands for both "no bytes yet" and "one byte"; no upload here ever holds exactly one byte.
    end = int(response.headers["range"].split("-", 1)[1])
    return 0 if end == 0 else end + 1


def push_blob(http: httpx.Client, repo: str, data: bytes) -> str:
    digest = sha256_digest(data)
    response = http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
    assert response.status_code == 201, response.text
    return digest


def file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def assert_invisible(server: DockyardServer, http: httpx.Client, repo: str, digest: str) -> None:
    assert http.head(f"/v2/{repo}/blobs/{digest}").status_code == 404
    assert http.get(f"/v2/{repo}/blobs/{digest}").status_code == 404
    assert not server.blob_path(digest).exists()


@pytest.fixture
def http(server: DockyardServer) -> Iterator[httpx.Client]:
    """A client of the module's shared server (tests that kill or restart a server make their own)."""
    with client_for(server) as client:
        yield client


# --- a client that goes away -----------------------------------------------------------------------------------
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_disconnect_during_a_chunk_keeps_only_whole_chunks(
    server: DockyardServer, http: httpx.Client, framing: str
) -> None:
    repo = f"{ADMIN}/disconnect-patch-{framing}"
    data = seeded_bytes(f"patch-{framing}", 4 * MiB)
    digest = sha256_digest(data)
    first, second = data[:MiB], data[MiB:]
    upload = start_upload(http, repo)
    assert patch(http, repo, upload, first, 0).status_code == 202

    request = PartialRequest(
        server,
        "PATCH",
        f"/v2/{repo}/blobs/uploads/{upload}",
        length=len(second) if framing == "content-length" else None,
        headers={"Content-Range": f"{MiB}-{len(data) - 1}"},
    )
    request.send(second[: 2 * MiB])
    # The server is writing the chunk: its first megabyte has reached the upload file.
    wait_for(lambda: file_size(server.upload_path(upload)) >= 2 * MiB, "the chunk to reach the upload file")
    request.abandon()

    # Once the server notices, the half chunk is forgotten: only the acknowledged chunk remains.
    offset = wait_for(
        lambda: (o := upload_offset(http, repo, upload)) in (MiB, None) and ("gone" if o is None else o),
        "the upload to drop the broken chunk",
    )
    assert_invisible(server, http, repo, digest)
    if offset == "gone":
        return
    assert file_size(server.upload_path(upload)) == MiB

    # The client carries on from the offset the server reports, and the blob arrives whole.
    assert patch(http, repo, upload, second, MiB).status_code == 202
    done = finish(http, repo, upload, digest)
    assert done.status_code == 201, done.text
    assert http.get(f"/v2/{repo}/blobs/{digest}").content == data


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_disconnect_during_a_monolithic_put_leaves_no_blob(
    server: DockyardServer, http: httpx.Client, framing: str
) -> None:
    repo = f"{ADMIN}/disconnect-put-{framing}"
    data = seeded_bytes(f"put-{framing}", 3 * MiB)
    digest = sha256_digest(data)
    upload = start_upload(http, repo)

    request = PartialRequest(
        server,
        "PUT",
        f"/v2/{repo}/blobs/uploads/{upload}?digest={digest}",
        length=len(data) if framing == "content-length" else None,
    )
    request.send(data[: 2 * MiB])
    wait_for(lambda: file_size(server.upload_path(upload)) >= MiB, "the body to reach the upload file")
    request.abandon()

    offset = wait_for(
        lambda: (o := upload_offset(http, repo, upload)) in (0, None) and ("gone" if o is None else "empty"),
        "the upload to drop the broken body",
    )
    assert_invisible(server, http, repo, digest)
    if offset == "empty":
        assert file_size(server.upload_path(upload)) == 0
        done = finish(http, repo, upload, digest, data)
    else:
        done = http.post(f"/v2/{repo}/blobs/uploads/", params={"digest": digest}, content=data)
    assert done.status_code == 201, done.text
    assert http.get(f"/v2/{repo}/blobs/{digest}").content == data


def test_disconnect_during_a_single_post_upload_leaves_nothing(server: DockyardServer, http: httpx.Client) -> None:
    repo = f"{ADMIN}/disconnect-post"
    start_upload(http, repo)  # creates the repository
    uploads_dir = server.uploads_dir
    before = set(p.name for p in uploads_dir.iterdir())
    data = seeded_bytes("post", 3 * MiB)
    digest = sha256_digest(data)

    request = PartialRequest(server, "POST", f"/v2/{repo}/blobs/uploads/?digest={digest}", length=len(data))
    request.send(data[: 2 * MiB])

    def new_upload_with_data() -> str | None:
        fresh = [p for p in uploads_dir.iterdir() if p.name not in before and file_size(p) >= MiB]
        return fresh[0].name if fresh else None

    upload = wait_for(new_upload_with_data, "the body to reach an upload file")
    request.abandon()

    wait_for(lambda: not server.upload_path(upload).exists(), "the broken upload to be discarded")
    assert upload_offset(http, repo, upload) is None
    assert_invisible(server, http, repo, digest)


# --- a server that dies ----------------------------------------------------------------------------------------
def test_kill_during_push_keeps_what_was_acknowledged(
    server_factory: Callable[..., DockyardServer], tmp_path: Path
) -> None:
    server = server_factory()  # fsync on, as in production
    layout = ImageLayout(tmp_path / "src")
    image = layout.add_image("v1", label="crash", big_layer_bytes=3 * MiB)
    config, small, big = image.config.digest, image.layers[0].digest, image.layers[1].digest
    big_data = layout.blob(big)
    repo = f"{ADMIN}/crash"
    stray = seeded_bytes("stray", 3 * MiB)

    with client_for(server) as http:
        # Acknowledged: two whole blobs, and the first chunk of the big layer.
        assert push_blob(http, repo, layout.blob(config)) == config
        assert push_blob(http, repo, layout.blob(small)) == small
        upload = start_upload(http, repo)
        assert patch(http, repo, upload, big_data[:MiB], 0).status_code == 202
        # In flight when the server dies: the big layer's second chunk, and a stray blob's monolithic PUT.
        chunk = PartialRequest(
            server,
            "PATCH",
            f"/v2/{repo}/blobs/uploads/{upload}",
            length=len(big_data) - MiB,
            headers={"Content-Range": f"{MiB}-{len(big_data) - 1}"},
        )
        chunk.send(big_data[MiB : 3 * MiB])
        stray_upload = start_upload(http, repo)
        put = PartialRequest(
            server, "PUT", f"/v2/{repo}/blobs/uploads/{stray_upload}?digest={sha256_digest(stray)}", length=len(stray)
        )
        put.send(stray[: 2 * MiB])
        wait_for(lambda: file_size(server.upload_path(upload)) >= 2 * MiB, "the chunk to reach the disk")
        wait_for(lambda: file_size(server.upload_path(stray_upload)) >= MiB, "the PUT body to reach the disk")

    server.kill()
    chunk.abandon()
    put.abandon()
    server.start()

    with client_for(server) as http:
        for digest in (config, small):
            response = http.get(f"/v2/{repo}/blobs/{digest}")
            assert response.status_code == 200, digest
            assert response.content == layout.blob(digest)
        assert_invisible(server, http, repo, big)
        assert_invisible(server, http, repo, sha256_digest(stray))
        assert http.get(f"/v2/{repo}/manifests/v1").status_code == 404

        # The acknowledged chunk is still there; anything after it is only what the dead server had written.
        offset = upload_offset(http, repo, upload)
        assert offset is not None
        assert MiB <= offset <= 3 * MiB

    # A real client completes the push, and the image reads back byte for byte.
    tools = ContainerTools(tmp_path / "tools")
    tools.skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        ADMIN_CREDS,
        layout.ref("v1"),
        f"docker://{server.address}/{repo}:v1",
    )
    pulled = ImageLayout(tmp_path / "pulled")
    tools.skopeo("copy", "--src-tls-verify=false", f"docker://{server.address}/{repo}:v1", pulled.ref("v1"))
    pulled.reload()
    assert pulled.descriptor("v1")["digest"] == image.digest
    for digest in image.blob_digests:
        assert pulled.blob(digest) == layout.blob(digest)


def test_upload_resumes_across_restarts_with_the_token_it_started_with(
    server_factory: Callable[..., DockyardServer],
) -> None:
    """One upload across a graceful restart, a SIGKILL between chunks and a SIGKILL in the middle of a chunk. The
    client keeps the bearer token it had before the first restart (the signing secret lives in the data dir)."""
    server = server_factory(settings={"DOCKYARD_TOKEN_TTL_SECONDS": "3600"})
    repo = f"{ADMIN}/resume"
    data = seeded_bytes("resume", 4 * MiB + 12345)
    digest = sha256_digest(data)
    response = httpx.get(
        f"{server.base_url}/token",
        params={"service": "dockyard", "scope": f"repository:{repo}:pull,push"},
        auth=(ADMIN, ADMIN_PASSWORD),
    )
    assert response.status_code == 200, response.text
    bearer = {"Authorization": f"Bearer {response.json()['token']}"}

    def client() -> httpx.Client:
        return httpx.Client(base_url=server.base_url, headers=bearer, timeout=60)

    with client() as http:
        upload = start_upload(http, repo)
        assert patch(http, repo, upload, data[:MiB], 0).status_code == 202

    server.restart()
    with client() as http:
        assert upload_offset(http, repo, upload) == MiB, "the upload did not survive a graceful restart"
        assert patch(http, repo, upload, data[MiB : 2 * MiB], MiB).status_code == 202

    server.restart(kill=True)
    with client() as http:
        assert upload_offset(http, repo, upload) == 2 * MiB, "the upload did not survive SIGKILL"

    request = PartialRequest(
        server,
        "PATCH",
        f"/v2/{repo}/blobs/uploads/{upload}",
        length=len(data) - 2 * MiB,
        headers={"Content-Range": f"{2 * MiB}-{len(data) - 1}"},
        authorization=bearer["Authorization"],
    )
    request.send(data[2 * MiB : 4 * MiB])
    wait_for(lambda: file_size(server.upload_path(upload)) >= 3 * MiB, "the chunk to reach the disk")
    server.kill()
    request.abandon()
    server.start()

    with client() as http:
        offset = upload_offset(http, repo, upload)
        assert offset is not None, "the upload did not survive SIGKILL in the middle of a chunk"
        assert 2 * MiB <= offset <= 4 * MiB
        # A chunk that does not start at the reported offset is refused and changes nothing.
        assert patch(http, repo, upload, data[offset + 1 :], offset + 1).status_code == 416
        assert upload_offset(http, repo, upload) == offset
        # Carrying on from the reported offset gives the right blob: the server re-reads what it had on disk.
        assert patch(http, repo, upload, data[offset : offset + 1000], offset).status_code == 202
        done = finish(http, repo, upload, digest, data[offset + 1000 :])
        assert done.status_code == 201, done.text
        assert done.headers["docker-content-digest"] == digest
        assert http.get(f"/v2/{repo}/blobs/{digest}").content == data
        assert upload_offset(http, repo, upload) is None
