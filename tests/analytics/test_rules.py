"""The classifier against the seed's rules table, one test per row, and the decisions the table leaves open:
the window's edge, requests across midnight, several clients at once, surplus GETs, and re-running."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from benchmarks import analytics_events

from dockyard.analytics import actions, segments
from dockyard.analytics.classify import (
    Carry,
    Classifier,
    Engine,
    classify_sql,
    connect,
    encode_sql,
    to_arrow,
)
from tests.analytics.events import T0, Req, classify, classify_days, digest, write

TAG = "1.27"
INDEX = digest("index")  # what the tag resolves to: a multi-arch index
AMD64 = digest("amd64")  # one of its platform manifests
ARM64 = digest("arm64")
OTHER = digest("other")


# --- the rules table, row by row -------------------------------------------------------------------------------
def test_head_by_tag_alone_is_a_version_check(tmp_path: Path) -> None:
    assert classify([Req(0, "HEAD", TAG, INDEX)], tmp_path) == [(0, "version_check", TAG)]


def test_get_by_tag_alone_is_a_pull_by_tag(tmp_path: Path) -> None:
    assert classify([Req(0, "GET", TAG, INDEX)], tmp_path) == [(0, "pull_by_tag", TAG)]


def test_get_by_tag_then_a_different_digest_is_one_pull_by_tag(tmp_path: Path) -> None:
    requests = [Req(0, "GET", TAG, INDEX), Req(0.2, "GET", AMD64)]
    assert classify(requests, tmp_path) == [(0, "pull_by_tag", TAG)]


def test_head_by_tag_then_get_of_the_same_digest_is_a_pull_by_tag(tmp_path: Path) -> None:
    requests = [Req(0, "HEAD", TAG, INDEX), Req(0.1, "GET", INDEX)]
    assert classify(requests, tmp_path) == [(0, "pull_by_tag", TAG)]


def test_head_by_tag_get_of_the_same_digest_then_another_digest_is_one_pull_by_tag(tmp_path: Path) -> None:
    requests = [Req(0, "HEAD", TAG, INDEX), Req(0.1, "GET", INDEX), Req(0.3, "GET", AMD64)]
    assert classify(requests, tmp_path) == [(0, "pull_by_tag", TAG)]


def test_get_by_digest_alone_is_a_pull_by_digest(tmp_path: Path) -> None:
    assert classify([Req(0, "GET", AMD64)], tmp_path) == [(0, "pull_by_digest", AMD64)]


def test_head_by_digest_alone_is_a_pull_by_digest(tmp_path: Path) -> None:
    assert classify([Req(0, "HEAD", INDEX)], tmp_path) == [(0, "pull_by_digest", INDEX)]


def test_get_by_digest_then_a_different_digest_is_one_pull_by_digest(tmp_path: Path) -> None:
    requests = [Req(0, "GET", INDEX), Req(0.2, "GET", ARM64)]
    assert classify(requests, tmp_path) == [(0, "pull_by_digest", INDEX)]


def test_head_by_digest_then_get_of_the_same_digest_is_one_pull_by_digest(tmp_path: Path) -> None:
    requests = [Req(0, "HEAD", INDEX), Req(0.1, "GET", INDEX)]
    assert classify(requests, tmp_path) == [(0, "pull_by_digest", INDEX)]


def test_head_by_digest_get_of_it_then_another_digest_is_one_pull_by_digest(tmp_path: Path) -> None:
    requests = [Req(0, "HEAD", INDEX), Req(0.1, "GET", INDEX), Req(0.2, "GET", AMD64)]
    assert classify(requests, tmp_path) == [(0, "pull_by_digest", INDEX)]


# --- what does not continue an action ----------------------------------------------------------------------------
def test_head_by_tag_then_an_unrelated_digest_is_a_check_and_a_digest_pull(tmp_path: Path) -> None:
    requests = [Req(0, "HEAD", TAG, INDEX), Req(1, "GET", OTHER)]
    assert classify(requests, tmp_path) == [(0, "version_check", TAG), (1, "pull_by_digest", OTHER)]


def test_head_by_tag_then_get_by_tag_is_a_check_and_a_pull(tmp_path: Path) -> None:
    # The table's follow-up is a GET *by digest*; python-dxf's head-then-get_alias asks by tag twice.
    requests = [Req(0, "HEAD", TAG, INDEX), Req(1, "GET", TAG, INDEX)]
    assert classify(requests, tmp_path) == [(0, "version_check", TAG), (1, "pull_by_tag", TAG)]


def test_get_by_tag_then_the_same_digest_again_is_a_second_action(tmp_path: Path) -> None:
    requests = [Req(0, "GET", TAG, INDEX), Req(1, "GET", INDEX)]
    assert classify(requests, tmp_path) == [(0, "pull_by_tag", TAG), (1, "pull_by_digest", INDEX)]


def test_get_by_digest_then_the_same_digest_is_two_pulls(tmp_path: Path) -> None:
    requests = [Req(0, "GET", AMD64), Req(1, "GET", AMD64)]
    assert classify(requests, tmp_path) == [(0, "pull_by_digest", AMD64), (1, "pull_by_digest", AMD64)]


def test_a_request_in_between_ends_the_action(tmp_path: Path) -> None:
    # The follow-up must be the key's very next request: a second HEAD turns the first into a version check.
    requests = [Req(0, "HEAD", TAG, INDEX), Req(0.5, "HEAD", TAG, INDEX), Req(1, "GET", INDEX)]
    assert classify(requests, tmp_path) == [(0, "version_check", TAG), (0.5, "pull_by_tag", TAG)]


def test_only_status_200_requests_count(tmp_path: Path) -> None:
    requests = [
        Req(0, "HEAD", "missing", status=404),
        Req(1, "HEAD", TAG, INDEX),
        Req(1.2, "GET", INDEX, status=401),  # the failed attempt is invisible: the retry continues the pull
        Req(1.5, "GET", INDEX),
    ]
    assert classify(requests, tmp_path) == [(1, "pull_by_tag", TAG)]


def test_surplus_gets_pair_up_into_further_digest_pulls(tmp_path: Path) -> None:
    # `skopeo copy --all` of a four-platform index by tag: the tag's GET takes the first platform, the other
    # three pair up greedily by the "GET by digest, then another digest" row.
    platforms = [digest(f"platform-{n}") for n in range(4)]
    requests = [Req(0, "GET", TAG, INDEX)] + [Req(1 + n, "GET", p) for n, p in enumerate(platforms)]
    assert classify(requests, tmp_path) == [
        (0, "pull_by_tag", TAG),
        (2, "pull_by_digest", platforms[1]),
        (4, "pull_by_digest", platforms[3]),
    ]


def test_surplus_gets_after_a_head_pull_pair_up_too(tmp_path: Path) -> None:
    platforms = [digest(f"platform-{n}") for n in range(3)]
    requests = [Req(0, "HEAD", TAG, INDEX), Req(0.1, "GET", INDEX)]
    requests += [Req(0.2 + n / 10, "GET", p) for n, p in enumerate(platforms)]
    assert classify(requests, tmp_path) == [(0, "pull_by_tag", TAG), (0.3, "pull_by_digest", platforms[1])]


# --- the window --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("gap", "expected"), [(60.0, 1), (60.000001, 2)])
def test_a_follow_up_counts_up_to_the_window_inclusive(tmp_path: Path, gap: float, expected: int) -> None:
    requests = [Req(0, "HEAD", TAG, INDEX), Req(gap, "GET", INDEX)]
    found = classify(requests, tmp_path)
    assert len(found) == expected
    assert found[0][1] == ("pull_by_tag" if expected == 1 else "version_check")


@pytest.mark.parametrize(("second", "expected"), [(60.0, 1), (60.000001, 2)])
def test_the_window_runs_from_the_first_request_of_the_action(tmp_path: Path, second: float, expected: int) -> None:
    # HEAD, GET of its digest at 30 s, GET of a platform: within 60 s of the HEAD, not of the previous GET.
    requests = [Req(0, "HEAD", TAG, INDEX), Req(30, "GET", INDEX), Req(second, "GET", AMD64)]
    assert len(classify(requests, tmp_path)) == expected


def test_the_window_is_a_setting(tmp_path: Path) -> None:
    requests = [Req(0, "HEAD", TAG, INDEX), Req(6, "GET", INDEX)]
    assert classify(requests, tmp_path / "wide", window=60) == [(0, "pull_by_tag", TAG)]
    assert classify(requests, tmp_path / "narrow", window=5) == [
        (0, "version_check", TAG),
        (6, "pull_by_digest", INDEX),
    ]


def test_the_window_has_bounds() -> None:
    with pytest.raises(ValueError, match="window"):
        Classifier(connect(threads=1), 3601)


# --- several clients at once ----------------------------------------------------------------------------------
def test_interleaved_clients_agents_and_repositories_are_classified_apart(tmp_path: Path) -> None:
    requests = [
        Req(0.0, "HEAD", TAG, INDEX, client=1),
        Req(0.1, "HEAD", TAG, INDEX, client=2),
        Req(0.2, "HEAD", TAG, INDEX, client=1, agent="containerd/v1.7.22"),
        Req(0.3, "HEAD", TAG, INDEX, client=1, repository="acme/other"),
        Req(0.4, "GET", INDEX, client=2),  # continues client 2's HEAD, not client 1's
        Req(0.5, "GET", INDEX, client=1),  # continues client 1's docker HEAD in acme/app
        Req(0.6, "GET", ARM64, client=2),
        Req(0.7, "GET", AMD64, client=1),
    ]
    write(tmp_path, requests)
    (rows,) = classify_days(tmp_path).values()
    assert [(round((ts - T0).total_seconds(), 1), action) for ts, action, _, _ in rows] == [
        (0.0, "pull_by_tag"),
        (0.1, "pull_by_tag"),
        (0.2, "version_check"),
        (0.3, "version_check"),
    ]


def test_action_rows_carry_the_first_requests_attributes(tmp_path: Path) -> None:
    write(tmp_path, [Req(0, "HEAD", TAG, INDEX, client=7), Req(0.1, "GET", INDEX, client=7)])
    classify_days(tmp_path)
    (row,) = actions.read(tmp_path, T0.date(), T0.date()).to_pylist()
    assert row["ts"] == T0 and row["action"] == "pull_by_tag" and row["method"] == "HEAD"
    assert (row["namespace"], row["repository"], row["reference"], row["digest"]) == ("acme", "app", TAG, INDEX)
    assert (row["client"], row["ua_tool"], row["country"], row["source"]) == (7, "docker", "DE", "dockyard")


def test_an_actions_file_has_the_schemas_required_columns_and_refuses_nulls_in_them(tmp_path: Path) -> None:
    write(tmp_path, [Req(0, "GET", TAG, INDEX)])
    classify_days(tmp_path)
    path = actions.day_path(tmp_path, T0.date())
    written = pq.read_schema(path)
    assert [(f.name, f.nullable) for f in written] == [(f.name, f.nullable) for f in actions.SCHEMA]
    table = actions.read(tmp_path, T0.date(), T0.date())
    before = path.read_bytes()
    no_tool = table.set_column(table.schema.get_field_index("ua_tool"), "ua_tool", pa.array([None], pa.string()))
    with pytest.raises(ValueError, match="ua_tool"):
        actions.write_day(tmp_path, T0.date(), no_tool)
    assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == [path.name]


# --- days and midnight -------------------------------------------------------------------------------------
MIDNIGHT = datetime(2024, 3, 7)


def at_midnight(offset: float, method: str, reference: str, resolved: str | None = None, **kw: object) -> Req:
    return Req(offset, method, reference, resolved, start=MIDNIGHT, **kw)  # type: ignore[arg-type]


def test_an_action_across_midnight_belongs_to_the_day_it_started(tmp_path: Path) -> None:
    write(
        tmp_path, [at_midnight(-30, "HEAD", TAG, INDEX), at_midnight(10, "GET", INDEX), at_midnight(11, "GET", AMD64)]
    )
    by_day = classify_days(tmp_path)
    assert {day: [action for _, action, _, _ in rows] for day, rows in by_day.items()} == {
        date(2024, 3, 6): ["pull_by_tag"],
        date(2024, 3, 7): [],
    }


def test_a_check_before_midnight_and_a_pull_after_it_stay_apart(tmp_path: Path) -> None:
    write(tmp_path, [at_midnight(-0.1, "HEAD", TAG, INDEX), at_midnight(0, "GET", TAG, INDEX)])
    by_day = classify_days(tmp_path)
    assert [a for _, a, _, _ in by_day[date(2024, 3, 6)]] == ["version_check"]
    assert [a for _, a, _, _ in by_day[date(2024, 3, 7)]] == ["pull_by_tag"]


def test_a_follow_up_of_a_pull_that_began_before_the_context_is_not_a_new_action(tmp_path: Path) -> None:
    # The HEAD is more than a window before midnight, its GET within it: the next day sees only the GET, and
    # must not take it for a free GET that the platform GET after midnight could continue.
    requests = [
        at_midnight(-61, "HEAD", TAG, INDEX),
        at_midnight(-59.5, "GET", INDEX),
        at_midnight(0.5, "GET", AMD64),  # 61.5 s after the HEAD: too late for it, so a pull of its own
    ]
    write(tmp_path, requests)
    by_day = classify_days(tmp_path)
    assert [a for _, a, _, _ in by_day[date(2024, 3, 6)]] == ["pull_by_tag"]
    assert [(a, r) for _, a, _, r in by_day[date(2024, 3, 7)]] == [("pull_by_digest", AMD64)]


def test_surplus_gets_across_midnight_pair_as_in_one_piece(tmp_path: Path) -> None:
    # Greedy pairs: (d1 d2) (d3 d4) (d5). The next day's context holds only d2 and d3; the carry says d3 started
    # an action, so d4 is its follow-up and d5 starts the next.
    d = [digest(f"d{n}") for n in range(1, 6)]
    offsets = [-90, -40, -10, 20, 40]
    write(tmp_path, [at_midnight(o, "GET", ref) for o, ref in zip(offsets, d, strict=True)])
    by_day = classify_days(tmp_path)
    assert [r for _, _, _, r in by_day[date(2024, 3, 6)]] == [d[0], d[2]]
    assert [r for _, _, _, r in by_day[date(2024, 3, 7)]] == [d[4]]


def whole_range(data_dir: Path, first: date, last: date, window: int = 60) -> list[tuple[datetime, str]]:
    """Classify [first, last] in one piece, as a distributed engine would (no context, no carry)."""
    classifier = Classifier(connect(threads=1), window)
    table = pa.concat_tables(
        [segments.read_table(data_dir, day, day) for day in segments.days(data_dir) if first <= day <= last]
    )
    start, end = datetime.combine(first, time()), datetime.combine(last + timedelta(days=1), time())
    result = classifier.classify(table, start, end, Carry())
    return sorted((r["ts"], r["action"]) for r in result.actions.to_pylist())


def random_requests(seed: int, n: int, start: datetime, span: float) -> list[Req]:
    """Busy traffic from few clients (so their requests interleave and chain), over `span` seconds."""
    rng = np.random.default_rng(seed)
    refs = [TAG, "latest", INDEX, AMD64, ARM64, OTHER]
    out = []
    for offset in np.sort(rng.uniform(0, span, n)):
        ref = refs[int(rng.integers(len(refs)))]
        method = "HEAD" if rng.random() < 0.4 else "GET"
        resolved = INDEX if ":" not in ref else None
        out.append(Req(float(offset), method, ref, resolved, client=int(rng.integers(3)), start=start))
    return out


def test_day_by_day_equals_classifying_the_range_in_one_piece(tmp_path: Path) -> None:
    # Three days of dense traffic from three clients around both midnights, with a 40 s window.
    requests = random_requests(3, 3000, MIDNIGHT - timedelta(minutes=30), 3600 * 24 + 3600)
    write(tmp_path, requests)
    by_day = classify_days(tmp_path, window=40)
    per_day = sorted((ts, action) for rows in by_day.values() for ts, action, _, _ in rows)
    first, last = segments.days(tmp_path)[0], segments.days(tmp_path)[-1]
    assert per_day == whole_range(tmp_path, first, last, window=40)
    assert len(per_day) > 1000


def test_classifying_again_gives_the_same_actions(tmp_path: Path) -> None:
    write(tmp_path, random_requests(5, 800, MIDNIGHT - timedelta(minutes=10), 1200))
    first = classify_days(tmp_path)
    files = {day: actions.day_path(tmp_path, day).read_bytes() for day in first}
    assert classify_days(tmp_path) == first
    assert {day: actions.day_path(tmp_path, day).read_bytes() for day in first} == files


def test_the_next_day_classified_ahead_is_used_only_for_the_same_inputs(tmp_path: Path) -> None:
    # Surplus GETs across midnight: the second day's result depends on the carry from the first.
    d = [digest(f"d{n}") for n in range(1, 6)]
    write(tmp_path, [at_midnight(o, "GET", ref) for o, ref in zip([-90, -40, -10, 20, 40], d, strict=True)])
    first, second = date(2024, 3, 6), date(2024, 3, 7)

    def fresh(day: date, carry: Carry) -> list[str]:
        classifier = Classifier(connect(threads=1), 60)
        try:
            references: list[str] = (
                classifier.classify_day(tmp_path, day, carry).actions.column("reference").to_pylist()
            )
            return references
        finally:
            classifier.close()

    classifier = Classifier(connect(threads=1), 60)
    try:
        carry = classifier.classify_day(tmp_path, first, Carry()).carry
        assert carry.starts
        # Another carry than the one the day was classified ahead with.
        assert classifier.classify_day(tmp_path, second, Carry()).actions.column("reference").to_pylist() == fresh(
            second, Carry()
        )
        classifier.classify_day(tmp_path, first, Carry())
        # A segment published since.
        write(tmp_path, [at_midnight(120, "GET", digest("late"))])
        found = classifier.classify_day(tmp_path, second, carry).actions.column("reference").to_pylist()
        assert found == fresh(second, carry) == [d[4], digest("late")]
    finally:
        classifier.close()


# --- the embedded engine equals the SQL ------------------------------------------------------------------------
def classify_with(engine: Engine, data_dir: Path) -> list[tuple[list[dict[str, object]], Carry, dict[str, int]]]:
    """Every day's action rows (all columns, in order), carry and counts, classified by `engine`."""
    classifier = Classifier(connect(threads=1), 60, engine)
    carry, out = Carry(), []
    try:
        for day in segments.days(data_dir):
            result = classifier.classify_day(data_dir, day, carry)
            carry = result.carry
            out.append((result.actions.to_pylist(), carry, result.counts))
    finally:
        classifier.close()
    return out


def test_both_engines_classify_a_generated_sample_alike_and_as_its_truth(tmp_path: Path) -> None:
    analytics_events.main(["--events", "40000", "--days", "3", "--clients", "1500", "--out", str(tmp_path)])
    truth = json.loads((tmp_path / "_truth.json").read_text())
    for path in segments.segment_paths(tmp_path):  # the format's promise, which the generator's days are written to
        ts = pq.read_table(path, columns=["ts"]).column("ts").to_numpy()
        assert (ts[1:] >= ts[:-1]).all()
    found = classify_with("numpy", tmp_path)
    assert found == classify_with("sql", tmp_path)
    assert [counts for _, _, counts in found] == list(truth["by_day"].values())
    # Then dense traffic of three clients in segments of their own, across both midnights: the days' rows are
    # no longer in time order, some requests of a key are simultaneous, some fail, and surplus GETs carry over.
    rng = np.random.default_rng(2)
    extra = []
    for n, request in enumerate(random_requests(4, 3000, datetime(2024, 1, 1, 23, 30), 26 * 3600)):
        at = round(request.at * 2) / 2  # half seconds: simultaneous requests
        status = 404 if rng.random() < 0.05 else 200
        extra.append(replace(request, at=at, status=status, repository="library/app-000", client=n % 3))
    write(tmp_path, extra[::2])
    write(tmp_path, extra[1::2])
    found = classify_with("numpy", tmp_path)
    assert found == classify_with("sql", tmp_path)
    assert any(carry.starts for _, carry, _ in found)


# --- the SQL is portable ---------------------------------------------------------------------------------------
def test_the_portable_encoding_classifies_alike(tmp_path: Path) -> None:
    """encode.sql (what a distributed engine runs) and the embedded engine's dictionary encoding give the same
    actions for the same rows."""
    requests = random_requests(11, 2000, T0, 4 * 3600)
    write(tmp_path, requests)
    table = segments.read_table(tmp_path)
    day_start = datetime.combine(T0.date(), time())
    day_end = day_start + timedelta(days=1)
    con = connect(threads=1)
    embedded = Classifier(con, 60).classify(table, day_start, day_end, Carry())
    con.register("raw", table.append_column("rid", pa.array(np.arange(table.num_rows), pa.int64())))
    con.execute(f"CREATE TABLE narrow AS {encode_sql('raw', day_start, day_end)}")
    con.register("carry", Carry().table())
    portable = to_arrow(con.sql(classify_sql("narrow", "carry", day_start, day_end, 60)))
    portable = portable.filter(portable.column("rid").is_valid())
    by_rid = sorted(zip(portable.column("rid").to_pylist(), portable.column("action").to_pylist(), strict=True))
    picked = [(r["ts"], r["action"]) for r in embedded.actions.to_pylist()]
    assert [(table.column("ts")[rid].as_py(), action) for rid, action in by_rid] == picked
