"""Live capture: manifest requests served by the registry land in the event segments with the right fields.

In process, through the app's registry API with X-Forwarded-For from a trusted proxy (the test client connects
from 127.0.0.1); end to end, skopeo and python-dxf pull through a forwarding proxy in front of `dockyard serve`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from starlette.testclient import TestClient

from dockyard.analytics import segments
from dockyard.analytics.capture import Capture
from dockyard.analytics.enrich import Enricher
from dockyard.analytics.event_writer import EventWriter
from dockyard.analytics.periods import micros
from dockyard.analytics.pseudonyms import Pseudonymizer
from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.registry.events import ManifestRequested
from tests.analytics.helpers import assert_no_raw_addresses, pseudonym, stored_rows
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN, ADMIN_CREDS
from tests.registry.helpers import auth_for, index_manifest, push_image, put_manifest, services
from tests.support.clients import HOST_ARCH, ContainerTools
from tests.support.layout import ImageLayout
from tests.support.proxy import ForwardingProxy
from tests.support.server import DockyardServer

DOCKER_UA = (
    "docker/27.3.1 go/go1.22.7 git-commit/41ca978 kernel/6.8.0 os/linux arch/amd64 "
    "UpstreamClient(Docker-Client/27.3.1 \\(linux\\))"
)
AWS = "52.95.110.1"
HETZNER_V6 = "2a01:4f8::1"
UK_HOME = "81.2.69.160"
DOC_NET = "203.0.113.9"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
ACCEPT = f"{OCI_MANIFEST}, {OCI_INDEX}"


def proxied_settings(settings: Settings, **overrides: object) -> Settings:
    return dataclasses.replace(
        settings,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
        analytics_flush_seconds=3600.0,
        **overrides,  # type: ignore[arg-type]
    )


@pytest.fixture
def proxied(settings: Settings) -> Settings:
    return proxied_settings(settings)


@pytest.fixture
def local(proxied: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(proxied), client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def pull(client: TestClient, method: str, repo: str, reference: str, ip: str, ua: str = DOCKER_UA, **kw: str) -> int:
    headers = {"X-Forwarded-For": ip, "User-Agent": ua, "Accept": ACCEPT, **kw}
    response = client.request(method, f"/v2/{repo}/manifests/{reference}", headers=headers)
    return response.status_code


def flush(client: TestClient) -> int:
    capture = services(client).capture
    assert capture is not None
    written: int = client.portal.call(capture.flush)  # type: ignore[union-attr]
    return written


def test_manifest_requests_become_rows(local: TestClient, proxied: Settings) -> None:
    headers = auth_for(local, "admin/app")
    _, digest = push_image(local, "admin/app", "v1", headers)
    before = datetime.now(UTC)
    assert pull(local, "HEAD", "admin/app", "v1", AWS, **headers) == 200
    assert pull(local, "GET", "admin/app", digest, HETZNER_V6, ua="containerd/v1.7.22", **headers) == 200
    assert pull(local, "GET", "admin/app", "nope", UK_HOME, ua="Go-http-client/1.1", **headers) == 404
    # Blob requests are not analytics events.
    assert local.get(f"/v2/admin/app/blobs/{digest}", headers={**headers, "X-Forwarded-For": AWS}).status_code in (
        200,
        404,
    )
    assert flush(local) == 3
    rows = stored_rows(proxied.data_dir)
    assert [(r["method"], r["reference"], r["status"]) for r in rows] == [
        ("HEAD", "v1", 200),
        ("GET", digest, 200),
        ("GET", "nope", 404),
    ]
    head, get, missing = rows
    assert head["namespace"] == "admin" and head["repository"] == "app"
    assert head["digest"] == digest and get["digest"] == digest and missing["digest"] is None
    assert head["client"] == pseudonym(proxied, AWS)
    assert get["client"] == pseudonym(proxied, HETZNER_V6)
    assert missing["client"] == pseudonym(proxied, UK_HOME)
    assert (head["ua_tool"], head["ua_version"], head["user_agent"]) == ("docker", "27.3.1", DOCKER_UA)
    assert (get["ua_tool"], get["ua_version"]) == ("containerd", "1.7.22")
    assert (missing["ua_tool"], missing["ua_version"]) == ("go-http-client", "1.1")
    assert (head["country"], head["host"], head["ip_type"], head["domain"]) == ("US", "aws", "hosting", "amazonaws.com")
    assert (get["country"], get["host"], get["ip_type"]) == ("DE", "hetzner", "hosting")
    assert (missing["country"], missing["host"], missing["ip_type"], missing["domain"]) == ("GB", None, None, None)
    assert {r["account"] for r in rows} == {"admin"}
    assert {r["source"] for r in rows} == {"dockyard"}
    for row in rows:
        stamp = row["ts"].replace(tzinfo=UTC)
        assert before - timedelta(seconds=1) <= stamp <= datetime.now(UTC)
    paths = segments.segment_paths(proxied.data_dir)
    assert paths and all(p.parent.name == f"day={rows[0]['ts'].date().isoformat()}" for p in paths)
    assert_no_raw_addresses(proxied.data_dir, [AWS, HETZNER_V6, UK_HOME])


def test_many_clients_behind_a_proxy_are_told_apart(local: TestClient, proxied: Settings) -> None:
    headers = auth_for(local, "admin/multi")
    amd, amd_digest = push_image(local, "admin/multi", None, headers, seed="amd64")
    arm, arm_digest = push_image(local, "admin/multi", None, headers, seed="arm64")
    index = index_manifest([(amd, OCI_MANIFEST, {"os": "linux", "architecture": "amd64"}), (arm, OCI_MANIFEST, None)])
    assert put_manifest(local, "admin/multi", "latest", index, headers, OCI_INDEX).status_code == 201
    clients = [f"198.51.100.{n}" for n in range(1, 21)] + [f"2001:db8::{n:x}" for n in range(1, 6)]
    for n, ip in enumerate(clients):
        # Docker's multi-arch pull: HEAD the tag, GET the index by digest, GET one platform's manifest.
        assert pull(local, "HEAD", "admin/multi", "latest", ip, **headers) == 200
        index_digest = local.head("/v2/admin/multi/manifests/latest", headers={**headers, "Accept": ACCEPT})
        assert pull(local, "GET", "admin/multi", index_digest.headers["docker-content-digest"], ip, **headers) == 200
        child = amd_digest if n % 2 else arm_digest
        assert pull(local, "GET", "admin/multi", child, ip, **headers) == 200
    flush(local)
    rows = [r for r in stored_rows(proxied.data_dir) if r["client"] != pseudonym(proxied, "127.0.0.1")]
    assert len(rows) == 3 * len(clients)
    by_client: dict[int, list[str]] = {}
    for row in rows:
        by_client.setdefault(row["client"], []).append(row["method"])
    assert set(by_client) == {pseudonym(proxied, ip) for ip in clients}
    assert all(methods == ["HEAD", "GET", "GET"] for methods in by_client.values())
    # The un-forwarded HEADs the test made itself come from the proxy's own address.
    own = [r for r in stored_rows(proxied.data_dir) if r["client"] == pseudonym(proxied, "127.0.0.1")]
    assert len(own) == len(clients)
    assert_no_raw_addresses(proxied.data_dir, clients)


def test_untrusted_peers_cannot_choose_their_address(settings: Settings) -> None:
    configured = proxied_settings(settings)
    with TestClient(create_app(configured), client=("192.0.2.50", 40000)) as outsider:
        headers = auth_for(outsider, "admin/app")
        push_image(outsider, "admin/app", "v1", headers)
        assert pull(outsider, "HEAD", "admin/app", "v1", AWS, **headers) == 200
        flush(outsider)
    (row,) = stored_rows(configured.data_dir)
    assert row["client"] == pseudonym(configured, "192.0.2.50") != pseudonym(configured, AWS)


def test_shutdown_flushes_what_is_buffered(proxied: Settings) -> None:
    with TestClient(create_app(proxied), client=("127.0.0.1", 50000)) as test_client:
        headers = auth_for(test_client, "admin/app")
        push_image(test_client, "admin/app", "v1", headers)
        for n in range(5):
            assert pull(test_client, "HEAD", "admin/app", "v1", f"198.51.100.{n + 1}", **headers) == 200
        assert segments.segment_paths(proxied.data_dir) == []  # an hour between periodic flushes
    assert len(stored_rows(proxied.data_dir)) == 5


def test_a_full_buffer_is_written_without_waiting_for_the_period(settings: Settings) -> None:
    configured = proxied_settings(settings, analytics_flush_events=4)
    with TestClient(create_app(configured), client=("127.0.0.1", 50000)) as test_client:
        headers = auth_for(test_client, "admin/app")
        push_image(test_client, "admin/app", "v1", headers)
        for n in range(4):
            assert pull(test_client, "HEAD", "admin/app", "v1", f"198.51.100.{n + 1}", **headers) == 200
        deadline = time.monotonic() + 30
        while not segments.segment_paths(configured.data_dir) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(stored_rows(configured.data_dir)) == 4


START = micros(datetime(2026, 11, 2, 12, tzinfo=UTC))


def head_at(n: int) -> ManifestRequested:
    """A manifest HEAD `n` microseconds after START: the stored time tells the events apart."""
    return ManifestRequested("acme/app", "v1", None, "HEAD", 200, AWS, DOCKER_UA, None, START + n)


def stored_offsets(data_dir: Path) -> list[int]:
    return sorted(micros(row["ts"]) - START for row in stored_rows(data_dir))


def test_events_appended_on_many_threads_are_each_written_once(tmp_path: Path) -> None:
    """The request path only appends: encoding rounds on the loop and flushes in a thread take what was appended
    while threads go on appending, and neither loses nor repeats an event."""
    capture = Capture(EventWriter(tmp_path, b"k" * 32, Enricher()), flush_seconds=0.05)

    def append(first: int) -> None:
        for n in range(first, first + 5000):
            capture.record(head_at(n))
            if n % 500 == 0:
                time.sleep(0.01)  # long enough for several encoding rounds and flushes meanwhile

    async def appending() -> None:
        capture.start()
        threads = [threading.Thread(target=append, args=(k * 5000,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            await asyncio.to_thread(thread.join)
        await capture.close()

    asyncio.run(appending())
    assert stored_offsets(tmp_path) == list(range(20_000))
    assert capture.segments >= 2  # written in more than the last flush


def test_an_event_appended_while_a_round_takes_the_list_waits_for_the_next(tmp_path: Path) -> None:
    class AppendedMeanwhile(list[ManifestRequested]):
        """A request on another thread appends just after the round copied the list."""

        def __getitem__(self, index: Any) -> Any:
            taken = super().__getitem__(index)
            if isinstance(index, slice) and len(self) == 2:
                self.append(head_at(2))
            return taken

    capture = Capture(EventWriter(tmp_path, b"k" * 32, Enricher()))
    capture._events = AppendedMeanwhile([head_at(0), head_at(1)])
    assert capture._flush_sync() == 2
    assert capture.stats().pending == 1
    assert capture._flush_sync() == 1
    assert stored_offsets(tmp_path) == [0, 1, 2]


def test_capture_can_be_switched_off(settings: Settings) -> None:
    configured = proxied_settings(settings, analytics_capture=False)
    with TestClient(create_app(configured), client=("127.0.0.1", 50000)) as test_client:
        headers = auth_for(test_client, "admin/app")
        push_image(test_client, "admin/app", "v1", headers)
        assert pull(test_client, "GET", "admin/app", "v1", AWS, **headers) == 200
    assert segments.segment_paths(configured.data_dir) == []


def test_segments_are_published_atomically_and_never_rewritten(local: TestClient, proxied: Settings) -> None:
    headers = auth_for(local, "admin/app")
    push_image(local, "admin/app", "v1", headers)
    assert pull(local, "HEAD", "admin/app", "v1", AWS, **headers) == 200
    flush(local)
    (first,) = segments.segment_paths(proxied.data_dir)
    content = first.read_bytes()
    assert pull(local, "HEAD", "admin/app", "v1", UK_HOME, **headers) == 200
    flush(local)
    paths = segments.segment_paths(proxied.data_dir)
    assert len(paths) == 2 and first in paths and first.read_bytes() == content
    leftovers = [p for p in Path(proxied.data_dir, "analytics").rglob("*") if p.is_file() and p.suffix != ".parquet"]
    assert leftovers == []


# --- end to end: real clients through a proxy in front of `dockyard serve` ----------------------------------
@pytest.mark.e2e
def test_skopeo_and_dxf_pulls_through_a_proxy(
    server_factory: Callable[..., DockyardServer], tmp_path: Path, unique: str
) -> None:
    server = server_factory(
        settings={
            "DOCKYARD_TRUSTED_PROXIES": "127.0.0.1/32",
            "DOCKYARD_ANALYTICS_FLUSH_SECONDS": "0.2",
            "DOCKYARD_FSYNC": "false",
        }
    )
    tools = ContainerTools(tmp_path / "tools")
    layout = ImageLayout(tmp_path / "src")
    index = layout.add_index("multi", label=f"cap-{unique}")
    image = layout.add_image("v1", label=f"cap-single-{unique}")
    repo = f"{ADMIN}/cap-{unique}"
    for tag in ("multi", "v1"):
        args = ["copy", "--all", "--dest-tls-verify=false", "--dest-creds", ADMIN_CREDS, layout.ref(tag)]
        tools.skopeo(*args, f"docker://{server.address}/{repo}:{tag}")

    by_tag, by_digest, dxf_client = "198.51.100.10", "198.51.100.11", "2001:db8::42"
    with ForwardingProxy("127.0.0.1", server.port) as proxy:
        source = f"docker://{proxy.address}/{repo}"
        pull_args = ["copy", "--src-tls-verify=false", "--src-no-creds"]
        proxy.client_ip = by_tag
        tools.skopeo(*pull_args, f"{source}:multi", ImageLayout(tmp_path / "a").ref("pulled"))
        proxy.client_ip = by_digest
        tools.skopeo(*pull_args, f"{source}@{image.digest}", ImageLayout(tmp_path / "b").ref("pulled"))
        proxy.client_ip = dxf_client
        client = dxf_through(proxy.address, repo)
        assert client.head_manifest_and_response("v1")[0] == image.digest
        assert client.get_alias("v1") == [layer.digest for layer in image.layers]
    server.stop()  # shutdown flushes the buffer

    secret = (server.data_dir / "secret.key").read_bytes()
    rows = stored_rows(server.data_dir)
    by_client: dict[int, list[dict[str, object]]] = {}
    for row in rows:
        by_client.setdefault(int(row["client"]), []).append(row)
    name = Pseudonymizer(secret)
    child = index.child(HOST_ARCH).digest
    tagged = by_client[name(by_tag)]
    assert [(r["method"], r["reference"], r["digest"]) for r in tagged] == [
        ("GET", "multi", index.digest),
        ("GET", child, child),
    ]
    (digest_pull,) = by_client[name(by_digest)]
    assert (digest_pull["method"], digest_pull["reference"]) == ("GET", image.digest)
    for row in [*tagged, digest_pull]:
        assert row["ua_tool"] in ("skopeo", "containers-image"), row["user_agent"]
    dxf_rows = by_client[name(dxf_client)]
    assert [(r["method"], r["reference"], r["digest"], r["ua_tool"]) for r in dxf_rows] == [
        ("HEAD", "v1", image.digest, "python-requests"),
        ("GET", "v1", image.digest, "python-requests"),
    ]
    for row in [*tagged, digest_pull, *dxf_rows]:
        assert (row["namespace"], row["repository"], row["status"], row["source"]) == (
            ADMIN,
            f"cap-{unique}",
            200,
            "dockyard",
        )
    assert_no_raw_addresses(server.data_dir, [by_tag, by_digest, dxf_client])


def dxf_through(address: str, repo: str) -> Any:
    """A python-dxf client on `address` that gets its tokens from the realm the challenge names (over http)."""
    dxf = pytest.importorskip("dxf")

    def auth(client: Any, response: requests.Response) -> None:
        challenge = response.headers["www-authenticate"]
        params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
        query = {"service": params["service"], "scope": params.get("scope", "")}
        answer = requests.get(params["realm"], params=query, auth=(ADMIN, ADMIN_PASSWORD), timeout=30)
        answer.raise_for_status()
        client.token = answer.json()["token"]

    return dxf.DXF(address, repo, auth=auth, insecure=True)
