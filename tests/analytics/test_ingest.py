"""`POST /api/registry-events`: CNCF distribution notification envelopes, shaped like the ones distribution 2.8.2
sent in ../shared/research/verification.md section 5."""

from __future__ import annotations

import copy
import dataclasses
import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from dockyard.analytics.pseudonyms import Pseudonymizer
from dockyard.app import create_app
from dockyard.config import Settings
from tests.analytics.helpers import assert_no_raw_addresses, pseudonym, stored_rows
from tests.registry.helpers import services
from tests.support.clients import ContainerTools
from tests.support.layout import ImageLayout
from tests.support.server import DockyardServer, free_port

TOKEN = "s3cret-events-token"
UK, AWS = "81.2.69.160", "52.95.110.1"
EVENTS_TYPE = "application/vnd.docker.distribution.events.v1+json"
DIGEST = "sha256:f88ab2cee0bccdec5463e99d3e5eecb9d910dd6c077e138ce36c38a75156f851"
LAYER = "sha256:d94abd1f0a7b6b3cb1b4ec2bd7a5ed2b2a5a2f1b21b9e3ab1ef5e7b2a4c11dd0"

PUSH = {
    "id": "538aafaa-0000-4000-8000-000000000001",
    "timestamp": "2026-11-22T09:33:43.391537366Z",
    "action": "push",
    "target": {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "size": 455,
        "digest": DIGEST,
        "length": 455,
        "repository": "ns/repo",
        "url": f"http://127.0.0.1:5000/v2/ns/repo/manifests/{DIGEST}",
        "tag": "v1",
        "references": [
            {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 318, "digest": LAYER},
        ],
    },
    "request": {
        "id": "68df0280-0000-4000-8000-000000000002",
        "addr": "127.0.0.1:34032",
        "host": "127.0.0.1:5000",
        "method": "PUT",
        "useragent": "skopeo/1.9.3",
    },
    "actor": {},
    "source": {"addr": "vm:5000", "instanceID": "371f3673-0000-4000-8000-000000000003"},
}
PULL_HEAD = {
    "id": "ba9f682e-0000-4000-8000-000000000004",
    "timestamp": "2026-11-22T09:34:30.724747993Z",
    "action": "pull",
    "target": {
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "size": 455,
        "digest": DIGEST,
        "length": 455,
        "repository": "ns/repo",
        "url": f"http://127.0.0.1:5000/v2/ns/repo/manifests/{DIGEST}",
        "tag": "v1",
    },
    "request": {
        "id": "57d92998-0000-4000-8000-000000000005",
        "addr": "52.95.110.1:57730",
        "host": "127.0.0.1:5000",
        "method": "HEAD",
        "useragent": "curl/7.88.1",
    },
    "actor": {},
    "source": {"addr": "vm:5000", "instanceID": "371f3673-0000-4000-8000-000000000003"},
}
BLOB_PULL = {
    "id": "c0ffee00-0000-4000-8000-000000000006",
    "timestamp": "2026-11-22T09:34:30.900000000Z",
    "action": "pull",
    "target": {
        "mediaType": "application/octet-stream",
        "size": 133,
        "digest": LAYER,
        "repository": "ns/repo",
        "url": f"http://127.0.0.1:5000/v2/ns/repo/blobs/{LAYER}",
    },
    "request": {"id": "x", "addr": "52.95.110.1:57730", "host": "h", "method": "GET", "useragent": "skopeo/1.9.3"},
    "actor": {},
    "source": {"addr": "vm:5000", "instanceID": "i"},
}


def pull(**changes: Any) -> dict[str, Any]:
    """The manifest pull sample with dotted-path changes (None removes a field)."""
    event = copy.deepcopy(PULL_HEAD)
    for path, value in changes.items():
        *parents, last = path.split("__")
        node = event
        for part in parents:
            node = node[part]
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value
    return event


@pytest.fixture
def configured(settings: Settings) -> Settings:
    return dataclasses.replace(settings, events_token=TOKEN, analytics_flush_seconds=3600.0)


@pytest.fixture
def ingest(configured: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(configured)) as test_client:
        yield test_client


def post(client: TestClient, body: Any, token: str | None = TOKEN, content_type: str = EVENTS_TYPE) -> Any:
    headers = {"Content-Type": content_type, "User-Agent": "Go-http-client/1.1"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post("/api/registry-events", content=data, headers=headers)


def flush(client: TestClient) -> None:
    capture = services(client).capture
    assert capture is not None
    client.portal.call(capture.flush)  # type: ignore[union-attr]


def test_a_manifest_pull_is_recorded(ingest: TestClient, configured: Settings) -> None:
    response = post(ingest, {"events": [PULL_HEAD]})
    assert response.status_code == 200, response.text
    assert response.json() == {"accepted": 1, "ignored": 0, "rejected": []}
    flush(ingest)
    (row,) = stored_rows(configured.data_dir)
    assert (row["namespace"], row["repository"], row["reference"], row["digest"]) == ("ns", "repo", "v1", DIGEST)
    assert (row["method"], row["status"], row["source"]) == ("HEAD", 200, "distribution")
    assert (row["user_agent"], row["ua_tool"], row["ua_version"]) == ("curl/7.88.1", "curl", "7.88.1")
    assert row["client"] == pseudonym(configured, "52.95.110.1")
    assert (row["country"], row["host"], row["ip_type"]) == ("US", "aws", "hosting")
    assert row["ts"].isoformat() == "2026-11-22T09:34:30.724747"
    assert row["account"] is None


def test_a_mixed_batch_keeps_the_good_and_reports_the_bad(ingest: TestClient, configured: Settings) -> None:
    by_digest = pull(target__tag=None, request__method="GET", request__addr="[2001:db8::1]:443")
    library = pull(target__repository="alpine", request__addr="81.2.69.160", actor={"name": "alice"})
    behind_proxy = pull(request__addr="81.2.69.161")  # distribution puts X-Forwarded-For there, without a port
    mount = {**copy.deepcopy(PUSH), "action": "mount"}
    delete = {**copy.deepcopy(PUSH), "action": "delete"}
    events = [
        PUSH,  # 0 ignored: a push
        PULL_HEAD,  # 1 accepted
        BLOB_PULL,  # 2 ignored: a blob
        by_digest,  # 3 accepted
        {**copy.deepcopy(PULL_HEAD), "action": "frobnicate"},  # 4 rejected
        pull(request=None),  # 5 rejected
        pull(request__addr="not-an-address:80"),  # 6 rejected
        "an event?",  # 7 rejected
        library,  # 8 accepted
        mount,  # 9 ignored
        delete,  # 10 ignored
        pull(timestamp="yesterday"),  # 11 rejected
        pull(target__digest="sha256:short"),  # 12 rejected
        pull(request__method="DELETE"),  # 13 rejected
        pull(target__repository="Bad/Name"),  # 14 rejected
        behind_proxy,  # 15 accepted
    ]
    response = post(ingest, {"events": events})
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["accepted"], report["ignored"]) == (4, 4)
    assert [r["index"] for r in report["rejected"]] == [4, 5, 6, 7, 11, 12, 13, 14]
    reasons = {r["index"]: r["reason"] for r in report["rejected"]}
    assert "unknown action 'frobnicate'" in reasons[4]
    assert reasons[5] == "missing request"
    assert "request.addr" in reasons[6]
    assert "not a JSON object" in reasons[7]
    assert "timestamp" in reasons[11]
    assert "target.digest" in reasons[12]
    assert "GET or HEAD" in reasons[13]
    assert "repository" in reasons[14]
    flush(ingest)
    rows = stored_rows(configured.data_dir)
    assert len(rows) == 4
    kept = {(r["namespace"], r["repository"], r["reference"], r["method"], r["account"]) for r in rows}
    assert kept == {
        ("ns", "repo", "v1", "HEAD", None),
        ("ns", "repo", DIGEST, "GET", None),
        ("library", "alpine", "v1", "HEAD", "alice"),
    }
    clients = {r["client"] for r in rows}
    assert clients == {pseudonym(configured, ip) for ip in ("52.95.110.1", "2001:db8::1", "81.2.69.160", "81.2.69.161")}
    assert_no_raw_addresses(configured.data_dir, ["52.95.110.1", "2001:db8::1", "81.2.69.160", "81.2.69.161"])


@pytest.mark.parametrize("token", [None, "wrong", "s3cret-events-token-and-more", ""])
def test_a_wrong_or_missing_token_is_401(ingest: TestClient, configured: Settings, token: str | None) -> None:
    response = post(ingest, {"events": [PULL_HEAD]}, token=token)
    assert response.status_code == 401
    assert "DOCKYARD_EVENTS_TOKEN" in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    basic = ingest.post(
        "/api/registry-events", json={"events": [PULL_HEAD]}, headers={"Authorization": f"Basic {TOKEN}"}
    )
    assert basic.status_code == 401
    flush(ingest)
    assert stored_rows(configured.data_dir) == []


def test_without_a_configured_token_ingest_is_off(settings: Settings) -> None:
    with TestClient(create_app(settings)) as test_client:
        response = post(test_client, {"events": [PULL_HEAD]})
    assert response.status_code == 503
    assert "DOCKYARD_EVENTS_TOKEN" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", '{"events": [...]}'),
        (b'{"event": []}', '{"events": [...]}'),
        (b'{"events": {"0": {}}}', "must be a list"),
        (b"", "not JSON"),
    ],
)
def test_malformed_envelopes_are_400(ingest: TestClient, body: bytes, message: str) -> None:
    response = post(ingest, body)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_a_batch_of_only_bad_events_is_400_with_the_report(ingest: TestClient) -> None:
    response = post(ingest, {"events": [pull(request=None), 7]})
    assert response.status_code == 400
    body = response.json()
    assert "all 2 events were rejected" in body["detail"]
    assert [r["index"] for r in body["rejected"]] == [0, 1]


def test_media_types(ingest: TestClient, configured: Settings) -> None:
    assert post(ingest, {"events": [PULL_HEAD]}, content_type="application/json").status_code == 200
    assert post(ingest, {"events": [PULL_HEAD]}, content_type=f"{EVENTS_TYPE}; charset=utf-8").status_code == 200
    unsupported = post(ingest, {"events": [PULL_HEAD]}, content_type="text/plain")
    assert unsupported.status_code == 415
    assert EVENTS_TYPE in unsupported.json()["detail"]
    empty = post(ingest, {"events": []})
    assert (empty.status_code, empty.json()) == (200, {"accepted": 0, "ignored": 0, "rejected": []})


def test_the_api_rate_limit_does_not_throttle_a_registry(configured: Settings) -> None:
    limited = dataclasses.replace(configured, api_rate_limit_per_minute=2)
    with TestClient(create_app(limited)) as test_client:
        statuses = [post(test_client, {"events": [PULL_HEAD]}).status_code for _ in range(6)]
        assert statuses == [200] * 6
        # ...while the Hub API itself is limited
        assert {test_client.get("/v2/repositories/library/").status_code for _ in range(4)} >= {429}
    assert len(stored_rows(configured.data_dir)) == 6


# --- end to end: a real CNCF distribution registry notifying a running Dockyard -----------------------------
DISTRIBUTION_CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
notifications:
  events:
    includereferences: true
  endpoints:
    - name: dockyard
      url: {url}
      headers:
        Authorization: [Bearer {token}]
      timeout: 2s
      threshold: 5
      backoff: 1s
"""


@pytest.fixture
def distribution(tmp_path: Path, server_factory: Callable[..., DockyardServer]) -> Iterator[tuple[str, Path]]:
    """distribution 2.8 on a free port, posting its notifications to a Dockyard; yields (address, Dockyard's
    data directory)."""
    executable = shutil.which("docker-registry")
    if executable is None:
        pytest.fail("docker-registry is not installed: apt-get install docker-registry", pytrace=False)
    dockyard = server_factory(settings={"DOCKYARD_EVENTS_TOKEN": TOKEN, "DOCKYARD_ANALYTICS_FLUSH_SECONDS": "0.2"})
    port = free_port()
    config = tmp_path / "distribution.yml"
    config.write_text(
        DISTRIBUTION_CONFIG.format(
            root=tmp_path / "distribution", port=port, url=f"{dockyard.base_url}/api/registry-events", token=TOKEN
        )
    )
    with (tmp_path / "distribution.log").open("wb") as log:
        process = subprocess.Popen([executable, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "distribution.log").read_text()
            time.sleep(0.1)
        yield f"127.0.0.1:{port}", dockyard.data_dir
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.mark.e2e
def test_a_distribution_registry_notifies_dockyard(distribution: tuple[str, Path], tmp_path: Path) -> None:
    address, data_dir = distribution
    tools = ContainerTools(tmp_path / "tools")
    layout = ImageLayout(tmp_path / "src")
    image = layout.add_image("v1", label="notified")
    tools.skopeo("copy", "--dest-tls-verify=false", layout.ref("v1"), f"docker://{address}/ns/repo:v1")
    tools.skopeo(
        "copy", "--src-tls-verify=false", f"docker://{address}/ns/repo:v1", ImageLayout(tmp_path / "p").ref("x")
    )
    accept = {"Accept": image.manifest.media_type}
    # distribution reports X-Forwarded-For as request.addr (without a port): many clients from one machine.
    head = httpx.head(f"http://{address}/v2/ns/repo/manifests/v1", headers={**accept, "X-Forwarded-For": UK})
    assert head.status_code == 200
    by_digest = httpx.get(
        f"http://{address}/v2/ns/repo/manifests/{image.digest}", headers={**accept, "X-Forwarded-For": AWS}
    )
    assert by_digest.status_code == 200
    rows: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while len(rows) < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
        rows = stored_rows(data_dir)
    secret = (data_dir / "secret.key").read_bytes()
    name = Pseudonymizer(secret)
    assert sorted((r["method"], r["reference"], r["client"]) for r in rows) == sorted(
        [
            ("GET", "v1", name("127.0.0.1")),
            ("HEAD", "v1", name(UK)),
            ("GET", image.digest, name(AWS)),
        ]
    )
    for row in rows:
        assert (row["namespace"], row["repository"], row["digest"], row["source"]) == (
            "ns",
            "repo",
            image.digest,
            "distribution",
        )
    assert {r["ua_tool"] for r in rows} == {"containers-image", "python-httpx"} or {r["ua_tool"] for r in rows} == {
        "skopeo",
        "python-httpx",
    }
    assert_no_raw_addresses(data_dir, [UK, AWS])
