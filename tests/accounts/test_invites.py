"""Invites: owners invite existing users in bulk (dry runs included), list, resend and cancel them; the invitee
sees, accepts or declines them, and accepting makes them a member (and a team member when a team was named)."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.accounts.people import audit_log, hub, org_with_members, page
from tests.registry.helpers import create_user

pytestmark = pytest.mark.usefixtures("fast_passwords")


def invite(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    response = client.post("/v2/invites/bulk", json={"org": "acme", **body}, headers=headers)
    assert response.status_code == 202, response.text
    return response.json()["invitees"]


def test_bulk_invite_statuses(client: TestClient) -> None:
    people = org_with_members(client)
    for name in ("alice", "bob", "carol"):
        create_user(client, name)
    owner = people["owner"]
    client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=owner)
    dry = invite(client, owner, invitees=["alice", "nobody"], dry_run=True)
    assert dry == [
        {"invitee": "alice", "status": "valid", "invite": None},
        {"invitee": "nobody", "status": "invalid_user", "invite": None},
    ]
    assert client.get("/v2/orgs/acme/invites", headers=owner).json() == {"data": []}
    events = audit_log(client)
    results = invite(
        client,
        owner,
        team="devs",
        role="editor",
        invitees=["alice", "Bob@Example.com", "member", "nobody", "ghost@example.com", "acme", "alice", "ALICE"],
    )
    statuses = [(entry["invitee"], entry["status"]) for entry in results]
    assert statuses == [
        ("alice", "invited"),
        ("Bob@Example.com", "invited"),  # found by e-mail address
        ("member", "existing_org_member"),
        ("nobody", "invalid_user"),
        ("ghost@example.com", "invalid_email"),
        ("acme", "invalid_user"),  # an organisation is no user
    ]
    sent = results[0]["invite"]
    assert sent["invitee"] == "alice" and sent["org"] == "acme" and sent["team"] == "devs"
    assert sent["inviter_username"] == "owner" and sent["role"] == "editor" and sent["created_at"].endswith("Z")
    assert results[1]["invite"]["invitee"] == "bob"
    again = invite(client, owner, invitees=["alice"])
    assert again[0]["status"] == "already_invited" and again[0]["invite"]["id"] == sent["id"]
    listed = client.get("/v2/orgs/acme/invites/", headers=owner).json()["data"]
    assert sorted(entry["invitee"] for entry in listed) == ["alice", "bob"]
    assert [(e.action, e.name) for e in events] == [("org.invite.create", "alice"), ("org.invite.create", "bob")]


@pytest.mark.parametrize(
    ("who", "body", "status"),
    [
        ("member", {"org": "acme", "invitees": ["alice"]}, 403),
        ("editor", {"org": "acme", "invitees": ["alice"]}, 403),
        ("outsider", {"org": "acme", "invitees": ["alice"]}, 404),
        ("owner", {"org": "nope", "invitees": ["alice"]}, 404),
        ("owner", {"org": "acme", "team": "nope", "invitees": ["alice"]}, 404),
        ("owner", {"org": "acme", "invitees": []}, 400),
        ("owner", {"org": "acme", "invitees": "alice"}, 400),
        ("owner", {"org": "acme", "role": "boss", "invitees": ["alice"]}, 400),
        ("owner", {"invitees": ["alice"]}, 400),
        (None, {"org": "acme", "invitees": ["alice"]}, 401),
    ],
)
def test_bulk_invite_is_checked(client: TestClient, who: str | None, body: dict[str, Any], status: int) -> None:
    people = org_with_members(client)
    create_user(client, "alice")
    response = client.post("/v2/invites/bulk", json=body, headers=people[who] if who else {})
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_accepting_an_invite_joins_the_organisation_and_team(client: TestClient) -> None:
    people = org_with_members(client)
    create_user(client, "alice")
    owner = people["owner"]
    client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=owner)
    sent = invite(client, owner, team="devs", role="editor", invitees=["alice"])[0]["invite"]
    alice = hub(client, "alice")
    assert client.get("/v2/orgs/acme/members", headers=alice).status_code == 404
    mine = client.get("/v2/user/invites", headers=alice).json()["data"]
    assert [entry["id"] for entry in mine] == [sent["id"]]
    # Owners see the invitee among the members when they ask for invites; nobody else does.
    members = page(client.get("/v2/orgs/acme/members", params={"invites": "true"}, headers=owner))
    assert ("alice", "Invitee", ["devs"]) in [(m["username"], m["role"], m["groups"]) for m in members["results"]]
    invitees = page(client.get("/v2/orgs/acme/members", params={"type": "invitee"}, headers=owner))
    assert [m["username"] for m in invitees["results"]] == ["alice"]
    assert page(client.get("/v2/orgs/acme/members", headers=owner))["count"] == 3
    assert page(client.get("/v2/orgs/acme/members", params={"type": "invitee"}, headers=people["member"]))["count"] == 0
    # Only the invitee accepts.
    assert client.post(f"/v2/invites/{sent['id']}/accept", headers=people["outsider"]).status_code == 404
    assert client.post(f"/v2/invites/{sent['id']}/accept", headers=owner).status_code == 404
    events = audit_log(client)
    response = client.post(f"/v2/invites/{sent['id']}/accept", headers=alice)
    assert response.status_code == 200, response.text
    assert response.json()["orgname"] == "acme"
    members = page(client.get("/v2/orgs/acme/members", params={"search": "alice"}, headers=alice))
    assert [(m["username"], m["role"], m["groups"]) for m in members["results"]] == [("alice", "Editor", ["devs"])]
    assert client.get("/v2/user/invites/", headers=alice).json() == {"data": []}
    assert client.post(f"/v2/invites/{sent['id']}/accept", headers=alice).status_code == 404
    assert [e.action for e in events] == ["org.member.add", "org.team.member.add", "org.invite.accept"]


def test_declining_cancelling_and_resending(client: TestClient) -> None:
    people = org_with_members(client)
    for name in ("alice", "bob"):
        create_user(client, name)
    owner = people["owner"]
    alice_invite, bob_invite = (entry["invite"]["id"] for entry in invite(client, owner, invitees=["alice", "bob"]))
    alice = hub(client, "alice")
    events = audit_log(client)
    # The invitee declines (by POST, or by deleting the invite); the organisation is none the wiser otherwise.
    assert client.post(f"/v2/invites/{alice_invite}/decline", headers=people["member"]).status_code == 404
    assert client.post(f"/v2/invites/{alice_invite}/decline", headers=alice).status_code == 204
    assert client.get("/v2/orgs/acme/members", headers=alice).status_code == 404
    # Owners resend and cancel; members and outsiders cannot even see the invite.
    for who in ("member", "outsider"):
        assert client.patch(f"/v2/invites/{bob_invite}/resend", headers=people[who]).status_code == 404
        assert client.delete(f"/v2/invites/{bob_invite}", headers=people[who]).status_code == 404
    assert client.patch(f"/v2/invites/{bob_invite}/resend", headers=owner).status_code == 204
    assert client.delete(f"/v2/invites/{bob_invite}/", headers=owner).status_code == 204
    assert client.delete(f"/v2/invites/{bob_invite}", headers=owner).status_code == 404
    assert client.get("/v2/orgs/acme/invites", headers=owner).json() == {"data": []}
    again = invite(client, owner, invitees=["alice"])[0]["invite"]["id"]
    assert client.delete(f"/v2/invites/{again}", headers=alice).status_code == 204  # declined by its invitee
    assert client.post("/v2/invites/not-an-id/accept", headers=alice).status_code == 404
    assert client.delete(f"/v2/invites/{again}").status_code == 401
    assert [e.action for e in events] == [
        "org.invite.decline",
        "org.invite.resend",
        "org.invite.delete",
        "org.invite.create",
        "org.invite.decline",
    ]


def test_invite_lists_are_for_owners(client: TestClient) -> None:
    people = org_with_members(client)
    assert client.get("/v2/orgs/acme/invites", headers=people["member"]).status_code == 403
    assert client.get("/v2/orgs/acme/invites", headers=people["outsider"]).status_code == 404
    assert client.get("/v2/orgs/acme/invites").status_code == 401
    assert client.get("/v2/user/invites").status_code == 401
