"""`dockyard`: run the server and administer it."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dockyard.accounts.errors import AccountsError
from dockyard.accounts.service import AccountsService
from dockyard.analytics.commands import analytics
from dockyard.analytics.run_command import run_command
from dockyard.cli.client_commands import register as register_client_commands
from dockyard.config import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

T = TypeVar("T")


def _settings(ctx: click.Context) -> Settings:
    return Settings.from_env(data_dir=ctx.obj.get("data_dir"))


def _run(ctx: click.Context, work: Callable[[Any], Awaitable[T]]) -> T:
    """Run one unit of work against the database (migrated first), turning domain errors into exit code 1."""
    from dockyard.app import bootstrap, build_services, prepare

    settings = _settings(ctx)
    prepare(settings)
    services = build_services(settings)

    async def main() -> T:
        try:
            await bootstrap(services)
            return await work(services)
        finally:
            await services.db.dispose()

    try:
        return asyncio.run(main())
    except AccountsError as exc:
        click.echo(f"error: {exc.message}", err=True)
        sys.exit(1)


@click.group()
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (env DOCKYARD_DATA_DIR).")
@click.pass_context
def main(ctx: click.Context, data_dir: str | None) -> None:
    """Dockyard: a self-hostable, Docker Hub-compatible container hub."""
    ctx.ensure_object(dict)
    ctx.obj["data_dir"] = data_dir


@main.command()
@click.option("--host", help="Address to listen on (env DOCKYARD_HOST, default 127.0.0.1).")
@click.option("--port", type=int, help="Port (env DOCKYARD_PORT, default 5000).")
@click.option("--data-dir", "serve_data_dir", type=click.Path(file_okay=False), help="Data directory.")
@click.option("--public-url", help="URL clients reach the server at (env DOCKYARD_PUBLIC_URL).")
@click.pass_context
def serve(
    ctx: click.Context, host: str | None, port: int | None, serve_data_dir: str | None, public_url: str | None
) -> None:
    """Run the server."""
    from dockyard.app import create_app

    settings = Settings.from_env(
        data_dir=serve_data_dir or ctx.obj.get("data_dir"), host=host, port=port, public_url=public_url
    )
    run_server(create_app(settings), settings)


def run_server(app: Starlette, settings: Settings) -> None:
    """Serve `app` as `dockyard serve` does (the capture benchmark serves its own wrapped app through this too)."""
    import uvicorn

    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=settings.log_level == "debug",
        proxy_headers=False,  # client addresses come from DOCKYARD_TRUSTED_PROXIES only
        server_header=False,
        timeout_graceful_shutdown=10,
    )


@main.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Upgrade the database schema to the latest revision."""
    from dockyard.app import prepare

    prepare(_settings(ctx))
    click.echo("database is up to date")


@main.command("gc")
@click.option("--dry-run", is_flag=True, help="Report what would be removed without removing it.")
@click.option("--grace-seconds", type=int, help="Keep anything younger than this (default from settings).")
@click.pass_context
def gc_command(ctx: click.Context, dry_run: bool, grace_seconds: int | None) -> None:
    """Remove unreferenced blobs, untagged manifests and stale uploads (safe while the server runs)."""
    from dockyard.registry import gc

    async def work(services: Any) -> None:
        settings = services.settings
        report = await gc.collect(
            services.db,
            services.storage,
            grace_seconds=settings.gc_grace_seconds if grace_seconds is None else grace_seconds,
            upload_expiry_seconds=settings.upload_expiry_seconds,
            dry_run=dry_run,
        )
        verb = "would remove" if dry_run else "removed"
        click.echo(f"{verb}: {report.summary()}")
        for digest in report.blobs:
            click.echo(f"  blob {digest}")

    _run(ctx, work)


@main.group()
def admin() -> None:
    """Administer users and organisations."""


def _password(value: str | None) -> str:
    return value if value is not None else click.prompt("Password", hide_input=True, confirmation_prompt=True)


@admin.command("create-user")
@click.argument("username")
@click.option("--password", envvar="DOCKYARD_NEW_PASSWORD", help="Password (prompted for when left out).")
@click.option("--email")
@click.option("--admin", "is_admin", is_flag=True, help="Make the user a site administrator.")
@click.pass_context
def create_user(ctx: click.Context, username: str, password: str | None, email: str | None, is_admin: bool) -> None:
    """Create a user."""
    secret = _password(password)

    async def work(services: Any) -> None:
        async with services.db.writer() as session:
            await AccountsService(session).create_user(username, secret, email=email, is_admin=is_admin)

    _run(ctx, work)
    click.echo(f"created user {username}")


@admin.command("list-users")
@click.pass_context
def list_users(ctx: click.Context) -> None:
    """List users."""

    async def work(services: Any) -> list[Any]:
        async with services.db.reader() as session:
            return list(await AccountsService(session).list_accounts("user"))

    for user in _run(ctx, work):
        flags = " (admin)" if user.is_admin else ""
        click.echo(f"{user.name}{flags}")


@admin.command("set-password")
@click.argument("username")
@click.option("--password", envvar="DOCKYARD_NEW_PASSWORD")
@click.pass_context
def set_password(ctx: click.Context, username: str, password: str | None) -> None:
    """Set a user's password."""
    secret = _password(password)

    async def work(services: Any) -> None:
        async with services.db.writer() as session:
            await AccountsService(session).set_password(username, secret)

    _run(ctx, work)
    click.echo(f"password set for {username}")


@admin.command("create-org")
@click.argument("name")
@click.option("--owner", required=True, help="User who owns the organisation.")
@click.pass_context
def create_org(ctx: click.Context, name: str, owner: str) -> None:
    """Create an organisation with an owner."""

    async def work(services: Any) -> None:
        async with services.db.writer() as session:
            await AccountsService(session).create_org(name, owner)

    _run(ctx, work)
    click.echo(f"created organisation {name} owned by {owner}")


@admin.command("add-member")
@click.argument("org")
@click.argument("username")
@click.option("--role", type=click.Choice(["owner", "editor", "member"]), default="member", show_default=True)
@click.pass_context
def add_member(ctx: click.Context, org: str, username: str, role: str) -> None:
    """Add a user to an organisation (or change their role)."""

    async def work(services: Any) -> None:
        async with services.db.writer() as session:
            await AccountsService(session).set_member(org, username, role)

    _run(ctx, work)
    click.echo(f"{username} is now {role} of {org}")


@admin.command("set-private-repo-limit")
@click.argument("account")
@click.argument("limit")
@click.pass_context
def set_private_repo_limit(ctx: click.Context, account: str, limit: str) -> None:
    """Limit how many private repositories a user or organisation may have (a number, or "unlimited")."""
    if limit != "unlimited" and not (limit.isascii() and limit.isdigit()):
        raise click.BadParameter("a number of repositories, or 'unlimited'", param_hint="LIMIT")
    value = None if limit == "unlimited" else int(limit)

    async def work(services: Any) -> None:
        from dockyard.accounts.errors import AccountNotFound
        from dockyard.hub.store import HubStore

        async with services.db.writer() as session:
            found = await AccountsService(session).store.by_name(account)
            if found is None:
                raise AccountNotFound(f"no account named '{account}'")
            await HubStore(session).set_private_repo_limit(found.id, value)

    _run(ctx, work)
    click.echo(f"{account} may have {'any number of' if value is None else value} private repositories")


analytics.add_command(run_command)
main.add_command(analytics)
# The client commands (login, repo, tag, token, analytics pulls/export...) talk to a Hub over HTTP.
register_client_commands(main)


if __name__ == "__main__":
    main()
