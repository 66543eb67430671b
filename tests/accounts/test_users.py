"""The caller's own account (`/v2/user/`), public profiles (`/v2/users/{name}/`) and the caller's organisations."""

from __future__ import annotations

import hashlib
import re

import pytest
from starlette.testclient import TestClient

from tests.accounts.people import hub, page
from tests.registry.helpers import create_org, create_user, set_member

pytestmark = pytest.mark.usefixtures("fast_passwords")

USER_FIELDS = {
    "id", "username", "full_name", "location", "company", "gravatar_email", "gravatar_url", "is_staff", "is_admin",
    "profile_url", "date_joined", "type",
}  # fmt: skip


def test_current_user_with_and_without_the_slash_and_either_header(client: TestClient) -> None:
    create_user(client, "alice")
    for path, scheme in (("/v2/user/", "Bearer"), ("/v2/user", "JWT")):
        response = client.get(path, headers=hub(client, "alice", scheme=scheme))
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) >= USER_FIELDS and "detail" not in body
        assert body["username"] == "alice" and body["type"] == "User"
        assert re.fullmatch(r"[0-9a-f]{32}", body["id"])
        assert body["is_admin"] is False and body["is_staff"] is False
        assert body["date_joined"].endswith("Z")
    admin = client.get("/v2/user/", headers=hub(client)).json()
    assert admin["is_admin"] is True and admin["is_staff"] is True


def test_current_user_needs_valid_credentials(client: TestClient) -> None:
    assert client.get("/v2/user/").status_code == 401
    response = client.get("/v2/user/", headers={"Authorization": "Bearer not-a-token"})
    assert response.status_code == 401 and "detail" in response.json()


def test_update_profile(client: TestClient) -> None:
    create_user(client, "alice")
    headers = hub(client, "alice")
    changes = {
        "full_name": "Alice Liddell",
        "location": "Oxford",
        "company": "Wonderland",
        "profile_url": "https://example.com/alice",
        "gravatar_email": "Alice@Example.com",
    }
    response = client.patch("/v2/user/", json=changes, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {key: body[key] for key in changes} == changes
    digest = hashlib.md5(b"alice@example.com").hexdigest()
    assert body["gravatar_url"] == f"https://secure.gravatar.com/avatar/{digest}.jpg?s=80&r=g&d=mm"
    # A partial update leaves the other fields alone; the change is visible to everyone.
    assert client.patch("/v2/user", json={"company": ""}, headers=headers).status_code == 200
    public = client.get("/v2/users/alice/").json()
    assert public["company"] == "" and public["location"] == "Oxford"


@pytest.mark.parametrize(
    "body",
    [{"gravatar_email": "not-an-address"}, {"full_name": "x" * 256}, {"location": 5}, ["not", "an", "object"]],
)
def test_update_profile_rejects_bad_input(client: TestClient, body: object) -> None:
    create_user(client, "alice")
    response = client.patch("/v2/user/", json=body, headers=hub(client, "alice"))
    assert response.status_code == 400, response.text
    assert "detail" in response.json()
    assert client.patch("/v2/user/", json={"full_name": "x"}).status_code == 401


def test_public_profile(client: TestClient) -> None:
    create_user(client, "alice")
    response = client.get("/v2/users/alice/")
    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "alice" and body["type"] == "User"
    # Nothing private: no e-mail address, no avatar address, no staff flags.
    assert not {"email", "gravatar_email", "is_admin", "is_staff"} & set(body)
    assert client.get("/v2/users/alice").status_code == 200
    assert client.get("/v2/users/library/").json()["type"] == "Organization"
    missing = client.get("/v2/users/nobody/")
    assert missing.status_code == 404 and "detail" in missing.json()


def test_organisations_of_the_current_user(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    for index in range(3):
        create_org(client, f"org{index}", "alice")
    set_member(client, "org1", "bob", "member")
    headers = hub(client, "alice")
    body = page(client.get("/v2/user/orgs/", params={"page_size": 2}, headers=headers))
    assert body["count"] == 3 and [org["orgname"] for org in body["results"]] == ["org0", "org1"]
    assert body["next"] == "http://testserver/v2/user/orgs/?page_size=2&page=2" and body["previous"] is None
    org = body["results"][0]
    assert org["type"] == "Organization" and re.fullmatch(r"[0-9a-f]{32}", org["id"])
    assert {"orgname", "full_name", "company", "location", "date_joined", "gravatar_url", "profile_url"} <= set(org)
    last = page(client.get(body["next"], headers=headers))
    assert [org["orgname"] for org in last["results"]] == ["org2"] and last["next"] is None
    assert client.get("/v2/user/orgs/", params={"page": 3, "page_size": 2}, headers=headers).status_code == 404
    bob = page(client.get("/v2/user/orgs", headers=hub(client, "bob")))
    assert [org["orgname"] for org in bob["results"]] == ["org1"]
    assert client.get("/v2/user/orgs/").status_code == 401
