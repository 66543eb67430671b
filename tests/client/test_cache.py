"""GET answers are cached for a time-to-live (300 s by default), per identity; the cache can be turned off, and a
write to a resource drops what was cached for it, under either spelling of its path."""

from __future__ import annotations

import asyncio

import pytest

from dockyard.client import AsyncHub, Hub, NotFound
from dockyard.client.cache import DEFAULT_TTL, ResponseCache, canonical_path, related
from tests.client.fake import FakeServer, Reply

REPO = "/v2/namespaces/alice/repositories/app"
LEGACY = "/v2/repositories/alice/app/"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def repository(description: str) -> Reply:
    return Reply(json={"name": "app", "namespace": "alice", "description": description})


def test_the_default_ttl_is_five_minutes() -> None:
    assert DEFAULT_TTL == 300
    assert Hub("http://127.0.0.1:9").cache.ttl == 300


def test_a_cached_answer_is_served_until_it_expires(fake: FakeServer) -> None:
    fake.add("GET", REPO, repository("one"), repository("two"))
    clock = Clock()
    with Hub(fake.base_url, cache_ttl=60) as hub:
        hub.cache.clock = clock
        assert hub.get_repository("alice", "app").description == "one"
        clock.now += 59
        assert hub.get_repository("alice", "app").description == "one"
        assert len(fake.seen("GET", REPO)) == 1
        clock.now += 2
        assert hub.get_repository("alice", "app").description == "two"
    assert len(fake.seen("GET", REPO)) == 2


def test_the_cache_can_be_turned_off(fake: FakeServer) -> None:
    fake.add("GET", REPO, repository("one"), repository("two"))
    with Hub(fake.base_url, cache=False) as hub:
        assert hub.get_repository("alice", "app").description == "one"
        assert hub.get_repository("alice", "app").description == "two"
    with Hub(fake.base_url, cache_ttl=0) as hub:
        hub.get_repository("alice", "app")
        hub.get_repository("alice", "app")
    assert len(fake.seen("GET", REPO)) == 4


def test_a_write_invalidates_the_resource_and_its_lists(fake: FakeServer) -> None:
    fake.add("GET", REPO, repository("before"), repository("after"))
    fake.add("GET", "/v2/namespaces/alice/repositories", Reply(json={"next": None, "results": []}))
    fake.add("GET", "/v2/namespaces/bob/repositories/other", repository("unrelated"))
    fake.add("PATCH", LEGACY, repository("after"))
    with Hub(fake.base_url) as hub:
        assert hub.get_repository("alice", "app").description == "before"
        hub.list_repositories("alice").all()
        hub.get_repository("bob", "other")
        assert len(hub.cache) == 3
        hub.update_repository("alice", "app", description="after")  # PATCH on the legacy spelling
        assert len(hub.cache) == 1  # bob's repository stays cached
        assert hub.get_repository("alice", "app").description == "after"
        hub.list_repositories("alice").all()
        hub.get_repository("bob", "other")
    assert len(fake.seen("GET", REPO)) == 2
    assert len(fake.seen("GET", "/v2/namespaces/alice/repositories")) == 2
    assert len(fake.seen("GET", "/v2/namespaces/bob/repositories/other")) == 1


def test_deleting_a_tag_invalidates_the_tag_list(fake: FakeServer) -> None:
    tags = "/v2/namespaces/alice/repositories/app/tags"
    fake.add(
        "GET", tags, Reply(json={"next": None, "results": [{"name": "v1"}]}), Reply(json={"next": None, "results": []})
    )
    fake.add("DELETE", "/v2/repositories/alice/app/tags/v1/", Reply(204))
    with Hub(fake.base_url) as hub:
        assert [t.name for t in hub.list_tags("alice", "app")] == ["v1"]
        assert [t.name for t in hub.list_tags("alice", "app")] == ["v1"]
        hub.delete_tag("alice", "app", "v1")
        assert [t.name for t in hub.list_tags("alice", "app")] == []
    assert len(fake.seen("GET", tags)) == 2


def test_answers_are_not_shared_between_identities(fake: FakeServer) -> None:
    fake.add("GET", "/v2/user/", Reply(json={"username": "alice"}), Reply(json={"username": "bob"}))
    with Hub(fake.base_url, token="alice-token") as hub:
        assert hub.me().username == "alice"
        hub.context.set_tokens("bob-token")
        assert hub.me().username == "bob"


def test_errors_are_not_cached(fake: FakeServer) -> None:
    fake.add("GET", REPO, Reply(404, {"detail": "Object not found"}), repository("now"))
    with Hub(fake.base_url) as hub:
        with pytest.raises(NotFound):
            hub.get_repository("alice", "app")
        assert hub.get_repository("alice", "app").description == "now"


def test_the_async_client_caches_the_same_way(fake: FakeServer) -> None:
    fake.add("GET", REPO, repository("one"), repository("two"))
    fake.add("POST", "/v2/repositories/alice/app/privacy/", Reply(200, {}))

    async def main() -> list[str | None]:
        async with AsyncHub(fake.base_url) as hub:
            first = (await hub.get_repository("alice", "app")).description
            second = (await hub.get_repository("alice", "app")).description
            await hub.set_privacy("alice", "app", True)
            third = (await hub.get_repository("alice", "app")).description
            return [first, second, third]

    assert asyncio.run(main()) == ["one", "one", "two"]


def test_canonical_paths() -> None:
    assert canonical_path("/v2/namespaces/Alice/repositories/app/tags?page=2") == "/v2/repositories/alice/app/tags"
    assert canonical_path("http://h:1/v2/repositories/alice/app/") == "/v2/repositories/alice/app"
    assert canonical_path("/v2/api_tokens/x") == "/v2/access-tokens/x"
    assert related("/v2/repositories/alice", "/v2/repositories/alice/app")
    assert related("/v2/repositories/alice/app", "/v2/repositories/alice/app")
    assert not related("/v2/repositories/alice/app", "/v2/repositories/alice/application")
    assert not related("/v2/user", "/v2/users/alice")


def test_the_cache_keeps_a_bounded_number_of_entries() -> None:
    import httpx

    cache = ResponseCache(60, max_entries=2)
    for index in range(3):
        cache.put(ResponseCache.key("-", f"http://h/v2/x/{index}"), httpx.Response(200))
    assert len(cache) == 2
    assert cache.get(ResponseCache.key("-", "http://h/v2/x/0")) is None
