"""Organisation members: listing (members only), the CSV export, role changes and removal, and the rule that an
organisation never loses its last owner."""

from __future__ import annotations

import csv
import io

import pytest
from starlette.testclient import TestClient

from tests.accounts.people import audit_log, hub, org_with_members, page
from tests.conftest import basic
from tests.registry.helpers import ADMIN, PASSWORD, create_user, granted, push_image, set_member, set_private

pytestmark = pytest.mark.usefixtures("fast_passwords")


def test_members_see_the_member_list(client: TestClient) -> None:
    people = org_with_members(client)
    client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=people["owner"])
    client.post("/v2/orgs/acme/groups/devs/members", json={"member": "member"}, headers=people["owner"])
    body = page(client.get("/v2/orgs/acme/members/", headers=people["owner"]))
    assert body["count"] == 3
    rows = {m["username"]: m for m in body["results"]}
    assert {name: m["role"] for name, m in rows.items()} == {"editor": "Editor", "member": "Member", "owner": "Owner"}
    assert rows["member"]["groups"] == ["devs"] and rows["owner"]["groups"] == []
    assert rows["member"]["email"] == "member@example.com"  # owners see addresses
    assert rows["member"]["type"] == "User" and rows["member"]["is_guest"] is False
    for name in ("member", "editor"):
        seen = page(client.get("/v2/orgs/acme/members", headers=people[name]))
        assert seen["count"] == 3 and all(m["email"] is None for m in seen["results"])
    # Outsiders learn nothing, not even that there is a list.
    assert client.get("/v2/orgs/acme/members", headers=people["outsider"]).status_code == 404
    assert client.get("/v2/orgs/acme/members").status_code == 401
    assert client.get("/v2/orgs/nope/members", headers=people["owner"]).status_code == 404
    assert page(client.get("/v2/orgs/acme/members", headers=hub(client)))["count"] == 3  # site administrator


def test_member_list_filters_and_pages(client: TestClient) -> None:
    people = org_with_members(client)
    owner = people["owner"]
    only = page(client.get("/v2/orgs/acme/members", params={"role": "editor"}, headers=owner))
    assert [m["username"] for m in only["results"]] == ["editor"]
    found = page(client.get("/v2/orgs/acme/members", params={"search": "MEM"}, headers=owner))
    assert [m["username"] for m in found["results"]] == ["member"]
    first = page(client.get("/v2/orgs/acme/members", params={"page_size": 2, "type": "member"}, headers=owner))
    assert [m["username"] for m in first["results"]] == ["editor", "member"]
    assert first["next"] == "http://testserver/v2/orgs/acme/members?page_size=2&type=member&page=2"
    assert client.get("/v2/orgs/acme/members", params={"page": 3, "page_size": 2}, headers=owner).status_code == 404
    for bad in ({"role": "admin"}, {"type": "everyone"}, {"page": 0}, {"page_size": "many"}):
        response = client.get("/v2/orgs/acme/members", params=bad, headers=owner)
        assert response.status_code == 400, bad
        assert "detail" in response.json()


def test_export_members_as_csv(client: TestClient) -> None:
    people = org_with_members(client)
    response = client.get("/v2/orgs/acme/members/export", headers=people["owner"])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["Name", "Username", "Email", "Type", "Permission", "Teams", "Date Joined"]
    assert [(row[1], row[2], row[3], row[4]) for row in rows[1:]] == [
        ("editor", "editor@example.com", "User", "Editor"),
        ("member", "member@example.com", "User", "Member"),
        ("owner", "owner@example.com", "User", "Owner"),
    ]
    assert client.get("/v2/orgs/acme/members/export", headers=people["member"]).status_code == 403
    assert client.get("/v2/orgs/acme/members/export", headers=people["outsider"]).status_code == 404


def test_owners_change_roles(client: TestClient) -> None:
    people = org_with_members(client)
    events = audit_log(client)
    response = client.put("/v2/orgs/acme/members/member", json={"role": "editor"}, headers=people["owner"])
    assert response.status_code == 200, response.text
    assert response.json()["username"] == "member" and response.json()["role"] == "Editor"
    assert [(e.action, e.name, e.data) for e in events] == [
        ("org.member.role.change", "member", {"role": "editor", "previous": "member"})
    ]
    # An editor may now push to the organisation's repositories; a member may not.
    push_image(client, "acme/app", "v1", ADMIN)
    assert granted(client, "repository:acme/app:pull,push", "member", PASSWORD) == ["pull", "push"]
    client.put("/v2/orgs/acme/members/member/", json={"role": "member"}, headers=people["owner"])
    assert granted(client, "repository:acme/app:pull,push", "member", PASSWORD) == ["pull"]


@pytest.mark.parametrize(
    ("who", "target", "body", "status"),
    [
        ("member", "editor", {"role": "owner"}, 403),
        ("editor", "member", {"role": "owner"}, 403),
        ("outsider", "member", {"role": "owner"}, 404),
        ("owner", "outsider", {"role": "member"}, 404),  # not a member: invite them instead
        ("owner", "nobody", {"role": "member"}, 404),
        ("owner", "member", {"role": "admin"}, 400),
        ("owner", "member", {}, 400),
        ("owner", "owner", {"role": "member"}, 400),  # the last owner
    ],
)
def test_role_changes_are_checked(client: TestClient, who: str, target: str, body: dict[str, str], status: int) -> None:
    people = org_with_members(client)
    response = client.put(f"/v2/orgs/acme/members/{target}", json=body, headers=people[who])
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_the_last_owner_stays(client: TestClient) -> None:
    people = org_with_members(client)
    owner = people["owner"]
    assert client.delete("/v2/orgs/acme/members/owner", headers=owner).status_code == 400
    assert client.put("/v2/orgs/acme/members/editor", json={"role": "owner"}, headers=owner).status_code == 200
    # With a second owner, the first may step down or leave.
    assert client.put("/v2/orgs/acme/members/owner", json={"role": "member"}, headers=owner).status_code == 200
    assert client.delete("/v2/orgs/acme/members/owner", headers=owner).status_code == 204
    editor = people["editor"]
    response = client.delete("/v2/orgs/acme/members/editor", headers=editor)
    assert response.status_code == 400 and "owner" in response.json()["detail"]
    members = page(client.get("/v2/orgs/acme/members", headers=editor))
    assert [(m["username"], m["role"]) for m in members["results"]] == [("editor", "Owner"), ("member", "Member")]


def test_removing_members(client: TestClient) -> None:
    people = org_with_members(client)
    create_user(client, "other")
    set_member(client, "acme", "other", "member")
    events = audit_log(client)
    push_image(client, "acme/secret", "v1", ADMIN)
    set_private(client, "acme/secret")
    client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=people["owner"])
    client.post("/v2/orgs/acme/groups/devs/members", json={"member": "editor"}, headers=people["owner"])
    assert granted(client, "repository:acme/secret:pull", "editor", PASSWORD) == ["pull"]
    # Members may not remove each other, but anyone may leave.
    assert client.delete("/v2/orgs/acme/members/editor", headers=people["member"]).status_code == 403
    assert client.delete("/v2/orgs/acme/members/member", headers=people["member"]).status_code == 204
    assert client.get("/v2/orgs/acme/members", headers=people["member"]).status_code == 404
    # The owner removes the editor, who loses the organisation's private repositories and its teams.
    assert client.delete("/v2/orgs/acme/members/editor/", headers=people["owner"]).status_code == 204
    assert granted(client, "repository:acme/secret:pull", "editor", PASSWORD) == []
    assert client.get("/v2/acme/secret/tags/list", headers=basic("editor", PASSWORD)).status_code == 401
    assert client.get("/v2/orgs/acme/groups/devs", headers=people["owner"]).json()["member_count"] == 0
    assert client.delete("/v2/orgs/acme/members/editor", headers=people["owner"]).status_code == 404
    assert client.delete("/v2/orgs/acme/members/other", headers=people["outsider"]).status_code == 404
    assert client.delete("/v2/orgs/acme/members/other").status_code == 401
    assert [(e.action, e.name) for e in events if e.action == "org.member.remove"] == [
        ("org.member.remove", "member"),
        ("org.member.remove", "editor"),
    ]


def test_a_scoped_token_reads_but_does_not_manage(client: TestClient) -> None:
    people = org_with_members(client)
    pat = client.post("/v2/access-tokens", json={"token_label": "ci", "scopes": ["repo:read"]}, headers=people["owner"])
    assert pat.status_code == 201, pat.text
    capped = hub(client, "owner", pat.json()["token"])
    assert page(client.get("/v2/orgs/acme/members", headers=capped))["count"] == 3
    assert client.put("/v2/orgs/acme/members/member", json={"role": "editor"}, headers=capped).status_code == 403
    assert client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=capped).status_code == 403
    assert client.post("/v2/orgs/", json={"orgname": "other"}, headers=capped).status_code == 403
