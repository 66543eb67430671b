"""Shared checks for analytics tests: reading the event store back, and proving no raw address reached the disk."""

from __future__ import annotations

import ipaddress
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.analytics import periods, segments
from dockyard.analytics.jobs import AnalyticsJob, JobReport
from dockyard.analytics.periods import Period
from dockyard.analytics.pseudonyms import Pseudonymizer
from dockyard.config import Settings
from tests.registry.helpers import in_app, services


def run_job(client: TestClient, as_of: date | None = None) -> JobReport:
    """The analytics job, run once on the app's own loop and database."""
    found = services(client)
    job = AnalyticsJob(found.settings, found.db)
    return in_app(client, lambda: job.run(as_of))


def pin_today(monkeypatch: pytest.MonkeyPatch, today: date) -> None:
    """The server's today is the one the test data were made for, even when the run crosses midnight."""
    monkeypatch.setattr(periods, "utc_today", lambda: today)


def week_with_time_left(seconds: float) -> Period:
    """The current ISO week (UTC), with at least `seconds` of it left, waiting for the next one if need be: live
    requests, which the server stamps with its own clock, made within that time all fall in this week, so a test
    can ask for this week's numbers after them even if it ran into a Monday."""
    while True:
        now = datetime.now(UTC)
        week = Period.week_of(now.date())
        left = (datetime.combine(week.end, datetime.min.time(), UTC) - now).total_seconds()
        if left >= seconds:
            return week
        time.sleep(left + 0.01)


def stored_rows(data_dir: Path) -> list[dict[str, Any]]:
    """Every stored event as a dict, oldest first."""
    rows: list[dict[str, Any]] = segments.read_table(data_dir).to_pylist()
    return sorted(rows, key=lambda row: (row["ts"], row["method"], row["reference"]))


def pseudonym(settings: Settings, address: str) -> int:
    return Pseudonymizer(settings.load_secret())(address)


def assert_no_raw_addresses(data_dir: Path, addresses: list[str]) -> None:
    """No file under the data directory holds any of these addresses as text, nor an IPv6 one as packed bytes
    (4 packed IPv4 bytes turn up in random data by chance). Parquet pages are compressed, so the stored columns
    are also read back and searched."""
    needles: list[bytes] = []
    for address in addresses:
        needles.append(address.encode())
        ip = ipaddress.ip_address(address)
        if ip.version == 6:
            needles.append(ip.packed)
    files = [path for path in Path(data_dir).rglob("*") if path.is_file()]
    assert files, "nothing was written"
    for path in files:
        content = path.read_bytes()
        for needle in needles:
            assert needle not in content, f"{needle!r} found in {path}"
    table = segments.read_table(data_dir)
    for column in table.column_names:
        text = " ".join(str(value) for value in table.column(column).to_pylist())
        for address in addresses:
            assert address not in text, f"{address} found in column {column}"
