"""Insights end to end: real clients pull through a trusted proxy that plays several addresses, a distribution
registry's notifications arrive for a repository Dockyard does not host, `dockyard analytics run` processes it
all, and the DVP Data API, the Hub API's pull count and a downloaded CSV export show exactly the classified
actions."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dockyard.analytics import segments
from dockyard.analytics.periods import Period
from tests.analytics.helpers import week_with_time_left
from tests.analytics.test_capture import dxf_through
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN, ADMIN_CREDS
from tests.support.clients import HOST_ARCH, ContainerTools
from tests.support.layout import ImageLayout
from tests.support.proxy import ForwardingProxy
from tests.support.server import DockyardServer, run_dockyard

pytestmark = pytest.mark.e2e

TOKEN = "e2e-events-token"
API = "/api/publisher/analytics/v1"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def notification(repository: str, method: str, digest: str, tag: str | None, addr: str, at: datetime) -> dict[str, Any]:
    """A distribution 2.8 manifest pull event, as its notifications carry it."""
    reference = tag or digest
    target: dict[str, Any] = {
        "mediaType": MANIFEST,
        "size": 455,
        "digest": digest,
        "length": 455,
        "repository": repository,
        "url": f"http://registry:5000/v2/{repository}/manifests/{reference}",
    }
    if tag is not None:
        target["tag"] = tag
    return {
        "id": f"{method}-{reference}-{addr}",
        "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "action": "pull",
        "target": target,
        "request": {
            "id": "r",
            "addr": f"{addr}:40000",
            "host": "registry:5000",
            "method": method,
            "useragent": "docker/27.3.1 go/go1.22.7 os/linux arch/amd64",
        },
        "actor": {},
        "source": {"addr": "registry:5000", "instanceID": "i"},
    }


def wait_for_events(data_dir: Path, count: int) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sum(sum(by.values()) for by in segments.count_by_day(data_dir).values()) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} events were captured: {segments.count_by_day(data_dir)}")


def test_pulls_and_notifications_come_out_of_the_dvp_api_and_the_export(
    server_factory: Callable[..., DockyardServer], tmp_path: Path, unique: str
) -> None:
    server = server_factory(
        settings={
            "DOCKYARD_TRUSTED_PROXIES": "127.0.0.1/32",
            "DOCKYARD_ANALYTICS_FLUSH_SECONDS": "0.2",
            "DOCKYARD_EVENTS_TOKEN": TOKEN,
            "DOCKYARD_ANALYTICS_INTERVAL_SECONDS": "0",
            "DOCKYARD_FSYNC": "false",
        }
    )
    tools = ContainerTools(tmp_path / "tools")
    layout = ImageLayout(tmp_path / "src")
    index = layout.add_index("multi", label=f"ins-{unique}")
    image = layout.add_image("v1", label=f"ins-single-{unique}")
    name = f"ins-{unique}"
    repo = f"{ADMIN}/{name}"
    for tag in ("multi", "v1"):
        args = ["copy", "--all", "--dest-tls-verify=false", "--dest-creds", ADMIN_CREDS, layout.ref(tag)]
        tools.skopeo(*args, f"docker://{server.address}/{repo}:{tag}")

    by_tag, by_digest, dxf_pull, dxf_check = "198.51.100.30", "198.51.100.31", "2001:db8::30", "198.51.100.32"
    # The server stamps the pulls with its clock: all of them, and the notifications after, fall in this week.
    this_week = week_with_time_left(120)
    with ForwardingProxy("127.0.0.1", server.port) as proxy:
        source = f"docker://{proxy.address}/{repo}"
        pull = ["copy", "--src-tls-verify=false", "--src-no-creds"]
        proxy.client_ip = by_tag  # GET multi (the index), GET its host platform: one pull by tag
        tools.skopeo(*pull, f"{source}:multi", ImageLayout(tmp_path / "a").ref("pulled"))
        proxy.client_ip = by_digest  # GET by digest: one pull by digest
        tools.skopeo(*pull, f"{source}@{image.digest}", ImageLayout(tmp_path / "b").ref("pulled"))
        proxy.client_ip = dxf_pull  # HEAD v1 then GET v1 (by tag again): a version check and a pull by tag
        client = dxf_through(proxy.address, repo)
        assert client.head_manifest_and_response("v1")[0] == image.digest
        client.get_alias("v1")
        proxy.client_ip = dxf_check  # HEAD v1 alone: a version check
        assert dxf_through(proxy.address, repo).head_manifest_and_response("v1")[0] == image.digest
    captured = 2 + 1 + 2 + 1

    # Another registry's notifications: a docker pull of ghost/app (HEAD tag, GET the index, GET a platform),
    # and a version check of our repository from another address.
    now = datetime.now(UTC)
    assert Period.week_of(now.date()) == this_week, "the pulls took over two minutes"
    ghost_index, ghost_amd64 = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    events = [
        notification("ghost/app", "HEAD", ghost_index, "1.0", "203.0.113.40", now),
        notification("ghost/app", "GET", ghost_index, None, "203.0.113.40", now + timedelta(milliseconds=50)),
        notification("ghost/app", "GET", ghost_amd64, None, "203.0.113.40", now + timedelta(milliseconds=90)),
        notification(repo, "HEAD", image.digest, "v1", "203.0.113.41", now),
    ]
    response = httpx.post(
        f"{server.base_url}/api/registry-events",
        content=json.dumps({"events": events}),
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "Content-Type": "application/vnd.docker.distribution.events.v1+json",
        },
    )
    assert response.status_code == 200 and response.json()["accepted"] == 4, response.text
    wait_for_events(server.data_dir, captured + 4)

    # Far enough ahead that this week and this month are complete, and exported.
    as_of = (now + timedelta(days=40)).date().isoformat()
    done = run_dockyard(
        "analytics", "run", "--as-of", as_of, data_dir=server.data_dir, database_url=server.database_url
    )
    assert done.returncode == 0, done.stderr
    assert "pull_by_tag 3" in done.stdout and "pull_by_digest 1" in done.stdout and "version_check 3" in done.stdout

    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        login = http.post("/v2/users/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        assert http.get(f"{API}/", headers=headers).json() == {"namespaces": ["admin", "ghost"]}
        weeks = http.get(f"{API}/namespaces/admin/repos/{name}/pulls", params={"timespan": "weeks"}, headers=headers)
        (week,) = weeks.json()["pulls"]
        # Pulls: skopeo by tag, skopeo by digest, dxf's GET by tag; addresses: all four, and the notifier's.
        assert (week["repo"], week["namespace"], week["pullCount"], week["ipCount"]) == (name, ADMIN, 3, 5)
        assert week["start"] == f"{this_week.start.isoformat()}T00:00:00Z"
        # The same run set the Hub's numbers from the same actions.
        assert http.get(f"/v2/repositories/{repo}/").json()["pull_count"] == 3
        for tag in ("multi", "v1"):
            assert http.get(f"/v2/repositories/{repo}/tags/{tag}/").json()["tag_last_pulled"] is not None
        ghost = http.get(f"{API}/namespaces/ghost/pulls", headers=headers).json()["pulls"]
        assert [(p["repo"], p["pullCount"], p["ipCount"]) for p in ghost] == [("app", 1, 1)]

        links = http.get(
            f"{API}/namespaces/admin/pulls/exports/years/{this_week.year}/weeks/{this_week.number}/raw", headers=headers
        ).json()["data"]
        rows: list[dict[str, str]] = []
        for link in links:
            download = httpx.get(link["url"], timeout=30)  # a signed link: no credentials
            assert download.status_code == 200 and len(download.content) == link["size"]
            rows += list(csv.DictReader(io.StringIO(download.text)))
    mine = sorted(
        (r["action"], r["http_method"], r["reference"], r["tag"], r["user_agent_tool"], r["owner"])
        for r in rows
        if r["repository"] == name
    )
    child = index.child(HOST_ARCH)
    assert child.digest  # the platform skopeo fetched is the follow-up, not an action of its own
    assert mine == sorted(
        [
            ("pull_by_tag", "GET", "multi", "multi", "skopeo", ADMIN),
            ("pull_by_digest", "GET", image.digest, "", "skopeo", ADMIN),
            ("version_check", "HEAD", "v1", "v1", "python-requests", ADMIN),
            ("pull_by_tag", "GET", "v1", "v1", "python-requests", ADMIN),
            ("version_check", "HEAD", "v1", "v1", "docker", ADMIN),
            ("version_check", "HEAD", "v1", "v1", "python-requests", ADMIN),
        ]
    )
    assert all(r["digest"] for r in rows)
    for address in (by_tag, by_digest, dxf_pull, dxf_check, "203.0.113.40", "203.0.113.41"):
        assert all(address not in value for r in rows for value in r.values())
