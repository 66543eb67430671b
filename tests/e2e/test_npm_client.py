"""The npm `docker-hub-api` package (tests/npm) against a running Dockyard: tests/npm/drive.js calls every method
the package does not break itself, through the tests/npm/hub-redirect.js preload that swaps its hard-coded
https://hub.docker.com for the server, and this test checks the effect of each call on the server.

The package sends `Authorization: JWT <token>`, lower-cases user names, adds a trailing slash unless the path has
a `?`, unwraps `results` from list answers and treats any body with a `detail` key as an error, so every call
that resolves proves those conventions too. `setRepositoryPrivacy` always rejects inside the package (it reads an
undefined variable) and is not called; `webhooks` asks for the doubled path `repositories/{u}/{n}/repositories/
webhooks`, which the server serves on purpose.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.pushing import push
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import FAST
from tests.support.layout import ImageLayout
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e

NPM_DIR = Path(__file__).resolve().parents[1] / "npm"
PACKAGE = NPM_DIR / "node_modules" / "docker-hub-api"
SETTINGS = {**FAST, "DOCKYARD_ALLOW_SIGNUP": "true"}


@pytest.fixture(scope="module")
def hub_server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardServer]:
    root = tmp_path_factory.mktemp("npm")
    running = DockyardServer(root / "data", module_database_url, admin_password=ADMIN_PASSWORD, settings=SETTINGS)
    running.start()
    yield running
    running.stop()


def node() -> str:
    found = shutil.which("node")
    if found is None or not PACKAGE.is_dir():
        pytest.skip("node or tests/npm/node_modules is missing (scripts/setup.sh --test installs them)")
    return found


def signed_in(base: str, username: str, password: str) -> httpx.Client:
    answer = httpx.post(f"{base}/v2/users/login", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {answer.json()['token']}"})


def signup(base: str, username: str) -> str:
    password = f"{username}-password"
    answer = httpx.post(
        f"{base}/v1/users/", json={"username": username, "password": password, "email": f"{username}@example.com"}
    )
    assert answer.status_code == 201, answer.text
    return password


def ok(response: httpx.Response, *codes: int) -> Any:
    request = response.request
    assert response.status_code in (codes or (200,)), f"{request.method} {request.url}: {response.text}"
    return response.json() if response.content else None


def test_every_method_of_the_npm_package(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    executable = node()
    base = hub_server.base_url
    user, collaborator = f"npm{unique}", f"pal{unique}"
    password = signup(base, user)
    signup(base, collaborator)
    repo, made, doomed, library_repo = "app", "made", "doomed", f"base{unique}"

    layout = ImageLayout(tmp_path / "layout")
    for tag in ("v1", "v2"):
        push(base, user, password, f"{user}/{repo}", tag, layout, layout.add_image(tag, label=f"npm-{tag}-{unique}"))
    with signed_in(base, user, password) as alice, signed_in(base, "admin", ADMIN_PASSWORD) as admin:
        ok(alice.post("/v2/repositories/", json={"namespace": user, "name": doomed}), 201)
        ok(admin.post("/v2/repositories/", json={"namespace": "library", "name": library_repo}), 201)
        ok(alice.post(f"/v2/repositories/{user}/{repo}/comments/", json={"comment": "hello from npm"}), 201)

    config = {
        "user": user,
        "password": password,
        "collaborator": collaborator,
        "repo": repo,
        "made": made,
        "doomed": doomed,
        "library_repo": library_repo,
        "hook_url": "http://127.0.0.1:9/hook",
        "source_url": "https://git.invalid/npm/app.git",
    }
    env = {**os.environ, "DOCKER_HUB_API_BASE": base, "DRIVE_CONFIG": json.dumps(config)}
    run = subprocess.run(
        [executable, "--require", "./hub-redirect.js", "drive.js"],
        cwd=NPM_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    results: dict[str, dict[str, Any]] = json.loads(run.stdout)
    failed = {name: r["error"] for name, r in results.items() if not r["ok"] and name != "loggedInUser:afterLogout"}
    assert failed == {}, json.dumps(failed, indent=1)
    got: dict[str, Any] = {name: r.get("result") for name, r in results.items()}

    # Answers the package hands back (already unwrapped from `results` for list methods).
    assert got["login"]["token"]
    assert got["loggedInUser"]["username"] == user
    assert got["user"]["username"] == user
    assert got["registrySettings"]["default_repo_visibility"] == "public"
    assert got["repository"]["name"] == repo and got["repository"]["namespace"] == user
    assert {r["name"] for r in got["repositories"]} >= {repo, made}
    assert {t["name"] for t in got["tags"]} == {"v1", "v2"}
    assert [c["comment"] for c in got["comments"]] == ["hello from npm"]
    assert [r["name"] for r in got["repositoriesStarred"]] == [repo]
    assert [c["user"] for c in got["collaborators"]] == [collaborator]
    assert [w["name"] for w in got["webhooks"]] == ["ci"]
    assert got["buildSettings"]["build_tags"] is not None
    assert got["buildHistory"] and got["buildDetails"]["build_code"] == got["buildHistory"][0]["build_code"]
    assert [link["to_repo"] for link in got["buildLinks"]] == [f"{user}/{made}"]
    # logout() revoked the token the package still holds.
    assert not results["loggedInUser:afterLogout"]["ok"]

    # The effects, as the server sees them.
    with signed_in(base, user, password) as http:
        shown = ok(http.get(f"/v2/repositories/{user}/{repo}/"))
        assert shown["description"] == "short from npm"
        assert shown["full_description"] == "full from npm"
        created = ok(http.get(f"/v2/repositories/{user}/{made}/"))
        assert created["description"] == "made by npm" and created["full_description"] == "# Made"
        assert not created["is_private"]
        assert http.get(f"/v2/repositories/{user}/{doomed}/").status_code == 404
        tags = ok(http.get(f"/v2/repositories/{user}/{repo}/tags"))
        assert [t["name"] for t in tags["results"]] == ["v1"]
        starred = ok(http.get(f"/v2/users/{user}/repositories/starred"))
        assert [r["name"] for r in starred["results"]] == [repo]
        assert ok(http.get(f"/v2/repositories/{user}/{repo}/"))["star_count"] == 1
        assert ok(http.get(f"/v2/repositories/{user}/{made}/"))["star_count"] == 0
        collaborators = ok(http.get(f"/v2/repositories/{user}/{repo}/collaborators/"))
        assert [c["user"] for c in collaborators["results"]] == [collaborator]
        assert ok(http.get(f"/v2/repositories/{user}/{made}/collaborators/"))["results"] == []
        webhooks = ok(http.get(f"/v2/repositories/{user}/{repo}/webhooks/"))["results"]
        assert [w["name"] for w in webhooks] == ["ci"]
        assert [h["hook_url"] for h in webhooks[0]["hooks"]] == [config["hook_url"]]
        settings = ok(http.get(f"/v2/repositories/{user}/{repo}/autobuild/"))
        assert settings["active"] and settings["source_url"] == config["source_url"]
        rules = [(t["name"], t["source_name"]) for t in settings["build_tags"]]
        assert rules == [("latest", "master"), ("nightly", "develop")]
        builds = ok(http.get(f"/v2/repositories/{user}/{repo}/buildhistory/"))["results"]
        assert [b["source_name"] for b in builds] == ["develop"]
        assert ok(http.get(f"/v2/repositories/{user}/{repo}/buildtrigger/"))
        links = ok(http.get(f"/v2/repositories/{user}/{repo}/links/"))["results"]
        assert [link["to_repo"] for link in links] == [f"{user}/{made}"]
