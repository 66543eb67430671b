"""The shared format of enriched manifest events: append-only Parquet segments, one directory per UTC day.

    <data_dir>/analytics/events/day=YYYY-MM-DD/<unique>.parquet

Every writer (live capture, distribution notifications, file imports, the benchmark generator) goes through
`write_segments`, and every reader finds files through `segment_paths`, so the format lives in this one module
(and in the Parquet settings it shares with the action files, parquet_files). One row is one manifest request, all
statuses kept (only 200s become actions). Columns, in order:

    ts          timestamp[us], UTC wall-clock time stored *without* a time zone (see below)
    client      uint64, keyed pseudonym of the client IP (analytics.pseudonyms); the raw IP is never written
    user_agent  string            ua_tool string            ua_version string|null
    method      "HEAD"|"GET"      namespace string          repository string (without the namespace)
    reference   tag or digest     digest string|null (what the request resolved to)
    status      int16             account string|null
    country     ISO 3166 alpha-2|null   host provider|null   ip_type business|isp|hosting|education|null
    domain      string|null       source "dockyard"|"distribution"|"import"

`ts` is a naive timestamp holding UTC on purpose: engines apply their session time zone to zoned timestamps
(DuckDB's `date_trunc('week', ...)` on a TIMESTAMPTZ, Spark's TIMESTAMP), which would move week and month
boundaries on a server that does not run in UTC. A naive column means the same instants on every engine.

A segment is written to a hidden temporary name in its day directory and renamed into place, so readers never see
a partial file, and a published segment is never rewritten. Segments are sorted by `ts`.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dockyard.analytics import parquet_files

EVENTS_DIR = Path("analytics") / "events"
DAY_PREFIX = "day="
SOURCES = ("dockyard", "distribution", "import")
IP_TYPES = ("business", "isp", "hosting", "education")

SCHEMA = pa.schema(
    [
        pa.field("ts", pa.timestamp("us"), nullable=False),
        pa.field("client", pa.uint64(), nullable=False),
        pa.field("user_agent", pa.string(), nullable=False),
        pa.field("ua_tool", pa.string(), nullable=False),
        pa.field("ua_version", pa.string()),
        pa.field("method", pa.string(), nullable=False),
        pa.field("namespace", pa.string(), nullable=False),
        pa.field("repository", pa.string(), nullable=False),
        pa.field("reference", pa.string(), nullable=False),
        pa.field("digest", pa.string()),
        pa.field("status", pa.int16(), nullable=False),
        pa.field("account", pa.string()),
        pa.field("country", pa.string()),
        pa.field("host", pa.string()),
        pa.field("ip_type", pa.string()),
        pa.field("domain", pa.string()),
        pa.field("source", pa.string(), nullable=False),
    ]
)
COLUMNS = tuple(SCHEMA.names)


@dataclass(frozen=True, slots=True)
class EventRow:
    """One enriched manifest request, ready to be written. `ts` is timezone-aware (UTC) or naive UTC."""

    ts: datetime
    client: int
    user_agent: str
    ua_tool: str
    ua_version: str | None
    method: str
    namespace: str
    repository: str
    reference: str
    digest: str | None
    status: int
    account: str | None
    country: str | None
    host: str | None
    ip_type: str | None
    domain: str | None
    source: str


def events_root(data_dir: Path) -> Path:
    return Path(data_dir) / EVENTS_DIR


def day_dir(data_dir: Path, day: date) -> Path:
    return events_root(data_dir) / f"{DAY_PREFIX}{day.isoformat()}"


def naive_utc(ts: datetime) -> datetime:
    """The UTC wall-clock time of `ts`, without a zone (naive input is taken to be UTC already)."""
    return ts.astimezone(UTC).replace(tzinfo=None) if ts.tzinfo is not None else ts


def rows_to_table(rows: Sequence[EventRow]) -> pa.Table:
    columns: dict[str, list[object]] = {name: [] for name in COLUMNS}
    for row in rows:
        for name in COLUMNS:
            columns[name].append(getattr(row, name))
    columns["ts"] = [naive_utc(ts) for ts in columns["ts"]]  # type: ignore[arg-type]
    return pa.table(columns, schema=SCHEMA)


def conform(table: pa.Table) -> pa.Table:
    """`table` with SCHEMA's columns, order, types and nullability (parquet_files.conform)."""
    return parquet_files.conform(table, SCHEMA)


def write_segments(data_dir: Path, table: pa.Table, *, fsync: bool = False) -> list[Path]:
    """Write `table` (SCHEMA's columns) as one new segment per UTC day it touches; returns the segment paths."""
    table = conform(table)
    if table.num_rows == 0:
        return []
    table = table.sort_by("ts")
    days = pc.cast(table.column("ts"), pa.date32())
    written: list[Path] = []
    # Rows are sorted by ts, so each day is one contiguous slice.
    unique_days = pc.unique(days).to_pylist()
    for day in unique_days:
        mask = pc.equal(days, pa.scalar(day, pa.date32()))
        written.append(_write_one(day_dir(data_dir, day), table.filter(mask), fsync))
    return written


def write_day(data_dir: Path, day: date, table: pa.Table, *, fsync: bool = False) -> Path:
    """Write rows that all belong to `day` as one segment (the caller guarantees it; bulk writers use this),
    sorted by `ts` unless they already are."""
    table = conform(table)
    ts = table.column("ts")
    if table.num_rows > 1 and not pc.all(pc.greater_equal(ts[1:], ts[:-1])).as_py():
        table = table.sort_by("ts")
    return _write_one(day_dir(data_dir, day), table, fsync)


def _write_one(directory: Path, table: pa.Table, fsync: bool) -> Path:
    name = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%f')}-{uuid.uuid4().hex[:12]}.parquet"
    return parquet_files.publish(table, directory / name, compression="zstd", fsync=fsync)


def _day_dirs(data_dir: Path) -> list[tuple[date, Path]]:
    """Every day directory, in day order, found without looking inside any of them."""
    root = events_root(data_dir)
    if not root.is_dir():
        return []
    found = []
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.is_dir() and entry.name.startswith(DAY_PREFIX):
                try:
                    found.append((date.fromisoformat(entry.name[len(DAY_PREFIX) :]), Path(entry.path)))
                except ValueError:
                    continue
    return sorted(found)


def days(data_dir: Path) -> list[date]:
    """The days that have at least one segment, in order."""
    return [day for day, directory in _day_dirs(data_dir) if any(directory.glob("*.parquet"))]


def segment_paths(data_dir: Path, first: date | None = None, last: date | None = None) -> list[Path]:
    """Published segments of the days in [first, last] (either end open), in day order. Only the chosen days'
    directories are listed: the classifier and the job ask for one day at a time, over histories of years."""
    paths: list[Path] = []
    for day, directory in _day_dirs(data_dir):
        if (first is None or day >= first) and (last is None or day <= last):
            paths.extend(sorted(directory.glob("*.parquet")))
    return paths


def read_table(data_dir: Path, first: date | None = None, last: date | None = None) -> pa.Table:
    """Every row of the chosen days as one Arrow table (for tests and small inspections, not for bulk work)."""
    paths = segment_paths(data_dir, first, last)
    if not paths:
        return SCHEMA.empty_table()
    return pa.concat_tables([pq.read_table(path, schema=SCHEMA) for path in paths])


def count_by_day(data_dir: Path) -> dict[date, dict[str, int]]:
    """Rows per day and source, read from the Parquet footers and one small column only."""
    counts: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for path in segment_paths(data_dir):
        day = date.fromisoformat(path.parent.name[len(DAY_PREFIX) :])
        sources = pq.read_table(path, columns=["source"]).column("source")
        for item in pc.value_counts(sources).to_pylist():
            counts[day][str(item["values"])] += int(item["counts"])
    return {day: dict(by_source) for day, by_source in sorted(counts.items())}
