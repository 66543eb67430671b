"""All analytics queries: processing state, summaries, export records, the job lease, the account facts the
DVP Data API decides visibility with, and the Hub API's pull numbers."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.models import ORGANIZATION, Account, Membership
from dockyard.analytics.models import (
    AnalyticsDay,
    AnalyticsDigestPull,
    AnalyticsExport,
    AnalyticsLease,
    AnalyticsPeriod,
    AnalyticsSummary,
)
from dockyard.analytics.periods import Period
from dockyard.analytics.summaries import SummaryRow
from dockyard.db.base import utcnow
from dockyard.registry.management import PullStatistics
from dockyard.registry.models import Repository


@dataclass(frozen=True)
class ExportFile:
    """An export file to record (path relative to the data directory)."""

    namespace: str
    period: Period
    dataview: str
    part: int
    path: str
    size: int
    row_count: int


@dataclass(frozen=True)
class DigestPull:
    """The last pull of a digest of a repository within some period."""

    namespace: str
    repository: str
    digest: str
    last_pulled: datetime  # UTC


class AnalyticsStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- processing state ------------------------------------------------------------------------------------
    async def days(self) -> dict[date, AnalyticsDay]:
        rows = (await self.session.execute(select(AnalyticsDay))).scalars().all()
        return {row.day: row for row in rows}

    async def save_day(
        self, day: date, *, fingerprint: str, output: str, carry: str, events: int, actions: int
    ) -> None:
        row = await self.session.get(AnalyticsDay, day)
        if row is None:
            row = AnalyticsDay(day=day)
            self.session.add(row)
        row.fingerprint, row.output, row.carry = fingerprint, output, carry
        row.events, row.actions, row.classified_at = events, actions, utcnow()
        await self.session.flush()

    async def periods(self) -> dict[Period, AnalyticsPeriod]:
        rows = (await self.session.execute(select(AnalyticsPeriod))).scalars().all()
        return {Period(row.timespan, row.start): row for row in rows}  # type: ignore[arg-type]

    async def replace_summaries(self, period: Period, fingerprint: str, rows: Sequence[SummaryRow]) -> None:
        """The period's summaries, all at once (in the caller's transaction)."""
        await self.session.execute(
            delete(AnalyticsSummary).where(
                AnalyticsSummary.timespan == period.timespan, AnalyticsSummary.start == period.start
            )
        )
        if rows:
            await self.session.execute(
                insert(AnalyticsSummary),
                [
                    {
                        "timespan": period.timespan,
                        "start": period.start,
                        "level": row.level,
                        "namespace": row.namespace,
                        "repository": row.repository,
                        "reference": row.reference,
                        "unique_ip_address": row.unique_ip_address,
                        "pull_by_tag": row.pull_by_tag,
                        "pull_by_digest": row.pull_by_digest,
                        "version_check": row.version_check,
                        "last_pulled": row.last_pulled,
                    }
                    for row in rows
                ],
            )
        state = await self.session.get(AnalyticsPeriod, (period.timespan, period.start))
        if state is None:
            state = AnalyticsPeriod(timespan=period.timespan, start=period.start, exported=None)
            self.session.add(state)
        state.fingerprint, state.summarized_at = fingerprint, utcnow()
        await self.session.flush()

    async def summaries(
        self,
        period: Period,
        level: str,
        namespace: str | None = None,
    ) -> Sequence[AnalyticsSummary]:
        query = select(AnalyticsSummary).where(
            AnalyticsSummary.timespan == period.timespan,
            AnalyticsSummary.start == period.start,
            AnalyticsSummary.level == level,
        )
        if namespace is not None:
            query = query.where(AnalyticsSummary.namespace == namespace)
        query = query.order_by(AnalyticsSummary.namespace, AnalyticsSummary.repository, AnalyticsSummary.reference)
        return (await self.session.execute(query)).scalars().all()

    async def pull_rows(
        self,
        timespan: str,
        since: date,
        until: date,
        level: str,
        namespaces: Iterable[str],
        repositories: Iterable[tuple[str, str]] | None = None,
    ) -> Sequence[AnalyticsSummary]:
        """Summary rows of periods starting in [since, until) for these namespaces (and repositories)."""
        query = select(AnalyticsSummary).where(
            AnalyticsSummary.timespan == timespan,
            AnalyticsSummary.level == level,
            AnalyticsSummary.start >= since,
            AnalyticsSummary.start < until,
            AnalyticsSummary.namespace.in_(list(namespaces)),
        )
        if repositories is not None:
            pairs = list(repositories)
            if not pairs:
                return []
            query = query.where(
                or_(
                    *[and_(AnalyticsSummary.namespace == ns, AnalyticsSummary.repository == repo) for ns, repo in pairs]
                )
            )
        query = query.order_by(AnalyticsSummary.start, AnalyticsSummary.namespace, AnalyticsSummary.repository)
        return (await self.session.execute(query)).scalars().all()

    async def namespaces_with_data(self) -> list[str]:
        query = select(AnalyticsSummary.namespace).where(AnalyticsSummary.level == "namespace").distinct()
        return sorted(name for (name,) in (await self.session.execute(query)).all())

    async def repositories_with_data(self, namespace: str) -> list[str]:
        query = (
            select(AnalyticsSummary.repository)
            .where(AnalyticsSummary.level == "repository", AnalyticsSummary.namespace == namespace)
            .distinct()
        )
        return sorted(name for (name,) in (await self.session.execute(query)).all())

    async def mark_exported(self, period: Period, fingerprint: str) -> None:
        await self.session.execute(
            update(AnalyticsPeriod)
            .where(AnalyticsPeriod.timespan == period.timespan, AnalyticsPeriod.start == period.start)
            .values(exported=fingerprint)
        )

    # --- exports ---------------------------------------------------------------------------------------------
    async def replace_exports(self, period: Period, files: Sequence[ExportFile]) -> list[str]:
        """Record the period's export files in place of the previous ones; returns the replaced paths that are
        not among the new ones (for the caller to delete after the commit)."""
        old = (
            (
                await self.session.execute(
                    select(AnalyticsExport.path).where(
                        AnalyticsExport.timespan == period.timespan, AnalyticsExport.start == period.start
                    )
                )
            )
            .scalars()
            .all()
        )
        await self.session.execute(
            delete(AnalyticsExport).where(
                AnalyticsExport.timespan == period.timespan, AnalyticsExport.start == period.start
            )
        )
        for item in files:
            self.session.add(
                AnalyticsExport(
                    namespace=item.namespace,
                    timespan=period.timespan,
                    start=period.start,
                    year=period.year,
                    number=period.number,
                    dataview=item.dataview,
                    part=item.part,
                    path=item.path,
                    size=item.size,
                    row_count=item.row_count,
                )
            )
        await self.session.flush()
        kept = {item.path for item in files}
        return [path for path in old if path not in kept]

    async def export_years(self, namespace: str) -> list[int]:
        query = select(AnalyticsExport.year).where(AnalyticsExport.namespace == namespace).distinct()
        return sorted(year for (year,) in (await self.session.execute(query)).all())

    async def export_numbers(self, namespace: str, timespan: str, year: int) -> list[int]:
        query = (
            select(AnalyticsExport.number)
            .where(
                AnalyticsExport.namespace == namespace,
                AnalyticsExport.timespan == timespan,
                AnalyticsExport.year == year,
            )
            .distinct()
        )
        return sorted(number for (number,) in (await self.session.execute(query)).all())

    async def export_files(self, namespace: str, period: Period, dataview: str) -> Sequence[AnalyticsExport]:
        query = (
            select(AnalyticsExport)
            .where(
                AnalyticsExport.namespace == namespace,
                AnalyticsExport.timespan == period.timespan,
                AnalyticsExport.start == period.start,
                AnalyticsExport.dataview == dataview,
            )
            .order_by(AnalyticsExport.part)
        )
        return (await self.session.execute(query)).scalars().all()

    async def exports_between(
        self, namespace: str, timespan: str, since: date, until: date
    ) -> Sequence[AnalyticsExport]:
        """Every export file of the namespace's periods starting in [since, until), newest period first."""
        query = (
            select(AnalyticsExport)
            .where(
                AnalyticsExport.namespace == namespace,
                AnalyticsExport.timespan == timespan,
                AnalyticsExport.start >= since,
                AnalyticsExport.start < until,
            )
            .order_by(AnalyticsExport.start.desc(), AnalyticsExport.dataview, AnalyticsExport.part)
        )
        return (await self.session.execute(query)).scalars().all()

    async def export_file(self, export_id: int) -> AnalyticsExport | None:
        return await self.session.get(AnalyticsExport, export_id)

    # --- the job lease ---------------------------------------------------------------------------------------
    async def acquire_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Take (or renew) the lease `name` for `seconds` unless another holder has it unexpired."""
        now = utcnow()
        expires = now + timedelta(seconds=seconds)
        result = await self.session.execute(
            update(AnalyticsLease)
            .where(
                AnalyticsLease.name == name,
                or_(AnalyticsLease.holder == holder, AnalyticsLease.expires_at < now),
            )
            .values(holder=holder, expires_at=expires)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            return True
        if await self.session.get(AnalyticsLease, name) is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(AnalyticsLease(name=name, holder=holder, expires_at=expires))
        except IntegrityError:
            return False  # another job created it first
        return True

    async def release_lease(self, name: str, holder: str) -> None:
        await self.session.execute(
            delete(AnalyticsLease).where(AnalyticsLease.name == name, AnalyticsLease.holder == holder)
        )

    # --- accounts, for owners and visibility -------------------------------------------------------------------
    async def existing_accounts(self, names: Iterable[str]) -> set[str]:
        wanted = sorted(set(names))
        if not wanted:
            return set()
        query = select(Account.name).where(Account.name.in_(wanted))
        return {name for (name,) in (await self.session.execute(query)).all()}

    async def account(self, name: str) -> Account | None:
        return (await self.session.execute(select(Account).where(Account.name == name))).scalar_one_or_none()

    async def member_orgs(self, user_id: int) -> list[str]:
        query = (
            select(Account.name)
            .join(Membership, Membership.org_id == Account.id)
            .where(Membership.user_id == user_id, Account.kind == ORGANIZATION)
        )
        return sorted(name for (name,) in (await self.session.execute(query)).all())

    async def role(self, org_id: int, user_id: int) -> str | None:
        query = select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id)
        return (await self.session.execute(query)).scalar_one_or_none()

    # --- the Hub API's pull numbers ---------------------------------------------------------------------------
    async def replace_digest_pulls(self, month: Period, rows: Sequence[DigestPull]) -> None:
        """The month's last pull per digest, all at once (in the caller's transaction)."""
        await self.session.execute(delete(AnalyticsDigestPull).where(AnalyticsDigestPull.start == month.start))
        if rows:
            await self.session.execute(
                insert(AnalyticsDigestPull),
                [
                    {
                        "start": month.start,
                        "namespace": row.namespace,
                        "repository": row.repository,
                        "digest": row.digest,
                        "last_pulled": row.last_pulled,
                    }
                    for row in rows
                ],
            )

    async def mark_hub_synced(self, month: Period, fingerprint: str) -> None:
        await self.session.execute(
            update(AnalyticsPeriod)
            .where(AnalyticsPeriod.timespan == month.timespan, AnalyticsPeriod.start == month.start)
            .values(hub_synced=fingerprint)
        )

    async def repositories_in(self, months: Iterable[Period]) -> list[tuple[str, str]]:
        """The (namespace, repository) pairs with actions in any of these months."""
        starts = sorted({month.start for month in months})
        if not starts:
            return []
        query = (
            select(AnalyticsSummary.namespace, AnalyticsSummary.repository)
            .where(
                AnalyticsSummary.timespan == "months",
                AnalyticsSummary.level == "repository",
                AnalyticsSummary.start.in_(starts),
            )
            .distinct()
            .order_by(AnalyticsSummary.namespace, AnalyticsSummary.repository)
        )
        return [(namespace, repository) for namespace, repository in (await self.session.execute(query)).all()]

    async def pull_statistics(self, repositories: Sequence[tuple[str, str]]) -> dict[str, PullStatistics]:
        """All-time pull numbers of these (namespace, repository) pairs, keyed by registry path: the pulls and the
        last pull from the monthly repository summaries (so they equal what the DVP Data API reports), each tag's
        last pull from the monthly reference summaries (a reference without ':' is a tag, and its only pulls are
        pulls by tag), each digest's from the digest pulls."""
        if not repositories:
            return {}
        pairs = list(dict.fromkeys(repositories))
        months = AnalyticsSummary.timespan == "months"
        summaries = tuple_(AnalyticsSummary.namespace, AnalyticsSummary.repository).in_(pairs)
        totals = await self.session.execute(
            select(
                AnalyticsSummary.namespace,
                AnalyticsSummary.repository,
                func.sum(AnalyticsSummary.pull_by_tag + AnalyticsSummary.pull_by_digest),
                func.max(AnalyticsSummary.last_pulled),
            )
            .where(months, AnalyticsSummary.level == "repository", summaries)
            .group_by(AnalyticsSummary.namespace, AnalyticsSummary.repository)
        )
        tags: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
        for namespace, repository, tag, last in await self.session.execute(
            select(
                AnalyticsSummary.namespace,
                AnalyticsSummary.repository,
                AnalyticsSummary.reference,
                func.max(AnalyticsSummary.last_pulled),
            )
            .where(
                months,
                AnalyticsSummary.level == "reference",
                summaries,
                AnalyticsSummary.reference.not_like("%:%"),
            )
            .group_by(AnalyticsSummary.namespace, AnalyticsSummary.repository, AnalyticsSummary.reference)
        ):
            if last is not None:  # only version checks of the tag
                tags[namespace, repository][tag] = last
        digests: dict[tuple[str, str], dict[str, datetime]] = defaultdict(dict)
        for namespace, repository, digest, last in await self.session.execute(
            select(
                AnalyticsDigestPull.namespace,
                AnalyticsDigestPull.repository,
                AnalyticsDigestPull.digest,
                func.max(AnalyticsDigestPull.last_pulled),
            )
            .where(tuple_(AnalyticsDigestPull.namespace, AnalyticsDigestPull.repository).in_(pairs))
            .group_by(AnalyticsDigestPull.namespace, AnalyticsDigestPull.repository, AnalyticsDigestPull.digest)
        ):
            digests[namespace, repository][digest] = last
        return {
            f"{namespace}/{repository}": PullStatistics(
                int(count or 0), last, tags.get((namespace, repository), {}), digests.get((namespace, repository), {})
            )
            for namespace, repository, count, last in totals.all()
        }

    async def known_repositories(self, namespace: str) -> list[str]:
        query = (
            select(Repository.name)
            .join(Account, Account.id == Repository.namespace_id)
            .where(Account.name == namespace)
        )
        return sorted(name for (name,) in (await self.session.execute(query)).all())
