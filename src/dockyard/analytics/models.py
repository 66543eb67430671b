"""Analytics tables: what the jobs have processed, the summaries the DVP Data API serves, export files, and the
lease that keeps two jobs from running at once. The events and actions themselves live in Parquet files."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow


class AnalyticsDay(Base):
    """A classified day: `fingerprint` names the inputs it was classified from (so a day is classified again
    when they change), `output` the action file it produced, `carry` what the next day needs from it."""

    __tablename__ = "analytics_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    output: Mapped[str] = mapped_column(String(64))
    carry: Mapped[str] = mapped_column(Text, default="[]")
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    actions: Mapped[int] = mapped_column(BigInteger, default=0)
    classified_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AnalyticsPeriod(Base):
    """A summarised week or month: `fingerprint` is that of its days' outputs; `exported` the fingerprint its
    export files were made from (None until the period is complete and exported); `hub_synced`, for a month, the
    fingerprint the Hub's pull numbers of its repositories were last computed from."""

    __tablename__ = "analytics_periods"

    timespan: Mapped[str] = mapped_column(String(8), primary_key=True)
    start: Mapped[date] = mapped_column(Date, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    exported: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hub_synced: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summarized_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AnalyticsSummary(Base):
    __tablename__ = "analytics_summaries"
    __table_args__ = (
        UniqueConstraint("timespan", "start", "level", "namespace", "repository", "reference"),
        Index("ix_analytics_summaries_lookup", "namespace", "timespan", "level", "start"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timespan: Mapped[str] = mapped_column(String(8))
    start: Mapped[date] = mapped_column(Date)
    level: Mapped[str] = mapped_column(String(16))
    namespace: Mapped[str] = mapped_column(String(255))
    repository: Mapped[str] = mapped_column(String(255), default="")
    reference: Mapped[str] = mapped_column(String(255), default="")
    unique_ip_address: Mapped[int] = mapped_column(BigInteger, default=0)
    pull_by_tag: Mapped[int] = mapped_column(BigInteger, default=0)
    pull_by_digest: Mapped[int] = mapped_column(BigInteger, default=0)
    version_check: Mapped[int] = mapped_column(BigInteger, default=0)
    last_pulled: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AnalyticsDigestPull(Base):
    """The last pull in a month of each digest of a repository, by tag or by digest: the digest is the one the
    pull's first request resolved to (for a multi-platform image pulled by tag, its index). The Hub API's image
    `last_pulled` comes from here; the summaries cannot give it, since a pull by tag is summarised under its tag."""

    __tablename__ = "analytics_digest_pulls"
    __table_args__ = (
        UniqueConstraint("start", "namespace", "repository", "digest"),
        Index("ix_analytics_digest_pulls_repository", "namespace", "repository"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[date] = mapped_column(Date)  # the month's first day
    namespace: Mapped[str] = mapped_column(String(255))
    repository: Mapped[str] = mapped_column(String(255))
    digest: Mapped[str] = mapped_column(String(160))
    last_pulled: Mapped[datetime] = mapped_column(UTCDateTime())


class AnalyticsExport(Base):
    """One CSV file of a namespace's export for a period and data view (`part` counts from 1)."""

    __tablename__ = "analytics_exports"
    __table_args__ = (
        UniqueConstraint("namespace", "timespan", "start", "dataview", "part"),
        Index("ix_analytics_exports_lookup", "namespace", "timespan", "year", "number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace: Mapped[str] = mapped_column(String(255))
    timespan: Mapped[str] = mapped_column(String(8))
    start: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    dataview: Mapped[str] = mapped_column(String(32))
    part: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1024))  # relative to the data directory
    size: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AnalyticsLease(Base):
    """Held by the one analytics job running now (in this process or another replica) until `expires_at`."""

    __tablename__ = "analytics_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
