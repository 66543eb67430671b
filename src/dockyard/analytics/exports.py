"""CSV exports per namespace, period and data view, and the signed links that download them.

Views (Docker's names): `raw`, one row per action with Docker's columns in Docker's order; `summary` (reference
level), `repo-summary` and `namespace-summary`, each with `unique_ip_address, pull_by_tag, pull_by_digest,
version_check, owner`. No export holds an address or a pseudonym. A view larger than the row limit
(DOCKYARD_ANALYTICS_EXPORT_MAX_ROWS) is split into several files, each with the header.

Files live under `<data_dir>/analytics/exports/<timespan>/<period>/<generation>/<namespace>/`; a period exported
again (late events) gets a new generation, and the old files are deleted once the new ones are recorded.

A download link is `/api/publisher/analytics/v1/downloads/<export id>.<expiry>.<signature>`: the signature is an
HMAC of the id and expiry under a key derived from the server secret, so the link works without credentials
until it expires, and cannot be made up or extended.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dockyard.analytics import actions
from dockyard.analytics.classify import period_sql
from dockyard.analytics.periods import Period
from dockyard.analytics.store import ExportFile
from dockyard.analytics.summaries import SummaryRow

EXPORTS_DIR = Path("analytics") / "exports"
DATAVIEWS = ("raw", "summary", "repo-summary", "namespace-summary")
RAW_COLUMNS = (
    "action", "action_day", "country", "digest", "http_method", "host", "namespace", "reference", "repository",
    "tag", "timestamp", "type", "user_agent_tool", "user_agent_version", "domain", "owner",
)  # fmt: skip
COUNTS = ("unique_ip_address", "pull_by_tag", "pull_by_digest", "version_check", "owner")
SUMMARY_COLUMNS = {
    "summary": ("namespace", "repository", "reference", *COUNTS),
    "repo-summary": ("namespace", "repository", *COUNTS),
    "namespace-summary": ("namespace", *COUNTS),
}
SUMMARY_LEVEL = {"summary": "reference", "repo-summary": "repository", "namespace-summary": "namespace"}
DEFAULT_MAX_ROWS = 1_000_000
BATCH_ROWS = 65_536
_KEY_LABEL = b"dockyard/analytics/export-download/v1"


def safe_component(name: str) -> bool:
    return bool(name) and "/" not in name and "\\" not in name and name not in (".", "..") and "\x00" not in name


class _Rolling:
    """CSV files of one namespace and view, each at most `max_rows` rows plus the header."""

    def __init__(
        self,
        directory: Path,
        data_dir: Path,
        namespace: str,
        period: Period,
        view: str,
        columns: Sequence[str],
        max_rows: int,
    ) -> None:
        self.directory, self.data_dir = directory, data_dir
        self.namespace, self.period, self.view, self.columns = namespace, period, view, columns
        self.max_rows = max(1, max_rows)
        self.files: list[ExportFile] = []
        self._handle: io.TextIOWrapper | None = None
        self._writer: Any = None
        self._rows = 0

    def write(self, rows: Iterable[Sequence[object]]) -> None:
        for row in rows:
            if self._handle is None or self._rows >= self.max_rows:
                self._open()
            self._writer.writerow(row)
            self._rows += 1

    def _open(self) -> None:
        self.close()
        self.directory.mkdir(parents=True, exist_ok=True)
        part = len(self.files) + 1
        path = self.directory / f"{self.view}-{part}.csv"
        self._handle = path.open("w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._handle)
        self._writer.writerow(self.columns)
        self._rows = 0
        self.files.append(
            ExportFile(self.namespace, self.period, self.view, part, str(path.relative_to(self.data_dir)), 0, 0)
        )

    def close(self) -> None:
        if self._handle is None:
            return
        self._handle.close()
        self._handle = None
        last = self.files[-1]
        size = (self.data_dir / last.path).stat().st_size
        self.files[-1] = ExportFile(last.namespace, last.period, last.dataview, last.part, last.path, size, self._rows)

    def finish(self) -> list[ExportFile]:
        if not self.files:
            self._open()  # an empty view still gets a file with its header
        self.close()
        return self.files


def export_period(
    con: Any,
    data_dir: Path,
    period: Period,
    generation: str,
    summaries: Sequence[SummaryRow],
    owners: dict[str, str],
    max_rows: int = DEFAULT_MAX_ROWS,
) -> list[ExportFile]:
    """Write every view of every namespace with data in `period`; returns the files written."""
    base = data_dir / EXPORTS_DIR / period.timespan / period.label / generation
    namespaces = sorted(
        {row.namespace for row in summaries if row.level == "namespace" and safe_component(row.namespace)}
    )
    written: list[ExportFile] = []
    for view in ("summary", "repo-summary", "namespace-summary"):
        level = SUMMARY_LEVEL[view]
        columns = SUMMARY_COLUMNS[view]
        for namespace in namespaces:
            out = _Rolling(base / namespace, data_dir, namespace, period, view, columns, max_rows)
            owner = owners.get(namespace, "")
            out.write(
                [getattr(row, name) if name != "owner" else owner for name in columns]
                for row in summaries
                if row.level == level and row.namespace == namespace
            )
            written += out.finish()
    written += _export_raw(con, data_dir, base, period, namespaces, owners, max_rows)
    return written


def _export_raw(
    con: Any, data_dir: Path, base: Path, period: Period, namespaces: list[str], owners: dict[str, str], max_rows: int
) -> list[ExportFile]:
    files = actions.paths(data_dir, period.start, period.last_day)
    outputs = {ns: _Rolling(base / ns, data_dir, ns, period, "raw", RAW_COLUMNS, max_rows) for ns in namespaces}
    if files:
        sql = period_sql("export_raw", actions.parquet_sql(files), period)
        for batch in _batches(con, sql):
            columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            namespace_column = columns[0]
            start = 0
            while start < len(namespace_column):
                namespace = namespace_column[start]
                end = start
                while end < len(namespace_column) and namespace_column[end] == namespace:
                    end += 1
                out = outputs.get(namespace)
                if out is not None:
                    owner = owners.get(namespace, "")
                    out.write([*(col[i] for col in columns[1:]), owner] for i in range(start, end))
                start = end
    written: list[ExportFile] = []
    for namespace in namespaces:
        written += outputs[namespace].finish()
    return written


def _batches(con: Any, sql: str) -> Iterator[Any]:
    """Stream a query's rows as Arrow record batches (memory stays flat whatever the period's size)."""
    relation = con.sql(sql)
    # The method's name changed between DuckDB releases (to_arrow_reader since 1.4).
    reader = (
        relation.to_arrow_reader(BATCH_ROWS)
        if hasattr(relation, "to_arrow_reader")
        else relation.fetch_record_batch(BATCH_ROWS)
    )
    yield from reader


# --- signed download links -------------------------------------------------------------------------------------
DOWNLOADS_PATH = "/api/publisher/analytics/v1/downloads"


def download_url(base_url: str, server_secret: bytes, export_id: int, ttl_seconds: int) -> str:
    """The absolute, signed link that downloads an export for `ttl_seconds` (the DVP Data API's and the web
    pages' links are the same)."""
    return f"{base_url}{DOWNLOADS_PATH}/{sign(server_secret, export_id, ttl_seconds)}"


def _key(server_secret: bytes) -> bytes:
    return hmac.new(server_secret, _KEY_LABEL, hashlib.sha256).digest()


def sign(server_secret: bytes, export_id: int, ttl_seconds: int, now: float | None = None) -> str:
    expires = int((time.time() if now is None else now) + ttl_seconds)
    message = f"{export_id}.{expires}"
    signature = hmac.new(_key(server_secret), message.encode(), hashlib.sha256).hexdigest()[:40]
    return f"{message}.{signature}"


@dataclass(frozen=True)
class Verified:
    export_id: int
    expires: int


def verify(server_secret: bytes, token: str, now: float | None = None) -> Verified | None:
    """The export a download token names, or None when it is malformed, forged or expired."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18 or len(parts[1]) > 12:
        return None
    message = f"{parts[0]}.{parts[1]}"
    expected = hmac.new(_key(server_secret), message.encode(), hashlib.sha256).hexdigest()[:40]
    if not hmac.compare_digest(expected.encode(), parts[2].encode("ascii", "replace")):
        return None
    if int(parts[1]) < (time.time() if now is None else now):
        return None
    return Verified(int(parts[0]), int(parts[1]))
