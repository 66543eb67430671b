"""The Python SDK against a running Dockyard: signing in with a second factor and with a personal access token,
a private repository and who can see it, the registry basics, an image prune with warnings, organisations, and
(when the server has the DVP Data API) an analytics export download.

Every test makes its own users (through the v1 sign-up the server allows here), so they share one server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp
import pytest

from dockyard.client import AsyncHub, AuthenticationError, Hub, HubError, NotFound, TwoFactorRequired
from tests.client.analytics_data import seed_pulls
from tests.client.pushing import push
from tests.conftest import ADMIN_PASSWORD
from tests.e2e.conftest import FAST
from tests.support.layout import ImageLayout
from tests.support.server import DockyardServer

pytestmark = pytest.mark.e2e

SETTINGS = {
    **FAST,
    "DOCKYARD_ALLOW_SIGNUP": "true",
    "DOCKYARD_PULL_LIMIT_ANONYMOUS": "1000",
    "DOCKYARD_PULL_LIMIT_AUTHENTICATED": "2000",
    # seed_pulls runs the analytics job itself: a periodic run holding the job's lease would make it skip.
    "DOCKYARD_ANALYTICS_INTERVAL_SECONDS": "0",
}
DVP = "/api/publisher/analytics/v1"


@pytest.fixture(scope="module")
def hub_server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardServer]:
    root = tmp_path_factory.mktemp("sdk")
    running = DockyardServer(root / "data", module_database_url, admin_password=ADMIN_PASSWORD, settings=SETTINGS)
    running.start()
    yield running
    running.stop()


def new_user(server: DockyardServer, name: str) -> tuple[str, str]:
    password = f"{name}-password"
    with Hub(server.base_url) as hub:
        hub.signup(name, password, f"{name}@example.com")
    return name, password


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the time step after now. The server accepts one step of drift and each step once, so after
    confirming enrolment with the current code this one signs in, even if a step boundary passes in between."""
    return totp.at(time.time() + 30)


def test_second_factor_then_a_personal_access_token(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    user, password = new_user(hub_server, f"ann{unique}")
    with Hub(base, username=user, password=password) as hub:
        assert not hub.two_factor_status().enabled
        enrolment = hub.enable_totp()
        totp = pyotp.TOTP(enrolment.secret)
        assert hub.confirm_totp(totp.now()).recovery_codes
        assert hub.two_factor_status().enabled

    with Hub(base) as anonymous, pytest.raises(TwoFactorRequired) as challenged:
        anonymous.login(user, password)
    assert challenged.value.login_2fa_token
    assert challenged.value.detail == "Require secondary authentication on MFA enabled account"

    asked: list[str] = []

    def code() -> str:
        asked.append(user)
        return next_code(totp)

    with Hub(base, username=user, password=password, otp_callback=code) as hub:
        assert hub.me().username == user  # signs in on the first call, asking for the code once
        assert asked == [user]
        session_token, refresh_token = hub.token, hub.refresh_token
        assert session_token and refresh_token
        pat = hub.create_access_token("sdk-e2e", ["repo:admin"])
        assert pat.token.startswith("dckr_pat_") and pat.is_active
        assert [t.token_label for t in hub.list_access_tokens()] == ["sdk-e2e"]
        assert hub.get_access_token(pat.uuid).token == ""  # the secret is shown once

        # A personal access token signs in without the second factor, on the Hub API and on the registry.
        layout = ImageLayout(tmp_path / "layout")
        image = layout.add_image("v1", label=f"limits-{unique}")
        push(base, user, pat.token, f"{user}/limits", "v1", layout, image)
        with Hub(base, username=user, password=pat.token) as with_pat:
            assert with_pat.me().username == user
            assert with_pat.resolve(f"{user}/limits", "v1") == image.digest
            limits = with_pat.pull_limits(f"{user}/limits", "v1")
            assert (limits.limit, limits.window_seconds) == (2000, 6 * 3600)
            assert limits.source is not None and limits.remaining is not None
        with Hub(base) as anonymous:
            public = anonymous.pull_limits(f"{user}/limits", "v1")
            assert public.limit == 1000 and public.source == "127.0.0.1"

        hub.deactivate_access_token(pat.uuid)
        assert not hub.get_access_token(pat.uuid).is_active
        with Hub(base) as stranger, pytest.raises(AuthenticationError):
            stranger.login(user, pat.token)
        hub.activate_access_token(pat.uuid)
        with Hub(base) as again:
            again.login(user, pat.token)
        hub.delete_access_token(pat.uuid)
        assert hub.list_access_tokens().all() == []

        # The refresh token renews the session without the password or a code.
        with Hub(base, username=user, refresh_token=refresh_token) as renewed:
            assert renewed.me().username == user

        hub.logout()
        assert hub.token is None
    with Hub(base, token=session_token) as revoked, pytest.raises(AuthenticationError):
        revoked.me()
    with Hub(base, username=user, refresh_token=refresh_token) as revoked, pytest.raises(AuthenticationError):
        revoked.me()


def test_a_private_repository(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    alice, alice_password = new_user(hub_server, f"al{unique}")
    bob, bob_password = new_user(hub_server, f"bo{unique}")
    layout = ImageLayout(tmp_path / "layout")
    image = layout.add_image("v1", label=f"private-{unique}")
    with (
        Hub(base, username=alice, password=alice_password) as owner,
        Hub(base, username=bob, password=bob_password) as other,
        Hub(base) as anonymous,
    ):
        created = owner.create_repository(alice, "secret", description="hidden", is_private=True)
        assert created.is_private and created.full_name == f"{alice}/secret"
        push(base, alice, alice_password, f"{alice}/secret", "v1", layout, image)

        for outsider in (other, anonymous):
            with pytest.raises(NotFound):
                outsider.get_repository(alice, "secret")
            assert not outsider.repository_exists(alice, "secret")
            assert "secret" not in [r.name for r in outsider.list_repositories(alice)]
            with pytest.raises(HubError):
                outsider.resolve(f"{alice}/secret", "v1")
        assert [(r.name, r.is_private) for r in owner.list_repositories(alice)] == [("secret", True)]
        assert owner.resolve(f"{alice}/secret", "v1") == image.digest
        tag = owner.get_tag(alice, "secret", "v1")
        assert tag.digest == image.digest and [i.platform for i in tag.images] == ["linux/amd64"]
        assert owner.get_manifest(f"{alice}/secret", "v1").content["layers"]

        # A collaborator sees it too, until removed.
        owner.add_collaborator(alice, "secret", bob, "read")
        assert [c.user for c in owner.list_collaborators(alice, "secret")] == [bob]
        assert other.get_repository(alice, "secret").is_private
        assert other.resolve(f"{alice}/secret", "v1") == image.digest
        owner.remove_collaborator(alice, "secret", bob)
        other.cache.clear()
        with pytest.raises(NotFound):
            other.get_repository(alice, "secret")

        # Writes are seen at once by the next read, despite the cache.
        assert owner.get_repository(alice, "secret").description == "hidden"
        owner.update_repository(alice, "secret", description="now public", full_description="# Secret\n")
        owner.set_privacy(alice, "secret", False)
        shown = owner.get_repository(alice, "secret")
        assert (shown.description, shown.full_description, shown.is_private) == ("now public", "# Secret\n", False)
        assert anonymous.get_repository(alice, "secret").description == "now public"

        other.star(alice, "secret")
        # Another client's writes reach this client's cache only when its entries expire (or it is cleared).
        assert owner.get_repository(alice, "secret").star_count == 0
        owner.cache.clear()
        assert owner.get_repository(alice, "secret").star_count == 1
        other.add_comment(alice, "secret", "nice image")
        assert [c.comment for c in owner.list_comments(alice, "secret")] == ["nice image"]
        assert [r.repo_name for r in anonymous.search(f"{alice}/secret")] == [f"{alice}/secret"]
        # The audit log is written in batches by a background task: wait (bounded) for the entries to land.
        deadline = time.monotonic() + 30
        while True:
            owner.cache.clear()
            actions = {entry.action for entry in owner.audit_logs(alice)}
            if {"repo.create", "repo.tag.push"} <= actions or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert {"repo.create", "repo.tag.push"} <= actions

    async def asynchronously() -> tuple[str | None, list[str], str]:
        async with AsyncHub(base, username=alice, password=alice_password) as hub:
            repository = await hub.get_repository(alice, "secret")
            tags = [t.name async for t in hub.list_tags(alice, "secret")]
            digest = await hub.resolve(f"{alice}/secret", "v1")
            await hub.delete_repository(alice, "secret")
            return repository.description, tags, digest

    assert asyncio.run(asynchronously()) == ("now public", ["v1"], image.digest)
    with Hub(base, username=alice, password=alice_password) as owner:
        assert not owner.repository_exists(alice, "secret")


def test_prune_with_warnings(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    user, password = new_user(hub_server, f"ca{unique}")
    layout = ImageLayout(tmp_path / "layout")
    old = layout.add_image("old", label=f"old-{unique}")
    new = layout.add_image("new", label=f"new-{unique}")
    push(base, user, password, f"{user}/app", "old", layout, old)
    push(base, user, password, f"{user}/app", "new", layout, new)
    with Hub(base, username=user, password=password) as hub:
        images = hub.list_images(user, "app").all()
        assert {i.digest for i in images} == {old.digest, new.digest}
        assert hub.images_summary(user, "app").statistics.active == 2
        tomorrow = datetime.now(UTC) + timedelta(days=1)
        assert len(hub.list_images(user, "app", status="inactive", active_from=tomorrow).all()) == 2

        preview = hub.delete_images(user, images, dry_run=True)
        assert not preview.ok and not preview.errors
        assert {(w.digest, w.warning) for w in preview.warnings} == {
            (old.digest, "is_active"),
            (old.digest, "current_tag"),
            (new.digest, "is_active"),
            (new.digest, "current_tag"),
        }
        assert {tuple(w.tags or []) for w in preview.warnings if w.warning == "current_tag"} == {("old",), ("new",)}
        assert len(hub.list_images(user, "app").all()) == 2  # nothing deleted

        partly = hub.delete_images(
            user, images, ignore_warnings=[w for w in preview.warnings if w.warning == "is_active"]
        )
        assert not partly.ok and {w.warning for w in partly.warnings} == {"current_tag"}

        checked = hub.delete_images(user, images, dry_run=True, ignore_warnings=preview.warnings)
        assert checked.ok and checked.dry_run and checked.metrics.manifest_deletes == 2
        done = hub.delete_images(user, images, ignore_warnings=preview.warnings)
        assert done.ok and not done.dry_run
        assert (done.metrics.manifest_deletes, done.metrics.tag_deletes) == (2, 2)
        assert hub.list_images(user, "app").all() == []
        assert hub.list_tags(user, "app").all() == []

        missing = hub.delete_images(user, [("app", "sha256:" + "0" * 64)], ignore_warnings=preview.warnings)
        assert not missing.ok and [e.error for e in missing.errors] == ["not_found"]


def test_tags_registry_deletion_and_organisations(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    user, password = new_user(hub_server, f"da{unique}")
    mate, _ = new_user(hub_server, f"ma{unique}")
    layout = ImageLayout(tmp_path / "layout")
    image = layout.add_image("v1", label=f"tags-{unique}")
    for name in ("v1", "v2", "v3"):
        push(base, user, password, f"{user}/tools", name, layout, image)
    with Hub(base, username=user, password=password) as hub:
        assert [t.name for t in hub.list_tags(user, "tools", ordering="name", page_size=2)] == ["v1", "v2", "v3"]
        hub.delete_tag(user, "tools", "v1")
        assert not hub.tag_exists(user, "tools", "v1")
        assert sorted(hub.registry_tags(f"{user}/tools")) == ["v2", "v3"]
        hub.delete_manifest(f"{user}/tools", image.digest)  # takes every tag pointing at it
        assert hub.list_tags(user, "tools").all() == []

        org = f"org{unique}"
        hub.create_org(org, full_name="The Org")
        assert org in [o.orgname for o in hub.list_my_orgs()]
        assert hub.get_org(org).full_name == "The Org"
        assert [(m.username, m.role) for m in hub.list_members(org)] == [(user, "Owner")]
        team = hub.create_group(org, "builders", "people who build")
        assert team.name == "builders"
        sent = hub.invite(org, [mate], team="builders")
        assert [entry.invitee for entry in sent] == [mate]
        assert [i.invitee for i in hub.list_invites(org)] == [mate]
        with Hub(base, username=mate, password=f"{mate}-password") as invitee:
            [pending] = invitee.my_invites()
            invitee.accept_invite(pending.id)
            assert org in [o.orgname for o in invitee.list_my_orgs()]
        assert sorted(m.username for m in hub.list_members(org)) == sorted([user, mate])
        assert [m.username for m in hub.list_group_members(org, "builders")] == [mate]
        hub.remove_group_member(org, "builders", mate)
        hub.remove_member(org, mate)
        hub.delete_group(org, "builders")
        assert hub.list_groups(org).all() == [] or all(g.name != "builders" for g in hub.list_groups(org))
        hub.delete_repository(user, "tools")
        hub.delete_org(org)
        with pytest.raises(NotFound):
            hub.get_org(org)


def test_an_analytics_export_download(hub_server: DockyardServer, unique: str, tmp_path: Path) -> None:
    base = hub_server.base_url
    user, password = new_user(hub_server, f"ev{unique}")
    with Hub(base, username=user, password=password) as hub:
        try:
            hub.analytics_discovery()
        except NotFound:
            pytest.skip("this server does not serve the DVP Data API yet")
        start = seed_pulls(hub_server, f"{user}/app", tmp_path)
        assert start.year in [y.year for y in hub.export_years(user).years]
        assert start.month in hub.export_timespans(user, start.year, "months").numbers
        seen: list[tuple[str, int, int | None]] = []
        paths = hub.download_export(
            user,
            start.year,
            "months",
            start.month,
            "raw",
            tmp_path / "export",
            progress=lambda name, done, total: seen.append((name, done, total)),
        )
        assert paths and all(path.exists() for path in paths)
        text = "".join(path.read_text() for path in paths)
        assert text.startswith("action,action_day,country,digest,http_method")
        assert text.count("pull_by_tag") == 6
        assert seen and seen[-1][1] == paths[-1].stat().st_size
        pulls = hub.namespace_pulls(user, timespan="months", period="last-6-months")
        assert sum(p.pull_count for p in pulls.pulls) == 6
