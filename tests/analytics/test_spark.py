"""The analytics SQL on a real Apache Spark (local mode, pyspark from PyPI): over the same Parquet segments, Spark
classifies the whole range in one pass and gives exactly the actions, and then the weekly and monthly summaries and
raw export rows, that the embedded engine gives day by day with its carry; the actions Spark's DataFrame writer
writes are action files the embedded engine summarises alike; and the CLI prints the SQL Spark ran."""

from __future__ import annotations

import csv
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from dockyard.analytics import actions, exports, segments, spark
from dockyard.analytics.classify import Carry, Classifier, connect
from dockyard.analytics.periods import Period, touching
from dockyard.analytics.summaries import summarize
from dockyard.cli.main import main
from tests.analytics.events import DOCKER, Req, classify_days, digest, write

TAG = "1.27"
INDEX = digest("index")  # what the tag resolves to: a multi-arch index
AMD64 = digest("amd64")
ARM64 = digest("arm64")
OTHER = digest("other")
PLATFORMS = [digest(f"platform-{n}") for n in range(4)]

# Wednesday 2024-02-28 to Tuesday 2024-03-05: the month ends at one midnight, the ISO week at another.
FIRST_DAY, DAYS = date(2024, 2, 28), 7
MIDNIGHTS = (datetime(2024, 3, 1), datetime(2024, 3, 4))

# Every row of the rules table and the decisions where it is silent, as in test_rules.py (which checks each
# against its expected actions): each case a key of its own, on one day.
DAY_CASES: list[list[Req]] = [
    [Req(0, "HEAD", TAG, INDEX)],
    [Req(0, "GET", TAG, INDEX)],
    [Req(0, "GET", TAG, INDEX), Req(0.2, "GET", AMD64)],
    [Req(0, "HEAD", TAG, INDEX), Req(0.1, "GET", INDEX)],
    [Req(0, "HEAD", TAG, INDEX), Req(0.1, "GET", INDEX), Req(0.3, "GET", AMD64)],
    [Req(0, "GET", AMD64)],
    [Req(0, "HEAD", INDEX)],
    [Req(0, "GET", INDEX), Req(0.2, "GET", ARM64)],
    [Req(0, "HEAD", INDEX), Req(0.1, "GET", INDEX)],
    [Req(0, "HEAD", INDEX), Req(0.1, "GET", INDEX), Req(0.2, "GET", AMD64)],
    [Req(0, "HEAD", TAG, INDEX), Req(1, "GET", OTHER)],
    [Req(0, "HEAD", TAG, INDEX), Req(1, "GET", TAG, INDEX)],
    [Req(0, "GET", TAG, INDEX), Req(1, "GET", INDEX)],
    [Req(0, "GET", AMD64), Req(1, "GET", AMD64)],
    [Req(0, "HEAD", TAG, INDEX), Req(0.5, "HEAD", TAG, INDEX), Req(1, "GET", INDEX)],
    [
        Req(0, "HEAD", "missing", status=404),
        Req(1, "HEAD", TAG, INDEX),
        Req(1.2, "GET", INDEX, status=401),
        Req(1.5, "GET", INDEX),
    ],
    [Req(0, "GET", TAG, INDEX)] + [Req(1 + n, "GET", p) for n, p in enumerate(PLATFORMS)],
    [Req(0, "HEAD", TAG, INDEX), Req(0.1, "GET", INDEX)]
    + [Req(0.2 + n / 10, "GET", p) for n, p in enumerate(PLATFORMS)],
    *([Req(0, "HEAD", TAG, INDEX), Req(gap, "GET", INDEX)] for gap in (60.0, 60.000001)),
    *([Req(0, "HEAD", TAG, INDEX), Req(30, "GET", INDEX), Req(second, "GET", AMD64)] for second in (60.0, 60.000001)),
    [
        Req(0.0, "HEAD", TAG, INDEX, client=1),
        Req(0.1, "HEAD", TAG, INDEX, client=2),
        Req(0.2, "HEAD", TAG, INDEX, client=1, agent="containerd/v1.7.22"),
        Req(0.3, "HEAD", TAG, INDEX, client=1, repository="acme/other"),
        Req(0.4, "GET", INDEX, client=2),
        Req(0.5, "GET", INDEX, client=1),
        Req(0.6, "GET", ARM64, client=2),
        Req(0.7, "GET", AMD64, client=1),
    ],
]
# Around midnight (seconds from it): the cases where the embedded engine needs the previous day's context or carry.
MIDNIGHT_CASES: list[list[Req]] = [
    [Req(-30, "HEAD", TAG, INDEX), Req(10, "GET", INDEX), Req(11, "GET", AMD64)],
    [Req(-0.1, "HEAD", TAG, INDEX), Req(0, "GET", TAG, INDEX)],
    [Req(-61, "HEAD", TAG, INDEX), Req(-59.5, "GET", INDEX), Req(0.5, "GET", AMD64)],
    [Req(at, "GET", p) for at, p in zip([-90, -40, -10, 20, 40], [*PLATFORMS, OTHER], strict=True)],
]


def rules_cases() -> list[Req]:
    """The cases at their places, each in a namespace of its own (so that no two share a key)."""
    out = []
    day = datetime.combine(MIDNIGHTS[0].date(), time(10))
    for n, case in enumerate(DAY_CASES):
        out += [replace(r, start=day + timedelta(minutes=10 * n), repository=f"case{n}/{r.repository}") for r in case]
    for m, midnight in enumerate(MIDNIGHTS):
        for n, case in enumerate(MIDNIGHT_CASES):
            out += [replace(r, start=midnight, repository=f"midnight{m}-{n}/{r.repository}") for r in case]
    return out


def generated(seed: int) -> list[Req]:
    """Bursts of traffic, one at every midnight of the range and more at random times: two clients pulling from
    one repository within two minutes, at half-second times (some requests of a key simultaneous), a few failing,
    so that requests chain into every kind of action and across midnight."""
    rng = np.random.default_rng(seed)
    references = [TAG, "latest", INDEX, AMD64, ARM64, OTHER]
    repositories = ["acme/app", "acme/tools", "beta/app"]
    start = datetime.combine(FIRST_DAY, time())
    centres = [start + timedelta(days=n) for n in range(1, DAYS)]
    centres += [start + timedelta(seconds=float(s)) for s in rng.uniform(0, DAYS * 86400, 34)]
    out = []
    for centre in centres:
        repository = repositories[int(rng.integers(len(repositories)))]
        agent = DOCKER if rng.random() < 0.7 else "containerd/v1.7.22"
        for offset in np.sort(rng.uniform(-60, 60, int(rng.integers(8, 16)))):
            reference = references[int(rng.integers(len(references)))]
            out.append(
                Req(
                    round(float(offset) * 2) / 2,
                    "HEAD" if rng.random() < 0.4 else "GET",
                    reference,
                    INDEX if ":" not in reference else None,
                    client=int(rng.integers(2)),
                    agent=agent,
                    repository=repository,
                    status=404 if rng.random() < 0.05 else 200,
                    start=centre,
                )
            )
    return out


def ordered(table: pa.Table) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = table.to_pylist()
    return sorted(rows, key=lambda row: (row["ts"], repr(row)))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The segments, and the embedded engine's action files for them (days classified in order, with the
    carry; classify_days also holds the numpy engine equal to the SQL on DuckDB)."""
    data = tmp_path_factory.mktemp("spark-data")
    write(data, rules_cases())
    traffic = generated(7)
    # Two segments per day, so that simultaneous requests of a key also lie in different segments.
    write(data, traffic[::2])
    write(data, traffic[1::2])
    classify_days(data)
    return data


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("Spark needs a Java runtime: java is not on PATH and JAVA_HOME is not set")
    from pyspark.sql import SparkSession

    built = (
        SparkSession.builder.master("local[2]")
        .appName("dockyard-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        # Re-planning at every stage costs more than it saves on a few hundred rows; the results are the same.
        .config("spark.sql.adaptive.enabled", "false")
        .config("spark.sql.warehouse.dir", str(tmp_path_factory.mktemp("spark-warehouse")))
        .getOrCreate()
    )
    built.sparkContext.setLogLevel("ERROR")
    try:
        yield built
    finally:
        built.stop()


def embedded_actions(data_dir: Path, window: int) -> pa.Table:
    """The embedded engine's actions of every day, classified in order with the carry (no file written)."""
    classifier = Classifier(connect(threads=1), window)
    carry, tables = Carry(), []
    try:
        for day in segments.days(data_dir):
            result = classifier.classify_day(data_dir, day, carry)
            carry = result.carry
            tables.append(result.actions.cast(actions.SCHEMA))
    finally:
        classifier.close()
    return pa.concat_tables(tables)


def embedded_raw_export(con: Any, data_dir: Path, period: Period, owners: dict[str, str]) -> dict[str, list[list[str]]]:
    """The rows of the raw CSV files the embedded engine's export of `period` writes, per namespace."""
    written = exports.export_period(con, data_dir, period, "embedded", summarize(con, data_dir, period), owners)
    rows: dict[str, list[list[str]]] = {}
    for file in sorted((f for f in written if f.dataview == "raw"), key=lambda f: (f.namespace, f.part)):
        with (data_dir / file.path).open(newline="", encoding="utf-8") as handle:
            header, *body = csv.reader(handle)
        assert tuple(header) == exports.RAW_COLUMNS
        rows.setdefault(file.namespace, []).extend(body)
    return rows


def spark_raw_export(session: Any, frame: Any, period: Period, owners: dict[str, str]) -> dict[str, list[list[str]]]:
    """Spark's raw export rows per namespace, in its order, as the CSV files hold them: the owner appended, NULL
    an empty field."""
    rows: dict[str, list[list[str]]] = {}
    table = spark.export_raw(session, frame, period).toArrow()
    for namespace, *values in zip(*(column.to_pylist() for column in table.columns), strict=True):
        fields = ["" if value is None else value for value in values]
        rows.setdefault(namespace, []).append([*fields, owners.get(namespace, "")])
    return rows


def test_spark_gives_the_embedded_engines_actions_summaries_and_exports(
    session: Any, data_dir: Path, tmp_path: Path
) -> None:
    # One test, so that test workers do not start a Spark each.
    days = segments.days(data_dir)
    assert (days[0], days[-1]) == (FIRST_DAY, FIRST_DAY + timedelta(days=DAYS - 1))
    embedded = ordered(actions.read(data_dir, days[0], days[-1]))
    assert len(embedded) > 300 and {row["action"] for row in embedded} == set(actions.ACTIONS)
    found = spark.actions_frame(session, data_dir).cache()
    try:
        assert ordered(found.toArrow().cast(actions.SCHEMA)) == embedded

        # The weeks from Spark's own actions, the months from the embedded engine's action files (snappy Parquet, a
        # file a day), which Spark reads as they are.
        periods = sorted(touching(days))
        assert [p.label for p in periods] == ["2024-02", "2024-03", "2024-W09", "2024-W10"]
        con = connect(threads=1)
        for period in periods:
            if period.timespan == "weeks":
                of = found
            else:
                of = session.read.parquet(*(str(p) for p in actions.paths(data_dir, period.start, period.last_day)))
            assert spark.summarize(session, of, period) == summarize(con, data_dir, period), period.label
        check_raw_exports(session, found, con, data_dir, periods)
        check_written_actions(found, embedded, con, data_dir, tmp_path / "written", periods)
    finally:
        found.unpersist()

    # Another window: some follow-ups of the rules cases and of the traffic no longer count.
    narrow = ordered(embedded_actions(data_dir, 20))
    assert narrow != embedded
    assert ordered(spark.classify(session, data_dir, 20)) == narrow


def check_raw_exports(session: Any, found: Any, con: Any, data_dir: Path, periods: list[Period]) -> None:
    """Spark's raw export rows, from its own actions, are the rows of the embedded engine's CSV files, in order.
    (The one tie in the SQL's order in these data, two actions of a key at one time, is two equal rows.)"""
    owners = {"acme": "acme-org", "case3": "someone"}
    for period in periods:
        embedded = embedded_raw_export(con, data_dir, period, owners)
        assert sum(map(len, embedded.values())) > 100, period.label
        assert spark_raw_export(session, found, period, owners) == embedded, period.label


def check_written_actions(
    found: Any, embedded: list[dict[str, Any]], con: Any, data_dir: Path, written: Path, periods: list[Period]
) -> None:
    """The files `write_actions` writes with Spark's DataFrame writer, partitioned by day, are the embedded
    engine's action files: a file a day, holding its actions (the pseudonym a signed 64-bit integer, which its
    numpy summaries read as numbers, not as decimals), which both of its summary engines summarise as its own."""
    # The data's pseudonyms, 0, 1 and 2, spread to the unsigned range's ends: 2^63 is the first that the signed
    # integer holds as negative, 2^64 - 1 the last.
    spread = [{**row, "client": row["client"] * (2**63 - 1) + 1} for row in embedded]
    assert {row["client"] for row in spread} == {1, 2**63, 2**64 - 1}
    spread_client = f"CAST(client * {2**63 - 1} + 1 AS DECIMAL(20,0)) AS client"
    files = spark.write_actions(
        found.selectExpr(*(spread_client if name == "client" else name for name in actions.COLUMNS)), written
    )
    days = actions.days(data_dir)
    assert files == [actions.day_path(written, day) for day in days] == actions.paths(written, days[0], days[-1])
    assert not [path.name for path in actions.actions_root(written).iterdir() if path not in files]
    table = pa.concat_tables(pq.read_table(path) for path in files)
    client = table.column("client")
    assert client.type == pa.int64()
    unsigned = pa.array(client.to_numpy().view(np.uint64))
    assert ordered(table.set_column(table.schema.get_field_index("client"), "client", unsigned)) == spread
    for period in periods:
        for engine in ("numpy", "sql"):
            expected = summarize(con, data_dir, period, engine)
            assert summarize(con, written, period, engine) == expected, (period.label, engine)


def test_the_sql_transpiles_to_spark() -> None:
    month = Period("months", date(2024, 3, 1))
    for query in spark.QUERIES:
        text = spark.spark_sql(query, 60, month)
        # Window frames stay inline (Spark refuses a named window refined with a frame).
        assert "OVER (w " not in text and "OVER (f " not in text
        # Spark's hash() is 32 bits wide: every hash is a 64-bit one.
        assert re.search(r"\bHASH\(", text, re.IGNORECASE) is None
        assert ("XXHASH64(" in text) == (query in ("encode", "summaries"))
    # Spark's patterns for DuckDB's strftime('%Y-%m-%d') and strftime('%Y-%m-%d %H:%M:%S').
    raw = spark.spark_sql("export_raw", period=month)
    assert "DATE_FORMAT(ts, 'yyyy-MM-dd') AS action_day" in raw
    assert "DATE_FORMAT(ts, 'yyyy-MM-dd HH:mm:ss') AS timestamp" in raw


def test_the_cli_prints_the_spark_sql() -> None:
    runner = CliRunner()
    expected = {
        ("encode",): spark.spark_sql("encode"),
        ("classify", "--window", "45"): spark.spark_sql("classify", 45),
        ("summaries", "--period", "2024-W10"): spark.spark_sql("summaries", period=Period("weeks", date(2024, 3, 4))),
        ("summaries", "--period", "2024-02"): spark.spark_sql("summaries", period=Period("months", date(2024, 2, 1))),
        ("export_raw", "--period", "2024-03"): spark.spark_sql("export_raw", period=Period("months", date(2024, 3, 1))),
    }
    for args, sql in expected.items():
        result = runner.invoke(main, ["analytics", "spark-sql", *args])
        assert (result.exit_code, result.output) == (0, sql + "\n"), args
    assert "45000000" in expected["classify", "--window", "45"]
    for query in ("summaries", "export_raw"):
        for wrong in ([], ["--period", "2024-13"], ["--period", "2024-W54"], ["--period", "March"]):
            result = runner.invoke(main, ["analytics", "spark-sql", query, *wrong])
            assert result.exit_code == 2 and "--period" in result.output, (query, wrong)
