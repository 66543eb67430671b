"""Groups (teams): managing them and their members, hub-tool's bare-array member list, and team permissions on
an organisation's repositories, which the registry honours."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.accounts.people import audit_log, hub, org_with_members, page
from tests.conftest import basic
from tests.registry.helpers import ADMIN, PASSWORD, auth_for, create_user, granted, push_image, set_member, set_private

pytestmark = pytest.mark.usefixtures("fast_passwords")

GROUP_FIELDS = {"id", "uuid", "name", "description", "member_count"}


def test_owners_manage_groups(client: TestClient) -> None:
    people = org_with_members(client)
    owner = people["owner"]
    events = audit_log(client)
    response = client.post("/v2/orgs/acme/groups", json={"name": "devs", "description": "Developers"}, headers=owner)
    assert response.status_code == 201, response.text
    devs = response.json()
    assert set(devs) == GROUP_FIELDS and isinstance(devs["id"], int) and devs["member_count"] == 0
    assert client.post("/v2/orgs/acme/groups/", json={"name": "ops"}, headers=owner).status_code == 201
    assert client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=owner).status_code == 409
    listed = page(client.get("/v2/orgs/acme/groups/", params={"page_size": 1}, headers=people["member"]))
    assert listed["count"] == 2 and [g["name"] for g in listed["results"]] == ["devs"]
    assert listed["next"] == "http://testserver/v2/orgs/acme/groups/?page_size=1&page=2"
    assert client.get("/v2/orgs/acme/groups/devs", headers=people["member"]).json() == devs
    # PUT replaces, PATCH updates; renaming onto another group's name is a conflict.
    replaced = client.put("/v2/orgs/acme/groups/devs", json={"name": "developers"}, headers=owner)
    assert replaced.status_code == 200 and replaced.json()["description"] == ""
    assert replaced.json()["id"] == devs["id"]
    patched = client.patch("/v2/orgs/acme/groups/developers/", json={"description": "Dev team"}, headers=owner)
    assert patched.json()["name"] == "developers" and patched.json()["description"] == "Dev team"
    assert client.patch("/v2/orgs/acme/groups/developers", json={"name": "ops"}, headers=owner).status_code == 409
    assert client.delete("/v2/orgs/acme/groups/ops", headers=owner).status_code == 204
    assert client.get("/v2/orgs/acme/groups/ops", headers=owner).status_code == 404
    assert client.delete("/v2/orgs/acme/groups/ops", headers=owner).status_code == 404
    assert [(e.action, e.name) for e in events] == [
        ("org.team.create", "devs"),
        ("org.team.create", "ops"),
        ("org.team.change", "developers"),
        ("org.team.change", "developers"),
        ("org.team.delete", "ops"),
    ]


@pytest.mark.parametrize(
    ("who", "method", "path", "body", "status"),
    [
        ("member", "post", "/v2/orgs/acme/groups", {"name": "x"}, 403),
        ("editor", "post", "/v2/orgs/acme/groups", {"name": "x"}, 403),
        ("outsider", "post", "/v2/orgs/acme/groups", {"name": "x"}, 404),
        ("outsider", "get", "/v2/orgs/acme/groups", None, 404),
        ("outsider", "get", "/v2/orgs/acme/groups/devs", None, 404),
        ("member", "delete", "/v2/orgs/acme/groups/devs", None, 403),
        ("member", "patch", "/v2/orgs/acme/groups/devs", {"description": "x"}, 403),
        ("owner", "post", "/v2/orgs/acme/groups", {"name": "has space"}, 400),
        ("owner", "post", "/v2/orgs/acme/groups", {"name": ""}, 400),
        ("owner", "post", "/v2/orgs/acme/groups", {"description": "no name"}, 400),
        ("owner", "put", "/v2/orgs/acme/groups/devs", {"description": "no name"}, 400),
        ("owner", "patch", "/v2/orgs/acme/groups/devs", {"name": "bad/name"}, 400),
        ("owner", "get", "/v2/orgs/acme/groups/nope", None, 404),
        ("owner", "post", "/v2/orgs/acme/groups/devs/members", {"member": "outsider"}, 400),
        ("owner", "post", "/v2/orgs/acme/groups/devs/members", {"member": "nobody"}, 404),
        ("owner", "post", "/v2/orgs/acme/groups/devs/members", {}, 400),
        ("owner", "post", "/v2/orgs/acme/groups/nope/members", {"member": "member"}, 404),
        ("member", "post", "/v2/orgs/acme/groups/devs/members", {"member": "member"}, 403),
        ("owner", "delete", "/v2/orgs/acme/groups/devs/members/editor", None, 404),
        ("outsider", "get", "/v2/orgs/acme/groups/devs/members", None, 404),
        ("outsider", "get", "/v2/orgs/acme/groups/devs/members/", None, 404),
        (None, "get", "/v2/orgs/acme/groups", None, 401),
        (None, "get", "/v2/orgs/acme/groups/devs/members/", None, 401),
    ],
)
def test_group_permission_checks_and_validation(
    client: TestClient, who: str | None, method: str, path: str, body: dict[str, str] | None, status: int
) -> None:
    people = org_with_members(client)
    client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=people["owner"])
    headers = people[who] if who else {}
    kwargs = {"json": body} if body is not None else {}
    response = client.request(method.upper(), path, headers=headers, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_group_members_and_the_hub_tool_bare_array(client: TestClient) -> None:
    people = org_with_members(client)
    owner = people["owner"]
    events = audit_log(client)
    client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=owner)
    for name in ("member", "editor", "member"):  # adding someone twice changes nothing
        response = client.post("/v2/orgs/acme/groups/devs/members", json={"member": name}, headers=owner)
        assert response.status_code == 201, response.text
        assert response.json()["username"] == name
    # The documented form (no slash) is a DRF page ...
    listed = page(client.get("/v2/orgs/acme/groups/devs/members", params={"page_size": 1}, headers=people["member"]))
    assert listed["count"] == 2 and [m["username"] for m in listed["results"]] == ["editor"]
    assert listed["results"][0]["email"] is None  # addresses are for owners
    # ... and hub-tool's form (with the slash) a bare array of every member.
    bare = client.get("/v2/orgs/acme/groups/devs/members/", headers=owner)
    assert bare.status_code == 200
    assert isinstance(bare.json(), list) and [m["username"] for m in bare.json()] == ["editor", "member"]
    assert bare.json()[0]["email"] == "editor@example.com"
    assert client.get("/v2/orgs/acme/groups/devs", headers=owner).json()["member_count"] == 2
    mine = page(client.get("/v2/orgs/acme/groups", params={"username": "member"}, headers=owner))
    assert [g["name"] for g in mine["results"]] == ["devs"]
    assert page(client.get("/v2/orgs/acme/groups", params={"username": "owner"}, headers=owner))["count"] == 0
    assert page(client.get("/v2/orgs/acme/groups", params={"search": "DE"}, headers=owner))["count"] == 1
    assert client.delete("/v2/orgs/acme/groups/devs/members/member/", headers=owner).status_code == 204
    assert [m["username"] for m in client.get("/v2/orgs/acme/groups/devs/members/", headers=owner).json()] == ["editor"]
    assert [(e.action, e.name, e.data) for e in events if "member" in e.action] == [
        ("org.team.member.add", "member", {"team": "devs"}),
        ("org.team.member.add", "editor", {"team": "devs"}),
        ("org.team.member.remove", "member", {"team": "devs"}),
    ]
    # Both forms are in the OpenAPI document, each with its own shape.
    paths = client.get("/api/openapi.json").json()["paths"]
    assert "/v2/orgs/{org}/groups/{group}/members" in paths and "/v2/orgs/{org}/groups/{group}/members/" in paths


@pytest.fixture
def team_repo(client: TestClient) -> dict[str, dict[str, str]]:
    """acme/secret (private) with a "readers" team holding "member", and a "writers" team holding "writer"."""
    people = org_with_members(client)
    create_user(client, "writer")
    set_member(client, "acme", "writer", "member")
    push_image(client, "acme/secret", "v1", ADMIN)
    set_private(client, "acme/secret")
    owner = people["owner"]
    for team, user in (("readers", "member"), ("writers", "writer")):
        client.post("/v2/orgs/acme/groups", json={"name": team}, headers=owner)
        client.post(f"/v2/orgs/acme/groups/{team}/members", json={"member": user}, headers=owner)
    return {**people, "writer": hub(client, "writer")}


def group_id(client: TestClient, name: str, headers: dict[str, str]) -> int:
    found: int = client.get(f"/v2/orgs/acme/groups/{name}", headers=headers).json()["id"]
    return found


def test_team_permissions_drive_registry_access(client: TestClient, team_repo: dict[str, dict[str, str]]) -> None:
    owner = team_repo["owner"]
    readers, writers = group_id(client, "readers", owner), group_id(client, "writers", owner)
    scope = "repository:acme/secret:pull,push,delete"
    assert granted(client, scope, "member", PASSWORD) == []
    assert granted(client, scope, "writer", PASSWORD) == []
    events = audit_log(client)
    response = client.post(
        "/v2/repositories/acme/secret/groups", json={"group_id": readers, "permission": "read"}, headers=owner
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"group_name": "readers", "permission": "read", "group_id": readers}
    client.post(
        "/v2/repositories/acme/secret/groups/", json={"group_id": writers, "permission": "write"}, headers=owner
    )
    # Read: pull the private repository but not push; write: push too; neither deletes.
    assert granted(client, scope, "member", PASSWORD) == ["pull"]
    assert granted(client, scope, "writer", PASSWORD) == ["pull", "push"]
    assert client.get("/v2/acme/secret/tags/list", headers=basic("member", PASSWORD)).json()["tags"] == ["v1"]
    push_image(client, "acme/secret", "v2", auth_for(client, "acme/secret", "pull,push", "writer", PASSWORD))
    denied = client.post("/v2/acme/secret/blobs/uploads/", headers=basic("member", PASSWORD))
    assert denied.status_code == 401
    # The catalog shows the private repository to the team's members.
    assert client.get("/v2/_catalog", headers=basic("member", PASSWORD)).json()["repositories"] == ["acme/secret"]
    assert client.get("/v2/_catalog", headers=basic("outsider", PASSWORD)).json()["repositories"] == []
    # Upgrading the grant replaces it; admin lets the team delete.
    client.post("/v2/repositories/acme/secret/groups", json={"group_id": readers, "permission": "admin"}, headers=owner)
    assert granted(client, scope, "member", PASSWORD) == ["delete", "pull", "push"]
    listed = page(client.get("/v2/repositories/acme/secret/groups", headers=owner))
    assert listed["results"] == [
        {"group_name": "readers", "permission": "admin", "group_id": readers},
        {"group_name": "writers", "permission": "write", "group_id": writers},
    ]
    assert client.delete(f"/v2/repositories/acme/secret/groups/{readers}", headers=owner).status_code == 204
    assert granted(client, scope, "member", PASSWORD) == []
    assert client.delete(f"/v2/repositories/acme/secret/groups/{readers}/", headers=owner).status_code == 404
    assert [e.action for e in events] == ["org.team.permission.change"] * 4
    # Deleting the team takes its grants with it.
    client.delete("/v2/orgs/acme/groups/writers", headers=owner)
    assert granted(client, scope, "writer", PASSWORD) == []


def test_team_grants_are_checked(client: TestClient, team_repo: dict[str, dict[str, str]]) -> None:
    owner, member = team_repo["owner"], team_repo["member"]
    readers = group_id(client, "readers", owner)
    grant = {"group_id": readers, "permission": "write"}
    # Outsiders cannot see the private repository; members without admin rights may not share it.
    assert (
        client.post("/v2/repositories/acme/secret/groups", json=grant, headers=team_repo["outsider"]).status_code == 404
    )
    assert client.post("/v2/repositories/acme/secret/groups", json=grant, headers=member).status_code == 404
    client.post("/v2/repositories/acme/secret/groups", json={"group_id": readers, "permission": "read"}, headers=owner)
    assert client.post("/v2/repositories/acme/secret/groups", json=grant, headers=member).status_code == 403
    assert client.get("/v2/repositories/acme/secret/groups", headers=member).status_code == 403
    assert client.post("/v2/repositories/acme/secret/groups", json=grant).status_code == 401
    # Editors administer every repository of the organisation.
    assert (
        client.post("/v2/repositories/acme/secret/groups", json=grant, headers=team_repo["editor"]).status_code == 200
    )
    for body in ({"group_id": readers, "permission": "owner"}, {"group_id": "x", "permission": "read"}, {}):
        assert client.post("/v2/repositories/acme/secret/groups", json=body, headers=owner).status_code == 400
    assert client.post("/v2/repositories/acme/nope/groups", json=grant, headers=owner).status_code == 404
    assert (
        client.post("/v2/repositories/acme/secret/groups", json={**grant, "group_id": 99999}, headers=owner).status_code
        == 404
    )
    assert client.delete("/v2/repositories/acme/secret/groups/0", headers=owner).status_code == 400
    # Another organisation's team is no team of this one; a personal repository has no teams.
    client.post("/v2/orgs/", json={"orgname": "other"}, headers=owner)
    other = client.post("/v2/orgs/other/groups", json={"name": "readers"}, headers=owner).json()["id"]
    assert (
        client.post("/v2/repositories/acme/secret/groups", json={**grant, "group_id": other}, headers=owner).status_code
        == 404
    )
    push_image(client, "owner/mine", "v1", basic("owner", PASSWORD))
    response = client.post("/v2/repositories/owner/mine/groups", json={**grant, "group_id": other}, headers=owner)
    assert response.status_code == 400 and "collaborators" in response.json()["detail"]
