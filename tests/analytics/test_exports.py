"""CSV exports: Docker's columns in Docker's order, one file per view and namespace, split past the row limit,
never an address or a pseudonym; and the signed download links."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path

from dockyard.analytics import exports
from dockyard.analytics.classify import connect
from dockyard.analytics.periods import Period
from dockyard.analytics.summaries import summarize
from tests.analytics.events import Req, classify_days, digest, write

INDEX, AMD64 = digest("index"), digest("amd64")
DAY = datetime(2024, 3, 6, 8)
WEEK = Period.week_of(DAY.date())
PSEUDONYM = 12_345_678_901_234_567_890


def export(
    data_dir: Path, max_rows: int = 1000, owners: dict[str, str] | None = None
) -> dict[tuple[str, str], list[Path]]:
    classify_days(data_dir)
    con = connect(threads=1)
    rows = summarize(con, data_dir, WEEK)
    files = exports.export_period(con, data_dir, WEEK, "g1", rows, owners or {"acme": "acme"}, max_rows)
    out: dict[tuple[str, str], list[Path]] = {}
    for item in files:
        path = data_dir / item.path
        assert path.stat().st_size == item.size
        with path.open() as handle:
            assert sum(1 for _ in handle) == item.row_count + 1  # the header
        out.setdefault((item.namespace, item.dataview), []).append(path)
    return out


def read(paths: list[Path]) -> list[list[str]]:
    rows: list[list[str]] = []
    for n, path in enumerate(paths):
        with path.open(newline="") as handle:
            found = list(csv.reader(handle))
        rows += found if n == 0 else found[1:]
    return rows


def test_raw_rows_have_dockers_columns_in_order(tmp_path: Path) -> None:
    write(
        tmp_path,
        [
            Req(0, "HEAD", "1.0", INDEX, client=PSEUDONYM, start=DAY),
            Req(0.1, "GET", INDEX, client=PSEUDONYM, start=DAY),
            Req(60, "GET", AMD64, client=PSEUDONYM, agent="containerd/v1.7.22", start=DAY),
            Req(90, "HEAD", "1.0", INDEX, client=7, repository="acme/web", start=DAY),
        ],
    )
    rows = read(export(tmp_path)[("acme", "raw")])
    assert rows[0] == list(exports.RAW_COLUMNS) == [
        "action", "action_day", "country", "digest", "http_method", "host", "namespace", "reference", "repository",
        "tag", "timestamp", "type", "user_agent_tool", "user_agent_version", "domain", "owner",
    ]  # fmt: skip
    assert rows[1:] == [
        ["pull_by_tag", "2024-03-06", "DE", INDEX, "HEAD", "", "acme", "1.0", "app", "1.0", "2024-03-06 08:00:00",
         "", "docker", "", "", "acme"],
        ["pull_by_digest", "2024-03-06", "DE", AMD64, "GET", "", "acme", AMD64, "app", "", "2024-03-06 08:01:00",
         "", "containerd", "", "", "acme"],
        ["version_check", "2024-03-06", "DE", INDEX, "HEAD", "", "acme", "1.0", "web", "1.0", "2024-03-06 08:01:30",
         "", "docker", "", "", "acme"],
    ]  # fmt: skip


def test_summary_views(tmp_path: Path) -> None:
    write(tmp_path, [Req(0, "HEAD", "1.0", INDEX, client=c, start=DAY) for c in (1, 2)])
    found = export(tmp_path)
    assert read(found[("acme", "summary")]) == [
        ["namespace", "repository", "reference", "unique_ip_address", "pull_by_tag", "pull_by_digest",
         "version_check", "owner"],
        ["acme", "app", "1.0", "2", "0", "0", "2", "acme"],
    ]  # fmt: skip
    assert read(found[("acme", "repo-summary")])[1] == ["acme", "app", "2", "0", "0", "2", "acme"]
    assert read(found[("acme", "namespace-summary")])[1] == ["acme", "2", "0", "0", "2", "acme"]


def test_large_views_are_split_with_a_header_in_each_file(tmp_path: Path) -> None:
    write(tmp_path, [Req(n, "HEAD", "1.0", INDEX, client=n, start=DAY) for n in range(7)])
    found = export(tmp_path, max_rows=3)
    raw = found[("acme", "raw")]
    assert [p.name for p in raw] == ["raw-1.csv", "raw-2.csv", "raw-3.csv"]
    assert [len(read([p])) for p in raw] == [4, 4, 2]
    assert len(read(raw)) == 8 and all(read([p])[0] == list(exports.RAW_COLUMNS) for p in raw)


def test_namespaces_get_their_own_files_and_unknown_ones_no_owner(tmp_path: Path) -> None:
    write(
        tmp_path, [Req(0, "GET", "1.0", INDEX, start=DAY), Req(0, "GET", "1.0", INDEX, repository="ghost/x", start=DAY)]
    )
    found = export(tmp_path)
    assert sorted(found) == sorted((ns, view) for ns in ("acme", "ghost") for view in exports.DATAVIEWS)
    assert [row[-1] for row in read(found[("ghost", "raw")])[1:]] == [""]


def test_no_export_holds_a_pseudonym(tmp_path: Path) -> None:
    write(tmp_path, [Req(0, "GET", "1.0", INDEX, client=PSEUDONYM, start=DAY)])
    for paths in export(tmp_path).values():
        for path in paths:
            text = path.read_text()
            assert str(PSEUDONYM) not in text and format(PSEUDONYM, "x") not in text


def test_download_tokens_are_signed_and_expire() -> None:
    secret = b"s" * 32
    token = exports.sign(secret, 42, 60, now=1_000_000)
    assert exports.verify(secret, token, now=1_000_059) == exports.Verified(42, 1_000_060)
    assert exports.verify(secret, token, now=1_000_061) is None
    assert exports.verify(b"t" * 32, token, now=1_000_000) is None
    _, expires, signature = token.split(".")
    assert exports.verify(secret, f"43.{expires}.{signature}", now=1_000_000) is None
    for junk in ("", "1.2", "a.b.c", "1.2.3.4", "9" * 30 + ".1.x"):
        assert exports.verify(secret, junk, now=0) is None
