"""Organisations: creating one, reading, updating and deleting its profile."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.accounts.people import PASSWORD, audit_log, hub, org_with_members, page
from tests.conftest import basic
from tests.registry.helpers import ADMIN, create_user, push_image

pytestmark = pytest.mark.usefixtures("fast_passwords")

ORG_FIELDS = {
    "id", "orgname", "full_name", "company", "location", "type", "date_joined", "gravatar_email", "gravatar_url",
    "profile_url",
}  # fmt: skip


def test_any_user_creates_an_organisation_and_owns_it(client: TestClient) -> None:
    create_user(client, "alice")
    events = audit_log(client)
    headers = hub(client, "alice")
    response = client.post(
        "/v2/orgs/", json={"orgname": "acme", "full_name": "Acme Inc", "company": "Acme"}, headers=headers
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) >= ORG_FIELDS and "detail" not in body
    assert body["orgname"] == "acme" and body["type"] == "Organization" and body["full_name"] == "Acme Inc"
    members = page(client.get("/v2/orgs/acme/members", headers=headers))
    assert [(m["username"], m["role"]) for m in members["results"]] == [("alice", "Owner")]
    assert [(e.account, e.action, e.name, e.actor) for e in events] == [
        ("acme", "org.create", "acme", "alice"),
        ("acme", "org.member.add", "alice", "alice"),
    ]
    # The organisation is a namespace now: its owner can push to it.
    push_image(client, "acme/app", "v1", basic("alice", PASSWORD))


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"orgname": "alice"}, 409),  # a user's name
        ({"orgname": "library"}, 409),
        ({"orgname": "Bad Name"}, 400),
        ({"orgname": "orgs"}, 400),  # reserved for the Hub API's paths
        ({"orgname": "x" * 31}, 400),
        ({}, 400),
        ({"orgname": "fine", "gravatar_email": "nope"}, 400),
    ],
)
def test_organisation_names_are_validated(client: TestClient, body: dict[str, str], status: int) -> None:
    create_user(client, "alice")
    response = client.post("/v2/orgs", json=body, headers=hub(client, "alice"))
    assert response.status_code == status, response.text
    assert "detail" in response.json()


def test_creating_an_organisation_needs_a_sign_in(client: TestClient) -> None:
    assert client.post("/v2/orgs/", json={"orgname": "acme"}).status_code == 401


def test_organisation_profile_is_public(client: TestClient) -> None:
    org_with_members(client)
    for headers in ({}, hub(client, "outsider")):
        response = client.get("/v2/orgs/acme", headers=headers)
        assert response.status_code == 200
        assert response.json()["orgname"] == "acme"
    assert client.get("/v2/orgs/acme/").status_code == 200
    assert client.get("/v2/orgs/nope").status_code == 404
    assert client.get("/v2/orgs/owner").status_code == 404  # a user, not an organisation


def test_only_owners_update_the_profile(client: TestClient) -> None:
    people = org_with_members(client)
    change = {"location": "Springfield", "full_name": "Acme Corporation"}
    assert client.patch("/v2/orgs/acme", json=change, headers=people["member"]).status_code == 403
    assert client.patch("/v2/orgs/acme", json=change, headers=people["editor"]).status_code == 403
    assert client.patch("/v2/orgs/acme", json=change, headers=people["outsider"]).status_code == 404
    assert client.patch("/v2/orgs/acme", json=change).status_code == 401
    response = client.patch("/v2/orgs/acme/", json=change, headers=people["owner"])
    assert response.status_code == 200
    assert client.get("/v2/orgs/acme").json()["location"] == "Springfield"
    assert client.patch("/v2/orgs/acme", json={"company": "x" * 300}, headers=people["owner"]).status_code == 400
    # Site administrators act as owners of every organisation.
    assert client.patch("/v2/orgs/acme", json={"company": "Admin"}, headers=hub(client)).status_code == 200


def test_deleting_an_organisation(client: TestClient) -> None:
    people = org_with_members(client)
    events = audit_log(client)
    assert client.delete("/v2/orgs/acme", headers=people["member"]).status_code == 403
    assert client.delete("/v2/orgs/acme", headers=people["outsider"]).status_code == 404
    client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=people["owner"])
    response = client.delete("/v2/orgs/acme/", headers=people["owner"])
    assert response.status_code == 204 and response.content == b""
    assert client.get("/v2/orgs/acme").status_code == 404
    assert page(client.get("/v2/user/orgs/", headers=people["member"]))["count"] == 0
    assert ("acme", "org.delete") in [(e.account, e.action) for e in events]
    # The name is free again.
    assert client.post("/v2/orgs/", json={"orgname": "acme"}, headers=people["outsider"]).status_code == 201


def test_an_organisation_with_repositories_is_not_deleted(client: TestClient) -> None:
    people = org_with_members(client)
    push_image(client, "acme/app", "v1", ADMIN)
    response = client.delete("/v2/orgs/acme", headers=people["owner"])
    assert response.status_code == 409
    assert "repositories" in response.json()["detail"]
    assert client.get("/v2/orgs/acme").status_code == 200
    # A neighbour's repositories ("empty0/…" sorts right after "empty/…") do not count.
    for name in ("empty", "empty0"):
        assert client.post("/v2/orgs/", json={"orgname": name}, headers=people["owner"]).status_code == 201
    push_image(client, "empty0/app", "v1", ADMIN)
    assert client.delete("/v2/orgs/empty", headers=people["owner"]).status_code == 204


def test_the_library_organisation_stays(client: TestClient) -> None:
    response = client.delete("/v2/orgs/library", headers=hub(client))
    assert response.status_code == 403


def test_malformed_input_is_a_client_error(client: TestClient) -> None:
    """NUL characters (which PostgreSQL text cannot hold) and the like are refused, never a server error."""
    people = org_with_members(client)
    owner = people["owner"]
    push_image(client, "owner/app", "v1", basic("owner", PASSWORD))
    requests = [
        ("GET", "/v2/orgs/a%00b", None),
        ("GET", "/v2/users/a%00b/", None),
        ("GET", "/v2/orgs/acme/members?search=a%00b", None),
        ("GET", "/v2/orgs/acme/groups?username=a%00b", None),
        ("GET", "/v2/orgs/acme/groups/a%00b/members/", None),
        ("PUT", "/v2/orgs/acme/members/a%00b", {"role": "member"}),
        ("DELETE", "/v2/invites/a%00b", None),
        ("POST", "/v2/orgs/", {"orgname": "a\x00b"}),
        ("PATCH", "/v2/user/", {"full_name": "a\x00b"}),
        ("POST", "/v2/orgs/acme/groups", {"name": "devs", "description": "a\x00b"}),
        ("POST", "/v2/invites/bulk", {"org": "acme", "invitees": ["a\x00b"]}),
        ("POST", "/v2/invites/bulk", {"org": "a\x00b", "invitees": ["member"]}),
        ("POST", "/v2/repositories/owner/app/collaborators/", {"user": "a\x00b"}),
        ("GET", "/v2/repositories/own%00er/app/collaborators/", None),
    ]
    for method, path, body in requests:
        kwargs = {"json": body} if body is not None else {}
        response = client.request(method, path, headers=owner, **kwargs)  # type: ignore[arg-type]
        assert response.status_code in (400, 404), (method, path, response.status_code, response.text)
        assert "detail" in response.json()
