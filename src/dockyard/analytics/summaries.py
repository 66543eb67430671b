"""Weekly and monthly summaries at three levels (reference, repository, namespace), computed from the actions by
sql/summaries.sql: per level, the exact number of distinct clients (`unique_ip_address`) and the number of each
action. A month's unique count is computed from the month's actions, never added up from its weeks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dockyard.analytics import actions
from dockyard.analytics.classify import load_sql, to_arrow
from dockyard.analytics.periods import Period

LEVELS = ("reference", "repository", "namespace")


@dataclass(frozen=True)
class SummaryRow:
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
    return load_sql("summaries").format(
        actions=actions.parquet_sql(action_files),
        start=f"TIMESTAMP '{period.start.isoformat()} 00:00:00'",
        end=f"TIMESTAMP '{period.end.isoformat()} 00:00:00'",
    )


def summarize(con: Any, data_dir: Path, period: Period) -> list[SummaryRow]:
    """The summary rows of `period` from the classified actions of its days (none when it has no actions)."""
    files = actions.paths(data_dir, period.start, period.last_day)
    if not files:
        return []
    table = to_arrow(con.sql(summaries_sql(files, period)))
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
    rows.sort(key=lambda r: (LEVELS.index(r.level), r.namespace, r.repository, r.reference))
    return rows
