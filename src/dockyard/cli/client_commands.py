"""The client commands of `dockyard`: they talk to a Hub over HTTP with the SDK (the server commands work on the
local data directory instead). `dockyard login` stores the server and its tokens; every other command uses the
server of the last login, or `$DOCKYARD_SERVER`.

Exit codes: 0 success, 1 the server refused (its message on stderr) or the user declined a confirmation, 2 a
usage error.
"""

from __future__ import annotations

import sys

import click

from dockyard.cli.client_analytics import export_command, pulls_command
from dockyard.cli.client_repos import image, repo, tag
from dockyard.cli.client_support import (
    ClientCommand,
    ClientGroup,
    chosen_server,
    client,
    force_option,
    format_option,
    listing,
    print_fields,
    print_json,
    retries,
    signed_in_user,
    store,
    when,
)
from dockyard.client.constants import RATE_LIMIT_PROBE
from dockyard.client.credentials import StoredLogin


# --- login / logout ----------------------------------------------------------------------------------------------
def _read_password_stdin() -> str:
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise click.UsageError("--password-stdin: nothing on standard input")
    return password


@click.command("login", cls=ClientCommand)
@click.option("--server", help="Hub API URL (default: $DOCKYARD_SERVER, the last server, or Docker Hub).")
@click.option("--registry", "registry_url", help="Registry URL, when it is not on the Hub's own host.")
@click.option("-u", "--username", help="Username (asked for when left out).")
@click.option("--password-stdin", is_flag=True, help="Read the password or access token from standard input.")
def login(server: str | None, registry_url: str | None, username: str | None, password_stdin: bool) -> None:
    """Sign in to a Hub, as `docker login` does, and keep its tokens (never the password) for the other commands."""
    address = chosen_server(server)
    previous = store().get(address)
    if username is None:
        username = click.prompt("Username", default=previous.username if previous else None, err=True)
    assert username is not None
    password = _read_password_stdin() if password_stdin else click.prompt("Password", hide_input=True, err=True)

    def ask_code() -> str:
        if password_stdin and not sys.stdin.isatty():
            line = sys.stdin.readline().strip()
            if line:
                return line
        return str(click.prompt("Two-factor authentication code", err=True)).strip()

    from dockyard.client import Hub

    with Hub(address, registry_url=registry_url, otp_callback=ask_code, cache=False, retries=retries()) as hub:
        result = hub.login(username, password)
    store().save(
        StoredLogin(
            server=address,
            username=username,
            token=result.token,
            refresh_token=result.refresh_token,
            registry_url=registry_url,
        )
    )
    click.echo("Login Succeeded")


@click.command("logout", cls=ClientCommand)
@click.option("--server", help="The Hub to sign out of (default: the current one).")
def logout(server: str | None) -> None:
    """Revoke the stored session on the server and forget its tokens."""
    from dockyard.client import HubError

    address = chosen_server(server)
    stored = store().get(address)
    if stored is None:
        click.echo(f"Not logged in to {address}")
        return
    try:
        with client(address) as hub:
            hub.logout()
    except HubError as exc:  # the tokens are forgotten locally either way
        click.echo(f"warning: the server did not revoke the session: {exc}", err=True)
    store().remove(address)
    click.echo(f"Removing login credentials for {address}")


# --- account -----------------------------------------------------------------------------------------------------
@click.group("account", cls=ClientGroup)
def account() -> None:
    """The signed-in account."""


@account.command("info")
@format_option
def account_info(output_format: str) -> None:
    """Who you are signed in as, with your private-repository quota."""
    from dockyard.client import HubError

    with client() as hub:
        user = hub.me()
        try:
            settings = hub.registry_settings(user.username)
        except HubError:
            settings = None
    if output_format == "json":
        print_json({"user": user, "registry_settings": settings})
        return
    pairs: list[tuple[str, object]] = [
        ("Name", user.username),
        ("Full name", user.full_name),
        ("Company", user.company),
        ("Location", user.location),
        ("Email", user.email),
        ("Type", user.type),
        ("Joined", when(user.date_joined)),
    ]
    if settings is not None:
        limit = "unlimited" if settings.private_repo_limit is None else settings.private_repo_limit
        pairs.append(("Private repositories", f"{settings.private_repo_used} of {limit}"))
    print_fields(pairs)


@account.command("rate-limiting")
@click.option(
    "--repository",
    default=f"{RATE_LIMIT_PROBE}:latest",
    show_default=True,
    help="The image whose manifest is probed with a HEAD (not counted as a pull).",
)
@format_option
def rate_limiting(repository: str, output_format: str) -> None:
    """Your pull rate limit, read from the registry's headers (-1 means unlimited)."""
    name, _, reference = repository.rpartition(":") if ":" in repository.rsplit("/", 1)[-1] else (repository, "", "")
    with client() as hub:
        limits = hub.pull_limits(name, reference or "latest")
    if output_format == "json":
        print_json(limits)
        return
    window = f"{limits.window_seconds // 3600} hours" if limits.window_seconds else "-"
    print_fields(
        [
            ("Limit", -1 if limits.limit is None else limits.limit),
            ("Remaining", -1 if limits.remaining is None else limits.remaining),
            ("Window", window if limits.limit is not None else "-"),
            ("Source", limits.source),
        ]
    )


# --- organisations -----------------------------------------------------------------------------------------------
@click.group("org", cls=ClientGroup)
def org() -> None:
    """Organisations, their members and teams."""


@org.command("ls")
@format_option
def org_ls(output_format: str) -> None:
    """Your organisations."""
    with client() as hub:
        orgs = hub.list_my_orgs().all()
    listing(
        output_format,
        orgs,
        ["NAMESPACE", "NAME", "COMPANY", "LOCATION", "JOINED"],
        lambda o: [o.orgname, o.full_name, o.company, o.location, when(o.date_joined)],
    )


@org.command("members")
@click.argument("organization")
@format_option
def org_members(organization: str, output_format: str) -> None:
    """An organisation's members."""
    with client() as hub:
        members = hub.list_members(organization).all()
    listing(
        output_format,
        members,
        ["USERNAME", "FULL NAME", "ROLE", "TEAMS"],
        lambda u: [u.username, u.full_name, u.role, ", ".join(u.groups)],
    )


@org.command("teams")
@click.argument("organization")
@format_option
def org_teams(organization: str, output_format: str) -> None:
    """An organisation's teams."""
    with client() as hub:
        teams = hub.list_groups(organization).all()
    listing(
        output_format,
        teams,
        ["TEAM", "DESCRIPTION", "MEMBERS"],
        lambda g: [g.name, g.description, g.member_count],
    )


# --- personal access tokens --------------------------------------------------------------------------------------
@click.group("token", cls=ClientGroup)
def token() -> None:
    """Personal access tokens."""


def _token_rows(output_format: str, tokens: list[object]) -> None:
    listing(
        output_format,
        tokens,
        ["UUID", "LABEL", "SCOPES", "ACTIVE", "CREATED", "LAST USED", "EXPIRES"],
        lambda t: [
            t.uuid,
            t.token_label,
            ", ".join(t.scopes),
            "yes" if t.is_active else "no",
            when(t.created_at),
            when(t.last_used),
            when(t.expires_at),
        ],
    )


@token.command("ls")
@format_option
def token_ls(output_format: str) -> None:
    """Your personal access tokens (their secrets are never shown again)."""
    with client() as hub:
        tokens = hub.list_access_tokens().all()
    _token_rows(output_format, list(tokens))


@token.command("create")
@click.option("--label", "--description", "label", required=True, help="What the token is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["repo:admin", "repo:write", "repo:read", "repo:public_read"]),
    help="Access the token gives (repeatable; default repo:admin).",
)
@click.option("--expires", "expires_at", help="Expiry date and time (ISO 8601).")
@click.option("-q", "--quiet", is_flag=True, help="Print only the token.")
@format_option
def token_create(label: str, scopes: tuple[str, ...], expires_at: str | None, quiet: bool, output_format: str) -> None:
    """Create a token. Its secret is printed once: copy it now."""
    with client() as hub:
        created = hub.create_access_token(label, list(scopes) or None, expires_at=expires_at)
    if quiet:
        click.echo(created.token)
    elif output_format == "json":
        print_json(created)
    else:
        print_fields([("UUID", created.uuid), ("Label", created.token_label), ("Scopes", ", ".join(created.scopes))])
        click.echo(f"\nToken: {created.token}\nThis is the only time it is shown: store it somewhere safe.")


@token.command("inspect")
@click.argument("uuid")
@format_option
def token_inspect(uuid: str, output_format: str) -> None:
    """One token's details."""
    with client() as hub:
        found = hub.get_access_token(uuid)
    if output_format == "json":
        print_json(found)
        return
    print_fields(
        [
            ("UUID", found.uuid),
            ("Label", found.token_label),
            ("Scopes", ", ".join(found.scopes)),
            ("Active", "yes" if found.is_active else "no"),
            ("Created", when(found.created_at)),
            ("Created by", found.creator_ua),
            ("Last used", when(found.last_used)),
            ("Expires", when(found.expires_at)),
        ]
    )


@token.command("activate")
@click.argument("uuid")
def token_activate(uuid: str) -> None:
    """Turn a token on."""
    with client() as hub:
        hub.activate_access_token(uuid)
    click.echo(f"{uuid} is active")


@token.command("deactivate")
@click.argument("uuid")
def token_deactivate(uuid: str) -> None:
    """Turn a token off (it stops working at once)."""
    with client() as hub:
        hub.deactivate_access_token(uuid)
    click.echo(f"{uuid} is inactive")


@token.command("rm")
@click.argument("uuid")
@force_option
def token_rm(uuid: str, force: bool) -> None:
    """Delete a token."""
    with client() as hub:
        if not force:
            found = hub.get_access_token(uuid)
            click.confirm(f"Delete the token {found.token_label!r} ({uuid})?", abort=True, err=True)
        hub.delete_access_token(uuid)
    click.echo(f"Deleted {uuid}")


# --- registration --------------------------------------------------------------------------------------------------
def register(main: click.Group) -> None:
    """Add the client commands to `dockyard` (next to the server commands), and `pulls` and `export` to its
    `analytics` group (whose other commands work on the local data directory)."""
    for command in (login, logout, account, org, repo, tag, image, token):
        main.add_command(command)
    group = main.commands.get("analytics")
    if not isinstance(group, click.Group):
        group = click.Group("analytics", help="Pull analytics.")
        main.add_command(group)
    group.add_command(pulls_command)
    group.add_command(export_command)


__all__ = ["register", "signed_in_user"]
