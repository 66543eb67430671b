"""Personal access tokens: the `/v2/access-tokens` API (and its `/v2/api_tokens` alias), and PATs as passwords for
the Hub login, the registry's token service and HTTP Basic, capped by their scopes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.testclient import TestClient

from dockyard.accounts.access_tokens import PersonalAccessToken
from tests.accounts.helpers import audit_events, create_pat, hub, login, user_session
from tests.conftest import basic
from tests.registry.helpers import (
    PASSWORD,
    assert_error,
    create_user,
    granted,
    in_transaction,
    push_image,
    set_private,
)

# Real argon2id at its lowest cost: these tests sign in many times.
pytestmark = pytest.mark.usefixtures("fast_passwords")

FIELDS = {
    "uuid", "client_id", "creator_ip", "creator_ua", "created_at", "last_used", "generated_by", "is_active", "token",
    "token_label", "scopes", "expires_at",
}  # fmt: skip


@pytest.fixture
def alice(client: TestClient) -> dict[str, str]:
    create_user(client, "alice")
    return user_session(client, "alice")


def _set_expiry(client: TestClient, token_uuid: str, when: datetime) -> None:
    async def work(session: AsyncSession) -> None:
        await session.execute(
            update(PersonalAccessToken).where(PersonalAccessToken.uuid == token_uuid).values(expires_at=when)
        )

    in_transaction(client, work)


# --- the management API ------------------------------------------------------------------------------------
def test_create_returns_the_secret_once_and_the_docker_hub_fields(client: TestClient, alice: dict[str, str]) -> None:
    response = client.post(
        "/v2/access-tokens",
        json={"token_label": "laptop", "scopes": ["repo:read"]},
        headers={**alice, "User-Agent": "hub-tool/0.4"},
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == FIELDS
    assert body["token"].startswith("dckr_pat_") and len(body["token"]) > 30
    assert body["client_id"] == "HUB" and body["generated_by"] == "manual"
    assert body["token_label"] == "laptop" and body["scopes"] == ["repo:read"]
    assert body["is_active"] is True and body["last_used"] is None and body["expires_at"] is None
    assert body["creator_ua"] == "hub-tool/0.4" and body["creator_ip"]
    assert body["created_at"].endswith("Z")

    fetched = client.get(f"/v2/access-tokens/{body['uuid']}", headers=alice).json()
    assert fetched["token"] == "" and fetched["uuid"] == body["uuid"]


def test_hub_tool_create_is_active_false_and_default_scope(client: TestClient, alice: dict[str, str]) -> None:
    response = client.post("/v2/api_tokens", json={"token_label": "hub-tool", "is_active": False}, headers=alice)
    assert response.status_code == 201
    body = response.json()
    assert body["is_active"] is True
    assert body["scopes"] == ["repo:admin"]


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"token_label": ""},
        {"token_label": "x" * 101},
        {"token_label": "ok", "scopes": ["repo:everything"]},
        {"token_label": "ok", "scopes": "repo:read"},
        {"token_label": "ok", "expires_at": "yesterday"},
        {"token_label": "ok", "expires_at": "2001-01-01T00:00:00Z"},
    ],
)
def test_create_validates_its_body(client: TestClient, alice: dict[str, str], payload: dict[str, object]) -> None:
    response = client.post("/v2/access-tokens", json=payload, headers=alice)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] and response.json()["message"]


def test_future_expiry_is_kept(client: TestClient, alice: dict[str, str]) -> None:
    when = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    body = create_pat(client, alice, expires_at=when.isoformat())
    assert datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")) == when


def test_list_pages_counts_active_tokens_and_hides_secrets(client: TestClient, alice: dict[str, str]) -> None:
    uuids = [create_pat(client, alice, label=f"t{i}")["uuid"] for i in range(3)]
    client.patch(f"/v2/access-tokens/{uuids[0]}", json={"is_active": False}, headers=alice)
    page = client.get("/v2/access-tokens", params={"page_size": 2}, headers=alice).json()
    assert set(page) == {"count", "next", "previous", "active_count", "results"}
    assert page["count"] == 3 and page["active_count"] == 2
    assert len(page["results"]) == 2 and all(item["token"] == "" for item in page["results"])
    assert page["next"] == "http://testserver/v2/access-tokens?page_size=2&page=2" and page["previous"] is None
    second = client.get(page["next"], headers=alice).json()
    assert len(second["results"]) == 1 and second["next"] is None
    listed = {item["uuid"] for item in page["results"] + second["results"]}
    assert listed == set(uuids)
    assert client.get("/v2/access-tokens?page=3&page_size=2", headers=alice).status_code == 404
    legacy = client.get("/v2/api_tokens/", params={"page_size": 100, "page": 1}, headers=alice)
    assert legacy.status_code == 200 and legacy.json()["count"] == 3


def test_update_and_delete(client: TestClient, alice: dict[str, str]) -> None:
    events = audit_events(client)
    token = create_pat(client, alice)
    path = f"/v2/access-tokens/{token['uuid']}"
    response = client.patch(path, json={"token_label": "renamed", "is_active": False}, headers=alice)
    assert response.status_code == 200
    assert response.json()["token_label"] == "renamed" and response.json()["is_active"] is False
    assert client.patch(path, json={"token_label": ""}, headers=alice).status_code == 400
    assert client.patch(path, json={"is_active": "maybe"}, headers=alice).status_code == 400
    legacy = client.patch(f"/v2/api_tokens/{token['uuid']}/", json={"is_active": True}, headers=alice)
    assert legacy.json()["is_active"] is True
    assert client.delete(path, headers=alice).status_code == 204
    assert client.get(path, headers=alice).status_code == 404
    assert client.delete(path, headers=alice).status_code == 404
    actions = [(event.action, event.account, event.name) for event in events]
    assert actions == [
        ("user.access_token.create", "alice", "ci"),
        ("user.access_token.update", "alice", "renamed"),
        ("user.access_token.update", "alice", "renamed"),
        ("user.access_token.delete", "alice", "renamed"),
    ]


def test_tokens_are_private_to_their_owner(client: TestClient, alice: dict[str, str]) -> None:
    token = create_pat(client, alice)
    create_user(client, "bob")
    bob = user_session(client, "bob")
    for method in ("GET", "PATCH", "DELETE"):
        response = client.request(method, f"/v2/access-tokens/{token['uuid']}", json={}, headers=bob)
        assert response.status_code == 404, method
    assert client.get("/v2/access-tokens", headers=bob).json()["count"] == 0
    assert client.get("/v2/access-tokens/not-a-uuid", headers=alice).status_code == 404


def test_management_needs_a_password_session(client: TestClient, alice: dict[str, str]) -> None:
    assert client.get("/v2/access-tokens").status_code == 401
    assert client.post("/v2/access-tokens", json={"token_label": "x"}).status_code == 401
    secret = create_pat(client, alice)["token"]
    pat_session = hub(login(client, "alice", secret))
    response = client.get("/v2/access-tokens", headers=pat_session)
    assert response.status_code == 403 and "detail" in response.json()
    assert client.post("/v2/access-tokens", json={"token_label": "x"}, headers=pat_session).status_code == 403


# --- signing in with a PAT ---------------------------------------------------------------------------------
def test_pat_signs_in_to_the_hub_with_its_caps(client: TestClient, alice: dict[str, str]) -> None:
    token = create_pat(client, alice, scopes=["repo:public_read"])
    response = client.post("/v2/users/login", json={"username": "alice", "password": token["token"]})
    assert response.status_code == 200
    claims = jwt.decode(response.json()["token"], options={"verify_signature": False})
    assert claims["pat"] == token["uuid"] and claims["pub"] is True and claims["cap"] == 1
    # The username must be the token's owner.
    create_user(client, "bob")
    assert client.post("/v2/users/login", json={"username": "bob", "password": token["token"]}).status_code == 401
    response = client.post("/v2/auth/token", json={"identifier": "ALICE", "secret": token["token"]})
    assert response.status_code == 200
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 600 and claims["pat"] == token["uuid"]


def test_last_used_is_recorded(client: TestClient, alice: dict[str, str]) -> None:
    token = create_pat(client, alice)
    assert client.get(f"/v2/access-tokens/{token['uuid']}", headers=alice).json()["last_used"] is None
    response = client.get("/token", params={"service": "dockyard"}, headers=basic("alice", token["token"]))
    assert response.status_code == 200
    last_used = client.get(f"/v2/access-tokens/{token['uuid']}", headers=alice).json()["last_used"]
    assert last_used is not None and last_used.endswith("Z")


def test_inactive_and_expired_tokens_do_not_authenticate(client: TestClient, alice: dict[str, str]) -> None:
    token = create_pat(client, alice)
    secret = token["token"]
    pat_jwt = hub(login(client, "alice", secret))
    assert client.get("/v2/user/2fa", headers=pat_jwt).status_code == 403  # authenticated, but not a password session
    # Warm the registry's credential cache, then deactivate: the change must still apply at once.
    assert client.get("/v2/", headers=basic("alice", secret)).status_code == 200
    client.patch(f"/v2/access-tokens/{token['uuid']}", json={"is_active": False}, headers=alice)
    assert client.post("/v2/users/login", json={"username": "alice", "password": secret}).status_code == 401
    assert client.get("/token", params={"service": "dockyard"}, headers=basic("alice", secret)).status_code == 401
    assert client.get("/v2/", headers=basic("alice", secret)).status_code == 401
    # Sessions obtained with the token end with it.
    assert client.get("/v2/user/2fa", headers=pat_jwt).status_code == 401

    client.patch(f"/v2/access-tokens/{token['uuid']}", json={"is_active": True}, headers=alice)
    assert client.post("/v2/users/login", json={"username": "alice", "password": secret}).status_code == 200
    _set_expiry(client, token["uuid"], datetime.now(UTC) - timedelta(seconds=1))
    assert client.post("/v2/users/login", json={"username": "alice", "password": secret}).status_code == 401
    assert client.post("/v2/auth/token", json={"identifier": "alice", "secret": secret}).status_code == 401
    assert client.get("/token", params={"service": "dockyard"}, headers=basic("alice", secret)).status_code == 401


def test_deleted_token_stops_working(client: TestClient, alice: dict[str, str]) -> None:
    token = create_pat(client, alice)
    assert client.get("/v2/", headers=basic("alice", token["token"])).status_code == 200
    assert client.delete(f"/v2/access-tokens/{token['uuid']}", headers=alice).status_code == 204
    assert client.get("/v2/", headers=basic("alice", token["token"])).status_code == 401


# --- PAT scopes in the registry ------------------------------------------------------------------------------
@pytest.fixture
def repos(client: TestClient, alice: dict[str, str]) -> dict[str, str]:
    """alice/public (public) and alice/secret (private), pushed with her password; a PAT per scope."""
    for repo in ("alice/public", "alice/secret"):
        push_image(client, repo, "v1", basic("alice", PASSWORD))
    set_private(client, "alice/secret")
    scopes = ("repo:admin", "repo:write", "repo:read", "repo:public_read")
    return {scope: create_pat(client, alice, label=scope, scopes=[scope])["token"] for scope in scopes}


def test_pat_scopes_cap_token_service_grants(client: TestClient, repos: dict[str, str]) -> None:
    want = "pull,push,delete"
    everything = ["delete", "pull", "push"]
    assert granted(client, f"repository:alice/secret:{want}", "alice", repos["repo:admin"]) == everything
    assert granted(client, f"repository:alice/secret:{want}", "alice", repos["repo:write"]) == ["pull", "push"]
    assert granted(client, f"repository:alice/secret:{want}", "alice", repos["repo:read"]) == ["pull"]
    assert granted(client, f"repository:alice/secret:{want}", "alice", repos["repo:public_read"]) == []
    assert granted(client, f"repository:alice/public:{want}", "alice", repos["repo:public_read"]) == ["pull"]
    assert granted(client, "repository:alice/new:push", "alice", repos["repo:read"]) == []
    assert granted(client, "repository:alice/new:pull,push", "alice", repos["repo:write"]) == ["pull", "push"]


def test_pat_works_over_basic_straight_to_the_registry(client: TestClient, repos: dict[str, str]) -> None:
    writer = basic("alice", repos["repo:write"])
    push_image(client, "alice/fresh", "v1", writer)
    assert client.get("/v2/alice/secret/manifests/v1", headers=writer).status_code == 200
    # repo:write does not delete; repo:public_read cannot see a private repository; repo:read cannot push.
    digest = client.head("/v2/alice/fresh/manifests/v1", headers=writer).headers["docker-content-digest"]
    assert_error(client.delete(f"/v2/alice/fresh/manifests/{digest}", headers=writer), 401, "UNAUTHORIZED")
    public_reader = basic("alice", repos["repo:public_read"])
    assert_error(client.get("/v2/alice/secret/manifests/v1", headers=public_reader), 401, "UNAUTHORIZED")
    assert client.get("/v2/alice/public/manifests/v1", headers=public_reader).status_code == 200
    reader = basic("alice", repos["repo:read"])
    assert client.get("/v2/alice/secret/manifests/v1", headers=reader).status_code == 200
    response = client.post("/v2/alice/secret/blobs/uploads/", headers=reader)
    assert_error(response, 401, "UNAUTHORIZED")


def test_public_read_pat_bearer_token_does_not_list_private_repositories(
    client: TestClient, repos: dict[str, str]
) -> None:
    response = client.get(
        "/token",
        params={"service": "dockyard", "scope": "registry:catalog:*"},
        headers=basic("alice", repos["repo:public_read"]),
    )
    headers = {"Authorization": "Bearer " + response.json()["token"]}
    names = client.get("/v2/_catalog", headers=headers).json()["repositories"]
    assert "alice/public" in names and "alice/secret" not in names


def test_oauth_refresh_token_keeps_the_pat_caps(client: TestClient, repos: dict[str, str]) -> None:
    form = {
        "grant_type": "password",
        "username": "alice",
        "password": repos["repo:read"],
        "service": "dockyard",
        "access_type": "offline",
        "client_id": "docker",
        "scope": "repository:alice/secret:pull,push",
    }
    response = client.post("/token", data=form)
    assert response.status_code == 200
    refresh = response.json()["refresh_token"]
    again = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh, "service": "dockyard",
              "scope": "repository:alice/secret:pull,push"},
    )  # fmt: skip
    assert again.status_code == 200
    claims = jwt.decode(again.json()["access_token"], options={"verify_signature": False})
    assert claims["access"] == [{"type": "repository", "name": "alice/secret", "actions": ["pull"]}]
