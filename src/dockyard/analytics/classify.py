"""The classifier: manifest requests become Docker's three actions, exactly by the rules table of "Insights and
analytics" (the seed `insights-and-analytics.md`).

Requests are grouped by key, (client pseudonym, user agent, namespace, repository), and read in time order; only
status-200 requests count. Each action starts with one request and takes that request's time and attributes:

    starts with         followed by (each follow-up the very next request of the key)   action
    HEAD by tag         nothing that continues it                                      version_check
    GET by tag          nothing, or a GET by digest of another digest (a platform)     pull_by_tag
    HEAD by tag         a GET of the digest the HEAD resolved to, then optionally a     pull_by_tag
                        GET of another digest
    HEAD by digest      nothing, or a GET of the same digest, then optionally a GET     pull_by_digest
                        of another digest
    GET by digest       nothing, or a GET of another digest                            pull_by_digest

Decisions where the table is silent (all tested in tests/analytics/test_rules.py):
- Window: a follow-up counts only within DOCKYARD_ANALYTICS_WINDOW_SECONDS (default 60) of the action's *first*
  request, inclusive (exactly 60 s later still counts, a microsecond more does not).
- A follow-up must be the key's very next request: anything else in between ends the action. A GET by tag after
  a HEAD by tag is not "a GET of the same digest" (the table speaks of a GET by digest): it starts a new action,
  so HEAD tag + GET tag is a version check and a pull by tag.
- Surplus GETs: every GET by digest that no HEAD or GET by tag took as a follow-up pairs up with the next one
  greedily, by the "GET by digest, GET of another digest" row. `skopeo copy --all` of a 4-platform index by tag
  (GET tag, GET p1, GET p2, GET p3, GET p4) is one pull_by_tag (GET tag + p1) and two pull_by_digest (p2 + p3, p4).
- Simultaneous requests of one key are ordered HEAD first, then by digest, then by their order in the segments.

Days are classified one at a time, each with the last window of the previous day as context, so memory stays
flat whatever the history length; the only state that crosses midnight beyond that is whether the previous
day's last free GET by digest of a key started an action (the "carry"), which keeps a run of surplus GETs
across midnight paired exactly as in one piece. Classifying a day again gives the same actions.

The rules themselves are SQL (sql/classify.sql, DuckDB dialect, portable to Spark through sqlglot). This module
feeds it: it reads a day's segments with their strings dictionary-encoded and hands DuckDB narrow integer columns
(key hash, digest hash, flags), never decoding a string per row, then picks each action's attributes out of the
segments by row position.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dockyard.analytics import actions, segments

SQL_DIR = Path(__file__).parent / "sql"
DEFAULT_WINDOW_SECONDS = 60
MAX_WINDOW_SECONDS = 3600
# String columns read as dictionaries: repeated values are decoded once per segment, not once per row.
DICTIONARY_COLUMNS = [
    "user_agent", "ua_tool", "ua_version", "method", "namespace", "repository", "reference", "digest",
    "account", "country", "host", "ip_type", "domain", "source",
]  # fmt: skip
KEY_COLUMNS = ["ts", "client", "user_agent", "method", "namespace", "repository", "reference", "digest", "status"]
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


@cache
def load_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


EPOCH = datetime(1970, 1, 1)


def micros(value: datetime) -> int:
    """Microseconds since the epoch of a naive UTC datetime (the segments' `ts`)."""
    delta = value - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def classify_sql(events: str, carry: str, day_start: datetime, day_end: datetime, window_seconds: int) -> str:
    """The classification query over the relations named `events` and `carry`."""
    return load_sql("classify").format(
        events=events,
        carry=carry,
        window=int(window_seconds) * 1_000_000,
        day_start=micros(day_start),
        day_end=micros(day_end),
    )


def encode_sql(events: str, context_start: datetime, context_end: datetime) -> str:
    """The portable encoding (sql/encode.sql) over a relation of segment rows with a `rid` column."""
    return load_sql("encode").format(
        events=events, context_start=micros(context_start), context_end=micros(context_end)
    )


def to_arrow(result: Any) -> pa.Table:
    """A DuckDB relation's rows as an Arrow table (the method's name changed between DuckDB releases)."""
    method = getattr(result, "to_arrow_table", None) or result.arrow
    table: pa.Table = method()
    return table


def connect(*, threads: int | None = None, memory_limit: str | None = None, temp_dir: Path | None = None) -> Any:
    """A DuckDB connection for the analytics jobs: bounded memory (spilling to `temp_dir` past it)."""
    config: dict[str, Any] = {}
    if threads:
        config["threads"] = threads
    if memory_limit:
        config["memory_limit"] = memory_limit
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        config["temp_directory"] = str(temp_dir)
    return duckdb.connect(config=config)


@dataclass(frozen=True)
class Carry:
    """Per key, whether its last free GET by digest of the day started an action (see the module docstring)."""

    starts: tuple[tuple[int, bool], ...] = ()

    def to_json(self) -> str:
        return json.dumps(sorted([str(k), start] for k, start in self.starts))

    @classmethod
    def from_json(cls, text: str | None) -> Carry:
        if not text:
            return cls()
        return cls(tuple((int(k), bool(start)) for k, start in json.loads(text)))

    def table(self) -> pa.Table:
        return pa.table(
            {
                "k": pa.array([k for k, _ in self.starts], pa.int64()),
                "start": pa.array([start for _, start in self.starts], pa.bool_()),
            }
        )


@dataclass
class DayResult:
    day: date
    events: int  # status-200 requests of the day
    actions: pa.Table
    carry: Carry
    counts: dict[str, int] = field(default_factory=dict)


# --- narrow encoding ----------------------------------------------------------------------------------------
class _Hashes:
    """Stable 64-bit hashes of strings, memoised: a registry sees few distinct agents and repositories, and the
    key must hash alike on every day (the carry crosses midnight by key)."""

    def __init__(self) -> None:
        self._memo: dict[str, int] = {}

    def of(self, values: Sequence[str | None]) -> np.ndarray:
        out = np.empty(len(values), np.uint64)
        memo = self._memo
        for i, value in enumerate(values):
            if value is None:
                out[i] = 0
                continue
            found = memo.get(value)
            if found is None:
                digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()
                found = memo[value] = int.from_bytes(digest, "little")
                if len(memo) > 1_000_000:
                    memo.clear()
            out[i] = found
        return out


def _dictionary_chunks(column: pa.ChunkedArray) -> list[pa.DictionaryArray]:
    return [chunk if pa.types.is_dictionary(chunk.type) else chunk.dictionary_encode() for chunk in column.chunks]


def _spread(column: pa.ChunkedArray, per_value: Any, dtype: Any) -> np.ndarray:
    """`per_value(dictionary) -> numpy array`, computed once per distinct value of each chunk and spread over its
    rows (a null row gets the value of index 0; callers mask nulls themselves)."""
    parts = []
    for chunk in _dictionary_chunks(column):
        values = np.asarray(per_value(chunk.dictionary), dtype)
        indices = chunk.indices.fill_null(0).to_numpy(zero_copy_only=False)
        parts.append(values[indices] if len(values) else np.zeros(len(chunk), dtype))
    return np.concatenate(parts) if parts else np.zeros(0, dtype)


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combine two uint64 hashes (splitmix64's finaliser over a ^ b*golden; wrapping arithmetic is the point)."""
    z = a ^ (b * _GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def encode(tables: Sequence[tuple[pa.Table, np.ndarray]], hashes: _Hashes) -> pa.Table:
    """The classifier's narrow input (k, t, x, rid: see sql/classify.sql) for the rows of `tables`, each given
    with its row ids and already restricted to status 200. Digests are numbered within this call, over all the
    tables at once; keys are stable hashes, equal on every day."""
    digest_values = [
        chunk.dictionary
        for table, _ in tables
        for name in ("reference", "digest")
        for chunk in _dictionary_chunks(table.column(name))
    ]
    # Every digest (and tag) string of the call, each numbered from 1: `x` wants 0 for "unknown".
    known = pc.unique(pa.concat_arrays(digest_values)) if digest_values else pa.array([], pa.string())
    parts = []
    for table, rids in tables:
        if table.num_rows == 0:
            continue
        client = table.column("client").to_numpy().astype(np.uint64, copy=False)
        agent = _spread(table.column("user_agent"), lambda d: hashes.of(d.to_pylist()), np.uint64)
        namespace = _spread(table.column("namespace"), lambda d: hashes.of(d.to_pylist()), np.uint64)
        repository = _spread(table.column("repository"), lambda d: hashes.of(d.to_pylist()), np.uint64)
        key = _mix(_mix(_mix(client, agent), namespace), repository).view(np.int64)
        head = _spread(table.column("method"), lambda d: pc.equal(d, "HEAD").to_numpy(zero_copy_only=False), bool)
        by_digest = _spread(
            table.column("reference"), lambda d: pc.match_substring(d, ":").to_numpy(zero_copy_only=False), bool
        )

        def number(d: pa.Array) -> np.ndarray:
            found: np.ndarray = pc.index_in(d, value_set=known).fill_null(-1).to_numpy(zero_copy_only=False)
            return found.astype(np.int64) + 1

        reference = _spread(table.column("reference"), number, np.int64)
        resolved = _spread(table.column("digest"), number, np.int64)
        resolved[table.column("digest").is_null().to_numpy(zero_copy_only=False)] = 0
        digest = np.where(by_digest, reference, resolved)
        x = 4 * digest + 2 * head.astype(np.int64) + by_digest.astype(np.int64)
        parts.append(
            pa.table(
                {
                    "k": pa.array(key, pa.int64()),
                    "t": table.column("ts").cast(pa.timestamp("us")).cast(pa.int64()),
                    "x": pa.array(x, pa.int64()),
                    "rid": pa.array(rids.astype(np.int64, copy=False), pa.int64()),
                }
            )
        )
    if not parts:
        return NARROW_SCHEMA.empty_table()
    return pa.concat_tables(parts)


NARROW_SCHEMA = pa.schema([("k", pa.int64()), ("t", pa.int64()), ("x", pa.int64()), ("rid", pa.int64())])


def read_segments(
    paths: Iterable[Path], columns: Sequence[str] | None = None, since: datetime | None = None
) -> pa.Table:
    """Segments as one table with string columns dictionary-encoded; `since` keeps rows with ts >= since."""
    wanted = list(columns) if columns is not None else list(segments.COLUMNS)
    dictionary = [name for name in DICTIONARY_COLUMNS if name in wanted]
    tables = []
    for path in paths:
        filters = [("ts", ">=", pa.scalar(since, pa.timestamp("us")))] if since is not None else None
        tables.append(pq.read_table(path, columns=wanted, read_dictionary=dictionary, filters=filters))
    if not tables:
        return _empty(wanted)
    return pa.concat_tables(tables, promote_options="permissive")


def _empty(columns: Sequence[str]) -> pa.Table:
    return pa.schema([segments.SCHEMA.field(name) for name in columns]).empty_table()


# --- classification -----------------------------------------------------------------------------------------
class Classifier:
    def __init__(self, con: Any, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> None:
        if not 0 <= window_seconds <= MAX_WINDOW_SECONDS:
            raise ValueError(f"the analytics window must be between 0 and {MAX_WINDOW_SECONDS} seconds")
        self.con = con
        self.window = int(window_seconds)
        self.hashes = _Hashes()
        self._tables: dict[date, Future[pa.Table]] = {}
        # One thread reads the next day's segments while DuckDB classifies this one.
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analytics-read")

    def classify_day(self, data_dir: Path, day: date, carry: Carry) -> DayResult:
        """Classify the requests of `day`, with a window of the days around it and `carry` as context. Days
        classified in order read each day's segments once, the next one while this one is classified."""
        day_start = datetime.combine(day, time())
        for cached in [d for d in self._tables if not day - timedelta(days=1) <= d <= day + timedelta(days=2)]:
            del self._tables[cached]
        before = self._day_table(data_dir, day - timedelta(days=1)).result()
        table = self._day_table(data_dir, day).result()
        after = self._day_table(data_dir, day + timedelta(days=1)).result()
        self._day_table(data_dir, day + timedelta(days=2))
        return self.classify(table, day_start, day_start + timedelta(days=1), carry, before=before, after=after)

    def _day_table(self, data_dir: Path, day: date) -> Future[pa.Table]:
        found = self._tables.get(day)
        if found is None:
            paths = segments.segment_paths(data_dir, day, day)
            found = self._tables[day] = self._reader.submit(read_segments, paths)
        return found

    def close(self) -> None:
        self._reader.shutdown(wait=True, cancel_futures=True)
        self._tables.clear()

    def classify(
        self,
        table: pa.Table,
        day_start: datetime,
        day_end: datetime,
        carry: Carry,
        *,
        before: pa.Table | None = None,
        after: pa.Table | None = None,
    ) -> DayResult:
        """Actions started in [day_start, day_end) among `table`'s requests (segment columns; rows outside the
        range are ignored), with requests of `before` and `after` (KEY_COLUMNS at least) within a window of
        the range as context."""
        window = timedelta(seconds=self.window)
        keep = _counted(table, day_start, day_end)
        rids = np.flatnonzero(keep)
        inputs = [(table.select(KEY_COLUMNS).filter(keep), rids)]
        next_rid = -1
        for side, start, end in ((before, day_start - window, day_start), (after, day_end, day_end + window)):
            if side is None or side.num_rows == 0:
                continue
            side_keep = _counted(side, start, end)
            count = int(side_keep.sum())
            # Context rows get negative row ids: they are never picked as actions.
            inputs.append((side.select(KEY_COLUMNS).filter(side_keep), next_rid - np.arange(count, dtype=np.int64)))
            next_rid -= count
        narrow = encode(inputs, self.hashes)
        result = self.run(narrow, carry, day_start, day_end)
        is_action = result.column("rid").is_valid()
        started = result.filter(is_action)
        carried = result.filter(pc.invert(is_action))
        chosen = np.zeros(table.num_rows, bool)
        action_of_row = np.zeros(table.num_rows, np.int8)
        started_rids = started.column("rid").to_numpy()
        codes = pc.index_in(started.column("action"), value_set=pa.array(actions.ACTIONS)).to_numpy()
        chosen[started_rids] = True
        action_of_row[started_rids] = codes
        picked = table.filter(chosen)
        action_column = pa.DictionaryArray.from_arrays(
            pa.array(action_of_row[chosen], pa.int8()), pa.array(actions.ACTIONS, pa.string())
        )
        columns = [action_column if name == "action" else picked.column(name) for name in actions.COLUMNS]
        out = pa.table(columns, names=list(actions.COLUMNS))
        per_action = np.bincount(codes, minlength=len(actions.ACTIONS))
        counts = {name: int(per_action[i]) for i, name in enumerate(actions.ACTIONS)}
        next_carry = Carry(
            tuple(
                (int(k), bool(start))
                for k, start in zip(carried.column("k").to_pylist(), carried.column("start").to_pylist(), strict=True)
            )
        )
        return DayResult(day_start.date(), len(rids), out, next_carry, counts)

    def run(self, narrow: pa.Table, carry: Carry, day_start: datetime, day_end: datetime) -> pa.Table:
        """The classification SQL over a narrow relation: rows (rid, action, k, start)."""
        sql = classify_sql("events", "carry", day_start, day_end, self.window)
        self.con.register("events", narrow)
        self.con.register("carry", carry.table())
        try:
            return to_arrow(self.con.sql(sql))
        finally:
            self.con.unregister("events")
            self.con.unregister("carry")


def _counted(table: pa.Table, start: datetime, end: datetime) -> np.ndarray:
    """Which rows are status-200 requests within [start, end)."""
    if table.num_rows == 0:
        return np.zeros(0, bool)
    ts = table.column("ts").cast(pa.timestamp("us"))
    keep = pc.and_(
        pc.equal(table.column("status"), 200),
        pc.and_(
            pc.greater_equal(ts, pa.scalar(start, pa.timestamp("us"))),
            pc.less(ts, pa.scalar(end, pa.timestamp("us"))),
        ),
    )
    mask: np.ndarray = keep.to_numpy(zero_copy_only=False)
    return mask
