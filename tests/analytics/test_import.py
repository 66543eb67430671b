"""`dockyard analytics import FILE --format distribution|jsonl` and `dockyard analytics events`, run as the real
command against a data directory."""

from __future__ import annotations

import json
from pathlib import Path

from dockyard.analytics.ingest import read_file
from dockyard.config import Settings
from tests.analytics.helpers import assert_no_raw_addresses, pseudonym, stored_rows
from tests.analytics.test_ingest import BLOB_PULL, DIGEST, PULL_HEAD, PUSH, pull
from tests.support.server import run_dockyard


def run(settings: Settings, *args: str, input: str | None = None) -> tuple[int, str, str]:
    result = run_dockyard(
        "analytics", *args, data_dir=settings.data_dir, database_url=settings.resolved_database_url, input=input
    )
    return result.returncode, result.stdout, result.stderr


def test_import_distribution_envelopes_and_events(settings: Settings, tmp_path: Path) -> None:
    lines = [
        json.dumps({"events": [PUSH, PULL_HEAD, BLOB_PULL]}),  # an envelope per line, as a receiver logs them
        json.dumps(pull(request__addr="81.2.69.160:4000", target__tag=None, request__method="GET")),  # a bare event
        "",
        json.dumps({"events": [pull(request__addr="[2001:db8::7]:80", timestamp="2026-11-23T00:00:01Z")]}),
    ]
    source = tmp_path / "events.jsonl"
    source.write_text("\n".join(lines) + "\n")
    code, out, err = run(settings, "import", str(source), "--format", "distribution")
    assert code == 0, out + err
    assert "imported 3 events" in out and "2 events ignored" in out and "0 rejected" in out
    rows = stored_rows(settings.data_dir)
    # (stored_rows orders by time, then method: the first two share a timestamp)
    assert [(r["method"], r["reference"], r["source"]) for r in rows] == [
        ("GET", DIGEST, "import"),
        ("HEAD", "v1", "import"),
        ("HEAD", "v1", "import"),
    ]
    assert rows[0]["client"] == pseudonym(settings, "81.2.69.160") and rows[0]["country"] == "GB"
    # The events fall on two days: two day directories.
    assert sorted(p.name for p in (settings.data_dir / "analytics" / "events").iterdir()) == [
        "day=2026-11-22",
        "day=2026-11-23",
    ]
    assert_no_raw_addresses(settings.data_dir, ["52.95.110.1", "81.2.69.160", "2001:db8::7"])

    code, out, _ = run(settings, "events")
    assert code == 0
    assert "2026-11-22           2  (import 2)" in out and "2 days, 3 events" in out


def test_a_pretty_printed_envelope_is_read_whole(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "envelope.json"
    source.write_text(json.dumps({"events": [PULL_HEAD, PUSH]}, indent=2))
    code, out, err = run(settings, "import", str(source), "--format", "distribution")
    assert code == 0, out + err
    assert "imported 1 events" in out and "1 events ignored" in out
    assert len(stored_rows(settings.data_dir)) == 1


def test_unparseable_lines_are_counted_reported_and_the_rest_kept(settings: Settings, tmp_path: Path) -> None:
    source = tmp_path / "mixed.jsonl"
    source.write_text(
        "\n".join(
            [
                "{this is not json",
                json.dumps(PULL_HEAD),
                json.dumps({**PULL_HEAD, "action": "teleport"}),
                "[1, 2",
                json.dumps({"events": "nope"}),
                json.dumps(pull(request__addr="81.2.69.160:1")),
            ]
        )
    )
    code, out, err = run(settings, "import", str(source), "--format", "distribution")
    assert code == 1
    assert "imported 2 events" in out and "4 rejected" in out
    assert "rejected line 1, event 0: not JSON" in err
    assert "rejected line 3, event 0: unknown action 'teleport'" in err
    assert "rejected line 4, event 0: not JSON" in err
    assert 'rejected line 5, event 0: "events" must be a list' in err
    assert len(stored_rows(settings.data_dir)) == 2


def test_import_jsonl_from_standard_input(settings: Settings) -> None:
    good = {
        "time": "2024-01-01T10:00:00+01:00",
        "client_ip": "52.95.110.1",
        "user_agent": "Watchtower/v1.7.1",
        "method": "head",
        "repository": "acme/web",
        "reference": "latest",
        "digest": DIGEST,
    }
    lines = [
        json.dumps(good),
        json.dumps({**good, "repository": "nginx", "method": "GET", "status": 404, "digest": None, "account": "bob"}),
        json.dumps({**good, "time": "2024-01-01 10:00:00"}),  # no zone
        json.dumps({**good, "status": "200"}),
        json.dumps({**good, "client_ip": "somewhere"}),
        json.dumps({**good, "reference": "not a tag!"}),
        json.dumps([good]),
    ]
    code, out, err = run(settings, "import", "-", "--format", "jsonl", input="\n".join(lines) + "\n")
    assert code == 1
    assert "imported 2 events" in out and "5 rejected" in out
    assert "line 3" in err and "time zone" in err
    assert "line 4" in err and "status" in err
    assert "line 5" in err and "client_ip" not in out
    rows = stored_rows(settings.data_dir)
    assert [(r["namespace"], r["repository"], r["method"], r["status"], r["account"]) for r in rows] == [
        ("library", "nginx", "GET", 404, "bob"),
        ("acme", "web", "HEAD", 200, None),
    ]
    assert rows[1]["ts"].isoformat() == "2024-01-01T09:00:00"  # stored as UTC
    assert (rows[1]["ua_tool"], rows[1]["host"]) == ("watchtower", "aws")


def test_unknown_format_and_missing_file_are_usage_errors(settings: Settings, tmp_path: Path) -> None:
    code, _, err = run(settings, "import", str(tmp_path / "missing.jsonl"), "--format", "jsonl")
    assert code == 2 and "missing.jsonl" in err
    source = tmp_path / "x.jsonl"
    source.write_text("{}\n")
    code, _, err = run(settings, "import", str(source), "--format", "csv")
    assert code == 2 and "csv" in err


def test_events_on_an_empty_store(settings: Settings) -> None:
    code, out, _ = run(settings, "events")
    assert (code, out.strip()) == (0, "no events stored")


def test_a_broken_first_line_is_not_mistaken_for_a_whole_document(tmp_path: Path) -> None:
    source = tmp_path / "broken.jsonl"
    source.write_text("{broken\n\n" + json.dumps(PULL_HEAD) + "\n" + json.dumps(PUSH) + "\n")
    with source.open() as handle:
        results = list(read_file(handle, "distribution"))
    assert [(r.rejected[0].line if r.rejected else None, len(r.accepted), r.ignored) for r in results] == [
        (1, 0, 0),
        (None, 1, 0),
        (None, 0, 1),
    ]
