"""The capture buffer's line format: whatever a user agent or account holds, every event comes back as one row,
field for field, and a batch with strange values loses none of its neighbours."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dockyard.analytics.enrich import Enricher
from dockyard.analytics.event_writer import EventWriter, encoded, read_batch
from dockyard.analytics.periods import micros
from dockyard.analytics.useragents import MAX_USER_AGENT
from dockyard.registry.events import ManifestRequested
from tests.analytics.helpers import stored_rows

DIGEST = "sha256:" + "c" * 64


def request(second: int, user_agent: str = "docker/27.3.1", **changes: object) -> ManifestRequested:
    fields: dict[str, object] = dict(
        repository="acme/app", reference="v1", digest=DIGEST, method="GET", status=200, client_ip="198.51.100.7",
        user_agent=user_agent, account="alice", time_us=micros(datetime(2026, 11, 2, 12, 0, second, tzinfo=UTC)),
    )  # fmt: skip
    fields.update(changes)
    return ManifestRequested(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("user_agent", "stored"),
    [
        ("", ""),
        ("curl/8.5.0", "curl/8.5.0"),
        ("tab\tin\tthe middle", "tab in the middle"),
        ("new\nline and\r\nreturn", "new line and  return"),
        ("Ünïcödé/1.0 (latin-1 header bytes)", "Ünïcödé/1.0 (latin-1 header bytes)"),
        ("lone \ud800 surrogate", "lone ? surrogate"),
        ("x" * (MAX_USER_AGENT + 50), "x" * MAX_USER_AGENT),
    ],
)
def test_any_user_agent_is_one_row_and_keeps_its_neighbours(tmp_path: Path, user_agent: str, stored: str) -> None:
    writer = EventWriter(tmp_path, b"k" * 32, Enricher())
    events = [request(1), request(2, user_agent), request(3)]
    assert len(writer.write(events, "import")) == 1
    rows = stored_rows(tmp_path)
    assert [row["user_agent"] for row in rows] == ["docker/27.3.1", stored, "docker/27.3.1"]
    assert [row["ts"].second for row in rows] == [1, 2, 3]
    assert {(row["reference"], row["digest"], row["account"], row["status"]) for row in rows} == {
        ("v1", DIGEST, "alice", 200)
    }


def test_missing_digest_and_account_are_null_and_every_field_round_trips(tmp_path: Path) -> None:
    event = request(4, "skopeo/1.13.3", digest=None, account=None, method="HEAD", status=404, reference="v2")
    table = read_batch(encoded(event, "distribution"))
    assert table.to_pylist() == [
        {
            "time_us": event.time_us, "repository": "acme/app", "reference": "v2", "digest": "", "method": "HEAD",
            "status": 404, "client_ip": "198.51.100.7", "user_agent": "skopeo/1.13.3", "account": "", "source":
            "distribution",
        }
    ]  # fmt: skip
    EventWriter(tmp_path, b"k" * 32, Enricher()).write([event], "distribution")
    (row,) = stored_rows(tmp_path)
    assert (row["digest"], row["account"], row["status"], row["method"]) == (None, None, 404, "HEAD")
    assert (row["namespace"], row["repository"], row["ua_tool"], row["source"]) == (
        "acme", "app", "skopeo", "distribution"
    )  # fmt: skip


def test_an_account_with_a_tab_cannot_shift_the_columns(tmp_path: Path) -> None:
    table = read_batch(encoded(request(5, account="eve\tHEAD\t500"), "dockyard"))
    assert (table.num_rows, table.column("account")[0].as_py(), table.column("status")[0].as_py()) == (
        1, "eve HEAD 500", 200,
    )  # fmt: skip


def test_a_malformed_line_is_dropped_and_logged_without_costing_its_batch(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    good = encoded(request(6), "dockyard")
    bad = b"1\tacme/app\tv1\t198.51.100.99\tonly five fields\n"
    EventWriter(tmp_path, b"k" * 32, Enricher()).write_records(good + bad + encoded(request(7), "dockyard"))
    assert [row["ts"].second for row in stored_rows(tmp_path)] == [6, 7]
    assert "dropped 1 malformed buffered events" in caplog.text
    assert "198.51.100.99" not in caplog.text
