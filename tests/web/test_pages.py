"""The Insights pages over HTTP: signing in (second factor and throttle included) and out, who sees which
namespace, the numbers against the DVP Data API's, query validation, and export links that need no credentials."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from httpx2 import Response
from starlette.testclient import TestClient

from dockyard.analytics.exports import RAW_COLUMNS, SUMMARY_COLUMNS
from dockyard.app import create_app
from dockyard.config import Settings
from tests.accounts.helpers import enrol_totp, hub
from tests.analytics.helpers import run_job
from tests.conftest import ADMIN_PASSWORD, NOW
from tests.registry.helpers import PASSWORD, create_org, create_user
from tests.web.data import MONTH, TODAY, WEEK, Links, Tables, start_of, write_pulls

API = "/api/publisher/analytics/v1"


@pytest.fixture
def web(settings: Settings) -> Iterator[TestClient]:
    """alice (owner of acme) and bob; acme and bob have pulls, processed and exported by the analytics job."""
    with TestClient(create_app(settings)) as client:
        create_user(client, "alice")
        create_user(client, "bob")
        create_org(client, "acme", "alice")
        write_pulls(settings.data_dir)
        report = run_job(client)
        assert report.exported, report.lines()
        yield client


def sign_in(client: TestClient, username: str, password: str = PASSWORD, **extra: str) -> Response:
    client.cookies.clear()
    return client.post("/login", data={"username": username, "password": password, **extra}, follow_redirects=False)


def signed_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    response = sign_in(client, username, password)
    assert response.status_code == 303, response.text


def api(client: TestClient, path: str, username: str, password: str = PASSWORD, **params: str) -> Any:
    token = client.post("/v2/users/login", json={"username": username, "password": password}).json()["token"]
    response = client.get(API + path, params=params, headers=hub(token))
    assert response.status_code == 200, response.text
    return response.json()


def page(client: TestClient, path: str, status: int = 200, **params: str) -> str:
    response = client.get(path, params=params, follow_redirects=False)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def set_cookie(response: Response) -> str:
    return response.headers.get("set-cookie", "")


# --- signing in and out ---------------------------------------------------------------------------------------
def test_sign_in_sets_a_strict_http_only_session_cookie(web: TestClient) -> None:
    form = page(web, "/login")
    assert 'name="username"' in form and 'name="password"' in form
    response = sign_in(web, "alice")
    assert response.status_code == 303
    assert response.headers["location"] == "/insights"
    cookie = set_cookie(response)
    assert cookie.startswith("dockyard_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "max-age"} <= attributes and "secure" not in attributes
    assert "samesite=strict" in cookie.lower() and "path=/;" in cookie.lower() + ";"
    # The cookie holds a Hub JWT that the API accepts as it is.
    token = web.cookies["dockyard_session"]
    assert web.get(API + "/", headers=hub(token)).json() == {"namespaces": ["acme"]}
    assert "acme" in page(web, "/insights")


def test_wrong_credentials_show_the_form_again(web: TestClient) -> None:
    for username, password in (("alice", "not-her-password"), ("nobody", PASSWORD)):
        response = sign_in(web, username, password)
        assert response.status_code == 401
        assert "Incorrect username or password." in response.text
        assert 'name="password"' in response.text
        assert "set-cookie" not in response.headers
    response = sign_in(web, "alice", "")
    assert response.status_code == 400 and "Enter your username" in response.text
    response = web.post("/login", content=b"x" * 70_000, headers={"content-type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400


def test_failed_sign_ins_share_the_api_throttle(web: TestClient) -> None:
    # Failures on the Hub API count against the form too: one throttle for every way in.
    for _ in range(9):
        assert web.post("/v2/users/login", json={"username": "alice", "password": "wrong"}).status_code == 401
    assert sign_in(web, "alice", "wrong").status_code == 401
    refused = sign_in(web, "alice")  # right password, but too late
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) > 0
    assert "too many failed sign-in attempts" in refused.text
    assert "set-cookie" not in refused.headers
    assert web.post("/v2/users/login", json={"username": "alice", "password": PASSWORD}).status_code == 429


def test_https_public_url_makes_the_cookie_secure(settings: Settings) -> None:
    with TestClient(create_app(settings.with_overrides(public_url="https://hub.example"))) as client:
        create_user(client, "alice")
        response = client.post("/login", data={"username": "alice", "password": PASSWORD}, follow_redirects=False)
    assert response.status_code == 303
    cookie = set_cookie(response)
    assert cookie.startswith("__Host-dockyard_session=")
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


@pytest.mark.parametrize(
    ("next_path", "location"),
    [
        ("/insights/acme?timespan=weeks", "/insights/acme?timespan=weeks"),
        ("//evil.example/insights", "/insights"),
        ("https://evil.example/", "/insights"),
        ("/\\evil.example", "/insights"),
        ("insights", "/insights"),
        ("", "/insights"),
    ],
)
def test_only_local_paths_are_followed_after_signing_in(web: TestClient, next_path: str, location: str) -> None:
    response = sign_in(web, "alice", next=next_path)
    assert response.status_code == 303
    assert response.headers["location"] == location


def test_cross_site_posts_are_refused(web: TestClient) -> None:
    response = web.post(
        "/login",
        data={"username": "alice", "password": PASSWORD},
        headers={"sec-fetch-site": "cross-site"},
        follow_redirects=False,
    )
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_sign_out_revokes_the_token_and_drops_the_cookie(web: TestClient) -> None:
    signed_in(web, "alice")
    token = web.cookies["dockyard_session"]
    response = web.post("/logout", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert re.search(r'dockyard_session=""?;.*max-age=0', set_cookie(response), re.IGNORECASE)
    assert web.get(API + "/", headers=hub(token)).status_code == 401
    # A browser that kept the cookie anyway is sent to sign in, and told to drop it.
    response = web.get("/insights", headers={"cookie": f"dockyard_session={token}"}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/insights"
    assert "max-age=0" in set_cookie(response).lower()


def challenge_of(html: str) -> str:
    found = re.search(r'name="login_2fa_token" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


def test_second_factor_completes_the_sign_in(web: TestClient, clock: Callable[[float], None]) -> None:
    totp, recovery = enrol_totp(web, "alice")
    first = sign_in(web, "alice", next="/insights/acme")
    assert first.status_code == 200 and "set-cookie" not in first.headers
    assert 'name="code"' in first.text and 'name="password"' not in first.text
    challenge = challenge_of(first.text)
    second = {"login_2fa_token": challenge, "next": "/insights/acme"}
    wrong = str((int(totp.at(NOW)) + 1) % 1_000_000).zfill(6)
    response = web.post("/login", data={**second, "code": wrong}, follow_redirects=False)
    assert response.status_code == 401 and "That code is not right" in response.text
    assert challenge_of(response.text) == challenge  # the same challenge can be answered again
    response = web.post("/login", data={**second, "code": totp.at(NOW)}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/insights/acme"
    assert set_cookie(response).startswith("dockyard_session=")
    # The challenge is spent, and the code cannot be replayed.
    web.cookies.clear()
    response = web.post("/login", data={**second, "code": totp.at(NOW)}, follow_redirects=False)
    assert response.status_code == 401 and "set-cookie" not in response.headers
    # A recovery code works as well; a challenge that is not one starts over.
    response = web.post(
        "/login", data={"login_2fa_token": challenge_of(sign_in(web, "alice").text), "code": recovery[0]},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    response = web.post("/login", data={"login_2fa_token": "forged", "code": totp.at(NOW)}, follow_redirects=False)
    assert response.status_code == 401 and 'name="password"' in response.text


# --- the dashboard ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/insights", "/login?next=/insights"),
        ("/insights/acme?timespan=weeks&period=last-6-months",
         "/login?next=/insights/acme%3Ftimespan%3Dweeks%26period%3Dlast-6-months"),
    ],
)  # fmt: skip
def test_signed_out_visitors_are_sent_to_sign_in(web: TestClient, path: str, location: str) -> None:
    response = web.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == location
    next_path = parse_qs(urlsplit(location).query)["next"][0]
    assert sign_in(web, "alice", next=next_path).headers["location"] == path


def test_the_overview_lists_the_namespaces_the_visitor_may_see(web: TestClient) -> None:
    signed_in(web, "alice")
    links = [href for href, _ in Links(page(web, "/insights")).links if href.startswith("/insights/")]
    assert links == ["/insights/acme"]
    signed_in(web, "bob")
    assert [h for h, _ in Links(page(web, "/insights")).links if h.startswith("/insights/")] == ["/insights/bob"]
    signed_in(web, "admin", ADMIN_PASSWORD)
    links = [h for h, _ in Links(page(web, "/insights")).links if h.startswith("/insights/")]
    assert links == ["/insights/acme", "/insights/bob"]


def test_another_users_namespace_is_not_found_like_a_missing_one(web: TestClient) -> None:
    signed_in(web, "alice")
    hidden = page(web, "/insights/bob", 404)
    missing = page(web, "/insights/nobody", 404)
    assert "namespace &#39;bob&#39; not found" in hidden
    assert hidden.replace("bob", "nobody") == missing
    assert "secret" not in hidden
    page(web, "/insights/bad%20name", 404)
    # The DVP Data API says the same.
    token = web.post("/v2/users/login", json={"username": "alice", "password": PASSWORD}).json()["token"]
    assert web.get(API + "/namespaces/bob/pulls", headers=hub(token)).status_code == 404


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"timespan": "days"}, "timespan must be one of: months, weeks"),
        ({"period": "last-5-months"}, "period must be one of: last-2-months"),
        ({"timespan": "weeks", "period": ""}, "period must be one of"),
    ],
)
def test_bad_queries_are_400_pages(web: TestClient, params: dict[str, str], fragment: str) -> None:
    signed_in(web, "alice")
    assert fragment in page(web, "/insights/acme", 400, **params)


def span_length(timespan: str, months: int) -> int:
    """How many months, or weeks, "the last N months" cover: from the first of the month N - 1 months ago (the week
    that holds it) to today's (today's week)."""
    if timespan == "months":
        return months
    index = TODAY.year * 12 + TODAY.month - 1 - (months - 1)
    first = date(index // 12, index % 12 + 1, 1)
    return ((TODAY - timedelta(days=TODAY.weekday())) - (first - timedelta(days=first.weekday()))).days // 7 + 1


@pytest.mark.parametrize("timespan", ["months", "weeks"])
@pytest.mark.parametrize("period", ["last-2-months", "last-12-months"])
def test_the_numbers_are_the_dvp_apis(web: TestClient, timespan: str, period: str) -> None:
    signed_in(web, "alice")
    html = page(web, "/insights/acme", timespan=timespan, period=period)
    tables = Tables(html).tables
    query = {"timespan": timespan, "period": period}
    namespace = api(web, "/namespaces/acme/pulls", "alice", group="namespace", **query)["pulls"]
    assert namespace, "no data to compare"
    rows = tables["periods"]
    for pull in namespace:
        row = rows[start_of(pull["start"])]
        assert (row["pulls"], row["unique_ip_address"]) == (pull["pullCount"], pull["ipCount"])
        assert row["pull_by_tag"] + row["pull_by_digest"] == row["pulls"]
    # Every other period of the span is on the page too, with nothing in it.
    quiet = set(rows) - {start_of(pull["start"]) for pull in namespace}
    assert all(not any(rows[start].values()) for start in quiet)
    assert len(rows) == span_length(timespan, int(period.split("-")[1]))
    by_repo = api(web, "/namespaces/acme/pulls", "alice", group="repo", **query)["pulls"]
    found = {
        (name, start): (cells["pulls"], cells["unique_ip_address"])
        for name, table in tables.items()
        if name not in ("periods", "exports")
        for start, cells in table.items()
        if start != "total"
    }
    assert found == {(p["repo"], start_of(p["start"])): (p["pullCount"], p["ipCount"]) for p in by_repo}
    # The chart is inline SVG drawn on the server, with no script.
    assert re.search(r'<figure class="chart">\s*<svg[^>]*class="pygal-chart"', html)
    assert "<script" not in html


def test_the_counts_of_a_month(web: TestClient) -> None:
    signed_in(web, "alice")
    tables = Tables(page(web, "/insights/acme", period="last-2-months")).tables
    month = MONTH.start.isoformat()
    assert tables["app"][month] == {"pulls": 3, "pull_by_tag": 2, "pull_by_digest": 1, "version_check": 1,
                                    "unique_ip_address": 4}  # fmt: skip
    assert tables["web"][month] == {"pulls": 1, "pull_by_tag": 1, "pull_by_digest": 0, "version_check": 0,
                                    "unique_ip_address": 1}  # fmt: skip
    assert tables["periods"][month] == {"pulls": 4, "pull_by_tag": 3, "pull_by_digest": 1, "version_check": 1,
                                        "unique_ip_address": 4}  # fmt: skip
    assert tables["app"]["total"] == {"pulls": 4, "pull_by_tag": 3, "pull_by_digest": 1, "version_check": 1}


def download(url: str, client: TestClient) -> Response:
    assert url.startswith("http://testserver" + API + "/downloads/"), url
    return client.get(url.removeprefix("http://testserver"))


@pytest.mark.parametrize("timespan", ["months", "weeks"])
def test_export_links_download_without_credentials(web: TestClient, settings: Settings, timespan: str) -> None:
    signed_in(web, "alice")
    html = page(web, "/insights/acme", timespan=timespan)
    links = [(href, view) for href, view in Links(html).links if view is not None]
    assert sorted(view for _, view in links) == ["namespace-summary", "raw", "repo-summary", "summary"]
    exported = (MONTH if timespan == "months" else WEEK).start.isoformat()
    assert f'<tr data-start="{exported}">' in html.split('class="exports"')[1]
    if timespan == "months":
        # The same export the DVP Data API links to, signed the same way.
        path = f"/namespaces/acme/pulls/exports/years/{MONTH.year}/months/{MONTH.number}/raw"
        (listed,) = api(web, path, "alice")["data"]
        raw = next(href for href, view in links if view == "raw")
        assert raw.rsplit("/", 1)[1].split(".")[0] == listed["url"].rsplit("/", 1)[1].split(".")[0]
    headers = {"raw": RAW_COLUMNS, **SUMMARY_COLUMNS}
    web.cookies.clear()  # no cookie, and no Authorization header either
    for href, view in links:
        response = download(href, web)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        assert tuple(next(csv.reader(io.StringIO(response.text)))) == headers[view or ""]
    raw = next(href for href, view in links if view == "raw")
    actions = [row["action"] for row in csv.DictReader(io.StringIO(download(raw, web).text))]
    assert sorted(actions) == ["pull_by_digest", "pull_by_tag", "pull_by_tag", "pull_by_tag", "version_check"]
    # Tampered with, it is refused, exactly as the DVP Data API's links are.
    export_id, expires, _ = raw.rsplit("/", 1)[1].split(".")
    extended = raw.replace(f"{export_id}.{expires}", f"{export_id}.{int(expires) + 60}")
    assert download(extended, web).status_code == 403
