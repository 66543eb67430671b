"""Weekly and monthly summaries at three levels (reference, repository, namespace), computed from the actions:
per level, the exact number of distinct clients (`unique_ip_address`) and the number of each action. A month's
unique count is computed from the month's actions, never added up from its weeks.

sql/summaries.sql is the specification, and what a distributed engine runs. The embedded engine computes the same
rows with numpy, reading the period's action files one day at a time and keeping 12 bytes per action (client and
reference number); one sort of the (client, reference) pairs then yields the distinct clients of all three
levels at once, where DuckDB hashes strings for three separate exact distinct counts at twice the cost. Tests
check that both engines give the same rows (`engine="sql"` runs the SQL)."""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, time
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dockyard.analytics import actions
from dockyard.analytics.classify import (
    PULL_BY_DIGEST,
    PULL_BY_TAG,
    VERSION_CHECK,
    Engine,
    dictionary_codes,
    period_sql,
    to_arrow,
)
from dockyard.analytics.periods import Period, micros

LEVELS = ("reference", "repository", "namespace")
CONCURRENT_WEEKS = 2
_STRINGS = ["action", "namespace", "repository", "reference"]
_NOT_PULLED = np.iinfo(np.int64).min  # numpy's NaT as a datetime64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SummaryRow(NamedTuple):
    """One summary row. A named tuple: a week has ~10,000 of them, and a frozen dataclass took four times as long
    to build them (18 ms against 5)."""

    level: str
    namespace: str
    repository: str  # "" at the namespace level
    reference: str  # "" above the reference level
    unique_ip_address: int
    pull_by_tag: int
    pull_by_digest: int
    version_check: int
    last_pulled: datetime | None  # UTC


def summaries_sql(action_files: list[Path], period: Period) -> str:
    return period_sql("summaries", actions.parquet_sql(action_files), period)


def summarize(con: Any, data_dir: Path, period: Period, engine: Engine = "numpy") -> list[SummaryRow]:
    """The summary rows of `period` from the classified actions of its days (none when it has no actions), in
    level order, then by namespace, repository and reference. `con` runs the SQL engine."""
    files = actions.paths(data_dir, period.start, period.last_day)
    if not files:
        return []
    rows = _summarize_sql(con, files, period) if engine == "sql" else _summarize(files, period)
    return in_order(rows)


def in_order(rows: list[SummaryRow]) -> list[SummaryRow]:
    """`rows` sorted as summaries come: by level, then namespace, repository and reference."""
    rows.sort(key=lambda r: (LEVELS.index(r.level), r.namespace, r.repository, r.reference))
    return rows


def summarize_each(
    con: Any,
    data_dir: Path,
    periods: Sequence[Period],
    engine: Engine = "numpy",
    ahead: WeeksAhead | None = None,
) -> Generator[tuple[Period, list[SummaryRow]], None, None]:
    """`summarize` of each period, in the order given. The numpy engine works on weeks two at a time: its sorts,
    hashing and Parquet reads run outside the GIL, so two weeks use both cores (10 M events: 1.5 s instead of
    2.3). Months, four times the memory, go one at a time, so that 100 M events stay under 2 GB. The SQL engine
    goes one at a time on `con`, which parallelises each query itself. A period `ahead` already started is not
    started again."""
    width = {"weeks": CONCURRENT_WEEKS if engine == "numpy" else 1, "months": 1}
    with ThreadPoolExecutor(max_workers=CONCURRENT_WEEKS, thread_name_prefix="analytics-summaries") as pool:
        running: deque[tuple[Period, Future[list[SummaryRow]]]] = deque()
        try:
            for period in periods:
                started = ahead.take(period) if ahead is not None else None
                if started is None:
                    while running and (
                        len(running) >= width[period.timespan] or running[0][0].timespan != period.timespan
                    ):
                        done, future = running.popleft()
                        yield done, future.result()
                    started = pool.submit(summarize, con, data_dir, period, engine)
                running.append((period, started))
            while running:
                done, future = running.popleft()
                yield done, future.result()
        finally:
            for _, future in running:
                future.cancel()


class WeeksAhead:
    """Weekly summaries started while the classification of later days goes on, on the cores it leaves idle
    (reading, classifying and writing days keep two cores busy only part of the time): 10 M events are classified
    and summarised in about 4.4 s instead of 5.0. Days are classified in ascending order, so once a day of a later
    week is done, no day of the earlier week changes any more in that run. `summarize_each` takes the started
    weeks; `close` waits for any it did not take."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._pool = ThreadPoolExecutor(max_workers=CONCURRENT_WEEKS, thread_name_prefix="analytics-weeks-ahead")
        self._started: dict[Period, Future[list[SummaryRow]]] = {}
        self._week: Period | None = None

    def classified(self, day: date) -> None:
        """`day`'s actions are written (called in ascending day order)."""
        week = Period.week_of(day)
        if self._week is not None and week != self._week:
            self._started[self._week] = self._pool.submit(summarize, None, self.data_dir, self._week)
        self._week = week

    def take(self, period: Period) -> Future[list[SummaryRow]] | None:
        return self._started.pop(period, None)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._started.clear()


def _summarize_sql(con: Any, files: list[Path], period: Period) -> list[SummaryRow]:
    return rows_of(to_arrow(con.sql(summaries_sql(files, period))))


def rows_of(table: pa.Table) -> list[SummaryRow]:
    """The rows of sql/summaries.sql's result, whichever engine ran it."""
    rows = []
    for row in table.to_pylist():
        last = row["last_pulled"]
        rows.append(
            SummaryRow(
                level=row["level"],
                namespace=row["namespace"],
                repository=row["repository"],
                reference=row["reference"],
                unique_ip_address=int(row["unique_ip_address"]),
                pull_by_tag=int(row["pull_by_tag"]),
                pull_by_digest=int(row["pull_by_digest"]),
                version_check=int(row["version_check"]),
                last_pulled=last.replace(tzinfo=UTC) if last is not None else None,
            )
        )
    return rows


def _codes(column: pa.ChunkedArray) -> tuple[list[Any], np.ndarray]:
    """A string column's dictionary as a list and each row's index in it. A value the dictionary holds twice
    only costs a second lookup: references are numbered by their strings."""
    dictionary, codes = dictionary_codes(column)
    return dictionary.to_pylist(), codes


def _dense(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values (in order of appearance) and each row's index among them, by hashing."""
    encoded = pc.dictionary_encode(pa.array(values))
    return encoded.dictionary.to_numpy(), encoded.indices.to_numpy()


class _Period:
    """One period's actions, folded in a file (a day) at a time so that memory holds 12 bytes per action: its
    client and its reference's number. Everything else is added up per reference as the files go by."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end = start, end
        self.numbers: dict[tuple[tuple[str, str], str], int] = {}  # ((namespace, repository), reference)
        # Per file: its clients and reference numbers ordered by bucket, and where each bucket starts and ends.
        self.pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.counted: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # numbers, counts, last pulls

    def add(self, table: pa.Table) -> None:
        ts = table.column("ts").cast(pa.timestamp("us")).to_numpy().view(np.int64)
        keep = (ts >= self.start) & (ts < self.end)
        names = [_codes(table.column(name)) for name in ("namespace", "repository", "reference")]
        (namespaces, namespace), (repositories, repository), (references, reference) = names
        action_names, action = _codes(table.column("action"))
        action = np.array([actions.ACTIONS.index(name) for name in action_names], np.int64)[action]
        client = table.column("client").to_numpy().view(np.uint64)  # Spark writes them as BIGINT
        if not keep.all():
            ts, namespace, repository, reference, action, client = (
                values[keep] for values in (ts, namespace, repository, reference, action, client)
            )
        # The file's (namespace, repository, reference) triples, then their numbers for the whole period.
        pairs, pair = _dense(namespace.astype(np.int64) * len(repositories) + repository)
        triples, triple = _dense(pair * len(references) + reference)
        pair_names = list(
            zip(
                map(namespaces.__getitem__, (pairs // len(repositories)).tolist()),
                map(repositories.__getitem__, (pairs % len(repositories)).tolist()),
                strict=True,
            )
        )
        keys = zip(
            map(pair_names.__getitem__, (triples // len(references)).tolist()),
            map(references.__getitem__, (triples % len(references)).tolist()),
            strict=True,
        )
        numbers = self.numbers
        number_of = np.array([numbers.setdefault(key, len(numbers)) for key in keys], np.int64)
        counts = np.bincount(triple * len(actions.ACTIONS) + action, minlength=len(triples) * len(actions.ACTIONS))
        last = np.full(len(triples), _NOT_PULLED, np.int64)
        pulled = action != VERSION_CHECK
        np.maximum.at(last, triple[pulled], ts[pulled])
        self.counted.append((number_of, counts.reshape(len(triples), len(actions.ACTIONS)), last))
        bucket = (client & np.uint64(_BUCKETS - 1)).astype(np.uint8)
        by_bucket = np.argsort(bucket, kind="stable")  # a radix sort for 8-bit keys
        bounds = np.zeros(_BUCKETS + 1, np.int64)
        np.cumsum(np.bincount(bucket, minlength=_BUCKETS), out=bounds[1:])
        self.pairs.append((client[by_bucket], number_of[triple[by_bucket]].astype(np.int32), bounds))

    def rows(self) -> list[SummaryRow]:
        if not self.numbers:
            return []
        # Codes in (namespace, repository, reference) order, so that a repository's references, and a
        # namespace's repositories, have consecutive codes.
        names = sorted(self.numbers)
        code_of_number = np.empty(len(names), np.int64)
        code_of_number[[self.numbers[name] for name in names]] = np.arange(len(names))
        repo_names = sorted({repo for repo, _ in names})
        repo_code = {name: code for code, name in enumerate(repo_names)}
        namespace_names = sorted({namespace for namespace, _ in repo_names})
        namespace_code = {name: code for code, name in enumerate(namespace_names)}
        repo_of_ref = np.array([repo_code[repo] for repo, _ in names], np.int64)
        namespace_of_repo = np.array([namespace_code[namespace] for namespace, _ in repo_names], np.int64)

        counts = np.zeros((len(names), len(actions.ACTIONS)), np.int64)
        last = np.full(len(names), _NOT_PULLED, np.int64)
        for numbers, file_counts, file_last in self.counted:
            np.add.at(counts, code_of_number[numbers], file_counts)
            np.maximum.at(last, code_of_number[numbers], file_last)
        unique = _distinct_clients(self._passes(code_of_number), repo_of_ref, namespace_of_repo, len(namespace_names))
        self.pairs.clear()
        by_ref = (unique[0], counts, last)
        by_repo = _roll_up(unique[1], by_ref, repo_of_ref)
        by_namespace = _roll_up(unique[2], by_repo, namespace_of_repo)
        levels = {
            "reference": ([(*repo, reference) for repo, reference in names], by_ref),
            "repository": ([(*name, "") for name in repo_names], by_repo),
            "namespace": ([(name, "", "") for name in namespace_names], by_namespace),
        }
        out: list[SummaryRow] = []
        for level, (level_names, (ips, level_counts, level_last)) in levels.items():
            # As timedelta64 since the epoch, never-pulled (NaT) comes out as None: 1 ms for 10,000 rows where
            # Arrow's conversion to aware datetimes took 15.
            pulled = [
                None if since is None else _EPOCH + since for since in level_last.view("timedelta64[us]").tolist()
            ]
            by_action = (level_counts[:, action].tolist() for action in (PULL_BY_TAG, PULL_BY_DIGEST, VERSION_CHECK))
            out += [
                SummaryRow(level, namespace, repository, reference, distinct, by_tag, by_digest, checks, when)
                for (namespace, repository, reference), distinct, by_tag, by_digest, checks, when in zip(
                    level_names, ips.tolist(), *by_action, pulled, strict=True
                )
            ]
        return out

    def _passes(self, code_of_number: np.ndarray) -> Generator[tuple[np.ndarray, np.ndarray], None, None]:
        """The (client, reference code) rows of the period in parts of about _PASS_ROWS rows, each part a run
        of whole buckets, so that no client has rows in two parts."""
        sizes = np.sum([np.diff(bounds) for _, _, bounds in self.pairs], axis=0)
        part = (np.cumsum(sizes) - sizes) // _PASS_ROWS  # of each bucket, by the rows before it
        edges = [0, *(np.flatnonzero(np.diff(part)) + 1).tolist(), _BUCKETS]
        for first, last in pairwise(edges):
            parts = [(c[b[first] : b[last]], r[b[first] : b[last]]) for c, r, b in self.pairs]
            yield np.concatenate([c for c, _ in parts]), code_of_number[np.concatenate([r for _, r in parts])]


def _read(path: Path) -> pa.Table:
    # Arrow's threaded reader costs several times the CPU on these few large pages.
    with pq.ParquetFile(path, read_dictionary=_STRINGS) as file:
        table: pa.Table = file.read(["ts", "client", *_STRINGS], use_threads=False)
    return table


def _summarize(files: list[Path], period: Period) -> list[SummaryRow]:
    """sql/summaries.sql in numpy: the same rows (grouped by the strings themselves rather than their hashes)."""
    start, end = (micros(datetime.combine(day, time())) for day in (period.start, period.end))
    folded = _Period(start, end)
    for path in files:
        folded.add(_read(path))
    return folded.rows()


# Clients go to buckets by their pseudonym's last bits, and buckets to passes of about _PASS_ROWS rows: a pass's
# hash table and sort stay within the processor's caches, at about half the cost of one pass over a week.
_BUCKETS = 256
_PASS_ROWS = 1 << 17


def _distinct_clients(
    passes: Iterable[tuple[np.ndarray, np.ndarray]],
    repo_of_ref: np.ndarray,
    namespace_of_repo: np.ndarray,
    namespaces: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The number of distinct clients per reference, repository and namespace code among the (client, reference
    code) rows of `passes`, where no client has rows in two passes.

    Within a pass, sorted (client, reference) pairs put each client's rows of one reference, one repository or
    one namespace next to each other (the codes of a repository's references, and of a namespace's
    repositories, are consecutive), so a pair that starts a new value at a level after the previous pair is a
    new client there."""
    unique = (
        np.zeros(len(repo_of_ref), np.int64),
        np.zeros(len(namespace_of_repo), np.int64),
        np.zeros(namespaces, np.int64),
    )
    shift = max(1, len(repo_of_ref).bit_length())  # bits of a reference code within a pair
    for client, ref in passes:
        clients = pc.dictionary_encode(pa.array(client)).indices.to_numpy().astype(np.int64)
        pairs = np.sort(clients << shift | ref)
        pair_client, pair_ref = pairs >> shift, pairs & ((1 << shift) - 1)
        first = np.ones(len(pairs), bool)
        first[1:] = pair_client[1:] != pair_client[:-1]
        pair_repo = repo_of_ref[pair_ref]
        for found, level_of_pair in zip(unique, (pair_ref, pair_repo, namespace_of_repo[pair_repo]), strict=True):
            new = first.copy()
            new[1:] |= level_of_pair[1:] != level_of_pair[:-1]
            found += np.bincount(level_of_pair[new], minlength=len(found))
    return unique


def _roll_up(
    unique: np.ndarray, finer: tuple[np.ndarray, np.ndarray, np.ndarray], parent: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A level's figures from the level below: its own distinct clients (never added up), the action counts
    added up and the latest pull of the finer codes that `parent` maps to each of its codes."""
    counts = np.zeros((len(unique), len(actions.ACTIONS)), np.int64)
    np.add.at(counts, parent, finer[1])
    last = np.full(len(unique), _NOT_PULLED, np.int64)
    np.maximum.at(last, parent, finer[2])
    return unique, counts, last
