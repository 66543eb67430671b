"""List operations follow absolute `next` links lazily, read bare arrays, ask audit logs for pages by number, and
never send Hub credentials to another origin."""

from __future__ import annotations

import asyncio

from dockyard.client import AsyncHub, Hub
from dockyard.client.models import Repository
from tests.client.fake import FakeServer, Reply, Seen

LIST = "/v2/namespaces/alice/repositories"


def repos(*names: str) -> list[dict[str, str]]:
    return [{"name": name, "namespace": "alice"} for name in names]


def paged(fake: FakeServer) -> None:
    def answer(seen: Seen) -> Reply:
        page = dict(seen.query).get("page", "1")
        if page == "1":
            return Reply(
                json={"count": 5, "next": f"{fake.base_url}{LIST}?page=2&page_size=2", "results": repos("a", "b")}
            )
        if page == "2":
            return Reply(
                json={"count": 5, "next": f"{fake.base_url}{LIST}?page=3&page_size=2", "results": repos("c", "d")}
            )
        return Reply(json={"count": 5, "next": None, "results": repos("e")})

    fake.add("GET", LIST, answer)


def test_iterating_follows_next_links_page_by_page(fake: FakeServer) -> None:
    paged(fake)
    with Hub(fake.base_url, token="t", cache=False) as hub:
        listing = hub.list_repositories("alice", page_size=2)
        assert fake.seen() == []  # nothing is fetched before iterating
        iterator = iter(listing)
        first = next(iterator)
        assert isinstance(first, Repository) and first.name == "a"
        assert len(fake.seen("GET", LIST)) == 1
        assert listing.count == 5
        assert [r.name for r in iterator] == ["b", "c", "d", "e"]
    requests = fake.seen("GET", LIST)
    assert [dict(r.query).get("page") for r in requests] == [None, "2", "3"]
    assert all(dict(r.query)["page_size"] == "2" for r in requests)
    assert all(r.headers["authorization"] == "Bearer t" for r in requests)


def test_pages_and_all(fake: FakeServer) -> None:
    paged(fake)
    with Hub(fake.base_url, cache=False) as hub:
        assert [[r.name for r in page] for page in hub.list_repositories("alice").pages()] == [
            ["a", "b"],
            ["c", "d"],
            ["e"],
        ]
        assert [r.name for r in hub.list_repositories("alice").all()] == ["a", "b", "c", "d", "e"]
        assert hub.list_repositories("alice").first() is not None


def test_async_iteration_follows_the_same_links(fake: FakeServer) -> None:
    paged(fake)

    async def main() -> list[str]:
        async with AsyncHub(fake.base_url, cache=False) as hub:
            names = [r.name async for r in hub.list_repositories("alice")]
            assert [r.name for r in await hub.list_repositories("alice").all()] == names
            return names

    assert asyncio.run(main()) == ["a", "b", "c", "d", "e"]


def test_a_page_linking_to_itself_does_not_loop(fake: FakeServer) -> None:
    fake.add("GET", LIST, Reply(json={"next": f"{fake.base_url}{LIST}?page=2", "results": repos("a")}))
    with Hub(fake.base_url, cache=False) as hub:
        assert [r.name for r in hub.list_repositories("alice")] == ["a", "a"]
    assert len(fake.seen("GET", LIST)) == 2


def test_credentials_never_follow_a_next_link_to_another_origin(fake: FakeServer) -> None:
    other = FakeServer().start()
    try:
        other.add("GET", "/elsewhere", Reply(json={"next": None, "results": repos("z")}))
        fake.add("GET", LIST, Reply(json={"next": f"{other.base_url}/elsewhere?page=2", "results": repos("a")}))
        with Hub(fake.base_url, token="secret", cache=False) as hub:
            assert [r.name for r in hub.list_repositories("alice")] == ["a", "z"]
        assert fake.seen("GET", LIST)[0].headers["authorization"] == "Bearer secret"
        assert "authorization" not in other.seen("GET", "/elsewhere")[0].headers
    finally:
        other.stop()


def test_audit_logs_are_asked_for_by_page_number_until_a_short_page(fake: FakeServer) -> None:
    def answer(seen: Seen) -> Reply:
        page = int(dict(seen.query).get("page", "1"))
        logs = [{"action": f"repo.create.{page}.{i}"} for i in range(2 if page < 3 else 1)]
        return Reply(json={"logs": logs})

    fake.add("GET", "/v2/auditlogs/alice", answer)
    with Hub(fake.base_url, cache=False) as hub:
        actions = [entry.action for entry in hub.audit_logs("alice", action="repo.create", page_size=2)]
    assert actions == ["repo.create.1.0", "repo.create.1.1", "repo.create.2.0", "repo.create.2.1", "repo.create.3.0"]
    pages = [dict(r.query) for r in fake.seen("GET", "/v2/auditlogs/alice")]
    assert [p.get("page") for p in pages] == [None, "2", "3"]
    assert all(p["action"] == "repo.create" and p["page_size"] == "2" for p in pages)


def test_a_page_past_the_end_ends_a_numbered_listing(fake: FakeServer) -> None:
    fake.add(
        "GET",
        "/v2/auditlogs/alice",
        Reply(json={"logs": [{"action": "a"}, {"action": "b"}]}),
        Reply(404, {"detail": "Invalid page.", "message": "Invalid page."}),
    )
    with Hub(fake.base_url, cache=False) as hub:
        assert [e.action for e in hub.audit_logs("alice", page_size=2)] == ["a", "b"]


def test_bare_arrays_and_data_envelopes(fake: FakeServer) -> None:
    fake.add("GET", "/v2/users/alice/repositories/", Reply(json=repos("x", "y")))
    fake.add("GET", "/v2/orgs/acme/invites", Reply(json={"data": [{"id": "1", "invitee": "bob", "role": "member"}]}))
    with Hub(fake.base_url, cache=False) as hub:
        assert [r.name for r in hub.user_repositories("alice")] == ["x", "y"]
        assert [i.invitee for i in hub.list_invites("acme")] == ["bob"]


def test_unknown_fields_are_kept(fake: FakeServer) -> None:
    fake.add("GET", LIST, Reply(json={"next": None, "results": [{"name": "a", "namespace": "alice", "shiny": 1}]}))
    with Hub(fake.base_url) as hub:
        repo = hub.list_repositories("alice").all()[0]
    assert repo.model_extra == {"shiny": 1}
    assert repo.to_json()["shiny"] == 1
