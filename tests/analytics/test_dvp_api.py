"""The DVP Data API: discovery, pull series, export listings and signed downloads, and who sees what."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from dockyard.analytics import exports
from dockyard.app import create_app
from dockyard.config import Settings
from tests.analytics.events import Req, digest, write
from tests.analytics.helpers import pin_today, run_job
from tests.conftest import ADMIN_PASSWORD
from tests.registry.helpers import PASSWORD, create_org, create_user, set_member

API = "/api/publisher/analytics/v1"
INDEX = digest("index")
TODAY = datetime.now(UTC).date()
# The 10th of last month: complete (so exported), and within every "last N months".
PULLED = datetime.combine((TODAY.replace(day=1) - timedelta(days=1)).replace(day=10), datetime.min.time())
MONTH = PULLED.date().replace(day=1)
WEEK = PULLED.date() - timedelta(days=PULLED.weekday())
# Client pseudonyms, distinctive enough to be searched for in every answer.
CLIENTS = (13_835_058_055_282_163_711, 9_223_372_036_854_775_837, 4_611_686_018_427_388_039, 77_777_777_777_777)


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    response = client.post("/v2/users/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def pull(client: int, repository: str, offset: float) -> list[Req]:
    return [
        Req(offset, "HEAD", "1.0", INDEX, client=client, repository=repository, start=PULLED),
        Req(offset + 0.1, "GET", INDEX, client=client, repository=repository, start=PULLED),
    ]


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    pin_today(monkeypatch, TODAY)


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """acme (alice a member) and ghost (no account: data from another registry) with pulls last month."""
    with TestClient(create_app(settings)) as client:
        create_user(client, "alice")
        create_user(client, "bob")
        create_org(client, "acme", "alice")
        one, two, three, four = CLIENTS
        requests = [*pull(one, "acme/app", 0), *pull(two, "acme/app", 10), *pull(one, "acme/web", 20)]
        requests += [Req(30, "HEAD", "1.0", INDEX, client=three, repository="acme/app", start=PULLED)]
        requests += [*pull(four, "ghost/thing", 40)]
        write(settings.data_dir, requests)
        report = run_job(client)
        assert report.exported, report.lines()
        yield client


def get(client: TestClient, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
    response = client.get(API + path, headers=headers or {}, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_route_wants_a_hub_token(api: TestClient) -> None:
    for path in ("/", "/namespaces", "/namespaces/acme", "/namespaces/acme/pulls", "/repos/pulls?repos=acme/app"):
        response = api.get(API + path)
        assert response.status_code == 401, path
        assert "detail" in response.json()


def test_discovery_lists_what_the_caller_may_see(api: TestClient) -> None:
    alice, bob, admin = login(api, "alice"), login(api, "bob"), login(api, "admin", ADMIN_PASSWORD)
    assert get(api, "/", alice) == {"namespaces": ["acme"]}
    assert get(api, "/", bob) == {"namespaces": []}
    assert get(api, "/", admin) == {"namespaces": ["acme", "ghost"]}
    dataset = {"name": "pulls", "views": ["raw", "summary", "repo-summary", "namespace-summary"],
               "timespans": ["months", "weeks"]}  # fmt: skip
    assert get(api, "/namespaces", alice) == [
        {"namespace": "acme", "extraRepos": [], "datasets": [dataset]},
        {"namespace": "alice", "extraRepos": [], "datasets": [dataset]},
    ]
    assert get(api, "/namespaces/acme", alice) == {"namespace": "acme", "extraRepos": [], "datasets": [dataset]}


def test_namespaces_the_caller_may_not_see_are_not_found(api: TestClient) -> None:
    bob, alice, admin = login(api, "bob"), login(api, "alice"), login(api, "admin", ADMIN_PASSWORD)
    for path in ("/namespaces/acme", "/namespaces/acme/pulls", "/namespaces/acme/repos/app/pulls",
                 "/namespaces/acme/pulls/exports/years"):  # fmt: skip
        assert api.get(API + path, headers=bob).status_code == 404, path
    # Data of a namespace Dockyard does not know: site administrators only...
    assert api.get(API + "/namespaces/ghost/pulls", headers=alice).status_code == 404
    assert get(api, "/namespaces/ghost/pulls", admin)["pulls"]
    # ...until the namespace exists: then its members see it.
    create_org(api, "ghost", "alice")
    assert get(api, "/namespaces/ghost/pulls", alice)["pulls"]
    assert get(api, "/", alice) == {"namespaces": ["acme", "ghost"]}


def test_members_of_any_role_see_their_organisation(api: TestClient) -> None:
    set_member(api, "acme", "bob", "member")
    assert get(api, "/", login(api, "bob")) == {"namespaces": ["acme"]}


def instant(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def test_pulls_per_month_by_repository_and_by_namespace(api: TestClient) -> None:
    alice = login(api, "alice")
    month = {"start": instant(MONTH), "end": instant(next_month(MONTH)), "country": ""}
    assert get(api, "/namespaces/acme/pulls", alice) == {
        "pulls": [
            {**month, "repo": "app", "namespace": "acme", "pullCount": 2, "ipCount": 3},
            {**month, "repo": "web", "namespace": "acme", "pullCount": 1, "ipCount": 1},
        ]
    }
    grouped = get(api, "/namespaces/acme/pulls", alice, group="namespace", period="last-12-months")
    assert grouped == {"pulls": [{**month, "repo": "", "namespace": "acme", "pullCount": 3, "ipCount": 3}]}


def test_pulls_per_week(api: TestClient) -> None:
    body = get(api, "/namespaces/acme/repos/app/pulls", login(api, "alice"), timespan="weeks", period="last-2-months")
    assert body == {
        "pulls": [
            {
                "start": instant(WEEK),
                "end": instant(WEEK + timedelta(days=7)),
                "repo": "app",
                "namespace": "acme",
                "pullCount": 2,
                "ipCount": 3,
                "country": "",
            }
        ]
    }


def test_a_repository_without_data_or_existence_is_not_found(api: TestClient) -> None:
    response = api.get(API + "/namespaces/acme/repos/nothing/pulls", headers=login(api, "alice"))
    assert response.status_code == 404


def test_several_repositories_at_once(api: TestClient) -> None:
    alice = login(api, "alice")
    response = api.get(
        API + "/repos/pulls", params=[("repos", "acme/app"), ("repos", "acme/web,ghost/thing")], headers=alice
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # ghost is not alice's to see: left out of the answer.
    assert sorted(body["repos"]) == ["acme/app", "acme/web"]
    assert [p["pullCount"] for p in body["repos"]["acme/app"]["pulls"]] == [2]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ([("repos", f"acme/r{n}") for n in range(51)], "at most 50"),
        ([("repos", "no-slash")], "namespace/name"),
        ([("repos", "acme/a\x00b")], "namespace/name"),
        ([], "repos"),
        ([("repos", "acme/app"), ("timespan", "days")], "timespan"),
        ([("repos", "acme/app"), ("period", "last-5-months")], "period"),
        ([("repos", "acme/app"), ("group", "tag")], "group"),
    ],
)
def test_bad_queries_are_400s(api: TestClient, params: list[tuple[str, str]], fragment: str) -> None:
    response = api.get(API + "/repos/pulls", params=params, headers=login(api, "alice"))
    assert response.status_code == 400, response.text
    assert fragment in response.json()["detail"]


def test_export_listings(api: TestClient) -> None:
    alice = login(api, "alice")
    base = "/namespaces/acme/pulls/exports/years"
    iso = WEEK.isocalendar()
    assert get(api, base, alice) == {"years": [{"year": y} for y in sorted({MONTH.year, iso.year})]}
    assert get(api, f"{base}/{MONTH.year}/months", alice) == {"months": [{"month": MONTH.month}]}
    assert get(api, f"{base}/{iso.year}/weeks", alice) == {"weeks": [{"week": iso.week}]}
    assert get(api, f"{base}/{MONTH.year}/months/{MONTH.month}", alice) == {"month": MONTH.month}
    assert get(api, f"{base}/{iso.year}/weeks/{iso.week}", alice) == {"week": iso.week}
    other = MONTH.month % 12 + 1
    assert api.get(API + f"{base}/{MONTH.year}/months/{other}", headers=alice).status_code == 404
    assert api.get(API + f"{base}/{MONTH.year}/years", headers=alice).status_code == 400
    assert api.get(API + f"{base}/{MONTH.year}/months/13", headers=alice).status_code == 404
    assert api.get(API + f"{base}/{MONTH.year}/weeks/0", headers=alice).status_code == 400


def links(api: TestClient, view: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    path = f"/namespaces/acme/pulls/exports/years/{MONTH.year}/months/{MONTH.month}/{view}"
    data: list[dict[str, Any]] = get(api, path, headers)["data"]
    return data


def download(api: TestClient, url: str) -> list[dict[str, str]]:
    response = api.get(url.replace("http://testserver", ""))  # no Authorization header
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_exports_download_without_credentials(api: TestClient) -> None:
    alice = login(api, "alice")
    (raw,) = links(api, "raw", alice)
    rows = download(api, raw["url"])
    assert raw["size"] > 0
    assert [(r["action"], r["repository"], r["tag"], r["owner"]) for r in rows] == [
        ("pull_by_tag", "app", "1.0", "acme"),
        ("pull_by_tag", "app", "1.0", "acme"),
        ("pull_by_tag", "web", "1.0", "acme"),
        ("version_check", "app", "1.0", "acme"),
    ]
    (summary,) = links(api, "namespace-summary", alice)
    assert download(api, summary["url"]) == [
        {"namespace": "acme", "unique_ip_address": "3", "pull_by_tag": "3", "pull_by_digest": "0",
         "version_check": "1", "owner": "acme"}
    ]  # fmt: skip


def test_download_links_cannot_be_forged_or_outlive_their_expiry(api: TestClient, settings: Settings) -> None:
    (raw,) = links(api, "raw", login(api, "alice"))
    token = raw["url"].rsplit("/", 1)[1]
    export_id, expires, signature = token.split(".")
    forged = f"{int(export_id) + 1}.{expires}.{signature}"
    extended = f"{export_id}.{int(expires) + 3600}.{signature}"
    for bad in (forged, extended, "garbage", f"{export_id}.{expires}.{'0' * 40}"):
        response = api.get(f"{API}/downloads/{bad}")
        assert response.status_code == 403, bad
    expired = exports.sign(settings.load_secret(), int(export_id), -1, now=time.time())
    assert api.get(f"{API}/downloads/{expired}").status_code == 403
    missing = exports.sign(settings.load_secret(), 999_999, 60)
    assert api.get(f"{API}/downloads/{missing}").status_code == 404


def test_no_address_or_pseudonym_in_any_answer(api: TestClient, settings: Settings) -> None:
    admin = login(api, "admin", ADMIN_PASSWORD)
    texts = [api.get(API + "/namespaces/acme/pulls", headers=admin).text]
    for view in ("raw", "summary", "repo-summary", "namespace-summary"):
        for item in links(api, view, admin):
            texts.append(api.get(item["url"].replace("http://testserver", "")).text)
    for text in texts:
        assert text
        for pseudonym in CLIENTS:
            assert str(pseudonym) not in text and hex(pseudonym)[2:] not in text
        assert "client" not in text
