"""Buffered manifest requests -> enriched event rows -> segments: the per-event work of capture and import.

Runs wherever capture's flush sends a batch: in a child process in the server (`writer_process`), in the process
itself for `dockyard analytics import` and tests.

A batch is text: one line per manifest request, its fields separated by tabs (`encoded`). Arrow's CSV reader turns
it into columns in C++, so the writer makes no Python object per event; Python only sees each distinct address,
user agent and repository of a batch (to pseudonymise, place and parse it). Marshalled tuples, decoded and zipped in
Python, cost the writer 2-3 µs per event; this costs under 1 µs, and the request path's `encoded` is also cheaper.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from dockyard.analytics import segments
from dockyard.analytics.enrich import Enricher
from dockyard.analytics.pseudonyms import Pseudonymizer
from dockyard.analytics.useragents import MAX_USER_AGENT, parse
from dockyard.registry.events import ManifestRequested
from dockyard.registry.references import DEFAULT_NAMESPACE

log = logging.getLogger(__name__)

_DICTIONARY = pa.dictionary(pa.int32(), pa.string())
# The fields of a buffered line, in order, with the type Arrow reads each as. Repeating strings are read as
# dictionaries: Python then sees their distinct values only. `digest` and `account` are empty for None.
FIELDS = {
    "time_us": pa.int64(), "repository": _DICTIONARY, "reference": _DICTIONARY, "digest": pa.string(),
    "method": _DICTIONARY, "status": pa.int16(), "client_ip": _DICTIONARY, "user_agent": _DICTIONARY,
    "account": pa.string(), "source": _DICTIONARY,
}  # fmt: skip
# What would end a field or a line early (a user agent may hold a tab, an imported one anything).
_BREAKS = re.compile(r"[\t\n\r]")
_CONVERT = pacsv.ConvertOptions(column_types=FIELDS, strings_can_be_null=False, null_values=[], check_utf8=False)
# Arrow reads a batch in blocks of this size; a batch is a few megabytes, so usually one.
_BLOCK_BYTES = 1 << 25


def split_repository(path: str) -> tuple[str, str]:
    """`ns/repo` -> (ns, repo); `ns/a/b` -> (ns, a/b); a one-segment name belongs to `library`."""
    namespace, _, name = path.strip("/").partition("/")
    return (namespace, name) if name else (DEFAULT_NAMESPACE, namespace)


def encoded(event: ManifestRequested, source: str) -> bytes:
    """The event as the capture buffer holds it: one tab-separated line (~0.4 µs). Names, references, digests and
    addresses arrive validated (by the registry's routes or the ingest), so only the two free texts are cleaned:
    their tabs and line breaks become spaces (checked inline: a helper call would cost this hot path half again)."""
    agent = event.user_agent[:MAX_USER_AGENT]
    if "\t" in agent or "\n" in agent or "\r" in agent:
        agent = _BREAKS.sub(" ", agent)
    account = event.account or ""
    if "\t" in account or "\n" in account or "\r" in account:
        account = _BREAKS.sub(" ", account)
    line = (
        f"{event.time_us}\t{event.repository}\t{event.reference}\t{event.digest or ''}\t{event.method}\t"
        f"{event.status}\t{event.client_ip}\t{agent}\t{account}\t{source}\n"
    )
    try:
        return line.encode()
    except UnicodeEncodeError:  # a lone surrogate, only possible in an imported JSON string, becomes "?"
        return line.encode("utf-8", "replace")


def read_batch(records: bytes | memoryview) -> pa.Table:
    """Buffered lines as a table of FIELDS, each column one chunk. A line with the wrong number of fields (which
    `encoded` cannot make, unless a value slipped past validation) is dropped and counted in the log, rather than
    failing its whole batch; its text is not logged, as it holds an address."""
    dropped = 0

    def drop(row: Any) -> str:
        nonlocal dropped
        dropped += 1
        return "skip"

    table = pacsv.read_csv(
        pa.py_buffer(records),
        read_options=pacsv.ReadOptions(column_names=list(FIELDS), use_threads=False, block_size=_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(
            delimiter="\t", quote_char=False, double_quote=False, escape_char=False, invalid_row_handler=drop
        ),
        convert_options=_CONVERT,
    )
    if dropped:
        log.error("analytics: dropped %d malformed buffered events", dropped)
    return table.unify_dictionaries().combine_chunks()


def _spread(column: pa.DictionaryArray, per_value: list[Any], kind: pa.DataType | None = None) -> pa.Array:
    """One derived value per distinct value of a dictionary column, spread back over its rows."""
    return pa.array(per_value, kind or pa.string()).take(column.indices)


def _none_if_empty(column: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column)


class EventWriter:
    """Turns manifest requests into enriched rows and writes them as segments. Used from one thread at a time."""

    def __init__(self, data_dir: Path, secret: bytes, enricher: Enricher, *, fsync: bool = False) -> None:
        self.data_dir = data_dir
        self.pseudonym = Pseudonymizer(secret)
        self.enricher = enricher
        self.fsync = fsync

    def table(self, records: bytes | memoryview) -> pa.Table:
        """Buffered lines as a table in the segment format. Each distinct address, user agent and repository is
        pseudonymised, placed or parsed once per batch (and cached across batches); the per-row work is Arrow's."""
        read = read_batch(records)
        ips, agents, repositories = (read.column(name).chunk(0) for name in ("client_ip", "user_agent", "repository"))
        addresses = ips.dictionary.to_pylist()
        places = [self.enricher(ip) for ip in addresses]
        parsed = [parse(agent) for agent in agents.dictionary.to_pylist()]
        names = [split_repository(path) for path in repositories.dictionary.to_pylist()]
        columns = {
            "ts": read.column("time_us").cast(pa.timestamp("us")),
            "client": _spread(ips, [self.pseudonym(ip) for ip in addresses], pa.uint64()),
            "user_agent": agents,
            "ua_tool": _spread(agents, [agent.tool for agent in parsed]),
            "ua_version": _spread(agents, [agent.version for agent in parsed]),
            "method": read.column("method"),
            "namespace": _spread(repositories, [namespace for namespace, _ in names]),
            "repository": _spread(repositories, [name for _, name in names]),
            "reference": read.column("reference"),
            "digest": _none_if_empty(read.column("digest")),
            "status": read.column("status"),
            "account": _none_if_empty(read.column("account")),
            "country": _spread(ips, [place.country for place in places]),
            "host": _spread(ips, [place.host for place in places]),
            "ip_type": _spread(ips, [place.ip_type for place in places]),
            "domain": _spread(ips, [place.domain for place in places]),
            "source": read.column("source"),
        }
        return segments.conform(pa.table(columns))

    def write_records(self, records: bytes | memoryview) -> list[Path]:
        """Write buffered lines (`encoded` events, back to back) as segments."""
        if not records:
            return []
        return segments.write_segments(self.data_dir, self.table(records), fsync=self.fsync)

    def write(self, events: Sequence[ManifestRequested], source: str) -> list[Path]:
        return self.write_records(b"".join(encoded(event, source) for event in events))

    def close(self) -> None:
        self.enricher.close()


class SegmentWriter(Protocol):
    """Writes buffered lines as segments: an EventWriter here, or one in a child process."""

    def write_records(self, records: bytes | memoryview) -> list[Path]: ...

    def close(self) -> None: ...
