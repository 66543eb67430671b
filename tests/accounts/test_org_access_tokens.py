"""Organisation access tokens: managed by the organisation's owners at `/v2/orgs/{name}/access-tokens`, used with
the organisation's name as the username, and granting exactly what their resources list."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient

from dockyard.accounts.permissions import OrgGrant, Permission, Subject, Target, decide
from tests.accounts.helpers import audit_events, create_pat, hub, user_session
from tests.conftest import basic
from tests.registry.helpers import (
    ADMIN,
    assert_error,
    create_org,
    create_user,
    granted,
    push_image,
    set_member,
    set_private,
)

# Real argon2id at its lowest cost: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("fast_passwords")

BASE = "/v2/orgs/acme/access-tokens"
PULL_APP = [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["repo-pull"]}]


@pytest.fixture
def owner(client: TestClient) -> dict[str, str]:
    """acme, owned by alice, with bob as a member; acme/app and acme/other (private), acme/open and admin/open
    (public), admin/closed (private)."""
    for name in ("alice", "bob", "carol"):
        create_user(client, name)
    create_org(client, "acme", "alice")
    set_member(client, "acme", "bob", "editor")
    for repo in ("acme/app", "acme/other", "acme/open", "admin/open", "admin/closed"):
        push_image(client, repo, "v1", ADMIN)
    for repo in ("acme/app", "acme/other", "admin/closed"):
        set_private(client, repo)
    return user_session(client, "alice")


def _create(client: TestClient, headers: dict[str, str], resources: list[dict[str, Any]], **extra: Any) -> Any:
    response = client.post(BASE, json={"label": "ci", "resources": resources, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def test_owner_creates_lists_reads_updates_and_deletes(client: TestClient, owner: dict[str, str]) -> None:
    events = audit_events(client)
    created = _create(client, owner, PULL_APP, description="pulls the app")
    assert created["token"].startswith("dckr_oat_")
    assert created["created_by"] == "alice" and created["is_active"] is True
    assert created["resources"] == PULL_APP and created["description"] == "pulls the app"
    token_id = created["id"]

    page = client.get(BASE, headers=owner).json()
    assert set(page) == {"total", "next", "previous", "results"}
    assert page["total"] == 1 and page["next"] is None and page["previous"] is None
    assert set(page["results"][0]) == {"id", "label", "created_by", "is_active", "created_at", "expires_at",
                                       "last_used_at"}  # fmt: skip
    detail = client.get(f"{BASE}/{token_id}/", headers=owner).json()
    assert detail["resources"] == PULL_APP and "token" not in detail

    wider = [{"type": "TYPE_REPO", "path": "acme/*", "scopes": ["repo-pull", "repo-push"]}]
    response = client.patch(
        f"{BASE}/{token_id}", json={"label": "deploy", "resources": wider, "is_active": False}, headers=owner
    )
    assert response.status_code == 200
    assert response.json()["label"] == "deploy" and response.json()["resources"] == wider
    assert response.json()["is_active"] is False

    assert client.delete(f"{BASE}/{token_id}", headers=owner).status_code == 204
    assert client.get(f"{BASE}/{token_id}", headers=owner).status_code == 404
    assert [(e.action, e.account, e.actor) for e in events] == [
        ("org.access_token.create", "acme", "alice"),
        ("org.access_token.update", "acme", "alice"),
        ("org.access_token.delete", "acme", "alice"),
    ]


def test_only_owners_manage_tokens(client: TestClient, owner: dict[str, str]) -> None:
    token_id = _create(client, owner, PULL_APP)["id"]
    assert client.get(BASE).status_code == 401
    for user in ("bob", "carol"):  # an editor, and an outsider
        headers = user_session(client, user)
        assert client.get(BASE, headers=headers).status_code == 403
        assert client.post(BASE, json={"label": "x", "resources": PULL_APP}, headers=headers).status_code == 403
        assert client.delete(f"{BASE}/{token_id}", headers=headers).status_code == 403
    assert client.get("/v2/orgs/nope/access-tokens", headers=owner).status_code == 404
    assert client.get("/v2/orgs/alice/access-tokens", headers=owner).status_code == 404  # a user, not an org
    assert client.get(f"{BASE}/00000000-0000-0000-0000-000000000000", headers=owner).status_code == 404
    # A scoped-down personal token of an owner is not enough either.
    reader = create_pat(client, owner, scopes=["repo:read"])["token"]
    reader_session = hub(client.post("/v2/users/login", json={"username": "alice", "password": reader}).json()["token"])
    assert client.get(BASE, headers=reader_session).status_code == 403


@pytest.mark.parametrize(
    "resources",
    [
        [],
        [{"type": "TYPE_THING", "path": "acme/app", "scopes": ["repo-pull"]}],
        [{"type": "TYPE_REPO", "path": "other/app", "scopes": ["repo-pull"]}],
        [{"type": "TYPE_REPO", "path": "*/*", "scopes": ["repo-pull"]}],
        [{"type": "TYPE_REPO", "path": "acme/app", "scopes": []}],
        [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["repo-fly"]}],
        [{"type": "TYPE_ORG", "path": "acme", "scopes": ["repo-pull"]}],
        [{"type": "TYPE_ORG", "path": "other", "scopes": ["scope-member-read"]}],
        [{"type": "TYPE_REPO", "path": "", "scopes": ["repo-pull"]}],
        "not a list",
    ],
)
def test_resources_are_validated(client: TestClient, owner: dict[str, str], resources: Any) -> None:
    response = client.post(BASE, json={"label": "ci", "resources": resources}, headers=owner)
    assert response.status_code == 400, response.text
    assert response.json()["detail"]


def test_other_bodies_are_validated(client: TestClient, owner: dict[str, str]) -> None:
    bodies = (
        {"resources": PULL_APP},
        {"label": "", "resources": PULL_APP},
        {"label": "x" * 101, "resources": PULL_APP},
        {"label": "ci", "resources": PULL_APP, "expires_at": "2001-01-01T00:00:00Z"},
    )
    for body in bodies:
        assert client.post(BASE, json=body, headers=owner).status_code == 400, body
    token_id = _create(client, owner, PULL_APP)["id"]
    assert client.patch(f"{BASE}/{token_id}", json={"resources": []}, headers=owner).status_code == 400
    bad_path = [{"type": "TYPE_REPO", "path": "other/x", "scopes": ["repo-pull"]}]
    assert client.patch(f"{BASE}/{token_id}", json={"resources": bad_path}, headers=owner).status_code == 400


def test_oat_exchanges_for_a_hub_token_with_the_org_name(client: TestClient, owner: dict[str, str]) -> None:
    secret = _create(client, owner, PULL_APP)["token"]
    response = client.post("/v2/auth/token", json={"identifier": "acme", "secret": secret})
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "acme" and claims["oat"]
    assert client.post("/v2/auth/token", json={"identifier": "alice", "secret": secret}).status_code == 401
    # The deprecated login is for users: passwords and personal tokens only.
    assert client.post("/v2/users/login", json={"username": "acme", "password": secret}).status_code == 401
    # An organisation's session is no user's: it manages no personal tokens, no second factor, no org tokens.
    session = hub(response.json()["access_token"])
    assert client.get("/v2/access-tokens", headers=session).status_code == 403
    assert client.get("/v2/user/2fa", headers=session).status_code == 403
    assert client.get(BASE, headers=session).status_code == 403


def test_oat_grants_exactly_its_resources_in_the_registry(client: TestClient, owner: dict[str, str]) -> None:
    resources = [
        {"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-push"]},
        {"type": "TYPE_REPO", "path": "*/*/public", "scopes": ["repo-pull"]},
    ]
    secret = _create(client, owner, resources)["token"]
    everything = "pull,push,delete"
    assert granted(client, f"repository:acme/app:{everything}", "acme", secret) == ["pull", "push"]
    assert granted(client, f"repository:acme/other:{everything}", "acme", secret) == []
    assert granted(client, f"repository:acme/open:{everything}", "acme", secret) == ["pull"]
    assert granted(client, f"repository:admin/open:{everything}", "acme", secret) == ["pull"]
    assert granted(client, f"repository:admin/closed:{everything}", "acme", secret) == []
    response = client.get("/token", params={"service": "dockyard"}, headers=basic("alice", secret))
    assert response.status_code == 401


def test_oat_globs_and_basic_auth(client: TestClient, owner: dict[str, str]) -> None:
    secret = _create(client, owner, [{"type": "TYPE_REPO", "path": "acme/*", "scopes": ["repo-pull"]}])["token"]
    headers = basic("acme", secret)
    assert client.get("/v2/acme/app/manifests/v1", headers=headers).status_code == 200
    assert client.get("/v2/acme/other/manifests/v1", headers=headers).status_code == 200
    assert_error(client.get("/v2/admin/closed/manifests/v1", headers=headers), 401, "UNAUTHORIZED")
    # Without "*/*/public", other namespaces' public repositories are not in the grant either.
    assert_error(client.get("/v2/admin/open/manifests/v1", headers=headers), 401, "UNAUTHORIZED")
    assert_error(client.post("/v2/acme/app/blobs/uploads/", headers=headers), 401, "UNAUTHORIZED")


def test_oat_pushes_to_new_repositories_under_its_glob(client: TestClient, owner: dict[str, str]) -> None:
    secret = _create(client, owner, [{"type": "TYPE_REPO", "path": "acme/*", "scopes": ["repo-push"]}])["token"]
    push_image(client, "acme/brand-new", "v1", basic("acme", secret))
    assert granted(client, "repository:acme/brand-new:pull", "admin") == ["pull"]


def test_inactive_oat_stops_working(client: TestClient, owner: dict[str, str]) -> None:
    created = _create(client, owner, PULL_APP)
    secret, token_id = created["token"], created["id"]
    session = hub(client.post("/v2/auth/token", json={"identifier": "acme", "secret": secret}).json()["access_token"])
    assert client.get("/v2/acme/app/manifests/v1", headers=basic("acme", secret)).status_code == 200
    client.patch(f"{BASE}/{token_id}", json={"is_active": False}, headers=owner)
    assert client.get("/v2/acme/app/manifests/v1", headers=basic("acme", secret)).status_code == 401
    assert client.post("/v2/auth/token", json={"identifier": "acme", "secret": secret}).status_code == 401
    assert client.get("/v2/access-tokens", headers=session).status_code == 401
    detail = client.get(f"{BASE}/{token_id}", headers=owner).json()
    assert detail["last_used_at"] is not None


def test_decide_with_an_org_grant() -> None:
    grant = OrgGrant(
        org_id=7,
        org_name="acme",
        token_id="t",
        repositories=(("acme/app", Permission.WRITE), ("*/*/public", Permission.ADMIN)),
    )
    subject = Subject(username="acme", token_id="t", org_grant=grant)
    assert not subject.is_anonymous and not subject.is_user

    def target(namespace_id: int, path: str, private: bool) -> Target:
        return Target(namespace_id=namespace_id, namespace_is_org=True, exists=True, is_private=private, path=path)

    assert decide(subject, target(7, "acme/app", True)) == Permission.WRITE
    assert decide(subject, target(7, "acme/other", True)) == Permission.NONE
    assert decide(subject, target(7, "acme/other", False)) == Permission.READ
    assert decide(subject, target(9, "other/app", False)) == Permission.READ
    assert decide(subject, target(9, "other/app", True)) == Permission.NONE
    # An organisation's token gets nothing from the organisation's roles or ownership.
    owned = Target(namespace_id=7, namespace_is_org=True, exists=True, is_private=True, role="owner", path="acme/x")
    assert decide(subject, owned) == Permission.NONE
