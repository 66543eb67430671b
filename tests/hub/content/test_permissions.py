"""Who sees and changes what: collaborators and scoped personal access tokens against public and private
repositories, across the content routes (details, listings, search, tags, images, changes)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.hub.content.helpers import PASSWORD, admin, create_repo, login, push, user


def pat_login(client: TestClient, headers: dict[str, str], username: str, scope: str) -> dict[str, str]:
    """Sign in to the Hub with a personal access token of one scope (the token is the password)."""
    created = client.post("/v2/access-tokens", json={"token_label": scope, "scopes": [scope]}, headers=headers)
    assert created.status_code == 201, created.text
    return login(client, username, created.json()["token"])


def visible(client: TestClient, headers: dict[str, str]) -> dict[str, bool]:
    """What the caller can see of bob/secret, route by route."""
    return {
        "detail": client.get("/v2/repositories/bob/secret/", headers=headers).status_code == 200,
        "namespace list": any(
            r["name"] == "secret" for r in client.get("/v2/repositories/bob/", headers=headers).json()["results"]
        ),
        "user list": any(
            r["name"] == "secret" for r in client.get("/v2/users/bob/repositories/", headers=headers).json()
        ),
        "search": client.get("/v2/search/repositories/", params={"query": "secret"}, headers=headers).json()["count"]
        == 1,
        "v1 search": client.get("/v1/search", params={"q": "secret"}, headers=headers).json()["num_results"] == 1,
        "tags": client.get("/v2/namespaces/bob/repositories/secret/tags", headers=headers).status_code == 200,
        "images": client.get("/v2/namespaces/bob/repositories/secret/images", headers=headers).status_code == 200,
    }


def test_collaborators_see_a_private_repository_everywhere_and_outsiders_nowhere(client: TestClient) -> None:
    bob = user(client, "bob")
    carol = user(client, "carol")
    dave = user(client, "dave")
    assert create_repo(client, bob, "bob", "secret", is_private=True).status_code == 201
    push(client, "bob/secret", "v1", username="bob", password=PASSWORD)
    added = client.post("/v2/repositories/bob/secret/collaborators/", json={"user": "carol"}, headers=bob)
    assert added.status_code == 201, added.text

    assert all(visible(client, bob).values())
    assert all(visible(client, carol).values())
    assert all(visible(client, admin(client)).values())
    assert not any(visible(client, dave).values())
    assert not any(visible(client, {}).values())

    # A collaborator (write) may describe the repository but not delete it or change its privacy.
    info = client.get("/v2/repositories/bob/secret/", headers=carol).json()
    assert info["permissions"] == {"read": True, "write": True, "admin": False}
    assert client.patch("/v2/repositories/bob/secret/", json={"description": "x"}, headers=carol).status_code == 200
    assert client.delete("/v2/repositories/bob/secret/", headers=carol).status_code == 403
    privacy = client.post("/v2/repositories/bob/secret/privacy/", json={"is_private": False}, headers=carol)
    assert privacy.status_code == 403


def test_scoped_tokens_are_held_to_their_scope(client: TestClient) -> None:
    bob = user(client, "bob")
    assert create_repo(client, bob, "bob", "secret", is_private=True).status_code == 201
    assert create_repo(client, bob, "bob", "open").status_code == 201

    public_read = pat_login(client, bob, "bob", "repo:public_read")
    assert not any(visible(client, public_read).values())
    assert client.get("/v2/repositories/bob/open/", headers=public_read).status_code == 200

    read = pat_login(client, bob, "bob", "repo:read")
    assert all(visible(client, read).values())
    assert client.patch("/v2/repositories/bob/open/", json={"description": "x"}, headers=read).status_code == 403
    assert create_repo(client, read, "bob", "another").status_code == 403

    write = pat_login(client, bob, "bob", "repo:write")
    assert client.patch("/v2/repositories/bob/open/", json={"description": "x"}, headers=write).status_code == 200
    assert create_repo(client, write, "bob", "another").status_code == 201
    assert client.delete("/v2/repositories/bob/another/", headers=write).status_code == 403

    admin_scope = pat_login(client, bob, "bob", "repo:admin")
    assert client.delete("/v2/repositories/bob/another/", headers=admin_scope).status_code == 202
