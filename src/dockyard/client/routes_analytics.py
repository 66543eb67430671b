"""Flows for the DVP Data API (`/api/publisher/analytics/v1` on the Hub host): discovery, pull series, and the
CSV exports (listing, and downloading to files with progress)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from dockyard.client import models as m
from dockyard.client.calls import Download, Flow, ProgressCallback, fetch, get, params, seg
from dockyard.client.constants import MAX_REPOS
from dockyard.client.context import Context

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _series(timespan: str | None, period: str | None, group: str | None) -> dict[str, str]:
    return params(timespan=timespan, period=period, group=group)


def analytics_discovery(ctx: Context) -> Flow[m.NamespaceData]:
    """The namespaces with analytics data (`GET /`)."""
    return (yield from fetch(m.NamespaceData, get(ctx.dvp("/"))))


def analytics_namespaces(ctx: Context) -> Flow[list[m.NamespaceMetadata]]:
    """Metadata of every namespace the caller can see: datasets, views, timespans, extra repositories."""
    response = yield get(ctx.dvp("/namespaces"))
    data = response.json() if response.content else []
    rows = data if isinstance(data, list) else data.get("namespaces", []) if isinstance(data, dict) else []
    return [m.NamespaceMetadata.model_validate(row) for row in rows]


def analytics_namespace(ctx: Context, namespace: str) -> Flow[m.NamespaceMetadata]:
    return (yield from fetch(m.NamespaceMetadata, get(ctx.dvp(f"/namespaces/{seg(namespace)}"))))


def namespace_pulls(
    ctx: Context,
    namespace: str,
    *,
    timespan: str | None = None,
    period: str | None = None,
    group: str | None = None,
) -> Flow[m.PullData]:
    """A namespace's pulls per month or week (`timespan`: months|weeks; `period`: last-2|3|6|12-months;
    `group`: repo|namespace)."""
    call = get(ctx.dvp(f"/namespaces/{seg(namespace)}/pulls"), _series(timespan, period, group))
    return (yield from fetch(m.PullData, call))


def repository_pulls(
    ctx: Context,
    namespace: str,
    repository: str,
    *,
    timespan: str | None = None,
    period: str | None = None,
    group: str | None = None,
) -> Flow[m.PullData]:
    """One repository's pulls per month or week."""
    path = ctx.dvp(f"/namespaces/{seg(namespace)}/repos/{seg(repository)}/pulls")
    return (yield from fetch(m.PullData, get(path, _series(timespan, period, group))))


def repositories_pulls(
    ctx: Context,
    repositories: Sequence[str],
    *,
    timespan: str | None = None,
    period: str | None = None,
    group: str | None = None,
) -> Flow[m.ReposPullData]:
    """Pulls of several repositories (`namespace/name`, at most 50) in one call."""
    if not repositories or len(repositories) > MAX_REPOS:
        raise ValueError(f"between 1 and {MAX_REPOS} repositories")
    query = [("repos", name) for name in repositories] + list(_series(timespan, period, group).items())
    return (yield from fetch(m.ReposPullData, get(ctx.dvp("/repos/pulls"), query)))


def _exports(namespace: str) -> str:
    return f"/namespaces/{seg(namespace)}/pulls/exports/years"


def export_years(ctx: Context, namespace: str) -> Flow[m.ExportYears]:
    """The years that have export data."""
    return (yield from fetch(m.ExportYears, get(ctx.dvp(_exports(namespace)))))


def export_timespans(ctx: Context, namespace: str, year: int, timespan: str) -> Flow[m.ExportTimespans]:
    """The months or weeks (`timespan`) of a year that have export data."""
    call = get(ctx.dvp(f"{_exports(namespace)}/{seg(year)}/{seg(timespan)}"))
    return (yield from fetch(m.ExportTimespans, call))


def export_timespan(ctx: Context, namespace: str, year: int, timespan: str, number: int) -> Flow[m.ExportTimespan]:
    """One month or week, if it has data (404 otherwise)."""
    call = get(ctx.dvp(f"{_exports(namespace)}/{seg(year)}/{seg(timespan)}/{seg(number)}"))
    return (yield from fetch(m.ExportTimespan, call))


def export_files(ctx: Context, namespace: str, year: int, timespan: str, number: int, view: str) -> Flow[m.ExportFiles]:
    """The download links (`{url, size}`) of one export: `view` is raw, summary, repo-summary or
    namespace-summary. Large exports come in several files."""
    path = f"{_exports(namespace)}/{seg(year)}/{seg(timespan)}/{seg(number)}/{seg(view)}"
    return (yield from fetch(m.ExportFiles, get(ctx.dvp(path), cache=False)))


def file_name(url: str, fallback: str) -> str:
    """A safe local file name for a download URL: its last path segment, or the fallback."""
    last = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    cleaned = _UNSAFE.sub("_", last).strip("._")
    return cleaned or fallback


def download(ctx: Context, url: str, path: str | Path, *, progress: ProgressCallback | None = None) -> Flow[Path]:
    """Download one file (an export link) to `path`, calling `progress(name, done, total)` as bytes arrive."""
    written: Path = yield Download(url, path=Path(path), progress=progress, auth=True)
    return written


def download_export(
    ctx: Context,
    namespace: str,
    year: int,
    timespan: str,
    number: int,
    view: str,
    directory: str | Path,
    *,
    progress: ProgressCallback | None = None,
) -> Flow[list[Path]]:
    """Download every file of one export into `directory` (created if needed), under the names the server gives
    them; the paths written, in order."""
    files = yield from export_files(ctx, namespace, year, timespan, number, view)
    folder = Path(directory)
    written: list[Path] = []
    for index, item in enumerate(files.data):
        fallback = file_name(item.url, f"{namespace}-{timespan}-{year}-{number:02d}-{view}-{index + 1}.csv")
        taken = frozenset(path.name for path in written)
        path: Path = yield Download(
            item.url, directory=folder, name=fallback, taken=taken, progress=progress, auth=True
        )
        written.append(path)
    return written
