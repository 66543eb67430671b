"""Stars (star, unstar, counts, the starred list) and registry settings (the private-repository quota)."""

from __future__ import annotations

from click.testing import CliRunner
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.cli.main import main
from dockyard.config import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.hub.content.helpers import admin, create_repo, push, user


def test_star_and_unstar(client: TestClient) -> None:
    push(client, "admin/app", "v1")
    bob = user(client, "bob")
    carol = user(client, "carol")
    assert client.post("/v2/repositories/admin/app/stars/", json={}).status_code == 401
    response = client.post("/v2/repositories/admin/app/stars/", json={}, headers=bob)
    assert response.status_code == 201 and response.content == b""
    assert client.post("/v2/repositories/admin/app/stars", headers=bob).status_code == 201  # twice is still one star
    assert client.post("/v2/repositories/admin/app/stars/", json={}, headers=carol).status_code == 201
    info = client.get("/v2/repositories/admin/app/", headers=bob).json()
    assert info["star_count"] == 2 and info["has_starred"] is True
    assert client.get("/v2/repositories/admin/app/").json()["has_starred"] is False
    assert client.get("/v2/namespaces/admin/repositories").json()["results"][0]["star_count"] == 2
    assert client.delete("/v2/repositories/admin/app/stars/", headers=bob).status_code == 204
    assert client.delete("/v2/repositories/admin/app/stars", headers=bob).status_code == 204
    assert client.get("/v2/repositories/admin/app/", headers=bob).json()["star_count"] == 1
    assert client.post("/v2/repositories/admin/nope/stars/", json={}, headers=bob).status_code == 404


def test_starred_list_hides_what_the_caller_cannot_see(client: TestClient) -> None:
    headers = admin(client)
    for name in ("open", "closed"):
        assert create_repo(client, headers, "admin", name).status_code == 201
        assert client.post(f"/v2/repositories/admin/{name}/stars/", json={}, headers=headers).status_code == 201
    client.post("/v2/repositories/admin/closed/privacy/", json={"is_private": True}, headers=headers)
    mine = client.get("/v2/users/admin/repositories/starred", params={"page_size": 10, "page": 1}, headers=headers)
    assert [r["name"] for r in mine.json()["results"]] == ["closed", "open"]
    assert mine.json()["count"] == 2
    anonymous = client.get("/v2/users/admin/repositories/starred/").json()
    assert anonymous["count"] == 1 and anonymous["results"][0]["name"] == "open"
    assert anonymous["results"][0]["star_count"] == 1
    assert client.get("/v2/users/nobody/repositories/starred").status_code == 404
    assert client.get("/v2/users/admin/repositories/starred", params={"page": 2}).status_code == 404


def test_registry_settings_report_and_enforce_the_private_quota(client: TestClient) -> None:
    headers = admin(client)
    bob = user(client, "bob")
    settings = client.get("/v2/users/bob/registry-settings/", headers=bob)
    assert settings.status_code == 200
    assert settings.json() == {
        "private_repo_used": 0,
        "num_free_private_repos": None,
        "private_repo_limit": None,
        "private_repo_available": None,
        "private_repo_percent_used": 0.0,
        "default_repo_visibility": "public",
    }
    assert client.get("/v2/users/bob/registry-settings").status_code == 401
    assert client.get("/v2/users/admin/registry-settings/", headers=bob).status_code == 403
    assert client.get("/v2/users/nobody/registry-settings/", headers=headers).status_code == 404

    assert (
        client.patch("/v2/users/bob/registry-settings/", json={"private_repo_limit": 5}, headers=bob).status_code == 403
    )
    assert (
        client.patch("/v2/users/bob/registry-settings/", json={"private_repo_limit": -1}, headers=headers).status_code
        == 400
    )
    assert client.patch("/v2/users/bob/registry-settings/", json={}, headers=headers).status_code == 400
    limited = client.patch("/v2/users/bob/registry-settings/", json={"private_repo_limit": 1}, headers=headers)
    assert limited.status_code == 200 and limited.json()["private_repo_limit"] == 1

    assert create_repo(client, bob, "bob", "first", is_private=True).status_code == 201
    over = create_repo(client, bob, "bob", "second", is_private=True)
    assert over.status_code == 403 and "private" in over.json()["detail"]
    assert create_repo(client, bob, "bob", "second").status_code == 201
    refused = client.post("/v2/repositories/bob/second/privacy/", json={"is_private": True}, headers=bob)
    assert refused.status_code == 403
    assert client.get("/v2/repositories/bob/second/", headers=bob).json()["is_private"] is False
    used = client.get("/v2/users/bob/registry-settings/", headers=bob).json()
    assert used["private_repo_used"] == 1 and used["private_repo_available"] == 0
    assert used["private_repo_percent_used"] == 100.0

    # Making a private repository public frees its place; lifting the limit lifts the check.
    assert (
        client.post("/v2/repositories/bob/first/privacy/", json={"is_private": False}, headers=bob).status_code == 200
    )
    assert (
        client.post("/v2/repositories/bob/second/privacy/", json={"is_private": True}, headers=bob).status_code == 200
    )
    client.patch("/v2/users/bob/registry-settings/", json={"private_repo_limit": None}, headers=headers)
    assert create_repo(client, bob, "bob", "third", is_private=True).status_code == 201


def test_the_admin_cli_sets_the_quota(settings: Settings) -> None:
    env = {
        "DOCKYARD_DATA_DIR": str(settings.data_dir),
        "DOCKYARD_DATABASE_URL": settings.database_url,
        "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    runner = CliRunner()
    command = ["admin", "set-private-repo-limit"]
    result = runner.invoke(main, [*command, "admin", "0"], env=env)
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, [*command, "nobody", "3"], env=env).exit_code == 1
    assert runner.invoke(main, [*command, "admin", "lots"], env=env).exit_code == 2
    with TestClient(create_app(settings)) as client:
        headers = admin(client)
        assert client.get("/v2/users/admin/registry-settings/", headers=headers).json()["private_repo_limit"] == 0
        assert create_repo(client, headers, "admin", "hidden", is_private=True).status_code == 403
    assert runner.invoke(main, [*command, "admin", "unlimited"], env=env).exit_code == 0
    with TestClient(create_app(settings)) as client:
        assert create_repo(client, admin(client), "admin", "hidden", is_private=True).status_code == 201
