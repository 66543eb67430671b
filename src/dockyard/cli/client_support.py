"""What the client commands share: the signed-in `Hub` built from stored credentials, error handling (a server's
refusal exits with 1 and its message on stderr; click's usage errors keep exit code 2), `--format table|json`,
tables, and parsing `NS/REPO[:TAG]`.

The SDK (httpx, pydantic) and rich are imported when a client command runs, not when `dockyard` starts, so the
server commands start as fast as before."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dockyard.client.constants import DOCKER_HUB_API
from dockyard.client.credentials import CredentialStore, StoredLogin, normalise_server

if TYPE_CHECKING:
    from rich.console import Console

    from dockyard.client import Hub, RetryPolicy
    from dockyard.client.context import Context

F = TypeVar("F", bound=Callable[..., Any])
SERVER_ENV = "DOCKYARD_SERVER"
# A command waits at most this long for a `Retry-After` before reporting the refusal.
MAX_RETRY_WAIT = 15.0


def retries() -> RetryPolicy:
    from dockyard.client import RetryPolicy

    return RetryPolicy(retries=3, max_wait=MAX_RETRY_WAIT)


class ClientCommand(click.Command):
    """A command talking to a server: its refusals become `Error: <status> <message>` and exit code 1."""

    def invoke(self, ctx: click.Context) -> Any:
        from dockyard.client.errors import AuthenticationError, HubError

        try:
            return super().invoke(ctx)
        except AuthenticationError as exc:
            hint = " (your session has ended: run `dockyard login` again)" if ctx.info_name != "login" else ""
            raise click.ClickException(f"{exc}{hint if stored_login() else ''}") from None
        except HubError as exc:
            raise click.ClickException(str(exc)) from None
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None


class ClientGroup(click.Group):
    command_class = ClientCommand


def format_option(function: F) -> F:
    option = click.option(
        "--format",
        "output_format",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help="Print a table, or JSON.",
    )
    return option(function)


def force_option(function: F) -> F:
    return click.option("-f", "--force", is_flag=True, help="Do not ask for confirmation.")(function)


# --- the client --------------------------------------------------------------------------------------------------
def store() -> CredentialStore:
    return CredentialStore()


def chosen_server(server: str | None = None) -> str:
    """--server, else $DOCKYARD_SERVER, else the server of the last login, else Docker Hub."""
    picked = server or os.environ.get(SERVER_ENV) or store().current_server() or DOCKER_HUB_API
    return normalise_server(picked)


def stored_login(server: str | None = None) -> StoredLogin | None:
    return store().get(chosen_server(server))


def client(server: str | None = None) -> Hub:
    """A Hub for the chosen server, signed in with its stored tokens (anonymous when there are none). Tokens the
    SDK renews are written back to the store."""
    from dockyard.client import Hub

    address = chosen_server(server)
    login = store().get(address)
    if login is None:
        return Hub(address, retries=retries())

    def persist(context: Context) -> None:
        if context.token is not None:
            store().update_tokens(address, context.token, context.refresh_token)

    return Hub(
        address,
        registry_url=login.registry_url,
        username=login.username,
        token=login.token,
        refresh_token=login.refresh_token,
        on_token=persist,
        retries=retries(),
    )


def signed_in_user(server: str | None = None) -> str | None:
    login = stored_login(server)
    return login.username if login else None


# --- names ---------------------------------------------------------------------------------------------------------
def split_repository(value: str) -> tuple[str, str]:
    """`ns/repo` -> (ns, repo); a bare `repo` is an official image, `library/repo`."""
    if ":" in value.rsplit("/", 1)[-1] or "@" in value:
        raise click.BadParameter(f"{value!r}: give NAMESPACE/REPOSITORY without a tag")
    parts = value.strip("/").split("/")
    if len(parts) == 1 and parts[0]:
        return "library", parts[0]
    if len(parts) != 2 or not all(parts):
        raise click.BadParameter(f"{value!r}: give NAMESPACE/REPOSITORY")
    return parts[0], parts[1]


def split_tagged(value: str) -> tuple[str, str, str]:
    """`ns/repo:tag` -> (ns, repo, tag)."""
    name, sep, tag = value.rpartition(":")
    if not sep or "/" in tag or not tag or not name:
        raise click.BadParameter(f"{value!r}: give NAMESPACE/REPOSITORY:TAG")
    namespace, repository = split_repository(name)
    return namespace, repository, tag


# --- output --------------------------------------------------------------------------------------------------------
def console() -> Console:
    """Rich output; when stdout is not a terminal, as wide as needed, so piped tables are never wrapped."""
    from rich.console import Console

    out = Console(soft_wrap=False, highlight=False)
    if not out.is_terminal:
        out = Console(soft_wrap=False, highlight=False, width=100_000)
    return out


def show(renderable: Any) -> None:
    """Print a table; without a terminal, with no trailing padding."""
    out = console()
    if out.is_terminal:
        out.print(renderable)
        return
    with out.capture() as captured:
        out.print(renderable)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def when(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.strftime("%Y-%m-%d %H:%M")


def size(value: int | None) -> str:
    if value is None:
        return "-"
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{value} B"


def as_data(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, list | tuple):
        return [as_data(item) for item in value]
    if isinstance(value, dict):
        return {key: as_data(item) for key, item in value.items()}
    return value


def print_json(value: Any) -> None:
    click.echo(json.dumps(as_data(value), indent=2, default=str))


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None) -> None:
    from rich.table import Table

    table = Table(title=title, show_edge=False, box=None, header_style="bold", pad_edge=False)
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*("-" if cell is None else str(cell) for cell in row))
    show(table)


def print_fields(pairs: Sequence[tuple[str, Any]]) -> None:
    from rich.table import Table

    table = Table(show_header=False, show_edge=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in pairs:
        table.add_row(key, "-" if value is None or value == "" else str(value))
    show(table)


def listing(
    output_format: str, items: Sequence[Any], headers: Sequence[str], row: Callable[[Any], Sequence[Any]]
) -> None:
    if output_format == "json":
        print_json(list(items))
    else:
        print_table(headers, [row(item) for item in items])
