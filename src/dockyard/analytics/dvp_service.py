"""The rules of the DVP Data API: who sees which namespace's analytics, which periods a request covers, and the
pull series and export listings built from the summaries.

A namespace's analytics are visible to its members (a user to themselves; an organisation to its members of any
role, or to its own organisation access token) and to site administrators; everyone else gets a 404, as if there
were nothing there. Data for a namespace Dockyard does not know (from another registry's notifications) is
visible to site administrators only, until an account of that name exists. Tokens limited to public content see
no analytics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from dockyard.accounts.permissions import Subject
from dockyard.analytics.models import AnalyticsExport, AnalyticsSummary
from dockyard.analytics.periods import Period, months_back
from dockyard.analytics.schemas import PERIOD_MONTHS, PullModel
from dockyard.analytics.store import AnalyticsStore
from dockyard.api.errors import BadRequest, NotFound

MAX_REPOS = 50
# What a namespace or repository name segment may hold (anything else cannot have data, and never reaches SQL).
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]{1,255}")


@dataclass(frozen=True)
class Series:
    timespan: str
    since: date
    until: date  # exclusive

    def periods(self) -> list[Period]:
        """Every period of the series, oldest first (with data or not)."""
        found: list[Period] = []
        current = Period.of(self.timespan, self.since)  # type: ignore[arg-type]
        while current.start < self.until:
            found.append(current)
            current = Period(current.timespan, current.end)
        return found


def series(timespan: str, period: str, today: date) -> Series:
    """Periods starting within the last N calendar months, the current one included (it may be partial)."""
    since = months_back(today, PERIOD_MONTHS[period])
    if timespan == "weeks":
        since = Period.week_of(since).start
    return Series(timespan, since, Period.of(timespan, today).end)  # type: ignore[arg-type]


def _instant(day: date) -> str:
    return datetime.combine(day, time(), tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pull_model(row: AnalyticsSummary, timespan: str) -> PullModel:
    period = Period(timespan, row.start)  # type: ignore[arg-type]
    return PullModel(
        start=_instant(period.start),
        end=_instant(period.end),
        repo=row.repository,
        namespace=row.namespace,
        pullCount=row.pull_by_tag + row.pull_by_digest,
        ipCount=row.unique_ip_address,
    )


class DvpService:
    def __init__(self, store: AnalyticsStore, subject: Subject) -> None:
        self.store = store
        self.subject = subject

    # --- visibility --------------------------------------------------------------------------------------------
    async def can_see(self, namespace: str) -> bool:
        subject = self.subject
        if subject.is_anonymous or subject.public_only:
            return False
        account = await self.store.account(namespace)
        if account is None:
            return subject.is_admin and namespace in await self.store.namespaces_with_data()
        if subject.is_admin:
            return True
        if subject.org_grant is not None:
            return subject.org_grant.org_id == account.id
        if subject.account_id is None:
            return False
        if account.id == subject.account_id:
            return True
        return account.is_org and await self.store.role(account.id, subject.account_id) is not None

    async def require(self, namespace: str) -> None:
        if not _SEGMENT.fullmatch(namespace) or not await self.can_see(namespace):
            raise NotFound(f"namespace '{namespace[:255]}' not found")

    async def visible(self) -> list[str]:
        """Every namespace the caller may see analytics of (with data or not)."""
        subject = self.subject
        if subject.is_anonymous or subject.public_only:
            return []
        names: set[str] = set()
        if subject.org_grant is not None:
            names.add(subject.org_grant.org_name)
        if subject.account_id is not None:
            if subject.username:
                names.add(subject.username)
            names.update(await self.store.member_orgs(subject.account_id))
        if subject.is_admin:
            names.update(await self.store.namespaces_with_data())
        return sorted(names)

    async def with_data(self) -> list[str]:
        has_data = set(await self.store.namespaces_with_data())
        return [name for name in await self.visible() if name in has_data]

    # --- pulls -------------------------------------------------------------------------------------------------
    async def namespace_pulls(
        self, namespace: str, timespan: str, period: str, group: str, today: date
    ) -> list[PullModel]:
        level = "namespace" if group == "namespace" else "repository"
        rows = await self.namespace_summaries(namespace, timespan, period, level, today)
        return [pull_model(row, timespan) for row in rows]

    async def namespace_summaries(
        self, namespace: str, timespan: str, period: str, level: str, today: date
    ) -> Sequence[AnalyticsSummary]:
        """The summary rows (`level` "namespace" or "repository") that a pull series is made of, with the counts
        the series leaves out (pulls by tag and by digest apart, version checks): for the web pages."""
        await self.require(namespace)
        window = series(timespan, period, today)
        return await self.store.pull_rows(timespan, window.since, window.until, level, [namespace])

    async def repository_pulls(
        self, namespace: str, repository: str, timespan: str, period: str, today: date
    ) -> list[PullModel]:
        await self.require(namespace)
        window = series(timespan, period, today)
        rows = await self.store.pull_rows(
            timespan, window.since, window.until, "repository", [namespace], [(namespace, repository)]
        )
        if (
            not rows
            and repository not in await self.store.known_repositories(namespace)
            and repository not in await self.store.repositories_with_data(namespace)
        ):
            raise NotFound(f"repository '{namespace}/{repository}' not found")
        return [pull_model(row, timespan) for row in rows]

    async def many_pulls(
        self, names: Sequence[str], timespan: str, period: str, today: date
    ) -> dict[str, list[PullModel]]:
        """Pulls of each `namespace/name` the caller may see; the others are left out of the answer."""
        wanted = [name for part in names for name in part.split(",") if name]
        if not wanted:
            raise BadRequest("repos: name at least one repository (namespace/name)")
        if len(set(wanted)) > MAX_REPOS:
            raise BadRequest(f"repos: at most {MAX_REPOS} repositories per request")
        pairs: list[tuple[str, str]] = []
        for name in dict.fromkeys(wanted):
            namespace, _, repository = name.partition("/")
            if not all(_SEGMENT.fullmatch(part) for part in [namespace, *repository.split("/")]):
                raise BadRequest(f"repos: {name!r} is not of the form namespace/name")
            pairs.append((namespace, repository))
        allowed = {ns for ns in {ns for ns, _ in pairs} if await self.can_see(ns)}
        pairs = [(ns, repo) for ns, repo in pairs if ns in allowed]
        window = series(timespan, period, today)
        out: dict[str, list[PullModel]] = {f"{ns}/{repo}": [] for ns, repo in pairs}
        rows = await self.store.pull_rows(timespan, window.since, window.until, "repository", allowed, pairs)
        for row in rows:
            out[f"{row.namespace}/{row.repository}"].append(pull_model(row, timespan))
        return out

    # --- exports -----------------------------------------------------------------------------------------------
    async def years(self, namespace: str) -> list[int]:
        await self.require(namespace)
        return await self.store.export_years(namespace)

    async def numbers(self, namespace: str, year: int, timespan: str) -> list[int]:
        await self.require(namespace)
        return await self.store.export_numbers(namespace, timespan, year)

    async def period(self, namespace: str, year: int, timespan: str, number: int) -> Period:
        """The exported period, or a 404 when it has no export."""
        await self.require(namespace)
        try:
            period = Period.numbered(timespan, year, number)  # type: ignore[arg-type]
        except ValueError:
            raise NotFound(f"there is no {timespan[:-1]} {number} in {year}") from None
        if number not in await self.store.export_numbers(namespace, timespan, year):
            raise NotFound(f"no data for {timespan[:-1]} {number} of {year}")
        return period

    async def exports_in(self, namespace: str, timespan: str, period: str, today: date) -> Sequence[AnalyticsExport]:
        """Every export file of the periods of a pull series (complete periods only: only those are exported)."""
        await self.require(namespace)
        window = series(timespan, period, today)
        return await self.store.exports_between(namespace, timespan, window.since, window.until)

    async def files(
        self, namespace: str, year: int, timespan: str, number: int, dataview: str
    ) -> Sequence[AnalyticsExport]:
        period = await self.period(namespace, year, timespan, number)
        found = await self.store.export_files(namespace, period, dataview)
        if not found:
            raise NotFound(f"no {dataview} data for {timespan[:-1]} {number} of {year}")
        return found
