"""The `dockyard` command line against a real data directory and database, checked through a running server.

`dockyard admin ...` and `dockyard gc` work on the database and files directly, next to a server that keeps
running, so what they change must show at once to real clients. The tests share the module's server (distinct
users and repositories; everything one test leaves behind is tagged, so another's `gc` cannot take it), except
the one that needs a first start of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import ADMIN, ADMIN_CREDS
from tests.support.clients import ContainerTools, RegistryHTTP
from tests.support.layout import ImageLayout
from tests.support.server import DockyardServer, run_dockyard

pytestmark = pytest.mark.e2e

GENERATED = re.compile(r"created administrator '(?P<user>[^']+)' with password: (?P<password>\S+)")


def run(server: DockyardServer, args: Sequence[str]) -> tuple[bool, str]:
    """Run a `dockyard` command against the server's data directory and database: (succeeded, stdout + stderr)."""
    result = run_dockyard(
        *args,
        data_dir=server.data_dir,
        database_url=server.database_url,
        settings={"DOCKYARD_ADMIN_PASSWORD": server.admin_password},
    )
    return result.returncode == 0, result.stdout + result.stderr


def dockyard(server: DockyardServer, *args: str, ok: bool = True) -> str:
    """The output of a `dockyard` command that must succeed (or, with ok=False, fail)."""
    succeeded, output = run(server, args)
    assert succeeded == ok, f"dockyard {' '.join(args)} {'failed' if ok else 'should have failed'}:\n{output}"
    return output


def dockyard_together(server: DockyardServer, *commands: Sequence[str]) -> list[tuple[bool, str]]:
    """Run independent `dockyard` commands at the same time (each is a whole Python start-up): their results."""
    with ThreadPoolExecutor(len(commands)) as pool:
        return list(pool.map(lambda args: run(server, args), commands))


def can_push(tools: ContainerTools, server: DockyardServer, layout: ImageLayout, creds: str, repo: str) -> bool:
    result = tools.skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
        layout.ref("v1"),
        f"docker://{server.address}/{repo}:v1",
        check=False,
    )
    return result.returncode == 0


def token_status(server: DockyardServer, username: str, password: str) -> int:
    response = httpx.get(
        f"{server.base_url}/token",
        params={"service": "dockyard", "scope": f"repository:{username}/probe:pull"},
        auth=(username, password),
    )
    return response.status_code


def test_admin_commands_then_the_user_pushes_to_their_org(
    server: DockyardServer, tools: ContainerTools, tmp_path: Path
) -> None:
    layout = ImageLayout(tmp_path / "src")
    layout.add_image("v1", label="cli")

    created = dockyard_together(
        server,
        ["admin", "create-user", "alice", "--password", "alice-first-pw", "--email", "alice@example.com"],
        ["admin", "create-user", "bob", "--password", "bob-password"],
        ["admin", "create-user", "carol", "--password", "carol-password"],
    )
    assert created == [(True, f"created user {name}\n") for name in ("alice", "bob", "carol")]
    assert "created organisation acme owned by alice" in dockyard(
        server, "admin", "create-org", "acme", "--owner", "alice"
    )
    editor, member, password, listed, taken, bad_role = dockyard_together(
        server,
        ["admin", "add-member", "acme", "bob", "--role", "editor"],
        ["admin", "add-member", "acme", "carol", "--role", "member"],
        # alice has not signed in yet, so the server remembers nothing about her old password.
        ["admin", "set-password", "alice", "--password", "alice-second-pw"],
        ["admin", "list-users"],
        # Mistakes are refused with a message and a failing exit code.
        ["admin", "create-user", "alice", "--password", "whatever123"],
        ["admin", "add-member", "acme", "bob", "--role", "overlord"],
    )
    assert editor == (True, "bob is now editor of acme\n")
    assert member == (True, "carol is now member of acme\n")
    assert password == (True, "password set for alice\n")
    assert listed[0]
    users = listed[1].split()
    assert users.count("alice") == users.count("bob") == users.count("carol") == 1
    assert "acme" not in users
    assert f"{ADMIN} (admin)" in listed[1]
    assert not taken[0] and "taken" in taken[1]
    assert not bad_role[0] and "overlord" in bad_role[1]

    # The new password replaces the old one at once.
    assert token_status(server, "alice", "alice-first-pw") == 401
    assert token_status(server, "alice", "alice-second-pw") == 200

    assert can_push(tools, server, layout, "alice:alice-second-pw", "acme/app")
    assert can_push(tools, server, layout, "bob:bob-password", "acme/tools")
    assert can_push(tools, server, layout, "alice:alice-second-pw", "alice/own")
    assert not can_push(tools, server, layout, "carol:carol-password", "acme/carol")
    assert not can_push(tools, server, layout, "bob:bob-password", "alice/theirs")
    assert not can_push(tools, server, layout, "alice:alice-first-pw", "acme/old-password")

    carol = RegistryHTTP(server.base_url, "carol", "carol-password")
    admin = RegistryHTTP(server.base_url, ADMIN, ADMIN_PASSWORD)
    try:
        assert carol.tags("acme/app") == ["v1"]  # public: members and everyone else can pull
        assert admin.manifest("acme/carol", "v1").status_code == 404  # the refused pushes created nothing
        assert admin.manifest("alice/theirs", "v1").status_code == 404
    finally:
        carol.close()
        admin.close()


def test_first_start_prints_a_generated_admin_password_once(
    server_factory: Callable[..., DockyardServer], tmp_path: Path
) -> None:
    server = server_factory(admin_password=None)
    found = GENERATED.findall(server.log())
    assert len(found) == 1, server.log()
    username, password = found[0]
    assert username == ADMIN
    assert len(password) >= 16

    assert token_status(server, ADMIN, password) == 200
    assert token_status(server, ADMIN, password + "x") == 401
    assert token_status(server, ADMIN, ADMIN_PASSWORD) == 401
    tools = ContainerTools(tmp_path / "tools")
    layout = ImageLayout(tmp_path / "src")
    layout.add_image("v1", label="generated")
    assert can_push(tools, server, layout, f"{ADMIN}:{password}", f"{ADMIN}/generated")

    # Never in clear in the data directory (the SQLite database lives there by default).
    for path in server.data_dir.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path

    server.restart()
    assert len(GENERATED.findall(server.log())) == 1, "the password was printed again after a restart"
    assert token_status(server, ADMIN, password) == 200


def push_and_delete(server: DockyardServer, tools: ContainerTools, layout: ImageLayout, repo: str) -> None:
    """Push tags `doomed` and `kept` of `layout` to `repo`, then delete `doomed` with skopeo."""
    for tag in ("doomed", "kept"):
        tools.skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            ADMIN_CREDS,
            layout.ref(tag),
            f"docker://{server.address}/{repo}:{tag}",
        )
    tools.skopeo("delete", "--tls-verify=false", "--creds", ADMIN_CREDS, f"docker://{server.address}/{repo}:doomed")


def stored(server: DockyardServer, digest: str) -> bool:
    return server.blob_path(digest).is_file()


def test_gc_removes_the_blobs_of_a_deleted_image(server: DockyardServer, tools: ContainerTools, tmp_path: Path) -> None:
    layout = ImageLayout(tmp_path / "src")
    doomed = layout.add_image("doomed", label="gc-doomed")
    kept = layout.add_image("kept", label="gc-kept")
    repo = f"{ADMIN}/gc"
    push_and_delete(server, tools, layout, repo)

    (default_ok, default_grace), (preview_ok, preview) = dockyard_together(
        server, ["gc", "--dry-run"], ["gc", "--dry-run", "--grace-seconds", "0"]
    )
    assert default_ok and preview_ok, default_grace + preview
    # Within the default grace period nothing is old enough to go.
    assert "would remove: 0 untagged manifest(s), 0 blob link(s), 0 blob(s)" in default_grace
    assert preview.startswith("would remove:")
    assert all(stored(server, d) for d in doomed.blob_digests + kept.blob_digests), "a dry run removed something"

    removed = dockyard(server, "gc", "--grace-seconds", "0")
    assert removed.startswith("removed:")
    for digest in doomed.blob_digests:
        assert f"blob {digest}" in removed
        assert not stored(server, digest)
    for digest in kept.blob_digests:
        assert f"blob {digest}" not in removed
        assert stored(server, digest)

    http = RegistryHTTP(server.base_url, ADMIN, ADMIN_PASSWORD)
    try:
        assert http.missing_blobs(repo, doomed.blob_digests) == doomed.blob_digests
        assert http.missing_blobs(repo, kept.blob_digests) == []
    finally:
        http.close()
    pulled = ImageLayout(tmp_path / "pulled")
    tools.skopeo("copy", "--src-tls-verify=false", f"docker://{server.address}/{repo}:kept", pulled.ref("kept"))
    pulled.reload()
    assert pulled.descriptor("kept")["digest"] == kept.digest

    # Pushing the deleted image again brings its blobs back.
    tools.skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        ADMIN_CREDS,
        layout.ref("doomed"),
        f"docker://{server.address}/{repo}:doomed",
    )
    assert all(stored(server, d) for d in doomed.blob_digests)


def test_gc_dry_run_announces_the_blobs_a_real_run_removes(
    server: DockyardServer, tools: ContainerTools, tmp_path: Path
) -> None:
    layout = ImageLayout(tmp_path / "src")
    doomed = layout.add_image("doomed", label="dry-doomed")
    layout.add_image("kept", label="dry-kept")
    push_and_delete(server, tools, layout, f"{ADMIN}/dry")

    preview = dockyard(server, "gc", "--dry-run", "--grace-seconds", "0")
    removed = dockyard(server, "gc", "--grace-seconds", "0")
    assert all(f"blob {d}" in removed for d in doomed.blob_digests), removed
    for digest in doomed.blob_digests:
        assert f"blob {digest}" in preview, f"the dry run did not announce {digest}:\n{preview}"
