"""The Insights dashboard in a real browser: Debian's Chromium, driven by Playwright, against the real `dockyard
serve` on 127.0.0.1. It signs in through the form, opens a namespace's page from the overview, reads the chart and
the table, and downloads an export by following its link."""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from dockyard.analytics.exports import RAW_COLUMNS
from tests.support.server import DockyardServer, run_dockyard
from tests.web.data import MONTH, write_pulls

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("DOCKYARD_TEST_CHROMIUM", "/usr/bin/chromium")
# Chromium as root in a sandbox-less container, with nothing that reaches for the network by itself (this
# machine has none, and every refused connection costs time).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "alice-password"
API = "/api/publisher/analytics/v1"


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/setup.sh --test installs Debian's)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def dockyard(server: DockyardServer, *args: str, stdin: str | None = None) -> str:
    done = run_dockyard(*args, data_dir=server.data_dir, database_url=server.database_url, input=stdin)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_sign_in_read_the_numbers_and_download_an_export(
    server_factory: Callable[..., DockyardServer], browser: Browser, tmp_path: Path
) -> None:
    # The job runs only when asked, so the numbers cannot move under the test. This server and the job keep the real
    # today, the day after the data's TODAY (maybe in a new week and month) if the run crossed midnight: MONTH is
    # then still complete (so exported) and within the last 3 months (the API's and the page's series), and nothing
    # below depends on which later periods are complete.
    server = server_factory(settings={"DOCKYARD_ANALYTICS_INTERVAL_SECONDS": "0", "DOCKYARD_FSYNC": "false"})
    dockyard(server, "admin", "create-user", "alice", "--password", PASSWORD)
    dockyard(server, "admin", "create-org", "acme", "--owner", "alice")
    write_pulls(server.data_dir)
    dockyard(server, "analytics", "run")

    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        token = http.post("/v2/users/login", json={"username": "alice", "password": PASSWORD}).json()["token"]
        params = {"group": "namespace", "period": "last-3-months"}
        pulls = http.get(f"{API}/namespaces/acme/pulls", params=params, headers={"Authorization": f"Bearer {token}"})
    (month,) = [p for p in pulls.json()["pulls"] if p["start"].startswith(MONTH.start.isoformat())]

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.goto(server.base_url + "/insights")
    assert page.url == server.base_url + "/login?next=/insights"
    page.fill("#username", "alice")
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    assert "Incorrect username or password." in page.inner_text("[role=alert]")
    page.fill("#username", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.base_url + "/insights")
    (cookie,) = [c for c in context.cookies() if c["name"] == "dockyard_session"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/"

    page.click("ul.namespaces a:text-is('acme')")
    page.wait_for_url(server.base_url + "/insights/acme")
    chart = page.locator("figure.chart svg.pygal-chart")
    assert chart.count() == 1 and chart.is_visible()
    legend = chart.inner_html()
    assert all(name in legend for name in ("Pulls", "Unique IPs", "Version checks"))
    assert chart.locator("rect.rect").count() > 0  # the bars

    row = page.locator(f'table.periods tr[data-start="{MONTH.start.isoformat()}"]')
    assert int(row.locator('td[data-count="pulls"]').inner_text()) == month["pullCount"] == 4
    assert int(row.locator('td[data-count="unique_ip_address"]').inner_text()) == month["ipCount"] == 4
    app = page.locator(f'table[data-repository="app"] tr[data-start="{MONTH.start.isoformat()}"]')
    cells = {name: int(app.locator(f'td[data-count="{name}"]').inner_text()) for name in
             ("pull_by_tag", "pull_by_digest", "version_check", "unique_ip_address")}  # fmt: skip
    assert cells == {"pull_by_tag": 2, "pull_by_digest": 1, "version_check": 1, "unique_ip_address": 4}
    page.screenshot(path=str(tmp_path / "insights.png"), full_page=True)

    link = page.locator('table.exports a[data-view="raw"]').first
    assert link.get_attribute("href", timeout=5000).startswith(server.base_url + API + "/downloads/")
    with page.expect_download() as started:
        link.click()
    saved = tmp_path / "raw.csv"
    started.value.save_as(saved)
    with saved.open(newline="") as handle:
        assert tuple(next(csv.reader(handle))) == RAW_COLUMNS

    page.click("header button[type=submit]")  # sign out
    page.wait_for_url(server.base_url + "/login")
    page.goto(server.base_url + "/insights/acme")
    assert page.url.startswith(server.base_url + "/login?next=")
    context.close()
