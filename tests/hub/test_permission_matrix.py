"""Who may do what, route by route: every kind of caller against a public and a private repository of an
organisation, for every Hub API route family, the registry's token service and its catalog.

The expectation comes from the caller's permission on the repository (READ < WRITE < ADMIN), which
accounts/permissions.py `decide` defines, and the permission each route needs:
- below READ, a private repository does not exist for the caller: 404 everywhere, and it is left out of every
  listing (repositories, search, catalog) and gets no registry token action;
- READ but below what the route needs: 401 for anonymous callers, 403 for the others;
- enough: the route's success status.
All results are collected first and compared as one table, so a failure shows every cell that differs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.accounts.permissions import Permission
from tests.conftest import basic
from tests.registry.helpers import (
    ADMIN,
    PASSWORD,
    cheap_password_hashing,
    create_org,
    create_user,
    push_image,
    set_member,
    set_private,
)


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its lowest cost: the matrix signs in many callers."""
    cheap_password_hashing(monkeypatch)


NONE, READ, WRITE, ADMIN_ = Permission.NONE, Permission.READ, Permission.WRITE, Permission.ADMIN
ORG = "acme"
USER = "owner"
# The repositories, by (namespace, visibility): collaborators exist only on a user's repositories, teams and
# organisation access tokens only on an organisation's.
TARGETS = {
    "org public": f"{ORG}/pub",
    "org private": f"{ORG}/priv",
    "user public": f"{USER}/pub",
    "user private": f"{USER}/priv",
}
PRIVATE = {f"{ORG}/priv", f"{USER}/priv"}
PRIVATE_SIDE = {"org private", "user private"}


@dataclass(frozen=True)
class Caller:
    name: str
    levels: tuple[Permission, Permission, Permission, Permission]  # on TARGETS, in order
    hub: dict[str, str]  # Hub API headers ({} for anonymous)
    registry: dict[str, str]  # registry headers (HTTP Basic; {} for anonymous)
    is_user: bool = True  # False: anonymous or an organisation access token

    def level(self, target: str) -> Permission:
        return self.levels[list(TARGETS).index(target)]


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {ns} and {repo} are filled in
    need: Permission
    ok: int = 200
    body: dict[str, Any] | Callable[[str], dict[str, Any]] | None = None
    user_only: bool = False  # refused (403) to an organisation access token, as Docker Hub's user routes are
    destructive: bool = False  # only called by callers that may not do it
    registry_auth: bool = False  # the v1 index API: HTTP Basic, as docker sends it


REPO = "/v2/repositories/{ns}/{repo}"
NSREPO = "/v2/namespaces/{ns}/repositories/{repo}"
ROUTES = [
    Route("repository get", "GET", REPO + "/", READ),
    Route("repository get (namespaces)", "GET", NSREPO, READ),
    Route("repository update", "PATCH", REPO + "/", WRITE, body={"description": "matrix"}),
    Route("repository privacy", "POST", REPO + "/privacy/", ADMIN_, body=lambda t: {"is_private": t in PRIVATE_SIDE}),
    Route("repository delete", "DELETE", REPO + "/", ADMIN_, ok=202, destructive=True),
    Route("tags list", "GET", REPO + "/tags", READ),
    Route("tags list (namespaces)", "GET", NSREPO + "/tags", READ),
    Route("tag get", "GET", REPO + "/tags/v1", READ),
    Route("tag head (namespaces)", "HEAD", NSREPO + "/tags/v1", READ),
    Route("tag delete", "DELETE", REPO + "/tags/v1", ADMIN_, ok=204, destructive=True),
    Route("images list", "GET", NSREPO + "/images", READ),
    Route("images summary", "GET", NSREPO + "/images-summary", READ),
    Route("star", "POST", REPO + "/stars/", READ, ok=201, user_only=True),
    Route("unstar", "DELETE", REPO + "/stars/", READ, ok=204, user_only=True),
    Route("comments list", "GET", REPO + "/comments/", READ),
    Route("comment", "POST", REPO + "/comments/", READ, ok=201, body={"comment": "hi"}, user_only=True),
    Route("collaborators list", "GET", REPO + "/collaborators/", WRITE),
    Route("webhooks list", "GET", REPO + "/webhooks/", ADMIN_),
    Route("build history", "GET", REPO + "/buildhistory/", READ),
    Route("build links", "GET", REPO + "/links/", READ),
    Route("v1 images", "GET", "/v1/repositories/{ns}/{repo}/images", READ, registry_auth=True),
]


def login(client: TestClient, username: str, password: str) -> dict[str, str]:
    answer = client.post("/v2/users/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def build_world(client: TestClient) -> list[Caller]:
    for name in ("owner", "member", "collab", "outsider", "treader", "twriter", "tadmin"):
        create_user(client, name)
    create_org(client, ORG, "owner")
    for name in ("member", "treader", "twriter", "tadmin"):
        set_member(client, ORG, name, "member")
    for path in TARGETS.values():
        push_image(client, path, "v1", ADMIN)
    for path in PRIVATE:
        set_private(client, path)
    owner = login(client, "owner", PASSWORD)
    for team, grant in (("treader", "read"), ("twriter", "write"), ("tadmin", "admin")):
        made = client.post(f"/v2/orgs/{ORG}/groups", json={"name": team}, headers=owner)
        assert made.status_code == 201, made.text
        added = client.post(f"/v2/orgs/{ORG}/groups/{team}/members", json={"member": team}, headers=owner)
        assert added.status_code in (200, 201), added.text
        for repo in ("pub", "priv"):
            granted = client.post(
                f"/v2/repositories/{ORG}/{repo}/groups",
                json={"group_id": made.json()["id"], "permission": grant},
                headers=owner,
            )
            assert granted.status_code in (200, 201), granted.text
    for repo in ("pub", "priv"):
        collaborator = {"user": "collab", "permission": "write"}
        added = client.post(f"/v2/repositories/{USER}/{repo}/collaborators/", json=collaborator, headers=owner)
        assert added.status_code == 201, added.text

    callers = [
        Caller("anonymous", (READ, NONE, READ, NONE), {}, {}, is_user=False),
        user_caller(client, "outsider", "outsider", (READ, NONE, READ, NONE)),
        Caller("owner", (ADMIN_, ADMIN_, ADMIN_, ADMIN_), owner, basic("owner", PASSWORD)),
        user_caller(client, "org member", "member", (READ, NONE, READ, NONE)),
        user_caller(client, "collaborator (write)", "collab", (READ, NONE, WRITE, WRITE)),
        user_caller(client, "team read", "treader", (READ, READ, READ, NONE)),
        user_caller(client, "team write", "twriter", (WRITE, WRITE, READ, NONE)),
        user_caller(client, "team admin", "tadmin", (ADMIN_, ADMIN_, READ, NONE)),
    ]
    for scope, levels in (
        ("repo:admin", (ADMIN_, ADMIN_, ADMIN_, ADMIN_)),
        ("repo:write", (WRITE, WRITE, WRITE, WRITE)),
        ("repo:read", (READ, READ, READ, READ)),
        ("repo:public_read", (READ, NONE, READ, NONE)),
    ):
        made = client.post("/v2/access-tokens", json={"token_label": scope, "scopes": [scope]}, headers=owner)
        assert made.status_code == 201, made.text
        secret = made.json()["token"]
        callers.append(Caller(f"PAT {scope}", levels, login(client, "owner", secret), basic("owner", secret)))
    resources = [{"type": "TYPE_REPO", "path": f"{ORG}/{repo}", "scopes": ["repo-pull"]} for repo in ("pub", "priv")]
    made = client.post(f"/v2/orgs/{ORG}/access-tokens", json={"label": "ci", "resources": resources}, headers=owner)
    assert made.status_code == 201, made.text
    secret = made.json()["token"]
    session = client.post("/v2/auth/token", json={"identifier": ORG, "secret": secret})
    assert session.status_code == 200, session.text
    oat = {"Authorization": f"Bearer {session.json()['access_token']}"}
    # Its grants name acme's repositories only: another namespace's, even public, are outside them.
    callers.append(Caller("org access token", (READ, READ, NONE, NONE), oat, basic(ORG, secret), is_user=False))
    return callers


def user_caller(client: TestClient, label: str, username: str, levels: tuple[Permission, ...]) -> Caller:
    return Caller(label, levels, login(client, username, PASSWORD), basic(username, PASSWORD))  # type: ignore[arg-type]


def expected(caller: Caller, target: str, route: Route) -> int:
    level = caller.level(target)
    if not caller.hub and (route.need > READ or route.user_only):
        # Signing in comes first, for a repository that exists or not alike, so this reveals nothing.
        return 401
    if level < READ:
        return 404
    if route.user_only and caller.hub and not caller.is_user:
        return 403
    if level < route.need:
        return 401 if not caller.hub else 403
    return route.ok


def test_the_permission_matrix(client: TestClient) -> None:
    callers = build_world(client)
    want: dict[tuple[str, str, str], Any] = {}
    got: dict[tuple[str, str, str], Any] = {}
    for caller in callers:
        for target, full in TARGETS.items():
            ns, repo = full.split("/")
            for route in ROUTES:
                status = expected(caller, target, route)
                if route.destructive and status == route.ok:
                    continue
                path = route.path.format(ns=ns, repo=repo)
                body = route.body(target) if callable(route.body) else route.body
                headers = caller.registry if route.registry_auth else caller.hub
                answer = client.request(route.method, path, json=body, headers=headers)
                key = (caller.name, target, route.name)
                want[key], got[key] = status, answer.status_code
                if route.method != "HEAD" and answer.status_code >= 400:
                    assert "detail" in answer.json(), (key, answer.text)

            level = caller.level(target)
            # Listings show every public repository to everyone (anonymous callers see them too); a private one is
            # in them exactly when the caller may read it.
            listed = client.get(f"/v2/repositories/{ns}/", params={"page_size": 100}, headers=caller.hub)
            key = (caller.name, target, "repository list")
            want[key] = level >= READ or full not in PRIVATE
            got[key] = listed.status_code == 200 and repo in {r["name"] for r in listed.json()["results"]}
            found = client.get("/v2/search/repositories/", params={"query": repo}, headers=caller.hub)
            key = (caller.name, target, "search")
            want[key] = level >= READ or full not in PRIVATE
            names = {r["repo_name"] for r in found.json()["results"]} if found.status_code == 200 else set()
            got[key] = full in names

            # The registry's token service grants what the caller may do, and nothing on what it may not see.
            scope = f"repository:{full}:pull,push,delete"
            token = client.get("/token", params={"service": "dockyard", "scope": scope}, headers=caller.registry)
            key = (caller.name, target, "registry token")
            allowed = [a for a, need in (("pull", READ), ("push", WRITE), ("delete", ADMIN_)) if level >= need]
            want[key] = sorted(allowed)
            got[key] = sorted(token_actions(token.json()["token"])) if token.status_code == 200 else token.status_code

            if caller.registry:
                catalog = client.get("/v2/_catalog", headers=caller.registry)
                key = (caller.name, target, "catalog")
                want[key] = level >= READ or full not in PRIVATE
                got[key] = catalog.status_code == 200 and full in catalog.json()["repositories"]
    differences = {key: (want[key], got[key]) for key in want if want[key] != got[key]}
    assert differences == {}, "\n".join(f"{k}: want {w!r}, got {g!r}" for k, (w, g) in sorted(differences.items()))


def token_actions(token: str) -> list[str]:
    import jwt

    claims = jwt.decode(token, options={"verify_signature": False})
    return [action for entry in claims.get("access", []) for action in entry.get("actions", [])]


def test_audit_logs_are_for_the_organisation_owners(client: TestClient) -> None:
    callers = {caller.name: caller for caller in build_world(client)}
    got = {name: client.get(f"/v2/auditlogs/{ORG}", headers=caller.hub).status_code for name, caller in callers.items()}
    # Anyone but the owners (and their tokens) is told the log does not exist, like a private repository.
    want = {name: 404 for name in callers}
    want["anonymous"] = 401
    want.update({name: 200 for name in callers if name == "owner" or name.startswith("PAT ")})
    assert got == want, sorted(got.items())
