"""The DVP Data API routes: pull series with their query parameters, and export downloads written to files with
progress, without sending Hub credentials to another host."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dockyard.client import AsyncHub, Hub, NotFound
from tests.client.fake import FakeServer, Reply

DVP = "/api/publisher/analytics/v1"


def test_pull_series(fake: FakeServer) -> None:
    pulls = {
        "pulls": [
            {
                "start": "2026-01-01T00:00:00Z",
                "end": "2026-02-01T00:00:00Z",
                "repo": "app",
                "namespace": "alice",
                "pullCount": 12,
                "ipCount": 3,
            }
        ]
    }
    fake.add("GET", f"{DVP}/namespaces/alice/pulls", Reply(json=pulls))
    fake.add("GET", f"{DVP}/namespaces/alice/repos/app/pulls", Reply(json=pulls))
    fake.add("GET", f"{DVP}/repos/pulls", Reply(json={"repos": {"alice/app": pulls}}))
    fake.add("GET", f"{DVP}/", Reply(json={"namespaces": ["alice"]}))
    fake.add("GET", f"{DVP}/namespaces", Reply(json=[{"namespace": "alice", "extraRepos": ["x/y"], "datasets": []}]))
    with Hub(fake.base_url, token="t") as hub:
        data = hub.namespace_pulls("alice", timespan="months", period="last-3-months", group="repo")
        assert data.pulls[0].pull_count == 12 and data.pulls[0].ip_count == 3
        assert hub.repository_pulls("alice", "app").pulls[0].repo == "app"
        many = hub.repositories_pulls(["alice/app", "alice/web"], timespan="weeks")
        assert many.repos["alice/app"].pulls[0].pull_count == 12
        assert hub.analytics_discovery().namespaces == ["alice"]
        assert hub.analytics_namespaces()[0].extra_repos == ["x/y"]
        with pytest.raises(ValueError):
            hub.repositories_pulls([f"a/{i}" for i in range(51)])
    assert dict(fake.seen("GET", f"{DVP}/namespaces/alice/pulls")[0].query) == {
        "timespan": "months",
        "period": "last-3-months",
        "group": "repo",
    }
    assert fake.seen("GET", f"{DVP}/repos/pulls")[0].query == [
        ("repos", "alice/app"),
        ("repos", "alice/web"),
        ("timespan", "weeks"),
    ]


def test_export_download_with_progress(fake: FakeServer, tmp_path: Path) -> None:
    other = FakeServer().start()
    try:
        part = b"action,action_day\n" + b"pull_by_tag,2026-01-05\n" * 20_000
        fake.add("GET", "/files/alice-2026-01-raw-1.csv", Reply(body=part, headers={"Content-Type": "text/csv"}))
        other.add("GET", "/signed/part2.csv", Reply(body=b"x,y\n", headers={"Content-Type": "text/csv"}))
        links = {
            "data": [
                {"url": f"{fake.base_url}/files/alice-2026-01-raw-1.csv", "size": len(part)},
                {"url": f"{other.base_url}/signed/part2.csv?sig=abc", "size": 4},
            ]
        }
        fake.add("GET", f"{DVP}/namespaces/alice/pulls/exports/years/2026/months/1/raw", Reply(json=links))
        seen: list[tuple[str, int, int | None]] = []
        with Hub(fake.base_url, token="t") as hub:
            paths = hub.download_export(
                "alice",
                2026,
                "months",
                1,
                "raw",
                tmp_path / "out",
                progress=lambda name, done, total: seen.append((name, done, total)),
            )
        assert [p.name for p in paths] == ["alice-2026-01-raw-1.csv", "part2.csv"]
        assert paths[0].read_bytes() == part and paths[1].read_bytes() == b"x,y\n"
        assert seen[0] == ("alice-2026-01-raw-1.csv", 0, len(part))
        assert seen[-1] == ("part2.csv", 4, 4)
        assert [done for name, done, _ in seen if name == "alice-2026-01-raw-1.csv"][-1] == len(part)
        assert fake.seen("GET", "/files/alice-2026-01-raw-1.csv")[0].headers["authorization"] == "Bearer t"
        assert "authorization" not in other.seen("GET", "/signed/part2.csv")[0].headers
        assert not list((tmp_path / "out").glob("*.part"))
    finally:
        other.stop()


def test_files_take_the_name_the_server_gives(fake: FakeServer, tmp_path: Path) -> None:
    named = {"Content-Disposition": 'attachment; filename="alice-months-2026-01-raw-1.csv"'}
    fake.add("GET", "/dl/tok1", Reply(body=b"a\n", headers=named))
    fake.add("GET", "/dl/tok2", Reply(body=b"b\n", headers=named))
    fake.add("GET", "/dl/tok3", Reply(body=b"c\n", headers={"Content-Disposition": 'attachment; filename="../../x"'}))
    links = {"data": [{"url": f"{fake.base_url}/dl/tok{i}"} for i in (1, 2, 3)]}
    fake.add("GET", f"{DVP}/namespaces/alice/pulls/exports/years/2026/months/1/raw", Reply(json=links))
    with Hub(fake.base_url) as hub:
        paths = hub.download_export("alice", 2026, "months", 1, "raw", tmp_path)
    assert [p.name for p in paths] == ["alice-months-2026-01-raw-1.csv", "alice-months-2026-01-raw-1-2.csv", "x"]
    assert [p.parent for p in paths] == [tmp_path] * 3
    assert paths[1].read_text() == "b\n"


def test_a_failed_download_leaves_no_file(fake: FakeServer, tmp_path: Path) -> None:
    fake.add("GET", "/files/gone.csv", Reply(404, {"detail": "expired link"}))

    async def main() -> None:
        async with AsyncHub(fake.base_url) as hub:
            with pytest.raises(NotFound):
                await hub.download(f"{fake.base_url}/files/gone.csv", tmp_path / "gone.csv")

    asyncio.run(main())
    assert list(tmp_path.iterdir()) == []


def test_async_download(fake: FakeServer, tmp_path: Path) -> None:
    fake.add("GET", "/files/a.csv", Reply(body=b"a,b\n1,2\n"))

    async def main() -> Path:
        async with AsyncHub(fake.base_url) as hub:
            return await hub.download("/files/a.csv", tmp_path / "a.csv")

    assert asyncio.run(main()).read_bytes() == b"a,b\n1,2\n"
