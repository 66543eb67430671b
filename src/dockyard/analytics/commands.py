"""`dockyard analytics ...`: load manifest events from files and look at what the event store holds.

`import` exits with 0 when every line was read, and with 1 when any line or event was rejected; the valid events
of the file are written either way (never all-or-nothing), and every rejection is reported with its line number.
Importing the same file twice records its events twice.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO, cast

import click

from dockyard.config import Settings

IMPORT_BATCH = 100_000
SHOWN_REJECTIONS = 50


def _settings(ctx: click.Context) -> Settings:
    root = ctx.find_root().obj or {}
    return Settings.from_env(data_dir=root.get("data_dir"))


@click.group()
def analytics() -> None:
    """Pull analytics: import manifest events and inspect the event store."""


@analytics.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8", errors="replace"))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["distribution", "jsonl"]),
    required=True,
    help="distribution: notification envelopes or events, one per line (or one envelope in the file); "
    "jsonl: one Dockyard event object per line.",
)
@click.pass_context
def import_events(ctx: click.Context, file: TextIO, file_format: str) -> None:
    """Load manifest events from FILE ('-' for standard input)."""
    from dockyard.analytics.enrich import Enricher
    from dockyard.analytics.event_writer import EventWriter
    from dockyard.analytics.ingest import IngestResult, read_file

    settings = _settings(ctx)
    try:
        enricher = Enricher.from_setting(settings.analytics_mmdb)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    writer = EventWriter(settings.data_dir, settings.load_secret(), enricher, fsync=settings.fsync)
    total, pending = IngestResult(), IngestResult()
    written_segments: list[Path] = []
    lines = 0
    try:
        for result in read_file(file, file_format):
            lines += 1
            pending.merge(result)
            if len(pending.accepted) >= IMPORT_BATCH:
                written_segments += writer.write(pending.accepted, "import")
                total.merge(pending)
                pending = IngestResult()
        written_segments += writer.write(pending.accepted, "import")
        total.merge(pending)
    finally:
        enricher.close()
    name = getattr(file, "name", "-")
    click.echo(
        f"imported {len(total.accepted)} events from {name} into {len(written_segments)} segments "
        f"({lines} lines; {total.ignored} events ignored: not manifest pulls; {len(total.rejected)} rejected)"
    )
    if total.rejected:
        for rejection in total.rejected[:SHOWN_REJECTIONS]:
            where = f"line {rejection.line}" if rejection.line is not None else "event"
            click.echo(f"  rejected {where}, event {rejection.index}: {rejection.reason}", err=True)
        if len(total.rejected) > SHOWN_REJECTIONS:
            click.echo(f"  ... and {len(total.rejected) - SHOWN_REJECTIONS} more rejections", err=True)
        sys.exit(1)


@analytics.command("events")
@click.pass_context
def event_counts(ctx: click.Context) -> None:
    """Count the stored manifest events per day and source."""
    from dockyard.analytics import segments

    counts = segments.count_by_day(_settings(ctx).data_dir)
    if not counts:
        click.echo("no events stored")
        return
    grand = 0
    for day, by_source in counts.items():
        total = sum(by_source.values())
        grand += total
        detail = ", ".join(f"{source} {count}" for source, count in sorted(by_source.items()))
        click.echo(f"{day.isoformat()}  {total:>10}  ({detail})")
    click.echo(f"{len(counts)} days, {grand} events")


@analytics.command("spark-sql")
@click.argument("query", type=click.Choice(["encode", "classify", "summaries", "export_raw"]))
@click.option(
    "--window",
    "window_seconds",
    type=click.IntRange(0, 3600),  # classify.MAX_WINDOW_SECONDS, which would load DuckDB for every command
    help="classify: seconds within which follow-ups count (default: DOCKYARD_ANALYTICS_WINDOW_SECONDS).",
)
@click.option("--period", help="summaries, export_raw: the ISO week (2024-W10) or month (2024-03).")
@click.pass_context
def spark_sql_command(ctx: click.Context, query: str, window_seconds: int | None, period: str | None) -> None:
    """Print QUERY in Spark SQL, to run on a Spark cluster over the whole history at once.

    encode reads the view `events`: the segments' rows with a row id `rid` that follows their order (day, segment
    name, row). classify reads `narrow` (encode's result) and returns each action's `rid` and name. summaries
    and export_raw (the raw export's rows) read `actions`: the actions' columns, picked from `events` by `rid`.
    dockyard.analytics.spark runs all four from Python."""
    from dockyard.analytics.periods import Period
    from dockyard.analytics.spark import Query, spark_sql

    chosen: Period | None = None
    if query in ("summaries", "export_raw"):
        try:
            chosen = Period.from_label(period or "")
        except ValueError:
            raise click.BadParameter("a week as 2024-W10 or a month as 2024-03", param_hint="--period") from None
    if window_seconds is None:
        window_seconds = _settings(ctx).analytics_window_seconds
    click.echo(spark_sql(cast(Query, query), window_seconds, chosen))
