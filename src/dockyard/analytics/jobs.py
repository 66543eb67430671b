"""The analytics job: what `dockyard analytics run` does, and what the server does every
DOCKYARD_ANALYTICS_INTERVAL_SECONDS.

1. Classify every day whose inputs changed since it was last classified: its own event segments, the segments
   of the days around it (their first and last window are context), the carry from the day before, the window
   setting. Days go in order, so a changed carry passes on to the next day; a day's actions file is replaced
   atomically. Today is no exception: each new segment changes its inputs, so a run classifies it again, whole.
2. Summarise every week and month whose days' actions changed.
3. Set the Hub API's pull numbers (repository `pull_count`, tag and image `last_pulled`) of every repository with
   actions in a month whose summaries changed since they were last applied: all-time totals recomputed from the
   monthly rows, set rather than added, so they always equal what the DVP Data API reports. A run reads this
   month's actions and the summary rows of the repositories pulled in it, never the whole history.
4. Export every complete period (as of today, UTC) whose summaries changed since it was last exported.

Two jobs never run at once, in one process or across replicas: a lease row in the database names the holder
until it expires (renewed between steps); a job that finds it taken does nothing. Everything is idempotent, so a
job that dies half-way is simply run again. That is also how the server stops one at shutdown: it asks, and the
job ends after the day or period under way (never cancelled inside a database call).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread

from dockyard.analytics import actions, periods, segments
from dockyard.analytics.classify import Carry, Classifier, connect, to_arrow
from dockyard.analytics.exports import export_period
from dockyard.analytics.memory import bulk_allocation, use_jemalloc
from dockyard.analytics.models import AnalyticsDay
from dockyard.analytics.periods import Period, touching
from dockyard.analytics.store import AnalyticsStore, DigestPull
from dockyard.analytics.summaries import WeeksAhead, summarize, summarize_each
from dockyard.background import Background
from dockyard.config import Settings
from dockyard.db import Database
from dockyard.registry.management import RegistryManagement

log = logging.getLogger(__name__)

LEASE = "analytics-job"
LEASE_SECONDS = 600.0
# Bump when the classification changes meaning, so every day is classified again.
CLASSIFIER_VERSION = "1"
# Repositories whose Hub pull numbers are set in one transaction.
HUB_BATCH = 200


class JobStopped(Exception):
    """The job was asked to stop; it ended between two steps (the next run carries on from there)."""


@dataclass
class JobReport:
    skipped: bool = False
    stopped: bool = False
    days: list[date] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(actions.ACTIONS, 0))
    summarized: list[Period] = field(default_factory=list)
    exported: list[Period] = field(default_factory=list)
    files: int = 0
    repositories: int = 0  # whose Hub pull numbers were set

    def lines(self) -> list[str]:
        if self.skipped:
            return ["another analytics job holds the lease; nothing done"]
        counts = ", ".join(f"{name} {count}" for name, count in self.counts.items())
        lines = [
            f"classified {len(self.days)} days ({counts})",
            f"summarised {len(self.summarized)} periods" + _labels(self.summarized),
            f"set the Hub pull numbers of {self.repositories} repositories",
            f"exported {len(self.exported)} periods in {self.files} files" + _labels(self.exported),
        ]
        return [*lines, "stopped early; the next run goes on from here"] if self.stopped else lines


def _labels(periods: list[Period]) -> str:
    return f": {', '.join(p.label for p in sorted(periods))}" if periods else ""


@dataclass(frozen=True)
class _Classified:
    day: date
    fingerprint: str
    output: str
    carry: str
    events: int
    counts: dict[str, int]


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def _file_digest(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


class AnalyticsJob:
    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.data_dir = settings.data_dir
        self.holder = uuid.uuid4().hex
        self._stop_requested = False

    def stop_soon(self) -> None:
        """Make a run under way end after its current day or period (from the event loop's thread)."""
        self._stop_requested = True

    def _go_on(self) -> None:
        if self._stop_requested:
            raise JobStopped

    def _connect(self) -> Any:
        use_jemalloc()
        return connect(
            memory_limit=self.settings.analytics_memory_limit or None,
            temp_dir=self.data_dir / "analytics" / "tmp",
        )

    async def run(self, as_of: date | None = None) -> JobReport:
        """Process everything pending; periods ending on or before `as_of` (default: today, UTC) count as
        complete and are exported."""
        today = as_of or periods.utc_today()
        if not await self._lease():
            return JobReport(skipped=True)
        report = JobReport()
        try:
            with bulk_allocation():
                await self._steps(report, today)
        except JobStopped:
            report.stopped = True
        finally:
            async with self.db.writer() as session:
                await AnalyticsStore(session).release_lease(LEASE, self.holder)
        return report

    async def _steps(self, report: JobReport, today: date) -> None:
        """Classify, summarise, set the Hub's pull numbers and export, on one DuckDB connection, renewing the
        lease between steps."""
        con = await anyio.to_thread.run_sync(self._connect)
        ahead = WeeksAhead(self.data_dir)
        try:
            await self._classify(con, report, ahead)
            await self._lease()
            await self._summarize(con, report, ahead)
            await self._lease()
            await self._hub_pulls(con, report)
            await self._lease()
            await self._export(con, report, today)
        finally:
            await anyio.to_thread.run_sync(ahead.close)  # waits for a summary under way: off the event loop
            con.close()

    async def _lease(self) -> bool:
        self._go_on()
        async with self.db.writer() as session:
            return await AnalyticsStore(session).acquire_lease(LEASE, self.holder, LEASE_SECONDS)

    # --- 1. classification ---------------------------------------------------------------------------------------
    async def _classify(self, con: Any, report: JobReport, ahead: WeeksAhead) -> None:
        async with self.db.reader() as session:
            known = await AnalyticsStore(session).days()
        classifier = Classifier(con, self.settings.analytics_window_seconds)
        try:
            await self._classify_days(classifier, known, report, ahead)
        finally:
            await anyio.to_thread.run_sync(classifier.close)

    async def _classify_days(
        self, classifier: Classifier, known: dict[date, AnalyticsDay], report: JobReport, ahead: WeeksAhead
    ) -> None:
        carried: dict[date, str] = {day: row.carry for day, row in known.items()}
        for day in segments.days(self.data_dir):
            previous = day - timedelta(days=1)
            carry_in = carried.get(previous, "[]")
            fingerprint = self._fingerprint(day, carry_in)
            state = known.get(day)
            if state is not None and state.fingerprint == fingerprint:
                continue
            self._go_on()
            done = await anyio.to_thread.run_sync(self._classify_day, classifier, day, carry_in, fingerprint)
            async with self.db.writer() as session:
                await AnalyticsStore(session).save_day(
                    day,
                    fingerprint=done.fingerprint,
                    output=done.output,
                    carry=done.carry,
                    events=done.events,
                    actions=sum(done.counts.values()),
                )
            carried[day] = done.carry
            ahead.classified(day)
            report.days.append(day)
            for name, count in done.counts.items():
                report.counts[name] += count

    def _fingerprint(self, day: date, carry_in: str) -> str:
        def names(of: date) -> list[str]:
            return [path.name for path in segments.segment_paths(self.data_dir, of, of)]

        return _digest(
            {
                "version": CLASSIFIER_VERSION,
                "window": self.settings.analytics_window_seconds,
                "day": names(day),
                "before": names(day - timedelta(days=1)),
                "after": names(day + timedelta(days=1)),
                "carry": carry_in,
            }
        )

    def _classify_day(self, classifier: Classifier, day: date, carry_in: str, fingerprint: str) -> _Classified:
        result = classifier.classify_day(self.data_dir, day, Carry.from_json(carry_in))
        path = actions.write_day(self.data_dir, day, result.actions)
        return _Classified(
            day, fingerprint, _file_digest(path), result.carry.to_json(), result.events, dict(result.counts)
        )

    # --- 2. summaries --------------------------------------------------------------------------------------------
    async def _summarize(self, con: Any, report: JobReport, ahead: WeeksAhead) -> None:
        async with self.db.reader() as session:
            store = AnalyticsStore(session)
            days = await store.days()
            known = await store.periods()
        changed = {}
        for period in sorted(touching(days)):
            fingerprint = self._period_fingerprint(period, days)
            state = known.get(period)
            if state is None or state.fingerprint != fingerprint:
                changed[period] = fingerprint
        results = summarize_each(con, self.data_dir, list(changed), ahead=ahead)
        try:
            while (done := await anyio.to_thread.run_sync(next, results, None)) is not None:
                self._go_on()
                period, rows = done
                async with self.db.writer() as session:
                    await AnalyticsStore(session).replace_summaries(period, changed[period], rows)
                report.summarized.append(period)
        finally:
            await anyio.to_thread.run_sync(results.close)  # waits for a summary under way: off the event loop

    @staticmethod
    def _period_fingerprint(period: Period, days: dict[date, AnalyticsDay]) -> str:
        return _digest([(day.isoformat(), days[day].output) for day in period.days() if day in days])

    # --- 3. the Hub's pull numbers --------------------------------------------------------------------------------
    async def _hub_pulls(self, con: Any, report: JobReport) -> None:
        async with self.db.reader() as session:
            states = await AnalyticsStore(session).periods()
        pending = {
            period: state.fingerprint
            for period, state in states.items()
            if period.timespan == "months" and state.hub_synced != state.fingerprint
        }
        if not pending:
            return
        for month in sorted(pending):
            rows = await anyio.to_thread.run_sync(digest_pulls, con, self.data_dir, month)
            async with self.db.writer() as session:
                await AnalyticsStore(session).replace_digest_pulls(month, rows)
            await self._lease()
        async with self.db.reader() as session:
            repositories = await AnalyticsStore(session).repositories_in(pending)
        for first in range(0, len(repositories), HUB_BATCH):
            async with self.db.writer() as session:
                statistics = await AnalyticsStore(session).pull_statistics(repositories[first : first + HUB_BATCH])
                report.repositories += await RegistryManagement.set_pull_statistics(session, statistics)
        # Marked only now: a run that dies before this sets the same numbers again next time, which is harmless.
        async with self.db.writer() as session:
            store = AnalyticsStore(session)
            for month, fingerprint in pending.items():
                await store.mark_hub_synced(month, fingerprint)

    # --- 4. exports ----------------------------------------------------------------------------------------------
    async def _export(self, con: Any, report: JobReport, today: date) -> None:
        async with self.db.reader() as session:
            store = AnalyticsStore(session)
            states = await store.periods()
        for period, state in sorted(states.items()):
            if not period.complete(today) or state.exported == state.fingerprint:
                continue
            self._go_on()
            async with self.db.reader() as session:
                store = AnalyticsStore(session)
                rows = await anyio.to_thread.run_sync(summarize, con, self.data_dir, period)
                namespaces = {row.namespace for row in rows}
                existing = await store.existing_accounts(namespaces)
            # The owner of a namespace's repositories is the account the namespace is (none for namespaces
            # known only from another registry's notifications).
            owners = {namespace: namespace for namespace in existing}
            generation = f"{state.fingerprint[:12]}-{uuid.uuid4().hex[:6]}"
            files = await anyio.to_thread.run_sync(
                functools.partial(
                    export_period,
                    con,
                    self.data_dir,
                    period,
                    generation,
                    rows,
                    owners,
                    self.settings.analytics_export_max_rows,
                )
            )
            async with self.db.writer() as session:
                store = AnalyticsStore(session)
                stale = await store.replace_exports(period, files)
                await store.mark_exported(period, state.fingerprint)
            await anyio.to_thread.run_sync(self._remove, stale)
            report.exported.append(period)
            report.files += len(files)

    def _remove(self, paths: list[str]) -> None:
        directories = set()
        for relative in paths:
            path = self.data_dir / relative
            path.unlink(missing_ok=True)
            directories.add(path.parent.parent)  # the generation directory
        for directory in directories:
            if directory.is_dir() and not any(directory.rglob("*.csv")):
                shutil.rmtree(directory, ignore_errors=True)


def digest_pulls(con: Any, data_dir: Path, month: Period) -> list[DigestPull]:
    """The last pull of each digest of each repository in `month`, from its days' actions."""
    files = actions.paths(data_dir, month.start, month.last_day)
    if not files:
        return []
    pulls = ", ".join(f"'{name}'" for name in actions.PULLS)
    table = to_arrow(
        con.sql(
            f"SELECT namespace, repository, digest, max(ts) AS last_pulled FROM {actions.parquet_sql(files)} "
            f"WHERE action IN ({pulls}) AND digest IS NOT NULL GROUP BY namespace, repository, digest"
        )
    )
    return [
        DigestPull(row["namespace"], row["repository"], row["digest"], row["last_pulled"].replace(tzinfo=UTC))
        for row in table.to_pylist()
    ]


async def run_once(job: AnalyticsJob, before: Any = None) -> JobReport:
    """One round of the server's periodic job: `before` (an async callable) first, then the job. The server
    flushes the capture buffer there, so the job sees every request answered until then."""
    if before is not None:
        await before()
    return await job.run()


class PeriodicJob:
    """The server's job: `run_once` every `interval` seconds (none when it is 0)."""

    def __init__(self, job: AnalyticsJob, interval: float, before: Any = None) -> None:
        self.job = job
        self.before = before
        self._background = Background("the analytics job", self._round, interval)

    async def _round(self) -> None:
        report = await run_once(self.job, self.before)
        for line in report.lines():
            log.info("analytics: %s", line)

    def start(self) -> None:
        self._background.start()

    async def stop(self) -> None:
        self.job.stop_soon()
        await self._background.stop()
