"""`dockyard analytics run`: process everything pending now (the job the server also runs periodically)."""

from __future__ import annotations

import asyncio
from datetime import date

import click

from dockyard.config import Settings


@click.command("run")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Treat periods that end on or before this UTC date as complete, and export them (default: today).",
)
@click.pass_context
def run_command(ctx: click.Context, as_of: object) -> None:
    """Classify new events, refresh weekly and monthly summaries, and export newly complete periods."""
    from dockyard.analytics.jobs import AnalyticsJob
    from dockyard.app import prepare
    from dockyard.db import Database

    root = ctx.find_root().obj or {}
    settings = Settings.from_env(data_dir=root.get("data_dir"))
    prepare(settings)
    day: date | None = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]

    async def work() -> list[str]:
        db = Database(settings.resolved_database_url)
        try:
            return (await AnalyticsJob(settings, db).run(day)).lines()
        finally:
            await db.dispose()

    try:
        lines = asyncio.run(work())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)
