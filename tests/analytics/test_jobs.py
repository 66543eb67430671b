"""`dockyard analytics run` and the server's periodic job: what gets classified, summarised and exported when,
that nothing is done twice, and that two jobs never run at once."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from time import monotonic, sleep

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.testclient import TestClient

from dockyard.analytics import actions
from dockyard.analytics.jobs import LEASE, AnalyticsJob, JobReport
from dockyard.analytics.models import AnalyticsExport, AnalyticsPeriod, AnalyticsSummary
from dockyard.analytics.periods import Period
from dockyard.analytics.store import AnalyticsStore
from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.registry.models import Manifest, Repository
from tests.analytics.events import Req, digest, write
from tests.analytics.helpers import week_with_time_left
from tests.hub.content.helpers import admin
from tests.registry.helpers import auth_for, in_app, in_transaction, push_image, services

INDEX = digest("index")
SUNDAY = datetime(2024, 3, 10, 12)  # the last day of ISO week 2024-W10
WEEK = Period.week_of(SUNDAY.date())
MARCH = Period.month_of(SUNDAY.date())
API = "/api/publisher/analytics/v1"


def pull(at: datetime, client: int = 1, repository: str = "acme/app") -> list[Req]:
    return [
        Req(0, "HEAD", "1.0", INDEX, client=client, repository=repository, start=at),
        Req(0.1, "GET", INDEX, client=client, repository=repository, start=at),
    ]


def run(client: TestClient, as_of: date | None = None) -> JobReport:
    found = services(client)
    job = AnalyticsJob(found.settings, found.db)
    return in_app(client, lambda: job.run(as_of))


def exports(client: TestClient) -> list[AnalyticsExport]:
    async def work(session: object) -> list[AnalyticsExport]:
        rows = await session.execute(select(AnalyticsExport).order_by(AnalyticsExport.id))  # type: ignore[attr-defined]
        return list(rows.scalars().all())

    return in_transaction(client, work)  # type: ignore[arg-type]


def namespace_pulls(client: TestClient, period: Period) -> list[tuple[int, int]]:
    async def work(session: object) -> list[tuple[int, int]]:
        rows = await AnalyticsStore(session).summaries(period, "namespace")  # type: ignore[arg-type]
        return [(row.unique_ip_address, row.pull_by_tag) for row in rows]

    return in_transaction(client, work)  # type: ignore[arg-type]


def test_a_run_classifies_summarises_and_exports_then_has_nothing_left(client: TestClient, settings: Settings) -> None:
    write(settings.data_dir, [*pull(SUNDAY), *pull(SUNDAY.replace(hour=13), client=2)])
    first = run(client, as_of=date(2024, 4, 1))
    assert first.days == [SUNDAY.date()]
    assert first.counts == {"version_check": 0, "pull_by_tag": 2, "pull_by_digest": 0}
    assert sorted(first.summarized) == [MARCH, WEEK] and sorted(first.exported) == [MARCH, WEEK]
    assert namespace_pulls(client, WEEK) == [(2, 2)]
    # 4 views for one namespace, for the week and the month
    assert len(exports(client)) == 8 and first.files == 8
    again = run(client, as_of=date(2024, 4, 1))
    assert (again.days, again.summarized, again.exported) == ([], [], [])
    assert len(exports(client)) == 8


def test_only_complete_periods_are_exported(client: TestClient, settings: Settings) -> None:
    write(settings.data_dir, pull(SUNDAY))
    assert run(client, as_of=SUNDAY.date()).exported == []  # the week ends tonight
    assert run(client, as_of=date(2024, 3, 11)).exported == [WEEK]  # Monday: the week is complete, March is not
    assert run(client, as_of=date(2024, 3, 31)).exported == []
    assert run(client, as_of=date(2024, 4, 1)).exported == [MARCH]  # on the first of April


def test_late_events_reclassify_their_day_and_refresh_its_periods(client: TestClient, settings: Settings) -> None:
    write(settings.data_dir, pull(SUNDAY))
    run(client, as_of=date(2024, 4, 1))
    old_files = [settings.data_dir / e.path for e in exports(client)]
    assert all(path.is_file() for path in old_files)
    # An import brings another client's pull of that Sunday, and one of Monday (a new week, still March).
    write(settings.data_dir, [*pull(SUNDAY.replace(hour=18), client=9), *pull(datetime(2024, 3, 11, 9), client=9)])
    report = run(client, as_of=date(2024, 4, 1))
    # Sunday changed; Monday is new; Saturday has no events, so nothing else.
    assert report.days == [date(2024, 3, 10), date(2024, 3, 11)]
    assert sorted(report.exported) == [MARCH, WEEK, Period.week_of(date(2024, 3, 11))]
    assert namespace_pulls(client, WEEK) == [(2, 2)]
    assert namespace_pulls(client, MARCH) == [(2, 3)]
    # The week's and month's old files were replaced, and deleted.
    assert not any(path.exists() for path in old_files)
    assert all((settings.data_dir / e.path).is_file() for e in exports(client))


def test_a_changed_window_classifies_everything_again(client: TestClient, settings: Settings) -> None:
    write(settings.data_dir, pull(SUNDAY))
    run(client)
    narrower = dataclasses.replace(services(client).settings, analytics_window_seconds=5)
    job = AnalyticsJob(narrower, services(client).db)
    assert in_app(client, lambda: job.run(None)).days == [SUNDAY.date()]


def test_a_job_does_nothing_while_another_holds_the_lease(client: TestClient, settings: Settings) -> None:
    write(settings.data_dir, pull(SUNDAY))

    async def take(session: object) -> bool:
        return await AnalyticsStore(session).acquire_lease(LEASE, "another-replica", 600)  # type: ignore[arg-type]

    assert in_transaction(client, take)
    report = run(client)
    assert report.skipped and report.days == []
    assert actions.days(settings.data_dir) == []

    async def expire(session: object) -> bool:
        return await AnalyticsStore(session).acquire_lease(LEASE, "another-replica", -1)  # type: ignore[arg-type]

    assert in_transaction(client, expire)  # the other holder's lease has now run out
    assert run(client).days == [SUNDAY.date()]


def test_a_job_asked_to_stop_ends_after_the_day_under_way_and_the_next_run_goes_on(
    client: TestClient, settings: Settings
) -> None:
    days = [SUNDAY + timedelta(days=n) for n in range(3)]
    write(settings.data_dir, [request for day in days for request in pull(day)])
    found = services(client)
    job = AnalyticsJob(found.settings, found.db)
    classify_day = job._classify_day

    def classify_then_shut_down(*args: object) -> object:
        job.stop_soon()  # the server's shutdown, while the first day is being classified
        return classify_day(*args)  # type: ignore[arg-type]

    job._classify_day = classify_then_shut_down  # type: ignore[assignment,method-assign]
    stopped = in_app(client, lambda: job.run(date(2024, 4, 1)))
    assert stopped.stopped and stopped.days == [days[0].date()]
    assert (stopped.summarized, stopped.exported) == ([], [])
    assert "stopped early; the next run goes on from here" in stopped.lines()
    # The lease was released, so the next run (another job, at once) does the rest.
    rest = run(client, as_of=date(2024, 4, 1))
    assert not rest.skipped and not rest.stopped
    assert rest.days == [day.date() for day in days[1:]]
    assert namespace_pulls(client, MARCH) == [(1, 3)]


def hub_numbers(client: TestClient, repo: str, tag: str, digest_: str) -> tuple[int, datetime | None, datetime | None]:
    """The Hub API's pull count of `repo`, last pull of `tag` and of the image `digest_`."""
    namespace, name = repo.split("/")
    count = client.get(f"/v2/repositories/{repo}/").json()["pull_count"]
    tag_pulled = client.get(f"/v2/repositories/{repo}/tags/{tag}/").json()["tag_last_pulled"]
    images = client.get(f"/v2/namespaces/{namespace}/repositories/{name}/images", headers=admin(client)).json()
    (image_pulled,) = [image["last_pulled"] for image in images["results"] if image["digest"] == digest_]
    return count, *(datetime.fromisoformat(v).replace(tzinfo=None) if v else None for v in (tag_pulled, image_pulled))


def dvp_pulls(client: TestClient, repo: str) -> int:
    params = {"repos": repo, "timespan": "months", "period": "last-12-months"}
    body = client.get(f"{API}/repos/pulls", params=params, headers=admin(client)).json()
    return sum(month["pullCount"] for month in body["repos"][repo]["pulls"])


def test_the_hub_pull_numbers_are_set_from_every_month_but_only_changed_months_are_read(
    client: TestClient, settings: Settings
) -> None:
    _, image = push_image(client, "admin/app", "1.0", auth_for(client, "admin/app"))
    this_month = datetime.now(UTC).date().replace(day=1)
    earlier = datetime.combine((this_month - timedelta(days=40)).replace(day=15), time(12))  # two months ago
    later = datetime.combine((this_month - timedelta(days=10)).replace(day=15), time(12))  # last month

    def by_tag(at: datetime, client_: int) -> list[Req]:
        return [
            Req(0, "HEAD", "1.0", image, client=client_, repository="admin/app", start=at),
            Req(0.1, "GET", image, client=client_, repository="admin/app", start=at),
        ]

    by_digest = Req(0, "GET", image, client=3, repository="admin/app", start=later + timedelta(hours=2))
    version_check = Req(0, "HEAD", "1.0", image, client=4, repository="admin/app", start=later + timedelta(hours=3))
    ghost = Req(0, "GET", "1.0", INDEX, client=5, repository="ghost/app", start=later)  # a repository not hosted
    write(settings.data_dir, [*by_tag(earlier, 1), *by_tag(later, 1), *by_tag(later + timedelta(hours=1), 2)])
    write(settings.data_dir, [by_digest, version_check, ghost])
    assert run(client).repositories == 1
    numbers = (4, later + timedelta(hours=1), later + timedelta(hours=2))
    assert hub_numbers(client, "admin/app", "1.0", image) == numbers
    assert dvp_pulls(client, "admin/app") == 4
    assert run(client).repositories == 0  # nothing changed, nothing read

    # A late import into the earlier month: that month's repositories are set again, from every month.
    write(settings.data_dir, by_tag(earlier + timedelta(days=1), 6))
    report = run(client)
    assert report.summarized == [Period.month_of(earlier.date()), Period.week_of(earlier.date() + timedelta(days=1))]
    assert report.repositories == 1
    assert hub_numbers(client, "admin/app", "1.0", image) == (5, *numbers[1:])
    assert dvp_pulls(client, "admin/app") == 5

    # As after the upgrade that brought these numbers: every month not applied yet, and other numbers in place.
    async def reset(session: AsyncSession) -> None:
        await session.execute(update(AnalyticsPeriod).values(hub_synced=None))
        await session.execute(update(Repository).values(pull_count=99))
        await session.execute(update(Manifest).values(last_pulled_at=datetime.now(UTC)))

    in_transaction(client, reset)
    assert run(client).repositories == 1
    assert hub_numbers(client, "admin/app", "1.0", image) == (5, *numbers[1:])


@pytest.fixture
def periodic(settings: Settings) -> Iterator[TestClient]:
    import ipaddress

    configured = dataclasses.replace(
        settings,
        analytics_interval_seconds=1,
        trusted_proxies=(ipaddress.ip_network("127.0.0.1/32"),),
    )
    with TestClient(create_app(configured), client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def test_the_server_runs_the_job_periodically_on_live_pulls(periodic: TestClient) -> None:
    headers = auth_for(periodic, "admin/live")
    _, digest_ = push_image(periodic, "admin/live", "v1", headers)
    week = week_with_time_left(60)  # the server stamps the pulls with its clock: they fall in this week
    for ip in ("198.51.100.1", "198.51.100.2"):
        pulled = {**headers, "X-Forwarded-For": ip, "Accept": "application/vnd.oci.image.manifest.v1+json"}
        assert periodic.head("/v2/admin/live/manifests/v1", headers=pulled).status_code == 200
        assert periodic.get(f"/v2/admin/live/manifests/{digest_}", headers=pulled).status_code == 200
    deadline = monotonic() + 60
    while monotonic() < deadline and not namespace_pulls(periodic, week):
        sleep(0.2)
    # The capture buffer (flushed every 10 s by itself) was written first by the job, so both pulls are there.
    assert namespace_pulls(periodic, week) == [(2, 2)]


def test_export_files_live_under_the_data_directory(client: TestClient, settings: Settings) -> None:
    write(settings.data_dir, pull(SUNDAY))
    run(client, as_of=date(2024, 4, 1))
    for item in exports(client):
        path = Path(settings.data_dir / item.path).resolve()
        assert path.is_relative_to(settings.data_dir.resolve()) and path.stat().st_size == item.size

    async def count(session: object) -> int:
        rows = await session.execute(select(AnalyticsSummary))  # type: ignore[attr-defined]
        return len(rows.scalars().all())

    assert in_transaction(client, count) > 0
