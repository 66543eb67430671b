"""The token service at /token and how the registry checks what a request may do."""

from __future__ import annotations

import time

import jwt
import pytest
from starlette.testclient import TestClient

from tests.conftest import basic
from tests.registry.helpers import (
    ADMIN,
    CHALLENGE,
    PASSWORD,
    assert_error,
    auth_for,
    create_org,
    create_user,
    granted,
    push_image,
    services,
    set_member,
    set_private,
)


@pytest.fixture
def world(client: TestClient) -> TestClient:
    """alice and bob and carol; acme owned by alice with bob as editor and carol as member; repositories
    admin/public (public), admin/secret (private), acme/public (public), acme/secret (private)."""
    for name in ("alice", "bob", "carol"):
        create_user(client, name)
    create_org(client, "acme", "alice")
    set_member(client, "acme", "bob", "editor")
    set_member(client, "acme", "carol", "member")
    for repo in ("admin/public", "admin/secret", "acme/public", "acme/secret"):
        push_image(client, repo, "v1", ADMIN)
    set_private(client, "admin/secret")
    set_private(client, "acme/secret")
    return client


# --- GET /token --------------------------------------------------------------------------------------------
def test_anonymous_token_shape(client: TestClient) -> None:
    response = client.get("/token", params={"service": "dockyard"})
    assert response.status_code == 200
    body = response.json()
    assert body["token"] == body["access_token"]
    assert isinstance(body["expires_in"], int) and body["expires_in"] >= 60
    assert body["issued_at"].endswith("Z")
    assert "refresh_token" not in body
    assert response.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    assert claims["aud"] == "dockyard"
    assert claims["sub"] == ""
    assert claims["access"] == []


def test_anonymous_scopes(world: TestClient) -> None:
    client = world
    assert granted(client, "repository:admin/public:pull,push", None) == ["pull"]
    assert granted(client, "repository:admin/public:*", None) == ["pull"]
    assert granted(client, "repository:acme/public:pull", None) == ["pull"]
    assert granted(client, "repository:admin/secret:pull", None) == []
    assert granted(client, "repository:admin/missing:pull", None) == []
    assert granted(client, "repository:nobody/missing:pull", None) == []
    assert granted(client, "repository:alice/new:pull,push", None) == []


def test_user_scopes(world: TestClient) -> None:
    client = world
    assert granted(client, "repository:alice/new:pull,push", "alice", PASSWORD) == ["pull", "push"]
    assert granted(client, "repository:alice/new:*", "alice", PASSWORD) == ["delete", "pull", "push"]
    assert granted(client, "repository:admin/public:pull,push", "alice", PASSWORD) == ["pull"]
    assert granted(client, "repository:admin/secret:pull,push", "alice", PASSWORD) == []
    assert granted(client, "repository:bob/thing:pull,push", "alice", PASSWORD) == []
    assert granted(client, "repository:alice/new:pull,push,bogus", "alice", PASSWORD) == ["pull", "push"]


@pytest.mark.parametrize(
    ("user", "expected_new", "expected_secret", "expected_public"),
    [
        ("alice", ["pull", "push"], ["pull", "push"], ["pull", "push"]),
        ("bob", ["pull", "push"], ["pull", "push"], ["pull", "push"]),
        ("carol", [], [], ["pull"]),
    ],
)
def test_org_scopes(
    world: TestClient, user: str, expected_new: list[str], expected_secret: list[str], expected_public: list[str]
) -> None:
    client = world
    assert granted(client, "repository:acme/new:pull,push", user, PASSWORD) == expected_new
    assert granted(client, "repository:acme/secret:pull,push", user, PASSWORD) == expected_secret
    assert granted(client, "repository:acme/public:pull,push", user, PASSWORD) == expected_public


def test_admin_scopes(world: TestClient) -> None:
    client = world
    for repo in ("admin/secret", "acme/secret", "acme/new", "alice/new", "library/alpine"):
        assert granted(client, f"repository:{repo}:pull,push,delete") == ["delete", "pull", "push"]
    # A namespace that does not exist cannot hold repositories, even for the administrator.
    assert granted(client, "repository:nobody/new:pull,push") == []


def test_several_scopes_and_the_catalog(client: TestClient) -> None:
    response = client.get(
        "/token",
        params=[
            ("service", "dockyard"),
            ("scope", "repository:admin/a:pull"),
            ("scope", "repository:admin/b:push registry:catalog:*"),
            ("scope", "garbage"),
            ("scope", "repository:Not_Valid:pull"),
        ],
        headers=ADMIN,
    )
    assert response.status_code == 200
    access = jwt.decode(response.json()["token"], options={"verify_signature": False})["access"]
    assert access == [
        {"type": "repository", "name": "admin/a", "actions": ["pull"]},
        {"type": "repository", "name": "admin/b", "actions": ["push"]},
        {"type": "registry", "name": "catalog", "actions": ["*"]},
    ]


def test_bad_credentials_are_refused(client: TestClient) -> None:
    for headers in (
        basic("admin", "wrong-password"),
        basic("nobody", "password123"),
        {"Authorization": "Bearer something"},
        {"Authorization": "Basic ###"},
    ):
        response = client.get("/token", params={"service": "dockyard"}, headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"
        assert response.headers["www-authenticate"].startswith("Basic ")
        assert "token" not in response.json()


def test_an_organisation_cannot_log_in(world: TestClient) -> None:
    response = world.get("/token", headers=basic("acme", PASSWORD))
    assert response.status_code == 401


def test_offline_token_on_get(client: TestClient) -> None:
    response = client.get("/token", params={"service": "dockyard", "offline_token": "true"}, headers=ADMIN)
    assert response.status_code == 200
    assert response.json()["refresh_token"]
    anonymous = client.get("/token", params={"service": "dockyard", "offline_token": "true"})
    assert "refresh_token" not in anonymous.json()


# --- POST /token ---------------------------------------------------------------------------------------------
def test_password_grant(client: TestClient) -> None:
    form = {
        "grant_type": "password",
        "username": "admin",
        "password": "adminpass123",
        "service": "dockyard",
        "client_id": "tests",
        "scope": "repository:admin/app:pull,push",
    }
    response = client.post("/token", data=form)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["access_token"]
    assert body["scope"] == "repository:admin/app:pull,push"
    assert "refresh_token" not in body
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "admin"
    assert claims["access"] == [{"type": "repository", "name": "admin/app", "actions": ["pull", "push"]}]
    pushed = client.post("/v2/admin/app/blobs/uploads/", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert pushed.status_code == 202


def test_offline_password_grant_and_refresh(client: TestClient) -> None:
    form = {"grant_type": "password", "username": "admin", "password": "adminpass123", "access_type": "offline"}
    response = client.post("/token", data={**form, "service": "dockyard", "client_id": "tests"})
    assert response.status_code == 200
    refresh = response.json()["refresh_token"]

    response = client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": "dockyard",
            "client_id": "tests",
            "scope": "repository:admin/app:pull",
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "admin"
    assert claims["access"] == [{"type": "repository", "name": "admin/app", "actions": ["pull"]}]
    assert body["refresh_token"]

    # A refresh token is not an access token.
    assert_error(client.get("/v2/", headers={"Authorization": f"Bearer {refresh}"}), 401, "UNAUTHORIZED")


def test_bad_grants(client: TestClient) -> None:
    response = client.post("/token", data={"grant_type": "client_credentials", "client_id": "x"})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "unsupported_grant_type"
    response = client.post("/token", data={"client_id": "x"})
    assert response.status_code == 400
    response = client.post("/token", data={"grant_type": "password", "password": "adminpass123"})
    assert response.status_code == 400
    response = client.post("/token", data={"grant_type": "password", "username": "admin", "password": "nope-nope"})
    assert response.status_code == 401
    response = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": "not.a.token"})
    assert response.status_code == 401
    access = auth_for(client, "admin/app")["Authorization"].removeprefix("Bearer ")
    response = client.post("/token", data={"grant_type": "refresh_token", "refresh_token": access})
    assert response.status_code == 401
    response = client.post("/token", content=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400


# --- bearer tokens at the registry -----------------------------------------------------------------------------
def _forged(client: TestClient, key: bytes, **overrides: object) -> dict[str, str]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": "http://testserver",
        "sub": "admin",
        "aud": "dockyard",
        "iat": now,
        "nbf": now - 5,
        "exp": now + 300,
        "uid": 1,
        "adm": True,
        "access": [{"type": "repository", "name": "admin/app", "actions": ["pull", "push", "delete"]}],
    }
    claims.update(overrides)
    return {"Authorization": "Bearer " + jwt.encode(claims, key, algorithm="HS256")}


def test_tokens_signed_elsewhere_are_rejected(client: TestClient) -> None:
    key = services(client).registry.auth.key
    good = _forged(client, key)
    assert client.post("/v2/admin/app/blobs/uploads/", headers=good).status_code == 202

    for headers in (
        _forged(client, b"x" * 32),
        _forged(client, key, aud="another-registry"),
        _forged(client, key, exp=int(time.time()) - 120),
        _forged(client, key, nbf=int(time.time()) + 3600),
    ):
        for response in (
            client.get("/v2/", headers=headers),
            client.post("/v2/admin/app/blobs/uploads/", headers=headers),
        ):
            assert_error(response, 401, "UNAUTHORIZED")
            assert response.headers["www-authenticate"].startswith(CHALLENGE)


def test_unsigned_token_is_rejected(client: TestClient) -> None:
    header = jwt.encode({"sub": "admin", "aud": "dockyard", "exp": int(time.time()) + 300}, None, algorithm="none")
    response = client.get("/v2/", headers={"Authorization": f"Bearer {header}"})
    assert_error(response, 401, "UNAUTHORIZED")


def test_token_for_one_repository_does_not_open_another(client: TestClient) -> None:
    headers = auth_for(client, "admin/a", "pull,push")
    response = client.post("/v2/admin/b/blobs/uploads/", headers=headers)
    error = assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == CHALLENGE + ',scope="repository:admin/b:pull,push"'
    assert {d["Action"] for d in error["detail"]} == {"pull", "push"}
    assert client.post("/v2/admin/a/blobs/uploads/", headers=headers).status_code == 202


def test_pull_only_token_cannot_push_or_delete(client: TestClient) -> None:
    push_image(client, "admin/app", "v1", ADMIN)
    headers = auth_for(client, "admin/app", "pull")
    assert client.get("/v2/admin/app/manifests/v1", headers=headers).status_code == 200
    assert_error(client.post("/v2/admin/app/blobs/uploads/", headers=headers), 401, "UNAUTHORIZED")
    assert_error(client.delete("/v2/admin/app/manifests/v1", headers=headers), 401, "UNAUTHORIZED")


def test_unauthenticated_registry_requests_are_challenged_with_scope(client: TestClient) -> None:
    response = client.get("/v2/admin/app/manifests/v1")
    assert_error(response, 401, "UNAUTHORIZED")
    assert response.headers["www-authenticate"] == CHALLENGE + ',scope="repository:admin/app:pull"'
    response = client.post("/v2/admin/app/blobs/uploads/")
    assert response.headers["www-authenticate"] == CHALLENGE + ',scope="repository:admin/app:pull,push"'
    response = client.delete("/v2/admin/app/manifests/v1")
    assert response.headers["www-authenticate"] == CHALLENGE + ',scope="repository:admin/app:delete"'


# --- HTTP Basic straight to the registry -----------------------------------------------------------------------
def test_basic_auth_at_the_registry(world: TestClient) -> None:
    client = world
    alice = basic("alice", PASSWORD)
    body, digest = push_image(client, "alice/app", "v1", alice)
    response = client.get("/v2/alice/app/manifests/v1", headers=alice)
    assert response.status_code == 200
    assert response.content == body
    # Others' namespaces: read what is public, nothing else.
    assert client.get("/v2/admin/public/manifests/v1", headers=alice).status_code == 200
    assert_error(client.get("/v2/admin/secret/manifests/v1", headers=alice), 401, "UNAUTHORIZED")
    assert_error(client.post("/v2/admin/public/blobs/uploads/", headers=alice), 401, "UNAUTHORIZED")
    # Org roles.
    bob, carol = basic("bob", PASSWORD), basic("carol", PASSWORD)
    push_image(client, "acme/tool", "v1", bob)
    assert client.get("/v2/acme/secret/tags/list", headers=bob).status_code == 200
    assert_error(client.post("/v2/acme/tool/blobs/uploads/", headers=carol), 401, "UNAUTHORIZED")
    assert_error(client.get("/v2/acme/secret/tags/list", headers=carol), 401, "UNAUTHORIZED")
    assert client.get("/v2/acme/tool/tags/list", headers=carol).json()["tags"] == ["v1"]
    # Wrong password: the challenge, never a partial answer.
    response = client.get("/v2/alice/app/manifests/v1", headers=basic("alice", "wrong-password"))
    assert_error(response, 401, "UNAUTHORIZED")
    assert digest
