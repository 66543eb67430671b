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
- Simultaneous requests of one key keep their order in the segments (day, then segment name, then row).

Days are classified one at a time, each with the last window of the previous day as context, so memory stays
flat whatever the history length; the only state that crosses midnight beyond that is whether the previous
day's last free GET by digest of a key started an action (the "carry"), which keeps a run of surplus GETs
across midnight paired exactly as in one piece. Classifying a day again gives the same actions.

The rules are specified as SQL (sql/classify.sql, DuckDB dialect), which is what a distributed engine runs:
spark.py transpiles it to Spark SQL with sqlglot, and a test runs it on a local Spark and finds the same actions.
The embedded engine runs the same rules vectorised in numpy (`apply_rules`): one
sort by (key, time, position) and every window function of the SQL as a comparison with the neighbouring row,
several times faster than the SQL's window passes on DuckDB; tests check that both give the same actions and
carry, row for row (`Classifier(engine="sql")` runs the SQL). Either way this module feeds the rules narrow
integer columns built from the segments' dictionaries (key hash, digest number, flags), never decoding a string
per row, then picks each action's attributes out of the segments by row position.
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
from typing import Any, Literal

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dockyard.analytics import actions, segments
from dockyard.analytics.periods import Period, micros

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
VERSION_CHECK, PULL_BY_TAG, PULL_BY_DIGEST = (
    actions.ACTIONS.index(name) for name in ("version_check", "pull_by_tag", "pull_by_digest")
)
_ACTION_NAMES = pa.array(actions.ACTIONS, pa.string())

# What an action takes from the request that started it.
_ATTRIBUTES = [name for name in actions.COLUMNS if name != "action"]

Engine = Literal["numpy", "sql"]


@cache
def load_sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text()


def period_sql(name: str, relation: str, period: Period) -> str:
    """A query of one period's actions (sql/summaries.sql, sql/export_raw.sql): `relation` as its {actions}, the
    period's first midnight and the one after its last day as {start} and {end}."""
    return load_sql(name).format(
        actions=relation,
        start=f"TIMESTAMP '{period.start.isoformat()} 00:00:00'",
        end=f"TIMESTAMP '{period.end.isoformat()} 00:00:00'",
    )


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

    def __post_init__(self) -> None:
        # In key order, so that equal carries compare equal however they were built.
        object.__setattr__(self, "starts", tuple(sorted(self.starts)))

    def to_json(self) -> str:
        return json.dumps(sorted([str(k), start] for k, start in self.starts))

    @classmethod
    def from_json(cls, text: str | None) -> Carry:
        if not text:
            return cls()
        return cls(tuple((int(k), bool(start)) for k, start in json.loads(text)))

    @classmethod
    def of(cls, keys: np.ndarray, starts: np.ndarray) -> Carry:
        return cls(tuple(zip(keys.tolist(), starts.astype(bool).tolist(), strict=True)))

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


def dictionary_codes(column: pa.ChunkedArray) -> tuple[pa.Array, np.ndarray]:
    """A string column as its dictionary and, per row, the index of the row's value in it (-1 for null). The
    chunks' dictionaries are unified, not decoded; a plain string column is dictionary-encoded first. The
    dictionary may hold a value twice (bulk writers' dictionaries need not be unique)."""
    if not pa.types.is_dictionary(column.type):
        column = column.dictionary_encode()
    if column.num_chunks == 0:
        return pa.array([], column.type.value_type), np.zeros(0, np.int32)
    # A segment's batches share its dictionary: unifying would hash every value again.
    first = column.chunk(0).dictionary
    if any(not chunk.dictionary.equals(first) for chunk in column.chunks[1:]):
        column = column.unify_dictionaries()
    parts = []
    for chunk in column.chunks:
        indices = chunk.indices if chunk.indices.null_count == 0 else chunk.indices.fill_null(-1)
        parts.append(indices.to_numpy())
    return column.chunk(0).dictionary, parts[0] if len(parts) == 1 else np.concatenate(parts)


def _spread(per_value: np.ndarray, indices: np.ndarray, null: Any) -> np.ndarray:
    """`per_value[i]` for each row's dictionary index i, and `null` for null rows (index -1: the appended
    element)."""
    values: np.ndarray = np.append(per_value, np.asarray(null, per_value.dtype))[indices]
    return values


def _flags(values: pa.Array) -> np.ndarray:
    """A boolean Arrow array as numpy, null as false."""
    flags: np.ndarray = values.fill_null(False).to_numpy(zero_copy_only=False)
    return flags


def _mix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Combine two uint64 hashes (splitmix64's finaliser over a ^ b*golden; wrapping arithmetic is the point)."""
    z = a ^ (b * _GOLDEN)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@dataclass(frozen=True)
class Narrow:
    """The rules' input: one entry per status-200 request, in the order that breaks ties between simultaneous
    requests of a key (the SQL's `rid` is the position)."""

    k: np.ndarray  # int64: hash of (client, user agent, namespace, repository), equal on every day
    t: np.ndarray  # int64: microseconds since the epoch
    head: np.ndarray  # bool: HEAD (else GET)
    by_digest: np.ndarray  # bool: the reference is a digest (else a tag)
    digest: np.ndarray  # int64: the digest the request is about (its reference or what its tag resolved to), 0 unknown

    def __len__(self) -> int:
        return len(self.t)

    def table(self) -> pa.Table:
        """The relation sql/classify.sql reads as `{events}` (k, t, x, rid)."""
        x = 4 * self.digest + 2 * self.head.astype(np.int64) + self.by_digest.astype(np.int64)
        return pa.table(
            {
                "k": pa.array(self.k, pa.int64()),
                "t": pa.array(self.t, pa.int64()),
                "x": pa.array(x, pa.int64()),
                "rid": pa.array(np.arange(len(self), dtype=np.int64), pa.int64()),
            }
        )


_CODED = ("user_agent", "namespace", "repository", "method", "reference", "digest")


def encode(parts: Sequence[tuple[pa.Table, np.ndarray | None]], hashes: _Hashes) -> Narrow:
    """The rules' input for the rows of each table (KEY_COLUMNS at least) that its mask keeps (all rows without
    one), tables in order. Digests are numbered within this call, over all the tables at once; keys are stable
    hashes, equal on every day."""
    coded = [
        (table, mask, {name: dictionary_codes(table.column(name)) for name in _CODED})
        for table, mask in parts
        if table.num_rows
    ]
    if not coded:
        empty = np.zeros(0, np.int64)
        return Narrow(empty, empty, empty.astype(bool), empty.astype(bool), empty)
    # Every digest (and tag) string of the call numbered from 1 (0 means "unknown"), in one pass over all the
    # tables' dictionaries: per table, the numbers of its reference and its digest dictionary.
    strings = [codes[name][0] for _, _, codes in coded for name in ("reference", "digest")]
    numbered = pc.dictionary_encode(pa.concat_arrays(strings)).indices.fill_null(-1).to_numpy().astype(np.int64) + 1
    numbers = np.split(numbered, np.cumsum([len(dictionary) for dictionary in strings])[:-1])
    out = [
        _encode_table(table, mask, codes, numbers[2 * i], numbers[2 * i + 1], hashes)
        for i, (table, mask, codes) in enumerate(coded)
    ]
    if len(out) == 1:
        return out[0]
    return Narrow(
        *(np.concatenate([getattr(n, name) for n in out]) for name in ("k", "t", "head", "by_digest", "digest"))
    )


def _encode_table(
    table: pa.Table,
    mask: np.ndarray | None,
    codes: dict[str, tuple[pa.Array, np.ndarray]],
    reference_numbers: np.ndarray,
    digest_numbers: np.ndarray,
    hashes: _Hashes,
) -> Narrow:
    t = table.column("ts").cast(pa.timestamp("us")).to_numpy().view(np.int64)
    client = table.column("client").to_numpy().astype(np.uint64, copy=False)
    indices = {name: found for name, (_, found) in codes.items()}
    if mask is not None:
        t, client = t[mask], client[mask]
        indices = {name: found[mask] for name, found in indices.items()}

    def per_row(name: str, per_value: np.ndarray, null: Any) -> np.ndarray:
        return _spread(per_value, indices[name], null)

    def hashed(name: str) -> np.ndarray:
        return per_row(name, hashes.of(codes[name][0].to_pylist()), 0)

    key = _mix(_mix(_mix(client, hashed("user_agent")), hashed("namespace")), hashed("repository"))
    head = per_row("method", _flags(pc.equal(codes["method"][0], "HEAD")), False)
    by_digest = per_row("reference", _flags(pc.match_substring(codes["reference"][0], ":")), False)
    digest = np.where(by_digest, per_row("reference", reference_numbers, 0), per_row("digest", digest_numbers, 0))
    return Narrow(key.view(np.int64), t, head, by_digest, digest)


def read_segments(paths: Iterable[Path]) -> pa.Table:
    """Segments as one table with string columns dictionary-encoded. Each file is read by the calling thread:
    Arrow's threaded reader spends three times the CPU on a segment's few large pages (and the classifier reads
    the next day in a thread of its own anyway)."""
    tables = [_read_segment(path) for path in paths]
    if not tables:
        return _empty(segments.COLUMNS)
    return pa.concat_tables(tables, promote_options="permissive")


def _read_segment(path: Path) -> pa.Table:
    with pq.ParquetFile(path, read_dictionary=DICTIONARY_COLUMNS) as segment:
        table: pa.Table = segment.read(use_threads=False)
    return table


def _empty(columns: Sequence[str]) -> pa.Table:
    return pa.schema([segments.SCHEMA.field(name) for name in columns]).empty_table()


# --- the rules ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What the rules make of a Narrow input."""

    rows: np.ndarray  # positions (in the input) of the requests that start actions, ascending
    actions: np.ndarray  # int8: per row above, its action's index in actions.ACTIONS
    carry: Carry  # the next day's carry


def _key_order(k: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Positions ordered by (key, time, position): each key's requests together, in time order, simultaneous
    ones in input order. Segments are sorted by time, so usually one stable sort by key does."""
    if bool((t[1:] >= t[:-1]).all()):
        by_key: np.ndarray = np.argsort(k, kind="stable")
        return by_key
    by_time = np.argsort(t, kind="stable")
    return by_time[np.argsort(k[by_time], kind="stable")]


def apply_rules(narrow: Narrow, carry: Carry, day_start: datetime, day_end: datetime, window_seconds: int) -> Outcome:
    """sql/classify.sql, row for row, vectorised: every window function there is a comparison here with the
    row before (p1), two before (p2) or after (n1) in (key, time, position) order. Comments name the SQL's
    columns."""
    start, end, window = micros(day_start), micros(day_end), int(window_seconds) * 1_000_000
    n = len(narrow)
    order = _key_order(narrow.k, narrow.t)
    k, t = narrow.k[order], narrow.t[order]
    hd, dg, dig = narrow.head[order], narrow.by_digest[order], narrow.digest[order]
    # Each rule compares a row with its key's previous request (p1), the one before that (p2) or the next one
    # (n1): slices of the sorted columns shifted against each other, where `same` says both rows are one key's.
    same = k[1:] == k[:-1]  # rows i and i + 1
    get_by_digest = ~hd & dg
    first_follow_up = np.zeros(n, bool)
    first_follow_up[1:] = (
        get_by_digest[1:]
        & same
        & (t[1:] - t[:-1] <= window)
        & ((hd[:-1] & (dig[:-1] > 0) & (dig[1:] == dig[:-1])) | (~hd[:-1] & ~dg[:-1] & (dig[1:] != dig[:-1])))
    )
    second_follow_up = np.zeros(n, bool)
    second_follow_up[2:] = (
        get_by_digest[2:]
        & same[1:]
        & same[:-1]
        & hd[:-2]
        & (dig[:-2] > 0)
        & get_by_digest[1:-1]
        & (dig[1:-1] == dig[:-2])
        & (dig[2:] != dig[1:-1])
        & (t[2:] - t[:-2] <= window)
    )
    head_pulled = np.zeros(n, bool)
    head_pulled[:-1] = (
        hd[:-1]
        & ~dg[:-1]
        & (dig[:-1] > 0)
        & same
        & get_by_digest[1:]
        & (dig[1:] == dig[:-1])
        & (t[1:] - t[:-1] <= window)
    )
    # The key's last request before the end of the day, and before its start (coalesce(n1_t >= ..., true)).
    last_of_day, last_of_context = t < end, t < start
    last_of_day[:-1] &= ~same | (t[1:] >= end)
    last_of_context[:-1] &= ~same | (t[1:] >= start)

    # The carry joins the key's last request before the day (the LEFT JOIN): carried is NULL unless in_carry.
    in_carry, carried = np.zeros(n, bool), np.ones(n, bool)
    if carry.starts:
        carry_keys = np.array([key for key, _ in carry.starts], np.int64)  # in key order
        carry_starts = np.array([value for _, value in carry.starts], bool)
        candidates = np.flatnonzero(last_of_context)
        at = np.minimum(np.searchsorted(carry_keys, k[candidates]), len(carry_keys) - 1)
        found = carry_keys[at] == k[candidates]
        in_carry[candidates[found]] = True
        carried[candidates[found]] = carry_starts[at[found]]

    # free, linked, runs, paired: the free GETs by digest in order, and where each run of linked ones begins.
    free = np.flatnonzero(get_by_digest & np.where(last_of_context, in_carry, ~(first_follow_up | second_follow_up)))
    here, before = free[1:], free[:-1]
    linked = np.zeros(len(free), bool)
    linked[1:] = (
        ~last_of_context[here]
        & (here == before + 1)
        & same[here - 1]
        & (dig[here] != dig[before])
        & (t[here] - t[before] <= window)
    )
    run_starts = np.flatnonzero(~linked)
    run = np.cumsum(~linked) - 1
    position_in_run = np.arange(len(free)) - run_starts[run]
    starts = (position_in_run % 2 == 0) == carried[free[run_starts]][run]

    # The output, scattered back to input positions (which are then ascending without a sort).
    in_day = (t >= start) & (t < end)
    code = np.full(n, -1, np.int8)
    plain = np.flatnonzero(in_day & (hd | ~dg))
    code[order[plain]] = np.where(
        dg[plain], PULL_BY_DIGEST, np.where(~hd[plain] | head_pulled[plain], PULL_BY_TAG, VERSION_CHECK)
    )
    code[order[free[starts & in_day[free]]]] = PULL_BY_DIGEST
    rows = np.flatnonzero(code >= 0)
    carried_over = last_of_day[free] & (t[free] >= start) & (t[free] >= end - window)
    return Outcome(rows, code[rows], Carry.of(k[free[carried_over]], starts[carried_over]))


def apply_rules_sql(
    con: Any, narrow: Narrow, carry: Carry, day_start: datetime, day_end: datetime, window_seconds: int
) -> Outcome:
    """The same through sql/classify.sql on DuckDB: the specification, which the numpy engine must equal."""
    con.register("events", narrow.table())
    con.register("carry", carry.table())
    try:
        result = to_arrow(con.sql(classify_sql("events", "carry", day_start, day_end, window_seconds)))
    finally:
        con.unregister("events")
        con.unregister("carry")
    is_action = result.column("rid").is_valid()
    started = result.filter(is_action).sort_by("rid")
    carried = result.filter(pc.invert(is_action))
    codes = pc.index_in(started.column("action"), value_set=_ACTION_NAMES).to_numpy().astype(np.int8)
    return Outcome(
        started.column("rid").to_numpy(),
        codes,
        Carry.of(carried.column("k").to_numpy(), carried.column("start").to_numpy(zero_copy_only=False)),
    )


# --- classification -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Classified:
    """A day's actions and what they were classified from."""

    day: date
    carry: Carry
    inputs: list[list[Path]]  # the segments of the day before, the day and the day after
    result: DayResult


class Classifier:
    def __init__(self, con: Any, window_seconds: int = DEFAULT_WINDOW_SECONDS, engine: Engine = "numpy") -> None:
        if not 0 <= window_seconds <= MAX_WINDOW_SECONDS:
            raise ValueError(f"the analytics window must be between 0 and {MAX_WINDOW_SECONDS} seconds")
        self.con = con
        self.window = int(window_seconds)
        self.engine = engine
        self.hashes = _Hashes()
        self._days: dict[date, tuple[list[Path], Future[_Segments]]] = {}
        # One thread reads the next days' segments; another classifies the next day while the caller writes this
        # one's actions (numpy engine: the SQL one shares the caller's DuckDB connection).
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analytics-read")
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="analytics-ahead")
        self._ahead: Future[_Classified] | None = None

    def classify_day(self, data_dir: Path, day: date, carry: Carry) -> DayResult:
        """Classify the requests of `day`, with a window of the days around it and `carry` as context.

        Days classified in order read each day's segments once, ahead of time, and each day is classified as soon
        as the day before is done, with that day's carry: that is the answer to the next call if it asks for that
        day with that carry and no segment has appeared since (otherwise it is thrown away)."""
        ahead, self._ahead = self._ahead, None
        # One classification at a time (they share the segment cache); one that failed is done again here.
        found = ahead.result() if ahead is not None and ahead.exception() is None else None
        if found is None or (found.day, found.carry, found.inputs) != (day, carry, self._inputs(data_dir, day)):
            found = self._classify_day(data_dir, day, carry)
        following = day + timedelta(days=1)
        if self.engine == "numpy" and segments.segment_paths(data_dir, following, following):
            self._ahead = self._worker.submit(self._classify_day, data_dir, following, found.result.carry)
        return found.result

    @staticmethod
    def _inputs(data_dir: Path, day: date) -> list[list[Path]]:
        return [segments.segment_paths(data_dir, d, d) for d in (day - timedelta(days=1), day, day + timedelta(days=1))]

    def _classify_day(self, data_dir: Path, day: date, carry: Carry) -> _Classified:
        for cached in [d for d in self._days if not day - timedelta(days=1) <= d <= day + timedelta(days=2)]:
            del self._days[cached]
        (before_paths, before), (paths, table), (after_paths, after) = (
            self._read(data_dir, day + timedelta(days=offset)) for offset in (-1, 0, 1)
        )
        self._read(data_dir, day + timedelta(days=2))
        day_start = datetime.combine(day, time())
        day_end = day_start + timedelta(days=1)
        result = self._classify(table.result(), day_start, day_end, carry, before.result(), after.result())
        return _Classified(day, carry, [before_paths, paths, after_paths], result)

    def _read(self, data_dir: Path, day: date) -> tuple[list[Path], Future[_Segments]]:
        paths = segments.segment_paths(data_dir, day, day)
        cached = self._days.get(day)
        # A segment published since the day was read (capture writes today's all the time) means reading again.
        if cached is None or cached[0] != paths:
            cached = self._days[day] = (paths, self._reader.submit(lambda: _Segments.of(read_segments(paths))))
        return cached

    def close(self) -> None:
        self._ahead = None
        # The worker first: a classification under way may still ask for segments.
        self._worker.shutdown(wait=True, cancel_futures=True)
        self._reader.shutdown(wait=True, cancel_futures=True)
        self._days.clear()

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
        return self._classify(
            _Segments.of(table),
            day_start,
            day_end,
            carry,
            None if before is None else _Segments.of(before),
            None if after is None else _Segments.of(after),
        )

    def _classify(
        self,
        day: _Segments,
        day_start: datetime,
        day_end: datetime,
        carry: Carry,
        before: _Segments | None,
        after: _Segments | None,
    ) -> DayResult:
        start, end, window = micros(day_start), micros(day_end), self.window * 1_000_000
        keep = day.counted(start, end)
        rids = np.flatnonzero(keep)
        context_before = _context(before, start - window, start)
        parts = [(context_before, None), (day.table, None if len(rids) == len(keep) else keep)]
        parts.append((_context(after, end, end + window), None))
        narrow = encode(parts, self.hashes)
        if self.engine == "sql":
            outcome = apply_rules_sql(self.con, narrow, carry, day_start, day_end, self.window)
        else:
            outcome = apply_rules(narrow, carry, day_start, day_end, self.window)
        # Only the day's own rows start actions: the context rows come before and after them in the input.
        picked = day.table.select(_ATTRIBUTES).take(rids[outcome.rows - context_before.num_rows])
        action_column = pa.DictionaryArray.from_arrays(pa.array(outcome.actions, pa.int8()), _ACTION_NAMES)
        columns = [action_column if name == "action" else picked.column(name) for name in actions.COLUMNS]
        out = pa.table(columns, names=list(actions.COLUMNS))
        per_action = np.bincount(outcome.actions, minlength=len(actions.ACTIONS))
        counts = {name: int(per_action[i]) for i, name in enumerate(actions.ACTIONS)}
        return DayResult(day_start.date(), len(rids), out, outcome.carry, counts)


@dataclass(frozen=True)
class _Segments:
    """Segment rows with the columns every use of them tests, as numpy (computed in the reading thread)."""

    table: pa.Table
    t: np.ndarray  # int64: ts in microseconds since the epoch
    ok: np.ndarray  # bool: status 200

    @classmethod
    def of(cls, table: pa.Table) -> _Segments:
        t = table.column("ts").cast(pa.timestamp("us")).to_numpy().view(np.int64)
        return cls(table, t, table.column("status").to_numpy() == 200)

    def counted(self, start: int, end: int) -> np.ndarray:
        """Which rows are status-200 requests within [start, end) (microseconds)."""
        mask: np.ndarray = self.ok & (self.t >= start) & (self.t < end)
        return mask


def _context(rows: _Segments | None, start: int, end: int) -> pa.Table:
    """The counted requests of `rows` within [start, end), key columns only."""
    if rows is None:
        return _empty(KEY_COLUMNS)
    return rows.table.select(KEY_COLUMNS).take(np.flatnonzero(rows.counted(start, end)))
