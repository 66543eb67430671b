"""The Hub API's pull numbers come from the analytics pipeline: pulls through the registry routes become pull
actions when the analytics job runs (the server's periodic one, or `dockyard analytics run`), and a repository's
`pull_count` then equals the pulls the DVP Data API reports for it, tag `last_pulled` is the last pull by that
tag and image `last_pulled` the last pull of that digest. Running the job again changes nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from click.testing import CliRunner
from starlette.testclient import TestClient

from dockyard.analytics import actions
from dockyard.app import create_app
from dockyard.cli.main import main
from dockyard.config import Settings
from tests.conftest import ADMIN_PASSWORD
from tests.hub.content.helpers import OCI_MANIFEST, admin, pull, push, push_index, run_analytics

DOCKER = "docker/27.3.1 go/go1.22.7 os/linux arch/amd64"
SKOPEO = "skopeo/1.16.1"


def pull_count(client: TestClient, repo: str) -> int:
    count: int = client.get(f"/v2/repositories/{repo}/").json()["pull_count"]
    return count


def dvp_pulls(client: TestClient, repo: str) -> int:
    """The repository's pulls over the last 12 months, the current one included, by the DVP Data API."""
    response = client.get(
        "/api/publisher/analytics/v1/repos/pulls",
        params={"repos": repo, "timespan": "months", "period": "last-12-months"},
        headers=admin(client),
    )
    assert response.status_code == 200, response.text
    return sum(int(month["pullCount"]) for month in response.json()["repos"][repo]["pulls"])


def when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def last_pulls(data_dir: Path, repo: str) -> tuple[dict[str, datetime], dict[str, datetime]]:
    """The last pull action of each tag (pulls by tag) and of each digest, read from the action files of every day
    up to today (taken after the pulls, so it includes their day even when the test ran past midnight)."""
    namespace, name = repo.split("/")
    today = datetime.now(UTC).date()
    tags: dict[str, datetime] = {}
    digests: dict[str, datetime] = {}
    for row in actions.read(data_dir, date.min, today).to_pylist():
        if (row["namespace"], row["repository"]) != (namespace, name) or row["action"] == "version_check":
            continue
        ts = row["ts"].replace(tzinfo=UTC)
        if row["action"] == "pull_by_tag":
            tags[row["reference"]] = max(ts, tags.get(row["reference"], ts))
        digests[row["digest"]] = max(ts, digests.get(row["digest"], ts))
    return tags, digests


def pulled_images(client: TestClient, repo: str) -> dict[str, datetime | None]:
    namespace, name = repo.split("/")
    response = client.get(f"/v2/namespaces/{namespace}/repositories/{name}/images", headers=admin(client))
    return {image["digest"]: when(image["last_pulled"]) for image in response.json()["results"]}


def test_pulls_count_once_the_job_has_run_and_running_it_again_changes_nothing(
    client: TestClient, settings: Settings
) -> None:
    digest = push(client, "admin/app", "v1")
    assert pull(client, "admin/app", "v1").status_code == 200  # GET by tag: a pull by tag
    assert pull(client, "admin/app", digest).status_code == 200  # a GET of the same digest is no follow-up
    assert pull(client, "admin/app", "v1", method="HEAD").status_code == 200  # HEAD alone: a version check
    assert pull(client, "admin/app", "missing").status_code == 404
    assert pull_count(client, "admin/app") == 0  # nothing until the job runs

    assert run_analytics(client).repositories == 1
    assert pull_count(client, "admin/app") == 2 == dvp_pulls(client, "admin/app")
    tags, digests = last_pulls(settings.data_dir, "admin/app")
    tag = client.get("/v2/repositories/admin/app/tags/v1/").json()
    assert when(tag["tag_last_pulled"]) == tags["v1"]
    assert when(tag["images"][0]["last_pulled"]) == digests[digest] > tags["v1"]  # the pull by digest came later
    assert pulled_images(client, "admin/app") == {digest: digests[digest]}
    assert client.get("/v2/search/repositories/", params={"query": "app"}).json()["results"][0]["pull_count"] == 2

    again = run_analytics(client)
    assert (again.days, again.summarized, again.repositories) == ([], [], 0)
    assert pull_count(client, "admin/app") == 2

    # New pulls: the day is classified again, whole, and the totals set again rather than added to.
    assert pull(client, "admin/app", "v1", agent=DOCKER).status_code == 200
    assert run_analytics(client).repositories == 1
    assert pull_count(client, "admin/app") == 3 == dvp_pulls(client, "admin/app")
    tags, _ = last_pulls(settings.data_dir, "admin/app")
    assert when(client.get("/v2/repositories/admin/app/tags/v1/").json()["tag_last_pulled"]) == tags["v1"]


def test_a_multi_platform_pull_is_one_pull_of_the_index(client: TestClient, settings: Settings) -> None:
    index, (amd64, arm64) = push_index(client, "admin/multi", "latest", [("linux", "amd64"), ("linux", "arm64")])
    # docker pull: HEAD the tag (it resolves to the index), GET the index, GET the host's platform.
    assert pull(client, "admin/multi", "latest", method="HEAD", agent=DOCKER).headers["docker-content-digest"] == index
    assert pull(client, "admin/multi", index, agent=DOCKER).status_code == 200
    assert pull(client, "admin/multi", amd64, agent=DOCKER).status_code == 200
    run_analytics(client)
    assert pull_count(client, "admin/multi") == 1 == dvp_pulls(client, "admin/multi")
    tags, digests = last_pulls(settings.data_dir, "admin/multi")
    # The pull took the attributes of its first request, the HEAD: the digest it records is the index's.
    assert set(digests) == {index}
    tag = client.get("/v2/repositories/admin/multi/tags/latest/").json()
    assert when(tag["tag_last_pulled"]) == tags["latest"] == digests[index]
    assert [image["last_pulled"] for image in tag["images"]] == [None, None]  # no pull of a platform's own digest
    assert pulled_images(client, "admin/multi") == {index: digests[index], amd64: None, arm64: None}

    # skopeo copy --all: GET the tag, then every platform. The tag and the first platform are a pull by tag; the
    # second platform is a surplus GET by digest, a pull by digest of its own.
    assert pull(client, "admin/multi", "latest", agent=SKOPEO).headers["docker-content-digest"] == index
    for child in (amd64, arm64):
        assert pull(client, "admin/multi", child, agent=SKOPEO).status_code == 200
    run_analytics(client)
    assert pull_count(client, "admin/multi") == 3 == dvp_pulls(client, "admin/multi")
    tags, digests = last_pulls(settings.data_dir, "admin/multi")
    assert pulled_images(client, "admin/multi") == {index: digests[index], amd64: None, arm64: digests[arm64]}
    tag = client.get("/v2/repositories/admin/multi/tags/latest/").json()
    assert when(tag["tag_last_pulled"]) == tags["latest"]
    assert [when(image["last_pulled"]) for image in tag["images"]] == [None, digests[arm64]]


def test_a_client_that_cannot_read_indexes_pulls_the_image_it_gets(client: TestClient, settings: Settings) -> None:
    index, (amd64,) = push_index(client, "admin/multi", "latest", [("linux", "amd64")])
    response = pull(client, "admin/multi", "latest", accept=OCI_MANIFEST)
    assert response.headers["docker-content-digest"] == amd64
    run_analytics(client)
    assert pull_count(client, "admin/multi") == 1 == dvp_pulls(client, "admin/multi")
    _, digests = last_pulls(settings.data_dir, "admin/multi")
    assert pulled_images(client, "admin/multi") == {index: None, amd64: digests[amd64]}


def test_dockyard_analytics_run_sets_the_numbers_a_server_shows(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        push(first, "admin/app", "v1")
        assert pull(first, "admin/app", "v1").status_code == 200
    # The server wrote what capture held when it stopped; the command classifies it and sets the numbers.
    env = {
        "DOCKYARD_DATA_DIR": str(settings.data_dir),
        "DOCKYARD_DATABASE_URL": settings.database_url,
        "DOCKYARD_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    result = CliRunner().invoke(main, ["analytics", "run"], env=env)
    assert result.exit_code == 0, result.output
    assert "set the Hub pull numbers of 1 repositories" in result.output
    with TestClient(create_app(settings)) as second:
        assert pull_count(second, "admin/app") == 1 == dvp_pulls(second, "admin/app")
