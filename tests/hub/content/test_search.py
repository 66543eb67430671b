"""Search: `/v2/search/repositories/` and the v1 index's `/v1/search`, with private repositories shown only to
those who may read them."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.hub.content.helpers import admin, create_repo, push, user


def setup_repositories(client: TestClient) -> dict[str, str]:
    headers = admin(client)
    create_repo(client, headers, "library", "redis", description="In-memory data store")
    create_repo(client, headers, "admin", "redis-tools", description="Helpers")
    create_repo(client, headers, "admin", "cache", description="A redis-compatible cache")
    create_repo(client, headers, "admin", "redis-secret", is_private=True)
    create_repo(client, headers, "admin", "unrelated")
    return headers


def test_v2_search(client: TestClient) -> None:
    headers = setup_repositories(client)
    response = client.get("/v2/search/repositories/", params={"query": "redis"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3 and body["next"] is None
    results = {r["repo_name"]: r for r in body["results"]}
    assert list(results) == ["redis", "admin/cache", "admin/redis-tools"]  # the exact name first
    assert results["redis"]["is_official"] is True and results["admin/cache"]["is_official"] is False
    assert set(results["redis"]) == {
        "repo_name", "short_description", "star_count", "pull_count", "repo_owner", "is_official", "is_automated",
    }  # fmt: skip
    assert results["redis"]["short_description"] == "In-memory data store"

    mine = client.get("/v2/search/repositories", params={"query": "REDIS"}, headers=headers).json()
    assert {r["repo_name"] for r in mine["results"]} == {
        "redis",
        "admin/cache",
        "admin/redis-tools",
        "admin/redis-secret",
    }
    bob = client.get("/v2/search/repositories/", params={"query": "redis"}, headers=user(client, "bob")).json()
    assert bob["count"] == 3

    paged = client.get("/v2/search/repositories/", params={"query": "redis", "page_size": 2, "page": 2}).json()
    assert paged["count"] == 3 and len(paged["results"]) == 1
    assert paged["previous"] == "http://testserver/v2/search/repositories/?query=redis&page_size=2&page=1"
    assert (
        client.get("/v2/search/repositories/", params={"query": "redis", "page": 3, "page_size": 2}).status_code == 404
    )
    assert client.get("/v2/search/repositories/", params={"query": "zzz"}).json()["count"] == 0
    assert client.get("/v2/search/repositories/", params={"query": "x" * 300}).status_code == 400
    assert client.get("/v2/search/repositories/", params={"query": "%"}).json()["count"] == 0


def test_v1_search(client: TestClient) -> None:
    setup_repositories(client)
    push(client, "admin/redis-tools", "v1")
    response = client.get("/v1/search", params={"q": "redis", "n": 2})
    assert response.status_code == 200
    body = response.json()
    assert body["query"] == "redis" and body["num_results"] == 3 and body["page_size"] == 2
    assert [r["name"] for r in body["results"]] == ["redis", "admin/cache"]
    assert set(body["results"][0]) == {"name", "description", "star_count", "is_official", "is_automated", "is_trusted"}
    assert client.get("/v1/search", params={"q": "redis"}).json()["page_size"] == 25
    assert len(client.get("/v1/search/", params={"q": "redis", "page": 2, "n": 2}).json()["results"]) == 1
    for n in ("0", "101", "x"):
        response = client.get("/v1/search", params={"q": "redis", "n": n})
        assert response.status_code == 400 and "detail" in response.json()
    secret = client.get("/v1/search", params={"q": "secret"}).json()
    assert secret["num_results"] == 0 and secret["results"] == []
