"""`dockyard analytics pulls|export` against a fake DVP Data API: the table and chart, the downloaded files (paths
on stdout, progress on stderr), and usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from dockyard.cli.client_analytics import sparkline
from dockyard.cli.main import main
from tests.client.fake import FakeServer, Reply

DVP = "/api/publisher/analytics/v1"


@pytest.fixture
def runner(fake: FakeServer, tmp_path: Path) -> CliRunner:
    return CliRunner(env={"DOCKYARD_SERVER": fake.base_url, "XDG_CONFIG_HOME": str(tmp_path / "xdg")})


def test_pulls_as_a_table_and_a_chart(fake: FakeServer, runner: CliRunner) -> None:
    rows = [
        {"start": f"2026-0{m}-01T00:00:00Z", "end": f"2026-0{m + 1}-01T00:00:00Z", "repo": repo, "pullCount": count}
        for m, repo, count in [(1, "app", 10), (1, "web", 30), (2, "app", 80), (3, "app", 5)]
    ]
    fake.add("GET", f"{DVP}/namespaces/alice/pulls", Reply(json={"pulls": rows}))
    result = runner.invoke(main, ["analytics", "pulls", "alice", "--timespan", "months", "--group", "repo"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any("web" in line and "30" in line for line in lines)
    chart = [line for line in lines if "█" in line and line.startswith("2026-")]
    assert [line.split()[0] for line in chart] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    bars = {line.split()[0]: line.count("█") for line in chart}
    assert bars["2026-02-01"] == 40 and bars["2026-01-01"] == 20 and 1 <= bars["2026-03-01"] <= 3
    assert "total 125" in result.stdout
    query = dict(fake.seen("GET", f"{DVP}/namespaces/alice/pulls")[0].query)
    assert query == {"timespan": "months", "group": "repo"}


def test_export_downloads_every_file(fake: FakeServer, runner: CliRunner, tmp_path: Path) -> None:
    fake.add("GET", "/dl/raw-1.csv", Reply(body=b"action\npull_by_tag\n"))
    fake.add("GET", "/dl/raw-2.csv", Reply(body=b"action\nversion_check\n"))
    links = {"data": [{"url": f"{fake.base_url}/dl/raw-1.csv"}, {"url": f"{fake.base_url}/dl/raw-2.csv"}]}
    fake.add("GET", f"{DVP}/namespaces/alice/pulls/exports/years/2026/weeks/2/raw", Reply(json=links))
    out = tmp_path / "out"
    result = runner.invoke(
        main, ["analytics", "export", "alice", "--year", "2026", "--week", "2", "--view", "raw", "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.split() == [str(out / "raw-1.csv"), str(out / "raw-2.csv")]
    assert (out / "raw-2.csv").read_text() == "action\nversion_check\n"


@pytest.mark.parametrize(
    "args",
    [
        ["--year", "2026", "--view", "raw"],
        ["--year", "2026", "--month", "1", "--week", "1", "--view", "raw"],
        ["--year", "2026", "--month", "13", "--view", "raw"],
        ["--year", "2026", "--month", "1", "--view", "everything"],
    ],
)
def test_export_usage_errors(runner: CliRunner, tmp_path: Path, args: list[str]) -> None:
    result = runner.invoke(main, ["analytics", "export", "alice", *args, "--output", str(tmp_path)])
    assert result.exit_code == 2


def test_a_refusal_exits_with_1_and_the_servers_message(fake: FakeServer, runner: CliRunner) -> None:
    fake.add("GET", f"{DVP}/namespaces/bob/pulls", Reply(404, {"detail": "namespace not found", "message": "nope"}))
    result = runner.invoke(main, ["analytics", "pulls", "bob"])
    assert result.exit_code == 1
    assert result.stderr == "Error: 404 nope\n"
    assert result.stdout == ""


def test_sparkline() -> None:
    assert sparkline([0, 5, 10]) == "▁▅█"
    assert sparkline([]) == ""
    assert sparkline([0, 0]) == "▁▁"
