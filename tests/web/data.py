"""The pulls the web tests show: synthetic manifest requests of known clients, classified and exported by the real
analytics job, and a reader of the pages' tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

from dockyard.analytics.periods import Period
from tests.analytics.events import Req, digest, write

INDEX = digest("index")
TODAY = datetime.now(UTC).date()
# The 10th of last month: a complete (so exported) month and week, within every "last N months".
LAST_MONTH = datetime.combine((TODAY.replace(day=1) - timedelta(days=1)).replace(day=10), datetime.min.time())
MONTH = Period.month_of(LAST_MONTH.date())
WEEK = Period.week_of(LAST_MONTH.date())
# Today, at midnight UTC (already past): the current month's partial figures.
THIS_MONTH = datetime.combine(TODAY, datetime.min.time())


def by_tag(client: int, repository: str, at: datetime, offset: float) -> list[Req]:
    return [
        Req(offset, "HEAD", "1.0", INDEX, client=client, repository=repository, start=at),
        Req(offset + 0.1, "GET", INDEX, client=client, repository=repository, start=at),
    ]


def requests() -> list[Req]:
    """Last month, acme/app: pulls by tag from clients 1 and 2, by digest from 4, a version check from 3; acme/web:
    a pull by tag from 1; bob/secret: a pull by tag from 5. This month so far: acme/app, one pull by tag from 6."""
    found = [*by_tag(1, "acme/app", LAST_MONTH, 0), *by_tag(2, "acme/app", LAST_MONTH, 10)]
    found += [Req(20, "HEAD", "1.0", INDEX, client=3, repository="acme/app", start=LAST_MONTH)]
    found += [Req(30, "GET", INDEX, client=4, repository="acme/app", start=LAST_MONTH)]
    found += [*by_tag(1, "acme/web", LAST_MONTH, 40), *by_tag(5, "bob/secret", LAST_MONTH, 50)]
    found += by_tag(6, "acme/app", THIS_MONTH, 0)
    return found


def write_pulls(data_dir: Path) -> None:
    write(data_dir, requests())


Cells = dict[str, int]


class Tables(HTMLParser):
    """The counts of a page's tables: {table key: {row `data-start`: {`data-count`: number}}}, where a table's key
    is its `data-repository`, or its class (`periods`)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: dict[str, dict[str, Cells]] = {}
        self._table: dict[str, Cells] | None = None
        self._row: Cells | None = None
        self._count: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "table":
            key = found.get("data-repository") or found.get("class") or ""
            self._table = self.tables.setdefault(key, {})
        elif tag == "tr" and self._table is not None and found.get("data-start"):
            self._row = self._table.setdefault(found["data-start"] or "", {})
        elif tag == "td" and self._row is not None and found.get("data-count"):
            self._count = found["data-count"]

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "tr":
            self._row = None
        elif tag == "td":
            self._count = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._count is not None and data.strip():
            self._row[self._count] = int(data.strip().replace(",", ""))


class Links(HTMLParser):
    """Every `<a>` of a page: (href, data-view) pairs."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[tuple[str, str | None]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("href"):
            self.links.append((found["href"] or "", found.get("data-view")))


def start_of(instant: str) -> str:
    """The day of an RFC 3339 instant of the DVP Data API (`2026-01-01T00:00:00Z`)."""
    return date.fromisoformat(instant[:10]).isoformat()
