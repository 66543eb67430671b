"""Weekly and monthly summaries at the reference, repository and namespace levels, from classified actions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from benchmarks import analytics_events

from dockyard.analytics import summaries as summaries_module
from dockyard.analytics.classify import connect
from dockyard.analytics.periods import Period
from dockyard.analytics.summaries import SummaryRow, summarize
from tests.analytics.events import Req, classify_days, digest, write

INDEX = digest("index")


def pull(at: datetime, client: int, repository: str = "acme/app", tag: str = "1.0") -> list[Req]:
    """A docker pull by tag: HEAD, then GET of the digest it resolved to."""
    return [Req(0, "HEAD", tag, INDEX, client=client, repository=repository, start=at),
            Req(0.2, "GET", INDEX, client=client, repository=repository, start=at)]  # fmt: skip


def check(at: datetime, client: int, repository: str = "acme/app", tag: str = "1.0") -> list[Req]:
    return [Req(0, "HEAD", tag, INDEX, client=client, repository=repository, start=at)]


def summaries(data_dir: Path, period: Period) -> dict[tuple[str, str, str, str], tuple[int, int, int, int]]:
    classify_days(data_dir)
    rows = summarize(connect(threads=1), data_dir, period)
    assert rows == summarize(connect(threads=1), data_dir, period, engine="sql")
    return {
        (r.level, r.namespace, r.repository, r.reference): (
            r.unique_ip_address,
            r.pull_by_tag,
            r.pull_by_digest,
            r.version_check,
        )
        for r in rows
    }


WEDNESDAY = datetime(2024, 3, 6, 10)
WEEK = Period.week_of(WEDNESDAY.date())


def test_three_levels_with_exact_unique_clients(tmp_path: Path) -> None:
    requests = [
        *pull(WEDNESDAY, 1, tag="1.0"),
        *pull(WEDNESDAY.replace(hour=11), 1, tag="2.0"),  # the same client, another tag
        *check(WEDNESDAY.replace(hour=12), 2, tag="1.0"),
        *pull(WEDNESDAY.replace(hour=13), 3, repository="acme/web"),
        Req(0, "GET", digest("web-amd64"), client=1, repository="acme/web", start=WEDNESDAY.replace(hour=14)),
        *pull(WEDNESDAY.replace(hour=15), 1, repository="other/tool"),
    ]
    write(tmp_path, requests)
    assert summaries(tmp_path, WEEK) == {
        ("reference", "acme", "app", "1.0"): (2, 1, 0, 1),
        ("reference", "acme", "app", "2.0"): (1, 1, 0, 0),
        ("reference", "acme", "web", "1.0"): (1, 1, 0, 0),
        ("reference", "acme", "web", digest("web-amd64")): (1, 0, 1, 0),
        ("reference", "other", "tool", "1.0"): (1, 1, 0, 0),
        # Client 1 pulled two tags of acme/app: one address at the repository level.
        ("repository", "acme", "app", ""): (2, 2, 0, 1),
        ("repository", "acme", "web", ""): (2, 1, 1, 0),
        ("repository", "other", "tool", ""): (1, 1, 0, 0),
        # Clients 1, 2 and 3 across acme's repositories; client 1 again in other.
        ("namespace", "acme", "", ""): (3, 3, 1, 1),
        ("namespace", "other", "", ""): (1, 1, 0, 0),
    }


def test_last_pulled_ignores_version_checks(tmp_path: Path) -> None:
    write(tmp_path, [*pull(WEDNESDAY, 1), *check(WEDNESDAY.replace(hour=20), 2)])
    classify_days(tmp_path)
    rows = summarize(connect(threads=1), tmp_path, WEEK)
    (namespace,) = [r for r in rows if r.level == "namespace"]
    assert namespace.last_pulled == WEDNESDAY.replace(tzinfo=UTC)


def by_level(rows: list[SummaryRow], level: str) -> list[tuple[int, int]]:
    return [(r.unique_ip_address, r.pull_by_tag) for r in rows if r.level == level]


def test_sunday_before_midnight_and_monday_at_midnight_fall_in_two_weeks(tmp_path: Path) -> None:
    sunday_late = datetime(2024, 3, 10, 23, 59, 59)
    monday = datetime(2024, 3, 11, 0, 0, 0)
    write(tmp_path, [*check(sunday_late, 1), *pull(monday, 1, tag="2.0"), *pull(monday, 2, tag="2.0")])
    classify_days(tmp_path)
    con = connect(threads=1)
    first = summarize(con, tmp_path, Period.week_of(sunday_late.date()))
    second = summarize(con, tmp_path, Period.week_of(monday.date()))
    assert [(r.unique_ip_address, r.version_check, r.pull_by_tag) for r in first if r.level == "namespace"] == [
        (1, 1, 0)
    ]
    assert [(r.unique_ip_address, r.version_check, r.pull_by_tag) for r in second if r.level == "namespace"] == [
        (2, 0, 2)
    ]
    # Both days are in March: one month holds both weeks' actions, and client 1 once.
    month = summarize(con, tmp_path, Period.month_of(monday.date()))
    assert [(r.unique_ip_address, r.version_check, r.pull_by_tag) for r in month if r.level == "namespace"] == [
        (2, 1, 2)
    ]


def test_a_week_across_two_months_and_two_years(tmp_path: Path) -> None:
    december = datetime(2024, 12, 31, 23, 59, 59)
    january = datetime(2025, 1, 1, 0, 0, 0)
    write(tmp_path, [*check(december, 1), *pull(january, 1, tag="2.0"), *pull(january, 2, tag="3.0")])
    classify_days(tmp_path)
    con = connect(threads=1)
    week = Period.week_of(january.date())
    assert week.label == "2025-W01" and week.start == date(2024, 12, 30)
    assert by_level(summarize(con, tmp_path, week), "namespace") == [(2, 2)]
    assert by_level(summarize(con, tmp_path, Period.month_of(december.date())), "namespace") == [(1, 0)]
    assert by_level(summarize(con, tmp_path, Period.month_of(january.date())), "namespace") == [(2, 2)]


def test_monthly_unique_clients_are_counted_not_added_up_from_weeks(tmp_path: Path) -> None:
    # The same three clients pull in each of two weeks of March: 3 per week, and 3 (not 6) for the month.
    requests = []
    for day in (5, 12):
        for client in (1, 2, 3):
            requests += pull(datetime(2024, 3, day, 9, client), client)
    write(tmp_path, requests)
    classify_days(tmp_path)
    con = connect(threads=1)
    weeks = [summarize(con, tmp_path, Period.week_of(date(2024, 3, day))) for day in (5, 12)]
    assert [by_level(rows, "repository") for rows in weeks] == [[(3, 3)], [(3, 3)]]
    assert by_level(summarize(con, tmp_path, Period.month_of(date(2024, 3, 1))), "repository") == [(3, 6)]


def test_a_period_without_actions_has_no_summaries(tmp_path: Path) -> None:
    assert summarize(connect(threads=1), tmp_path, WEEK) == []


def test_both_engines_summarize_a_generated_sample_alike(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Four days over two weeks and two months; small passes, so that clients are counted a part at a time.
    analytics_events.main(["--events", "30000", "--days", "4", "--start", "2024-01-29", "--out", str(tmp_path)])
    classify_days(tmp_path)
    monkeypatch.setattr(summaries_module, "_PASS_ROWS", 2000)
    con = connect(threads=1)
    periods = [Period.week_of(date(2024, 1, 29)), Period.month_of(date(2024, 1, 31)), Period.month_of(date(2024, 2, 1))]
    for period in periods:
        rows = summarize(con, tmp_path, period)
        assert rows == summarize(con, tmp_path, period, engine="sql")
        assert sum(r.unique_ip_address for r in rows if r.level == "namespace") > 100


def test_summarize_each_equals_summarize_per_period_in_the_order_given(tmp_path: Path) -> None:
    # Three weeks across a month boundary: weeks run two at a time, months alone, and still come back in order.
    days = [datetime(2024, 2, 26, 9), datetime(2024, 3, 4, 9), datetime(2024, 3, 13, 9), datetime(2024, 3, 31, 23)]
    requests = [req for n, at in enumerate(days) for req in (*pull(at, n), *check(at.replace(minute=30), n + 10))]
    write(tmp_path, requests)
    classify_days(tmp_path)
    periods = sorted({Period.week_of(at.date()) for at in days} | {Period.month_of(at.date()) for at in days})
    periods.append(Period.week_of(date(2024, 1, 1)))  # no actions: no rows
    con = connect(threads=1)
    found = list(summaries_module.summarize_each(con, tmp_path, periods))
    assert [period for period, _ in found] == periods
    assert all(rows == summarize(con, tmp_path, period) for period, rows in found)
    assert found[-1][1] == [] and all(rows for _, rows in found[:-1])


def test_weeks_started_ahead_give_the_rows_summarize_gives(tmp_path: Path) -> None:
    days = [datetime(2024, 2, 26, 9), datetime(2024, 3, 4, 9), datetime(2024, 3, 13, 9)]
    write(tmp_path, [req for n, at in enumerate(days) for req in (*pull(at, n), *check(at.replace(minute=30), n + 10))])
    classify_days(tmp_path)
    weeks = [Period.week_of(at.date()) for at in days]
    ahead = summaries_module.WeeksAhead(tmp_path)
    try:
        for at in days:  # as the classification goes: each week starts once a day of the next is done
            ahead.classified(at.date())
        started = [week for week in weeks if week in ahead._started]
        assert started == weeks[:2]  # the last week is not known to be complete
        con = connect(threads=1)
        found = list(summaries_module.summarize_each(con, tmp_path, weeks, ahead=ahead))
        assert [period for period, _ in found] == weeks
        assert all(rows and rows == summarize(con, tmp_path, period) for period, rows in found)
        assert not ahead._started  # taken, not computed twice
    finally:
        ahead.close()
