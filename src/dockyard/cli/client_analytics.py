"""`dockyard analytics pulls|export`: the DVP Data API of a Hub, over HTTP (the `import` and `run` commands of the
same group work on the local data directory instead)."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from dockyard.cli.client_support import ClientCommand, client, print_json, show, when
from dockyard.client.constants import GROUPS, PERIODS, TIMESPANS, VIEWS

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from dockyard.client import models as m

SPARKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 40


def sparkline(values: list[int]) -> str:
    if not values:
        return ""
    top = max(values)
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))] for v in values)


def _totals(data: m.PullData) -> OrderedDict[str, int]:
    """Pulls per period, in time order."""
    rows = sorted(data.pulls, key=lambda p: (p.start is None, p.start))
    totals: OrderedDict[str, int] = OrderedDict()
    for row in rows:
        label = row.start.strftime("%Y-%m-%d") if row.start else "?"
        totals[label] = totals.get(label, 0) + row.pull_count
    return totals


def render_pulls(title: str, data: m.PullData) -> None:
    from rich.table import Table

    table = Table(title=title, show_edge=False, box=None, header_style="bold", pad_edge=False)
    for header in ("START", "END", "REPOSITORY", "COUNTRY", "PULLS", "UNIQUE IPS"):
        table.add_column(header, overflow="fold", justify="right" if header in ("PULLS", "UNIQUE IPS") else "left")
    for row in sorted(data.pulls, key=lambda p: (p.start is None, p.start, p.repo or "")):
        table.add_row(
            when(row.start),
            when(row.end),
            row.repo or row.namespace or "-",
            row.country or "-",
            str(row.pull_count),
            "-" if row.ip_count is None else str(row.ip_count),
        )
    show(table)
    totals = _totals(data)
    if not totals:
        click.echo("no pulls in this period")
        return
    top = max(totals.values()) or 1
    chart = Table(title="Pulls per period", show_header=False, show_edge=False, box=None, pad_edge=False)
    chart.add_column()
    chart.add_column()
    chart.add_column(justify="right")
    for label, count in totals.items():
        chart.add_row(label, "█" * max(1 if count else 0, round(count / top * BAR_WIDTH)), str(count))
    click.echo()
    show(chart)
    click.echo(f"trend {sparkline(list(totals.values()))}  total {sum(totals.values())}")


@click.command("pulls", cls=ClientCommand)
@click.argument("namespace")
@click.option("--repo", "repository", help="One repository of the namespace.")
@click.option("--timespan", type=click.Choice(TIMESPANS), help="Count per month or per week.")
@click.option("--period", type=click.Choice(PERIODS), help="How far back.")
@click.option("--group", type=click.Choice(GROUPS), help="Group the counts by repository or namespace.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def pulls_command(
    namespace: str,
    repository: str | None,
    timespan: str | None,
    period: str | None,
    group: str | None,
    output_format: str,
) -> None:
    """Pull counts of NAMESPACE (or of one repository), as a table and a chart."""
    with client() as hub:
        if repository:
            data = hub.repository_pulls(namespace, repository, timespan=timespan, period=period, group=group)
        else:
            data = hub.namespace_pulls(namespace, timespan=timespan, period=period, group=group)
    if output_format == "json":
        print_json(data)
        return
    render_pulls(f"Pulls of {namespace}/{repository}" if repository else f"Pulls of {namespace}", data)


class _Bars:
    """One progress bar per file, created when the file's first bytes arrive."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, name: str, done: int, total: int | None) -> None:
        task = self.tasks.get(name)
        if task is None:
            task = self.tasks[name] = self.progress.add_task(name, total=total)
        self.progress.update(task, completed=done, total=total)


@click.command("export", cls=ClientCommand)
@click.argument("namespace")
@click.option("--year", type=int, required=True)
@click.option("--month", type=click.IntRange(1, 12), help="A month of the year (or --week).")
@click.option("--week", type=click.IntRange(1, 53), help="An ISO week of the year (or --month).")
@click.option("--view", type=click.Choice(VIEWS), required=True, help="Which export.")
@click.option(
    "--output",
    "output_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the files into (created if needed).",
)
def export_command(namespace: str, year: int, month: int | None, week: int | None, view: str, output_dir: Path) -> None:
    """Download the CSV export of NAMESPACE for one month or week, with progress bars."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    if (month is None) == (week is None):
        raise click.UsageError("give exactly one of --month and --week")
    timespan, number = ("months", month) if month is not None else ("weeks", week)
    assert number is not None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
    )
    bars = Console(stderr=True)  # stdout is for the paths written
    with client() as hub, Progress(*columns, console=bars, transient=False) as progress:
        paths = hub.download_export(namespace, year, timespan, number, view, output_dir, progress=_Bars(progress))
    if not paths:
        click.echo("the export has no files")
    for path in paths:
        click.echo(str(path))
