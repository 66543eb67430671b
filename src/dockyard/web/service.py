"""What the Insights pages show, built from the DVP Data API's own service (DvpService over AnalyticsStore), so a
number on a page is the number the API answers for the same namespace, timespan and period.

No HTTP and no SQL here: the pages' routes parse the request and render these view models.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import cast

from dockyard.analytics import exports
from dockyard.analytics.dvp_service import DvpService, series
from dockyard.analytics.models import AnalyticsExport, AnalyticsSummary
from dockyard.analytics.periods import Period
from dockyard.analytics.schemas import DATAVIEWS, PERIOD_MONTHS, TIMESPANS, PeriodName, Timespan
from dockyard.api.errors import BadRequest
from dockyard.config import Settings

DEFAULT_TIMESPAN: Timespan = "months"
DEFAULT_PERIOD: PeriodName = "last-3-months"


@dataclass(frozen=True)
class Counts:
    pull_by_tag: int = 0
    pull_by_digest: int = 0
    version_check: int = 0
    unique_ip_address: int = 0

    @property
    def pulls(self) -> int:
        """What the DVP Data API calls `pullCount`: version checks are not pulls."""
        return self.pull_by_tag + self.pull_by_digest

    @classmethod
    def of(cls, row: AnalyticsSummary) -> Counts:
        return cls(row.pull_by_tag, row.pull_by_digest, row.version_check, row.unique_ip_address)


@dataclass(frozen=True)
class PeriodRow:
    period: Period
    counts: Counts
    partial: bool = False  # the current period, still going on

    @property
    def short_label(self) -> str:
        if self.period.timespan == "weeks":
            return self.period.label
        return self.period.start.strftime("%b %Y")

    @property
    def long_label(self) -> str:
        return long_label(self.period)


def long_label(period: Period) -> str:
    if period.timespan == "weeks":
        return f"{period.label} ({_day(period.start)} to {_day(period.last_day)})"
    return period.start.strftime("%B %Y")


def _day(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


@dataclass(frozen=True)
class RepositoryTable:
    """One repository's periods with data, oldest first. `totals` adds up pulls and version checks; distinct
    clients cannot be added up across periods, so the span's unique IP count is not known."""

    name: str
    rows: list[PeriodRow]

    @property
    def totals(self) -> Counts:
        return Counts(
            sum(row.counts.pull_by_tag for row in self.rows),
            sum(row.counts.pull_by_digest for row in self.rows),
            sum(row.counts.version_check for row in self.rows),
        )


@dataclass(frozen=True)
class ExportLink:
    dataview: str
    part: int
    size: int
    rows: int
    url: str


@dataclass(frozen=True)
class ExportPeriod:
    period: Period
    links: dict[str, list[ExportLink]] = field(default_factory=dict)  # by data view, parts in order

    @property
    def label(self) -> str:
        return long_label(self.period)


@dataclass(frozen=True)
class NamespacePage:
    namespace: str
    timespan: Timespan
    period: PeriodName
    periods: list[PeriodRow]  # every period of the span, oldest first, zeros where nothing happened
    repositories: list[RepositoryTable]
    exports: list[ExportPeriod]  # newest first
    links_expire: datetime

    @property
    def unit(self) -> str:
        return self.timespan[:-1]


@dataclass(frozen=True)
class Overview:
    with_data: list[str]
    without_data: list[str]


def parse_query(timespan: str | None, period: str | None) -> tuple[Timespan, PeriodName]:
    """The page's `timespan` and `period`, with the DVP Data API's defaults and choices."""
    timespan = DEFAULT_TIMESPAN if timespan is None else timespan
    period = DEFAULT_PERIOD if period is None else period
    if timespan not in TIMESPANS:
        raise BadRequest(f"timespan must be one of: {', '.join(TIMESPANS)} (not {timespan[:40]!r})")
    if period not in PERIOD_MONTHS:
        raise BadRequest(f"period must be one of: {', '.join(PERIOD_MONTHS)} (not {period[:40]!r})")
    return timespan, cast(PeriodName, period)


class InsightsService:
    def __init__(self, dvp: DvpService, settings: Settings) -> None:
        self.dvp = dvp
        self.settings = settings

    async def overview(self) -> Overview:
        with_data = await self.dvp.with_data()
        return Overview(with_data, [name for name in await self.dvp.visible() if name not in with_data])

    async def namespace(
        self, namespace: str, timespan: Timespan, period: PeriodName, today: date, now: datetime | None = None
    ) -> NamespacePage:
        totals = await self.dvp.namespace_summaries(namespace, timespan, period, "namespace", today)
        by_repository = await self.dvp.namespace_summaries(namespace, timespan, period, "repository", today)
        files = await self.dvp.exports_in(namespace, timespan, period, today)
        current = Period.of(timespan, today)
        found = {row.start: Counts.of(row) for row in totals}
        rows = [
            PeriodRow(item, found.get(item.start, Counts()), partial=item == current)
            for item in series(timespan, period, today).periods()
        ]
        now = now or datetime.now(UTC)
        return NamespacePage(
            namespace=namespace,
            timespan=timespan,
            period=period,
            periods=rows,
            repositories=_repositories(by_repository, timespan, current),
            exports=self._exports(files),
            links_expire=now + timedelta(seconds=self.settings.analytics_download_ttl_seconds),
        )

    def _exports(self, files: Iterable[AnalyticsExport]) -> list[ExportPeriod]:
        secret = self.settings.load_secret()
        ttl = self.settings.analytics_download_ttl_seconds
        by_period: dict[Period, ExportPeriod] = {}
        for item in files:
            period = Period(cast(Timespan, item.timespan), item.start)
            entry = by_period.setdefault(period, ExportPeriod(period, {view: [] for view in DATAVIEWS}))
            url = exports.download_url(self.settings.base_url, secret, item.id, ttl)
            entry.links.setdefault(item.dataview, []).append(
                ExportLink(item.dataview, item.part, item.size, item.row_count, url)
            )
        return sorted(by_period.values(), key=lambda entry: entry.period.start, reverse=True)


def _repositories(rows: Sequence[AnalyticsSummary], timespan: Timespan, current: Period) -> list[RepositoryTable]:
    grouped: dict[str, list[PeriodRow]] = {}
    for row in rows:
        period = Period(timespan, row.start)
        grouped.setdefault(row.repository, []).append(PeriodRow(period, Counts.of(row), partial=period == current))
    tables = [RepositoryTable(name, sorted(found, key=lambda r: r.period.start)) for name, found in grouped.items()]
    # The most pulled first, as a publisher looks for them; ties by name so the order is stable.
    return sorted(tables, key=lambda table: (-table.totals.pulls, table.name))
