"""Building manifest events in the shared segment format for classification tests, and classifying them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from dockyard.analytics import actions, segments
from dockyard.analytics.classify import Carry, Classifier, Engine, connect

T0 = datetime(2024, 3, 6, 12, 0, 0)  # a Wednesday, mid-day
DOCKER = "docker/27.3.1 go/go1.22.7 os/linux arch/amd64"


def digest(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


@dataclass(frozen=True)
class Req:
    """One manifest request, `at` seconds after `start` (T0 unless given)."""

    at: float
    method: str
    reference: str
    resolved: str | None = None  # what a tag resolved to; a digest reference resolves to itself
    client: int = 1
    agent: str = DOCKER
    repository: str = "acme/app"
    status: int = 200
    start: datetime = T0

    def row(self) -> segments.EventRow:
        namespace, _, name = self.repository.partition("/")
        resolved = self.resolved if self.resolved is not None or ":" not in self.reference else self.reference
        if self.status != 200:
            resolved = None
        return segments.EventRow(
            ts=self.start + timedelta(seconds=self.at),
            client=self.client,
            user_agent=self.agent,
            ua_tool=self.agent.split("/")[0].lower(),
            ua_version=None,
            method=self.method,
            namespace=namespace,
            repository=name,
            reference=self.reference,
            digest=resolved,
            status=self.status,
            account=None,
            country="DE",
            host=None,
            ip_type=None,
            domain=None,
            source="dockyard",
        )


def write(data_dir: Path, requests: Sequence[Req]) -> None:
    segments.write_segments(data_dir, segments.rows_to_table([r.row() for r in requests]))


def classify_days(data_dir: Path, window: int = 60) -> dict[date, list[tuple[datetime, str, str, str]]]:
    """Classify every day with events, in order, with both engines (the numpy one writes the action files);
    returns per day (time, action, method, reference) of each action, sorted by time, after checking that the
    SQL specification gives the same actions and carry."""
    found = {engine: _classify_days(data_dir, window, engine) for engine in ("sql", "numpy")}
    assert found["numpy"] == found["sql"]
    return {day: rows for day, (rows, _) in found["numpy"].items()}


def _classify_days(
    data_dir: Path, window: int, engine: Engine
) -> dict[date, tuple[list[tuple[datetime, str, str, str]], Carry]]:
    classifier = Classifier(connect(threads=1), window, engine)
    carry = Carry()
    out: dict[date, tuple[list[tuple[datetime, str, str, str]], Carry]] = {}
    try:
        for day in segments.days(data_dir):
            result = classifier.classify_day(data_dir, day, carry)
            carry = result.carry
            actions.write_day(data_dir, day, result.actions)
            rows = result.actions.to_pylist()
            out[day] = (sorted((r["ts"], r["action"], r["method"], r["reference"]) for r in rows), carry)
    finally:
        classifier.close()
    return out


def classify(requests: Sequence[Req], data_dir: Path, window: int = 60) -> list[tuple[float, str, str]]:
    """(seconds after T0, action, reference) of each action the requests make, all days together."""
    write(data_dir, requests)
    found = [row for rows in classify_days(data_dir, window).values() for row in rows]
    return [((ts - T0).total_seconds(), action, reference) for ts, action, _, reference in found]
