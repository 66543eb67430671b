"""The analytics SQL on Apache Spark: sql/encode.sql, sql/classify.sql and sql/summaries.sql, transpiled from
DuckDB's dialect by sqlglot, run over the same Parquet segments as the embedded engine.

Spark classifies the whole history in one pass (its window functions partition by key), so no day needs context
from its neighbours and the carry is an empty relation. What differs from DuckDB is rewritten on sqlglot's tree:
DuckDB's `hash()` is an unsigned 64-bit hash, Spark's `hash()` a 32-bit one that would merge clients' keys, so it
becomes `xxhash64()` without its sign bit (encode.sql numbers digests by a hash modulo 2^40 - 1, and expects it
non-negative). The row id that orders simultaneous requests of a key is built from where each row lies in the
segments: in path order (day, then segment name), then row index, as the embedded engine reads them.

This module never imports pyspark, which Dockyard does not depend on: callers pass their SparkSession (and
DataFrames). tests/analytics/test_spark.py runs it on a local Spark and holds its actions and summaries equal to
the embedded engine's, row for row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import sqlglot
from sqlglot import exp

from dockyard.analytics import actions, segments
from dockyard.analytics.classify import DEFAULT_WINDOW_SECONDS, classify_sql, encode_sql, load_sql
from dockyard.analytics.periods import Period
from dockyard.analytics.summaries import LEVELS, SummaryRow

Query = Literal["encode", "classify", "summaries"]
QUERIES: tuple[Query, ...] = ("encode", "classify", "summaries")

# The whole history at once: no request is context for another range, and nothing precedes it to carry.
ALL_TIME = (datetime(1970, 1, 1), datetime(9999, 12, 31))
_EMPTY_CARRY = sqlglot.select("CAST(NULL AS BIGINT) AS k", "CAST(NULL AS BOOLEAN) AS start").where("false")
_SIGN_BIT_OFF = 2**63 - 1

# The segments' rows (the view `segments`, with each row's file path and index in its file) and their row id, as
# `events`. Files are numbered on their distinct paths alone: only that small relation goes through a window
# without a partition. A segment holds fewer than 2^32 rows.
_EVENTS = f"""
WITH files AS (
    SELECT file_path, row_number() OVER (ORDER BY file_path) AS file
    FROM (SELECT DISTINCT file_path FROM segments) AS paths
)
SELECT {", ".join(f"s.{name}" for name in segments.COLUMNS)}, f.file * 4294967296 + s.row_index AS rid
FROM segments AS s
JOIN files AS f ON f.file_path = s.file_path
"""


def _for_spark(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
        xxhash64 = exp.Anonymous(this="xxhash64", expressions=node.expressions)
        return exp.paren(exp.BitwiseAnd(this=xxhash64, expression=exp.Literal.number(_SIGN_BIT_OFF)))
    # In the tree rather than the text: the query's comments name the relation too.
    if isinstance(node, exp.Table) and node.name == "carry":
        return _EMPTY_CARRY.subquery(node.alias or None)
    return node


def to_spark(sql: str) -> str:
    """DuckDB-dialect analytics SQL as Spark SQL, the relation `carry` empty."""
    tree = sqlglot.parse_one(sql, read="duckdb").transform(_for_spark)
    return tree.sql(dialect="spark", pretty=True, unsupported_level=sqlglot.ErrorLevel.RAISE)


def spark_sql(query: Query, window_seconds: int = DEFAULT_WINDOW_SECONDS, period: Period | None = None) -> str:
    """One query's Spark SQL, over the whole history. `encode` reads the relation `events` (the segments'
    columns and a row id `rid`); `classify` reads `narrow` (what encode returns) and returns the actions' row
    ids; `summaries` reads `actions` (actions.COLUMNS) and needs the period."""
    start, end = ALL_TIME
    if query == "encode":
        return to_spark(encode_sql("events", start, end))
    if query == "classify":
        return to_spark(classify_sql("narrow", "carry", start, end, window_seconds))
    if period is None:
        raise ValueError("the summaries are of a period")
    return to_spark(
        load_sql("summaries").format(
            actions="actions",
            start=f"TIMESTAMP '{period.start.isoformat()} 00:00:00'",
            end=f"TIMESTAMP '{period.end.isoformat()} 00:00:00'",
        )
    )


def actions_frame(spark: Any, data_dir: Path, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> Any:
    """The actions of every segment under `data_dir`, classified by Spark in one pass: a DataFrame with
    actions.COLUMNS (`client` as Spark reads Parquet's unsigned 64 bits, decimal(20,0)). Needs a segment; replaces
    the session's temporary views `segments`, `events`, `narrow` and `classified`."""
    found = spark.read.parquet(str(segments.events_root(data_dir) / f"{segments.DAY_PREFIX}*" / "*.parquet"))
    found.select("*", "_metadata.file_path", "_metadata.row_index").createOrReplaceTempView("segments")
    spark.sql(_EVENTS).createOrReplaceTempView("events")
    spark.sql(spark_sql("encode")).createOrReplaceTempView("narrow")
    spark.sql(spark_sql("classify", window_seconds)).createOrReplaceTempView("classified")
    columns = ", ".join("c.action" if name == "action" else f"e.{name}" for name in actions.COLUMNS)
    return spark.sql(f"SELECT {columns} FROM classified AS c JOIN events AS e ON e.rid = c.rid")


def classify(spark: Any, data_dir: Path, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> pa.Table:
    """`actions_frame`, collected as actions.SCHEMA (in no particular order)."""
    table: pa.Table = actions_frame(spark, data_dir, window_seconds).toArrow()
    return table.cast(actions.SCHEMA)


def summarize(spark: Any, frame: Any, period: Period) -> list[SummaryRow]:
    """summaries.sql on Spark over a DataFrame of actions (as the temporary view `actions`): the rows
    `summaries.summarize` gives, in its order."""
    frame.createOrReplaceTempView("actions")
    table: pa.Table = spark.sql(spark_sql("summaries", period=period)).toArrow()
    rows = [
        SummaryRow(
            row["level"],
            row["namespace"],
            row["repository"],
            row["reference"],
            unique_ip_address=row["unique_ip_address"],
            pull_by_tag=row["pull_by_tag"],
            pull_by_digest=row["pull_by_digest"],
            version_check=row["version_check"],
            last_pulled=None if row["last_pulled"] is None else row["last_pulled"].replace(tzinfo=UTC),
        )
        for row in table.to_pylist()
    ]
    rows.sort(key=lambda r: (LEVELS.index(r.level), r.namespace, r.repository, r.reference))
    return rows
