"""The client commands of `dockyard` against a running Dockyard: login (with a second factor too) and the stored
credentials, repositories, tags, tokens, an image prune with its warnings and confirmation, organisations, the
exit codes, and (when the server has the DVP Data API) analytics pulls and an export download.

Commands run in-process with click's CliRunner, with HOME and XDG_CONFIG_HOME in the test's temporary directory;
one test runs the installed `dockyard` as a subprocess.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from click.testing import CliRunner, Result

from dockyard.cli.main import main
from dockyard.client import Hub, NotFound
from tests.client.analytics_data import seed_pulls
from tests.client.pushing import push
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import FAST
from tests.support.layout import ImageLayout
from tests.support.server import DockyardServer, dockyard_executable

pytestmark = pytest.mark.e2e

SETTINGS = {
    **FAST,
    "DOCKYARD_ALLOW_SIGNUP": "true",
    "DOCKYARD_PULL_LIMIT_ANONYMOUS": "1000",
    "DOCKYARD_PULL_LIMIT_AUTHENTICATED": "2000",
    # seed_pulls runs the analytics job itself: a periodic run holding the job's lease would make it skip.
    "DOCKYARD_ANALYTICS_INTERVAL_SECONDS": "0",
}


@pytest.fixture(scope="module")
def hub_server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardServer]:
    root = tmp_path_factory.mktemp("cli-client")
    running = DockyardServer(root / "data", module_database_url, admin_password=ADMIN_PASSWORD, settings=SETTINGS)
    running.start()
    yield running
    running.stop()


def new_user(server: DockyardServer, name: str) -> tuple[str, str]:
    password = f"{name}-password"
    with Hub(server.base_url) as hub:
        hub.signup(name, password, f"{name}@example.com")
    return name, password


class Cli:
    """`dockyard ...` in-process, with its own HOME and XDG_CONFIG_HOME."""

    def __init__(self, root: Path) -> None:
        self.home = root / "home"
        self.config = root / "xdg"
        self.runner = CliRunner(
            env={"HOME": str(self.home), "XDG_CONFIG_HOME": str(self.config), "DOCKYARD_SERVER": None}
        )

    @property
    def credentials(self) -> Path:
        return self.config / "dockyard" / "credentials.json"

    def __call__(
        self, *args: str, input: str | None = None, code: int = 0, env: dict[str, str] | None = None
    ) -> Result:
        result = self.runner.invoke(main, list(args), input=input, env=env, catch_exceptions=False)
        assert result.exit_code == code, (
            f"dockyard {' '.join(args)} exited with {result.exit_code}, not {code}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self(*args, "--format", "json").stdout)


def test_a_session_with_repositories_tags_and_tokens(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    user, password = new_user(hub_server, f"cli{unique}")
    cli = Cli(tmp_path)

    # Not logged in: anonymous, refused by the server with exit code 1 and its message on stderr.
    refused = cli("account", "info", code=1, env={"DOCKYARD_SERVER": base})
    assert refused.stderr.startswith("Error: 401")

    logged_in = cli("login", "--server", base, input=f"{user}\n{password}\n")
    assert "Login Succeeded" in logged_in.stdout
    assert password not in logged_in.output  # the prompt does not echo
    assert stat.S_IMODE(cli.credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(cli.credentials.parent.stat().st_mode) == 0o700
    stored = cli.credentials.read_text()
    assert password not in stored and '"refresh_token"' in stored and user in stored

    assert cli.json("account", "info")["user"]["username"] == user
    assert "Private repositories" in cli("account", "info").stdout

    created = cli("repo", "create", f"{user}/app", "--private", "--description", "An app")
    assert "private" in created.stdout
    assert [(r["name"], r["is_private"]) for r in cli.json("repo", "ls")] == [("app", True)]
    assert f"{user}/app" in cli("repo", "ls", user).stdout

    layout = ImageLayout(tmp_path / "layout")
    image = layout.add_image("v1", label=f"cli-{unique}")
    push(base, user, password, f"{user}/app", "v1", layout, image)
    assert [t["name"] for t in cli.json("tag", "ls", f"{user}/app")] == ["v1"]
    inspected = cli.json("tag", "inspect", f"{user}/app:v1")
    assert inspected["tag"]["digest"] == inspected["manifest"]["digest"] == image.digest
    assert "linux/amd64" in cli("tag", "inspect", f"{user}/app:v1").stdout

    described = cli("repo", "describe", f"{user}/app", "--description", "Now public", "--public")
    assert "Now public" in described.stdout and "public" in described.stdout
    assert cli.json("repo", "describe", f"{user}/app")["is_private"] is False

    limits = cli.json("account", "rate-limiting", "--repository", f"{user}/app:v1")
    assert limits["limit"] == 2000 and limits["window_seconds"] == 21600
    assert "2000" in cli("account", "rate-limiting", "--repository", f"{user}/app:v1").stdout

    secret = cli("token", "create", "--label", "ci", "--scope", "repo:read", "--quiet").stdout.strip()
    assert secret.startswith("dckr_pat_")
    [listed] = cli.json("token", "ls")
    uuid = listed["uuid"]
    assert (listed["token_label"], listed["scopes"], listed["token"]) == ("ci", ["repo:read"], "")
    assert "repo:read" in cli("token", "inspect", uuid).stdout
    cli("token", "deactivate", uuid)
    assert cli.json("token", "inspect", uuid)["is_active"] is False
    cli("token", "activate", uuid)
    assert cli.json("token", "inspect", uuid)["is_active"] is True
    cli("token", "rm", uuid, input="n\n", code=1)  # declined: nothing happens
    assert len(cli.json("token", "ls")) == 1
    cli("token", "rm", uuid, "--force")
    assert cli.json("token", "ls") == []

    # Usage errors exit with 2, refusals with 1 and the server's message.
    assert "404" in cli("repo", "describe", f"{user}/missing", code=1).stderr
    cli("tag", "inspect", f"{user}/app", code=2)
    cli("repo", "ls", "--ordering", "sideways", code=2)
    cli("repo", "ls", "--format", "xml", code=2)

    cli("tag", "rm", f"{user}/app:v1", input="y\n")
    assert cli.json("tag", "ls", f"{user}/app") == []
    cli("repo", "rm", f"{user}/app", input="n\n", code=1)
    assert len(cli.json("repo", "ls")) == 1
    cli("repo", "rm", f"{user}/app", "--force")
    assert cli.json("repo", "ls") == []

    # A session revoked elsewhere: the refusal says to log in again.
    [stored] = json.loads(cli.credentials.read_text())["servers"].values()
    with Hub(base, token=stored["token"], refresh_token=stored["refresh_token"]) as elsewhere:
        elsewhere.logout()
    assert "run `dockyard login` again" in cli("account", "info", code=1).stderr

    assert "Removing login credentials" in cli("logout").stdout
    assert user not in cli.credentials.read_text()
    cli("account", "info", code=1)


def test_login_with_a_second_factor_then_prune(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    user, password = new_user(hub_server, f"otp{unique}")
    with Hub(base, username=user, password=password) as hub:
        pusher = hub.create_access_token("push").token  # with a second factor, the password alone cannot push
        totp = pyotp.TOTP(hub.enable_totp().secret)
        hub.confirm_totp(totp.now())
    cli = Cli(tmp_path)
    cli("login", "--server", base, "-u", user, "--password-stdin", input=f"{password}\n", code=1)  # no code
    cli("login", "--server", base, "-u", user, "--password-stdin", input=f"{password}\n000000\n", code=1)
    logged_in = cli(
        "login", "--server", base, "-u", user, "--password-stdin", input=f"{password}\n{totp.at(time.time() + 30)}\n"
    )
    assert "Login Succeeded" in logged_in.stdout
    assert cli.json("account", "info")["user"]["username"] == user

    layout = ImageLayout(tmp_path / "layout")
    old = layout.add_image("old", label=f"old-{unique}")
    new = layout.add_image("new", label=f"new-{unique}")
    push(base, user, pusher, f"{user}/app", "old", layout, old)
    push(base, user, pusher, f"{user}/app", "new", layout, new)
    assert {i["digest"] for i in cli.json("image", "ls", f"{user}/app")} == {old.digest, new.digest}
    assert "Nothing to prune" in cli("image", "prune", f"{user}/app").stdout  # both are active

    declined = cli("image", "prune", f"{user}/app", "--status", "all", input="n\n", code=1)
    assert "Images to delete (dry run)" in declined.stdout
    assert "tagged old" in declined.stdout and "tagged new" in declined.stdout
    assert "active (pushed or pulled recently)" in declined.stdout
    assert "accepting 4 warning(s)" in declined.stderr
    assert len(cli.json("image", "ls", f"{user}/app")) == 2

    pruned = cli("image", "prune", f"{user}/app", "--status", "all", input="y\n")
    assert "Deleted 2 image(s) and 2 tag(s)" in pruned.stdout
    assert cli.json("image", "ls", f"{user}/app") == []

    push(base, user, pusher, f"{user}/app", "again", layout, old)
    forced = cli.json("image", "prune", f"{user}/app", "--active-from", "2999-01-01T00:00:00Z", "--force")
    assert [w["warning"] for w in forced["dry_run"]["warnings"]] == ["current_tag"]
    assert forced["result"]["metrics"]["manifest_deletes"] == 1


def test_organisation_commands(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    owner, password = new_user(hub_server, f"own{unique}")
    member, member_password = new_user(hub_server, f"mem{unique}")
    org = f"team{unique}"
    with Hub(base, username=owner, password=password) as hub:
        hub.create_org(org, full_name="A Team")
        hub.create_group(org, "devs", "developers")
        hub.invite(org, [member], team="devs")
    with Hub(base, username=member, password=member_password) as invitee:
        invitee.accept_invite(invitee.my_invites()[0].id)
    cli = Cli(tmp_path)
    cli("login", "--server", base, "-u", owner, "--password-stdin", input=f"{password}\n")
    assert [o["orgname"] for o in cli.json("org", "ls")] == [org]
    members = {m["username"]: m["role"] for m in cli.json("org", "members", org)}
    assert members == {owner: "Owner", member: "Member"}
    teams = {t["name"]: t["member_count"] for t in cli.json("org", "teams", org)}
    assert teams["devs"] == 1
    table = cli("org", "teams", org).stdout
    assert "devs" in table and "developers" in table
    assert "Not logged in" not in cli("logout").stdout
    assert "Not logged in" in cli("logout").stdout


def test_analytics_commands(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    user, password = new_user(hub_server, f"ana{unique}")
    with Hub(base, username=user, password=password) as hub:
        try:
            hub.analytics_discovery()
        except NotFound:
            pytest.skip("this server does not serve the DVP Data API yet")
    start = seed_pulls(hub_server, f"{user}/app", tmp_path)
    cli = Cli(tmp_path)
    cli("login", "--server", base, "-u", user, "--password-stdin", input=f"{password}\n")
    shown = cli("analytics", "pulls", user, "--timespan", "months", "--period", "last-6-months")
    assert "Pulls of" in shown.stdout and "Pulls per period" in shown.stdout
    assert sum(p["pullCount"] for p in cli.json("analytics", "pulls", user, "--repo", "app")["pulls"]) == 6
    out = tmp_path / "out"
    year, month = str(start.year), str(start.month)
    exported = cli("analytics", "export", user, "--year", year, "--month", month, "--view", "raw", "--output", str(out))
    files = sorted(out.iterdir())
    assert files and sorted(exported.stdout.split()) == [str(f) for f in files]  # progress bars go to stderr
    assert "".join(f.read_text() for f in files).count("pull_by_tag") == 6
    cli("analytics", "export", user, "--year", year, "--view", "raw", "--output", str(out), code=2)
    cli(
        "analytics",
        "export",
        user,
        "--year",
        year,
        "--month",
        month,
        "--week",
        "2",
        "--view",
        "raw",
        "--output",
        str(out),
        code=2,
    )


def test_the_installed_command(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    user, password = new_user(hub_server, f"sub{unique}")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOCKYARD_", "XDG_"))}
    env.update({"HOME": str(tmp_path / "home"), "XDG_CONFIG_HOME": str(tmp_path / "xdg")})

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [dockyard_executable(), *args], env=env, input=input, capture_output=True, text=True, timeout=120
        )

    logged_in = run("login", "--server", hub_server.base_url, "-u", user, "--password-stdin", input=password + "\n")
    assert logged_in.returncode == 0, logged_in.stderr
    assert logged_in.stdout == "Login Succeeded\n"
    assert password not in logged_in.stdout + logged_in.stderr
    credentials = tmp_path / "xdg" / "dockyard" / "credentials.json"
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    listed = run("repo", "ls", "--format", "json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []
    missing = run("repo", "describe", f"{user}/missing")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.startswith("Error: 404")
    assert run("repo", "ls", "--format", "xml").returncode == 2
    assert run("logout").returncode == 0
