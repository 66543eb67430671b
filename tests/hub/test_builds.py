"""Automated builds, for real: a local git repository with a Dockerfile, built by buildah and pushed into the
registry; build rules, the trigger URL, build links, history and details, and permissions."""

from __future__ import annotations

import dataclasses
import gzip
import io
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.hub.community import community, create_user, fast_passwords, hub_login, push, run, set_private
from tests.registry.helpers import ADMIN

__all__ = ["fast_passwords"]

MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    allowed = dataclasses.replace(settings, build_allow_file_urls=True, build_concurrency=2)
    with TestClient(create_app(allowed)) as test_client:
        yield test_client


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def source(tmp_path: Path) -> str:
    """A git repository with a Dockerfile `FROM scratch` + `COPY` on master, tagged v1.0, and a `docs` branch."""
    repo = tmp_path / "source"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "master")
    (repo / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
    (repo / "hello.txt").write_text("hello from master\n")
    (repo / "sub").mkdir()
    (repo / "sub" / "Dockerfile.alt").write_text("FROM scratch\nCOPY note.txt /note.txt\n")
    (repo / "sub" / "note.txt").write_text("alternate\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "first")
    git(repo, "tag", "v1.0")
    return f"file://{repo}"


def settle(client: TestClient) -> None:
    run(client, community(client).builds.drain)


def image_files(client: TestClient, repo: str, tag: str) -> dict[str, bytes]:
    manifest = client.get(f"/v2/{repo}/manifests/{tag}", headers={**ADMIN, "Accept": MANIFEST_ACCEPT})
    assert manifest.status_code == 200, manifest.text
    files: dict[str, bytes] = {}
    for layer in manifest.json()["layers"]:
        data = client.get(f"/v2/{repo}/blobs/{layer['digest']}", headers=ADMIN).content
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                extracted = archive.extractfile(member) if member.isfile() else None
                if extracted is not None:
                    files[member.name.lstrip("./")] = extracted.read()
    return files


def configure(client: TestClient, source: str, headers: dict[str, str], **extra: Any) -> dict[str, Any]:
    body = {
        "name": "app",
        "namespace": "alice",
        "active": True,
        "dockerhub_repo_name": "alice/app",
        "is_private": False,
        "provider": "git",
        "source_url": source,
        **extra,
    }
    response = client.post("/v2/repositories/alice/app/autobuild/", json=body, headers=headers)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def test_build_from_a_branch_end_to_end(client: TestClient, source: str) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "seed", "alice")
    alice = hub_login(client, "alice")
    settings = configure(client, source, alice)
    assert settings["source_url"] == source and settings["docker_url"] == "alice/app" and settings["active"] is True
    assert [
        (t["name"], t["source_type"], t["source_name"], t["dockerfile_location"]) for t in settings["build_tags"]
    ] == [("latest", "Branch", "master", "/")]
    assert client.get("/v2/repositories/alice/app/autobuild/").json() == settings

    triggered = client.post(
        "/v2/repositories/alice/app/autobuild/trigger-build/",
        json={"source_type": "Branch", "source_name": "master", "dockerfile_location": "/"},
        headers=alice,
    )
    assert triggered.status_code == 202, triggered.text
    [queued] = triggered.json()
    assert queued["evaluated_tag_name"] == "latest" and queued["msg"] == "Build submitted"
    settle(client)

    history = client.get("/v2/repositories/alice/app/buildhistory?page_size=10&page=1").json()
    assert history["count"] == 1
    entry = history["results"][0]
    assert entry["build_code"] == queued["build_code"] and entry["dockertag_name"] == "latest"
    details = client.get(f"/v2/repositories/alice/app/buildhistory/{queued['build_code']}/").json()
    assert details["status"] == 10 and details["status_description"] == "Success", details["build_results"]["logs"]
    results = details["build_results"]
    assert results["error"] is None and results["dockerfile_contents"].startswith("FROM scratch")
    assert "COPY hello.txt" in results["logs"] and results["buildmetrics"]["finished"]
    assert results["digest"].startswith("sha256:")
    assert image_files(client, "alice/app", "latest") == {"hello.txt": b"hello from master\n"}

    # A trigger that matches no rule does nothing.
    none = client.post(
        "/v2/repositories/alice/app/autobuild/trigger-build/", json={"source_name": "nope"}, headers=alice
    )
    assert none.status_code == 202 and none.json() == []


def test_failures_are_recorded_with_their_reason(client: TestClient, source: str) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "seed", "alice")
    alice = hub_login(client, "alice")
    configure(
        client,
        source,
        alice,
        build_tags=[
            {"name": "missing", "source_type": "Branch", "source_name": "master", "dockerfile_location": "/nowhere/"},
            {"name": "nobranch", "source_type": "Branch", "source_name": "nobranch"},
            {
                "name": "alt",
                "source_type": "Branch",
                "source_name": "master",
                "dockerfile_location": "/sub/Dockerfile.alt",
            },
        ],
    )
    for name in ("master", "nobranch"):
        client.post("/v2/repositories/alice/app/autobuild/trigger-build/", json={"source_name": name}, headers=alice)
    settle(client)
    builds = {b["dockertag_name"]: b for b in client.get("/v2/repositories/alice/app/buildhistory/").json()["results"]}
    assert builds["missing"]["status"] == -1 and builds["nobranch"]["status"] == -1 and builds["alt"]["status"] == 10
    missing = client.get(f"/v2/repositories/alice/app/buildhistory/{builds['missing']['build_code']}/").json()
    assert "no Dockerfile" in missing["build_results"]["error"]
    nobranch = client.get(f"/v2/repositories/alice/app/buildhistory/{builds['nobranch']['build_code']}/").json()
    assert nobranch["build_results"]["error"].startswith("git clone failed")
    assert image_files(client, "alice/app", "alt") == {"note.txt": b"alternate\n"}


def test_trigger_url_regex_rules_and_history(client: TestClient, source: str) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "seed", "alice")
    alice = hub_login(client, "alice")
    configure(
        client,
        source,
        alice,
        build_tags=[
            {"name": "latest", "source_type": "Branch", "source_name": "master"},
            {"name": "release-{\\1}", "source_type": "Tag", "source_name": "/^v([0-9.]+)$/"},
        ],
    )
    trigger = client.get("/v2/repositories/alice/app/buildtrigger/", headers=alice)
    assert trigger.status_code == 200
    info = trigger.json()
    assert info["active"] is True and info["trigger_url"].endswith(f"/trigger/{info['token']}/")
    url = info["trigger_url"].removeprefix("http://testserver")

    fired = client.post(url, json={"source_type": "Tag", "source_name": "v1.0"}, headers={"User-Agent": "ci/1"})
    assert fired.status_code == 202, fired.text
    assert [b["evaluated_tag_name"] for b in fired.json()] == ["release-1.0"]
    assert client.post(url.replace(info["token"], "0" * 36)).status_code == 404
    assert client.post(url.replace(info["token"], "é" * 36)).status_code == 404
    settle(client)
    assert image_files(client, "alice/app", "release-1.0") == {"hello.txt": b"hello from master\n"}

    everything = client.post(url)  # no body: every plain rule
    assert [b["evaluated_tag_name"] for b in everything.json()] == ["latest"]
    settle(client)
    events = client.get("/v2/repositories/alice/app/buildtrigger/history/", headers=alice).json()["results"]
    assert [e["result"] for e in events] == [
        "triggered",
        "triggered",
    ]
    assert events[1]["user_agent"] == "ci/1" and events[1]["build_code"] == fired.json()[0]["build_code"]

    # A regenerated token retires the old URL; a paused trigger records the call but builds nothing.
    renewed = client.post("/v2/repositories/alice/app/buildtrigger/", json={"regenerate": True}, headers=alice).json()
    assert renewed["token"] != info["token"] and client.post(url).status_code == 404
    client.post("/v2/repositories/alice/app/buildtrigger/", json={"active": False}, headers=alice)
    paused = client.post(renewed["trigger_url"].removeprefix("http://testserver"))
    assert paused.status_code == 202 and paused.json() == []


def test_build_tags_crud_and_permissions(client: TestClient, source: str) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    push(client, "alice/app", "seed", "alice")
    alice, bob = hub_login(client, "alice"), hub_login(client, "bob")
    assert client.get("/v2/repositories/alice/app/autobuild/").status_code == 404
    assert (
        client.post("/v2/repositories/alice/app/autobuild/", json={"source_url": source}, headers=bob).status_code
        == 403
    )
    assert client.post("/v2/repositories/alice/app/autobuild/", json={}, headers=alice).status_code == 400
    bad = client.post("/v2/repositories/alice/app/autobuild/", json={"source_url": "ssh://host/x.git"}, headers=alice)
    assert bad.status_code == 400
    broken = client.post("/v2/repositories/alice/app/autobuild/", json={"source_url": "http://[::1/x"}, headers=alice)
    assert broken.status_code == 400
    configure(client, source, alice)

    added = client.post(
        "/v2/repositories/alice/app/autobuild/tags/",
        json={
            "isNew": True,
            "namespace": "alice",
            "repoName": "app",
            "name": "dev",
            "dockerfile_location": "/",
            "source_type": "Branch",
            "source_name": "develop",
        },
        headers=alice,
    )
    assert added.status_code == 201
    tag = added.json()
    assert set(tag) == {"id", "name", "dockerfile_location", "source_name", "source_type"}
    saved = client.put(
        f"/v2/repositories/alice/app/autobuild/tags/{tag['id']}/",
        json={"id": tag["id"], "name": "dev2", "dockerfile_location": "/", "source_type": "Tag", "source_name": "x"},
        headers=alice,
    )
    assert saved.status_code == 200 and saved.json()["name"] == "dev2" and saved.json()["source_type"] == "Tag"
    invalid = client.put(
        f"/v2/repositories/alice/app/autobuild/tags/{tag['id']}/", json={"source_type": "Commit"}, headers=alice
    )
    assert invalid.status_code == 400
    assert client.delete(f"/v2/repositories/alice/app/autobuild/tags/{tag['id']}/", headers=bob).status_code == 403
    assert client.delete(f"/v2/repositories/alice/app/autobuild/tags/{tag['id']}/", headers=alice).status_code == 204
    assert client.get("/v2/repositories/alice/app/buildtrigger/", headers=bob).status_code == 403
    assert client.post("/v2/repositories/alice/app/autobuild/trigger-build/", json={}, headers=bob).status_code == 403

    set_private(client, "alice/app")
    for path in ("autobuild/", "buildhistory/", "links/"):
        assert client.get(f"/v2/repositories/alice/app/{path}", headers=bob).status_code == 404
        assert client.get(f"/v2/repositories/alice/app/{path}").status_code == 404


def test_links_rebuild_on_push_and_stop_at_cycles(client: TestClient, source: str) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "seed", "alice")
    push(client, "alice/base", "v1", "alice")
    push(client, "library/debian", "v1")
    alice = hub_login(client, "alice")
    configure(client, source, alice)

    link = client.post("/v2/repositories/alice/app/links/", json={"to_repo": "alice/base"}, headers=alice)
    assert link.status_code == 201
    assert link.json()["from_repo"] == "alice/app" and link.json()["to_repo"] == "alice/base"
    official = client.post("/v2/repositories/alice/app/links/", json={"to_repo": "debian"}, headers=alice).json()
    assert official["to_repo"] == "debian"
    listing = client.get("/v2/repositories/alice/app/links/").json()
    assert [entry["to_repo"] for entry in listing["results"]] == ["alice/base", "debian"]
    assert (
        client.post("/v2/repositories/alice/app/links/", json={"to_repo": "alice/nothing"}, headers=alice).status_code
        == 404
    )
    assert client.delete(f"/v2/repositories/alice/app/links/{official['id']}/", headers=alice).status_code == 204

    # A cycle: base is rebuilt when app is pushed, and app when base is. A push to base rebuilds app once; app's
    # push does not rebuild base, which started the chain.
    base = client.post("/v2/repositories/alice/base/autobuild/", json={"source_url": source}, headers=alice)
    assert base.status_code == 201
    assert (
        client.post("/v2/repositories/alice/base/links/", json={"to_repo": "alice/app"}, headers=alice).status_code
        == 201
    )
    push(client, "alice/base", "v2", "alice")
    settle(client)
    builds = client.get("/v2/repositories/alice/app/buildhistory/").json()["results"]
    assert len(builds) == 1 and builds[0]["cause"] == "link" and builds[0]["status"] == 10
    assert client.get("/v2/repositories/alice/base/buildhistory/").json()["count"] == 0
    assert image_files(client, "alice/app", "latest") == {"hello.txt": b"hello from master\n"}


def test_builds_left_running_by_a_dead_process_are_failed(client: TestClient) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.ext.asyncio import AsyncSession

    from dockyard.hub.community_models import Build
    from dockyard.registry.store import RegistryStore
    from tests.registry.helpers import in_transaction

    create_user(client, "alice")
    push(client, "alice/app", "seed", "alice")
    long_ago = datetime.now(UTC) - timedelta(days=2)

    async def orphan(session: AsyncSession) -> None:
        repository = await RegistryStore(session).repository("alice/app")
        assert repository is not None
        session.add(
            Build(
                repository_id=repository.id,
                build_code="borphan",
                status=3,
                docker_tag="latest",
                source_type="Branch",
                source_name="master",
                source_url="file:///nowhere",
                dockerfile_location="/",
                cause="api",
                created_at=long_ago,
                started_at=long_ago,
                updated_at=long_ago,
            )
        )

    run(client, community(client).builds.cycle)  # the periodic stale check has just run, before the orphan
    in_transaction(client, orphan)
    settle(client)
    details = client.get("/v2/repositories/alice/app/buildhistory/borphan/").json()
    assert details["status"] == -1 and "interrupted" in details["build_results"]["error"]
