"""Repository comments through the Hub API: listing (newest first, DRF pages), posting, editing and deleting,
and private repositories staying invisible."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.hub.community import create_user, fast_passwords, hub_login, push, set_private

__all__ = ["fast_passwords"]


def test_comment_lifecycle_and_order(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    push(client, "alice/app", "v1", "alice")
    alice, bob = hub_login(client, "alice"), hub_login(client, "bob")

    first = client.post("/v2/repositories/alice/app/comments/", json={"comment": "first!"}, headers=bob)
    assert first.status_code == 201, first.text
    entry = first.json()
    assert set(entry) == {"id", "user", "comment", "created_on", "updated_on"}
    assert entry["user"] == "bob" and entry["comment"] == "first!" and entry["created_on"].endswith("Z")
    second = client.post("/v2/repositories/alice/app/comments", json={"comment": "second"}, headers=alice).json()

    # Anonymous readers see a public repository's comments, newest first, in DRF pages with absolute links.
    listing = client.get("/v2/repositories/alice/app/comments?page_size=1&page=1")
    assert listing.status_code == 200
    body = listing.json()
    assert body["count"] == 2 and [c["id"] for c in body["results"]] == [second["id"]]
    assert body["next"].startswith("http://testserver/v2/repositories/alice/app/comments?") and "page=2" in body["next"]
    assert client.get("/v2/repositories/alice/app/comments/?page=3&page_size=1").status_code == 404

    # The author edits; another user may not; the repository owner (an admin of it) may delete anyone's.
    edited = client.patch(
        f"/v2/repositories/alice/app/comments/{first.json()['id']}/", json={"comment": "edited"}, headers=bob
    )
    assert edited.status_code == 200 and edited.json()["comment"] == "edited"
    denied = client.patch(f"/v2/repositories/alice/app/comments/{second['id']}/", json={"comment": "x"}, headers=bob)
    assert denied.status_code == 403 and "detail" in denied.json()
    assert client.delete(f"/v2/repositories/alice/app/comments/{entry['id']}/", headers=alice).status_code == 204
    assert client.delete(f"/v2/repositories/alice/app/comments/{entry['id']}/", headers=alice).status_code == 404
    assert client.get("/v2/repositories/alice/app/comments/").json()["count"] == 1


def test_comments_validate_and_require_sign_in(client: TestClient) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "v1", "alice")
    alice = hub_login(client, "alice")
    assert client.post("/v2/repositories/alice/app/comments/", json={"comment": "hi"}).status_code == 401
    bad = client.post("/v2/repositories/alice/app/comments/", json={"comment": ""}, headers=alice)
    assert bad.status_code == 400 and "comment" in bad.json()["fields"]
    assert client.post("/v2/repositories/alice/app/comments/", json={}, headers=alice).status_code == 400
    assert (
        client.patch(
            "/v2/repositories/alice/app/comments/99999999999/", json={"comment": "x"}, headers=alice
        ).status_code
        == 400
    )
    assert client.get("/v2/repositories/alice/nothing/comments/").status_code == 404


def test_library_underscore_and_private_repositories(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    push(client, "library/base", "v1")
    bob = hub_login(client, "bob")
    posted = client.post("/v2/repositories/_/base/comments/", json={"comment": "official"}, headers=bob)
    assert posted.status_code == 201
    assert client.get("/v2/repositories/library/base/comments/").json()["count"] == 1

    push(client, "alice/secret", "v1", "alice")
    set_private(client, "alice/secret")
    alice = hub_login(client, "alice")
    assert (
        client.post("/v2/repositories/alice/secret/comments/", json={"comment": "mine"}, headers=alice).status_code
        == 201
    )
    for headers in ({}, bob):
        assert client.get("/v2/repositories/alice/secret/comments/", headers=headers).status_code == 404
    assert client.post("/v2/repositories/alice/secret/comments/", json={"comment": "x"}, headers=bob).status_code == 404
    assert client.get("/v2/repositories/alice/secret/comments/", headers=alice).json()["count"] == 1


def test_nul_characters_are_bad_input_not_server_errors(client: TestClient) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "v1", "alice")
    alice = hub_login(client, "alice")
    assert (
        client.post("/v2/repositories/alice/app/comments/", json={"comment": "a\x00b"}, headers=alice).status_code
        == 400
    )
    assert client.get("/v2/repositories/ali%00ce/app/comments/").status_code == 404
    assert client.get("/v2/auditlogs/alice?actor=%00", headers=alice).status_code == 400
    assert client.get("/v2/auditlogs/al%00ice", headers=alice).status_code == 404
    assert client.get("/v2/repositories/alice/app/buildhistory/b%00x/").status_code == 404
    assert client.post("/v2/repositories/al%00/app/trigger/x/").status_code == 404


def test_collaborators_see_private_repositories(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    push(client, "alice/secret", "v1", "alice")
    set_private(client, "alice/secret")
    alice, bob = hub_login(client, "alice"), hub_login(client, "bob")
    assert client.get("/v2/repositories/alice/secret/comments/", headers=bob).status_code == 404
    added = client.post("/v2/repositories/alice/secret/collaborators/", json={"user": "bob"}, headers=alice)
    assert added.status_code in (200, 201), added.text
    assert (
        client.post("/v2/repositories/alice/secret/comments/", json={"comment": "hi"}, headers=bob).status_code == 201
    )
    assert client.get("/v2/repositories/alice/secret/comments/", headers=bob).json()["count"] == 1
