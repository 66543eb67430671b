"""Buffered manifest requests -> enriched event rows -> segments: the per-event work of capture and import.

Runs wherever capture's flush sends a batch: in a child process in the server (`writer_process`), in the process
itself for `dockyard analytics import` and tests.
"""

from __future__ import annotations

import marshal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa
import pyarrow.compute as pc

from dockyard.analytics import segments
from dockyard.analytics.enrich import Enricher
from dockyard.analytics.pseudonyms import Pseudonymizer
from dockyard.analytics.useragents import clip, parse
from dockyard.registry.events import ManifestRequested
from dockyard.registry.references import DEFAULT_NAMESPACE


def split_repository(path: str) -> tuple[str, str]:
    """`ns/repo` -> (ns, repo); `ns/a/b` -> (ns, a/b); a one-segment name belongs to `library`."""
    namespace, _, name = path.strip("/").partition("/")
    return (namespace, name) if name else (DEFAULT_NAMESPACE, namespace)


# A manifest request as a flat tuple of strings, ints and None, in the order of `buffered`.
Buffered = tuple[str, str, str | None, str, int, str, str, str | None, int, str]
# marshal without back-references: records written one by one concatenate into one marshalled list.
MARSHAL_VERSION = 2


def buffered(event: ManifestRequested, source: str) -> Buffered:
    return (
        event.repository, event.reference, event.digest, event.method, event.status, event.client_ip,
        event.user_agent, event.account, event.time_us, source,
    )  # fmt: skip


def encoded(event: ManifestRequested, source: str) -> bytes:
    """The event as the capture buffer holds it: its `buffered` tuple, marshalled (~0.8 µs)."""
    return marshal.dumps(buffered(event, source), MARSHAL_VERSION)


@dataclass(frozen=True)
class Batch:
    """`count` encoded events back to back; behind `header()`, the marshalled list of their tuples, which the
    writer process decodes in one call."""

    count: int
    records: bytes | memoryview

    def header(self) -> bytes:
        return b"[" + self.count.to_bytes(4, "little")

    def events(self) -> list[Buffered]:
        decoded: list[Buffered] = marshal.loads(self.header() + bytes(self.records))
        return decoded


class _Interned:
    """A string column dictionary-encoded (by Arrow, in C++): its distinct values, and each row's code."""

    def __init__(self, values: Sequence[str]) -> None:
        self.encoded: pa.DictionaryArray = pc.dictionary_encode(pa.array(values, pa.string()))
        self.distinct: list[str] = self.encoded.dictionary.to_pylist()

    def take(self, per_value: list[Any], kind: pa.DataType | None = None) -> pa.Array:
        """One derived value per distinct value, spread back over the rows."""
        return pa.array(per_value, kind or pa.string()).take(self.encoded.indices)


class EventWriter:
    """Turns manifest requests into enriched rows and writes them as segments. Used from one thread at a time."""

    def __init__(self, data_dir: Path, secret: bytes, enricher: Enricher, *, fsync: bool = False) -> None:
        self.data_dir = data_dir
        self.pseudonym = Pseudonymizer(secret)
        self.enricher = enricher
        self.fsync = fsync

    def table(self, batch: Sequence[Buffered]) -> pa.Table:
        """The batch as a table in the segment format, built column by column. Repeating values (addresses,
        agents, repositories, references...) are interned first, so each distinct one is pseudonymised, placed or
        parsed once per batch (and cached across batches), and the per-event work is Arrow's C++."""
        repository, reference, digest, method, status, client_ip, user_agent, account, when, source = zip(
            *batch, strict=True
        )
        ips = _Interned(client_ip)
        places = [self.enricher(ip) for ip in ips.distinct]
        agents = _Interned([clip(agent) for agent in user_agent])
        parsed = [parse(agent) for agent in agents.distinct]
        repositories = _Interned(repository)
        names = [split_repository(path) for path in repositories.distinct]
        columns = {
            "ts": pa.array(when, pa.int64()).cast(pa.timestamp("us")),
            "client": ips.take([self.pseudonym(ip) for ip in ips.distinct], pa.uint64()),
            "user_agent": agents.encoded,
            "ua_tool": agents.take([agent.tool for agent in parsed]),
            "ua_version": agents.take([agent.version for agent in parsed]),
            "method": pc.dictionary_encode(pa.array(method, pa.string())),
            "namespace": repositories.take([namespace for namespace, _ in names]),
            "repository": repositories.take([name for _, name in names]),
            "reference": pc.dictionary_encode(pa.array(reference, pa.string())),
            "digest": pa.array(digest, pa.string()),
            "status": pa.array(status, pa.int16()),
            "account": pa.array(account, pa.string()),
            "country": ips.take([place.country for place in places]),
            "host": ips.take([place.host for place in places]),
            "ip_type": ips.take([place.ip_type for place in places]),
            "domain": ips.take([place.domain for place in places]),
            "source": pc.dictionary_encode(pa.array(source, pa.string())),
        }
        return segments.conform(pa.table(columns))

    def write(self, batch: Sequence[Buffered]) -> list[Path]:
        if not batch:
            return []
        return segments.write_segments(self.data_dir, self.table(batch), fsync=self.fsync)

    def write_batch(self, batch: Batch) -> list[Path]:
        return self.write(batch.events())

    def close(self) -> None:
        self.enricher.close()


class SegmentWriter(Protocol):
    """Writes a batch of captured events as segments: an EventWriter here, or one in a child process."""

    def write_batch(self, batch: Batch) -> list[Path]: ...

    def close(self) -> None: ...
