"""The analytics SQL on Apache Spark: sql/encode.sql, sql/classify.sql, sql/summaries.sql and sql/export_raw.sql,
transpiled from DuckDB's dialect by sqlglot, run over the same Parquet segments as the embedded engine; and Spark's
actions written as the embedded engine's action files.

Spark classifies the whole history in one pass (its window functions partition by key), so no day needs context
from its neighbours and the carry is an empty relation. What differs from DuckDB is rewritten on sqlglot's tree:
DuckDB's `hash()` is an unsigned 64-bit hash, Spark's `hash()` a 32-bit one that would merge clients' keys, so it
becomes `xxhash64()` without its sign bit (encode.sql numbers digests by a hash modulo 2^40 - 1, and expects it
non-negative). The row id that orders simultaneous requests of a key is built from where each row lies in the
segments: in path order (day, then segment name), then row index, as the embedded engine reads them. The raw
export's `strftime` needs no rewrite: sqlglot gives Spark's `date_format` with the same pattern, but Spark formats
the actions' wall-clock times (TIMESTAMP_NTZ) through the session's time zone, which must be UTC (in one with
daylight saving time, 02:30 on the night clocks go forward comes out as 03:30).

This module never imports pyspark, which Dockyard does not depend on: callers pass their SparkSession (and
DataFrames). tests/analytics/test_spark.py runs it on a local Spark and holds its actions, summaries and raw export
rows equal to the embedded engine's, row for row, and the embedded engine's summaries of the action files
`write_actions` writes equal to its own.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import sqlglot
from sqlglot import exp

from dockyard.analytics import actions, segments
from dockyard.analytics.classify import DEFAULT_WINDOW_SECONDS, classify_sql, encode_sql, period_sql
from dockyard.analytics.periods import Period
from dockyard.analytics.summaries import SummaryRow, in_order, rows_of

Query = Literal["encode", "classify", "summaries", "export_raw"]
QUERIES: tuple[Query, ...] = ("encode", "classify", "summaries", "export_raw")

# The whole history at once: no request is context for another range, and nothing precedes it to carry.
ALL_TIME = (datetime(1970, 1, 1), datetime(9999, 12, 31))
_EMPTY_CARRY = sqlglot.select("CAST(NULL AS BIGINT) AS k", "CAST(NULL AS BOOLEAN) AS start").where("false")
_SIGN_BIT_OFF = 2**63 - 1
# Spark writes no unsigned type, and reads Parquet's unsigned 64 bits as decimal(20,0), which the embedded engine's
# numpy summaries would hold as a Python object per action: the pseudonym goes out as the signed BIGINT of the same
# bits. The engine's readers only compare pseudonyms; actions.read, a helper that casts to actions.SCHEMA, refuses
# the negative ones.
_CLIENT_AS_BIGINT = f"CAST(IF(client >= {2**63}, client - {2**64}, client) AS BIGINT) AS client"

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
    ids; `summaries` and `export_raw` read `actions` (actions.COLUMNS) and need the period."""
    start, end = ALL_TIME
    if query == "encode":
        return to_spark(encode_sql("events", start, end))
    if query == "classify":
        return to_spark(classify_sql("narrow", "carry", start, end, window_seconds))
    if period is None:
        raise ValueError(f"{query} needs a period")
    return to_spark(period_sql(query, "actions", period))


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
    return in_order(rows_of(spark.sql(spark_sql("summaries", period=period)).toArrow()))


def export_raw(spark: Any, frame: Any, period: Period) -> Any:
    """export_raw.sql on Spark over a DataFrame of actions (as the temporary view `actions`): a DataFrame of the
    period's raw export rows, `export_namespace` then exports.RAW_COLUMNS but `owner` (which the exporter appends
    per namespace), in the SQL's order, which toArrow() and toLocalIterator() keep. NULL stays NULL: the CSV
    writer makes it an empty field."""
    frame.createOrReplaceTempView("actions")
    return spark.sql(spark_sql("export_raw", period=period))


def write_actions(frame: Any, data_dir: Path) -> list[Path]:
    """Write a DataFrame of actions (actions.COLUMNS) with Spark's DataFrame writer as the embedded engine's action
    files, replacing those of the same days; returns the files, in day order. `data_dir` must be where both Spark's
    executors and this process see it (local mode, or a shared mount).

    `partitionBy("day")` alone writes a directory of part files per day, and the embedded engine reads one file a
    day (`actions.day_path`): so every day goes to one task, which writes it as one file, into a hidden staging
    directory, and each file is then renamed over the day's (readers see the old day or the new, as with
    actions.write_day)."""
    staging = actions.actions_root(data_dir) / f".spark-{uuid.uuid4().hex[:8]}"
    columns = [_CLIENT_AS_BIGINT if name == "client" else name for name in actions.COLUMNS]
    by_day = frame.selectExpr(*columns, "CAST(ts AS DATE) AS day").repartition("day")
    try:
        by_day.write.partitionBy("day").option("maxRecordsPerFile", 0).parquet(str(staging))
        return [_publish(data_dir, written) for written in sorted(staging.glob(f"{actions.DAY_PREFIX}*"))]
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _publish(data_dir: Path, written: Path) -> Path:
    """Rename the one file Spark wrote into a day's partition directory over the day's action file."""
    parts = list(written.glob("*.parquet"))
    if len(parts) != 1:
        raise RuntimeError(f"Spark wrote {len(parts)} files for {written.name}, not one")
    final = actions.day_path(data_dir, date.fromisoformat(written.name.removeprefix(actions.DAY_PREFIX)))
    os.replace(parts[0], final)
    return final
