"""The analytics SQL on a real Apache Spark (local mode, pyspark from PyPI): over the same Parquet segments, Spark
classifies the whole range in one pass and gives exactly the actions, and then the weekly and monthly summaries,
that the embedded engine gives day by day with its carry; and the CLI prints the SQL Spark ran."""

from __future__ import annotations

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
import pytest
from click.testing import CliRunner

from dockyard.analytics import actions, segments, spark
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


def test_spark_gives_the_embedded_engines_actions_and_summaries(session: Any, data_dir: Path) -> None:
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
    finally:
        found.unpersist()

    # Another window: some follow-ups of the rules cases and of the traffic no longer count.
    narrow = ordered(embedded_actions(data_dir, 20))
    assert narrow != embedded
    assert ordered(spark.classify(session, data_dir, 20)) == narrow


def test_the_sql_transpiles_to_spark() -> None:
    month = Period("months", date(2024, 3, 1))
    for query in spark.QUERIES:
        text = spark.spark_sql(query, 60, month)
        # Window frames stay inline (Spark refuses a named window refined with a frame).
        assert "OVER (w " not in text and "OVER (f " not in text
        # Spark's hash() is 32 bits wide: every hash is a 64-bit one.
        assert re.search(r"\bHASH\(", text, re.IGNORECASE) is None
        assert ("XXHASH64(" in text) == (query != "classify")


def test_the_cli_prints_the_spark_sql() -> None:
    runner = CliRunner()
    expected = {
        ("encode",): spark.spark_sql("encode"),
        ("classify", "--window", "45"): spark.spark_sql("classify", 45),
        ("summaries", "--period", "2024-W10"): spark.spark_sql("summaries", period=Period("weeks", date(2024, 3, 4))),
        ("summaries", "--period", "2024-02"): spark.spark_sql("summaries", period=Period("months", date(2024, 2, 1))),
    }
    for args, sql in expected.items():
        result = runner.invoke(main, ["analytics", "spark-sql", *args])
        assert (result.exit_code, result.output) == (0, sql + "\n"), args
    assert "45000000" in expected["classify", "--window", "45"]
    for wrong in ([], ["--period", "2024-13"], ["--period", "2024-W54"], ["--period", "March"]):
        result = runner.invoke(main, ["analytics", "spark-sql", "summaries", *wrong])
        assert result.exit_code == 2 and "--period" in result.output, wrong
