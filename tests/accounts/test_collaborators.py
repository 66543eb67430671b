"""Collaborators on a personal repository (the npm client's collaborators, addCollaborator, deleteCollaborator):
managed by the repository's admins, honoured by the registry, invisible to outsiders when the repository is
private."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.testclient import TestClient

from dockyard.accounts import collaborators
from dockyard.registry.store import RegistryStore
from tests.accounts.people import audit_log, hub, page
from tests.conftest import basic
from tests.registry.helpers import (
    PASSWORD,
    auth_for,
    create_org,
    create_user,
    granted,
    in_transaction,
    push_image,
    set_private,
)

pytestmark = pytest.mark.usefixtures("fast_passwords")

COLLABORATORS = "/v2/repositories/alice/app/collaborators/"


@pytest.fixture
def people(client: TestClient) -> dict[str, dict[str, str]]:
    """alice owns alice/app (private); bob and carol are other users."""
    for name in ("alice", "bob", "carol"):
        create_user(client, name)
    push_image(client, "alice/app", "v1", basic("alice", PASSWORD))
    set_private(client, "alice/app")
    return {name: hub(client, name, scheme="JWT") for name in ("alice", "bob", "carol")}


def collaborator_count(client: TestClient, path: str) -> int:
    async def work(session: AsyncSession) -> int:
        repository = await RegistryStore(session).repository(path)
        assert repository is not None
        return await collaborators.count(session, repository.id)

    return in_transaction(client, work)


def test_a_collaborator_can_push(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    scope = "repository:alice/app:pull,push,delete"
    assert granted(client, scope, "bob", PASSWORD) == []
    events = audit_log(client)
    response = client.post(COLLABORATORS, json={"user": "bob"}, headers=people["alice"])
    assert response.status_code == 201, response.text
    assert response.json() == {"user": "bob", "permission": "write"}
    assert events[0].account == "alice" and events[0].action == "repo.collaborator.add"
    assert events[0].data == {"user": "bob", "permission": "write"}
    # Write: pull and push, through a token or HTTP Basic, but no deleting.
    assert granted(client, scope, "bob", PASSWORD) == ["pull", "push"]
    push_image(client, "alice/app", "v2", auth_for(client, "alice/app", "pull,push", "bob", PASSWORD))
    push_image(client, "alice/app", "v3", basic("bob", PASSWORD), seed="basic")
    assert client.get("/v2/alice/app/tags/list", headers=basic("bob", PASSWORD)).json()["tags"] == ["v1", "v2", "v3"]
    assert granted(client, scope, "carol", PASSWORD) == []
    assert client.get("/v2/_catalog", headers=basic("bob", PASSWORD)).json()["repositories"] == ["alice/app"]
    assert collaborator_count(client, "alice/app") == 1
    # A read-only collaborator pulls but does not push.
    client.post(COLLABORATORS, json={"user": "carol", "permission": "read"}, headers=people["alice"])
    assert granted(client, scope, "carol", PASSWORD) == ["pull"]


def test_listing_and_removing(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    alice = people["alice"]
    for name in ("carol", "bob"):
        assert client.post(COLLABORATORS, json={"user": name}, headers=alice).status_code == 201
    body = page(client.get(COLLABORATORS, headers=alice))
    assert body["results"] == [{"user": "bob", "permission": "write"}, {"user": "carol", "permission": "write"}]
    # Collaborators see each other; the npm client's URL form (with the slash) and the bare one both work.
    assert page(client.get(COLLABORATORS.rstrip("/"), headers=people["bob"]))["count"] == 2
    assert client.delete(f"{COLLABORATORS}carol/", headers=people["bob"]).status_code == 403
    assert client.delete(f"{COLLABORATORS}carol/", headers=alice).status_code == 204
    assert granted(client, "repository:alice/app:pull", "carol", PASSWORD) == []
    assert client.get(COLLABORATORS, headers=people["carol"]).status_code == 404  # private again for carol
    assert client.delete(f"{COLLABORATORS}carol", headers=alice).status_code == 404
    # A collaborator may leave on their own.
    assert client.delete(f"{COLLABORATORS}bob/", headers=people["bob"]).status_code == 204
    assert page(client.get(COLLABORATORS, headers=alice))["count"] == 0
    assert collaborator_count(client, "alice/app") == 0


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status"),
    [
        ("bob", "get", COLLABORATORS, None, 404),  # a private repository is invisible
        ("bob", "post", COLLABORATORS, {"user": "bob"}, 404),
        ("bob", "delete", f"{COLLABORATORS}carol/", None, 404),
        (None, "get", COLLABORATORS, None, 401),
        (None, "post", COLLABORATORS, {"user": "bob"}, 401),
        ("alice", "post", COLLABORATORS, {"user": "nobody"}, 404),
        ("alice", "post", COLLABORATORS, {"user": "alice"}, 400),  # the owner
        ("alice", "post", COLLABORATORS, {"user": "library"}, 404),  # an organisation
        ("alice", "post", COLLABORATORS, {"user": "bob", "permission": "owner"}, 400),
        ("alice", "post", COLLABORATORS, {}, 400),
        ("alice", "post", COLLABORATORS, {"user": ""}, 400),
        ("alice", "get", "/v2/repositories/alice/nope/collaborators/", None, 404),
        ("alice", "post", "/v2/repositories/nobody/app/collaborators/", {"user": "bob"}, 404),
    ],
)
def test_collaborator_checks(
    client: TestClient,
    people: dict[str, dict[str, str]],
    who: str | None,
    method: str,
    path: str,
    body: dict[str, str] | None,
    status: int,
) -> None:
    kwargs = {"json": body} if body is not None else {}
    response = client.request(method.upper(), path, headers=people[who] if who else {}, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_public_repository_readers_cannot_manage(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    set_private(client, "alice/app", False)
    assert client.get(COLLABORATORS, headers=people["bob"]).status_code == 403
    assert client.post(COLLABORATORS, json={"user": "carol"}, headers=people["bob"]).status_code == 403
    # Site administrators manage every repository.
    assert client.post(COLLABORATORS, json={"user": "carol"}, headers=hub(client)).status_code == 201


def test_organisation_repositories_use_teams(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    create_org(client, "acme", "alice")
    push_image(client, "acme/app", "v1", basic("alice", PASSWORD))
    response = client.post("/v2/repositories/acme/app/collaborators/", json={"user": "bob"}, headers=people["alice"])
    assert response.status_code == 400 and "teams" in response.json()["detail"]


def test_token_scopes_cap_a_collaborator(client: TestClient, people: dict[str, dict[str, str]]) -> None:
    client.post(COLLABORATORS, json={"user": "bob", "permission": "admin"}, headers=people["alice"])
    scope = "repository:alice/app:pull,push,delete"
    assert granted(client, scope, "bob", PASSWORD) == ["delete", "pull", "push"]
    for scopes, expected in ((["repo:read"], ["pull"]), (["repo:write"], ["pull", "push"]), (["repo:public_read"], [])):
        pat = client.post("/v2/access-tokens", json={"token_label": scopes[0], "scopes": scopes}, headers=people["bob"])
        assert pat.status_code == 201, pat.text
        assert granted(client, scope, "bob", pat.json()["token"]) == expected, scopes
    # Managing collaborators needs admin, which a repo:write token does not carry.
    pat = client.post("/v2/access-tokens", json={"token_label": "w", "scopes": ["repo:write"]}, headers=people["bob"])
    capped = hub(client, "bob", pat.json()["token"])
    assert page(client.get(COLLABORATORS, headers=capped))["count"] == 1
    assert client.post(COLLABORATORS, json={"user": "carol"}, headers=capped).status_code == 403
