"""Pull statistics from the registry's manifest events: counted the way Docker Hub's limits count pulls, written
in batches, and written on shutdown too."""

from __future__ import annotations

from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.hub.content.helpers import OCI_MANIFEST, flush_pulls, pull, push, push_index


def pull_count(client: TestClient, repo: str) -> int:
    count: int = client.get(f"/v2/repositories/{repo}/").json()["pull_count"]
    return count


def test_image_manifest_gets_count_and_heads_do_not(client: TestClient) -> None:
    digest = push(client, "admin/app", "v1")
    assert pull(client, "admin/app", "v1").status_code == 200
    assert pull(client, "admin/app", digest).status_code == 200
    assert pull(client, "admin/app", "v1", method="HEAD").status_code == 200
    assert pull(client, "admin/app", "missing").status_code == 404
    flush_pulls(client)
    assert pull_count(client, "admin/app") == 2
    flush_pulls(client)  # nothing is counted twice
    assert pull_count(client, "admin/app") == 2

    tag = client.get("/v2/repositories/admin/app/tags/v1/").json()
    assert tag["tag_last_pulled"] is not None and tag["images"][0]["last_pulled"] == tag["tag_last_pulled"]
    assert client.get("/v2/search/repositories/", params={"query": "app"}).json()["results"][0]["pull_count"] == 2


def test_a_multi_platform_pull_counts_once_per_platform(client: TestClient) -> None:
    index, children = push_index(client, "admin/multi", "latest", [("linux", "amd64"), ("linux", "arm64")])
    assert pull(client, "admin/multi", "latest").status_code == 200  # the index alone is not a pull
    flush_pulls(client)
    assert pull_count(client, "admin/multi") == 0
    for child in children:
        assert pull(client, "admin/multi", child).status_code == 200
    flush_pulls(client)
    assert pull_count(client, "admin/multi") == 2
    # Pulling a platform by digest marks the tag of the index that lists it as pulled, and the index itself.
    tag = client.get("/v2/repositories/admin/multi/tags/latest/").json()
    assert tag["tag_last_pulled"] is not None
    assert all(image["last_pulled"] for image in tag["images"])
    images = client.get("/v2/namespaces/admin/repositories/multi/images").json()["results"]
    assert {i["digest"] for i in images if i["last_pulled"]} == {index, *children}


def test_a_client_that_cannot_read_indexes_is_counted_for_the_image_it_gets(client: TestClient) -> None:
    push_index(client, "admin/multi", "latest", [("linux", "amd64")])
    assert pull(client, "admin/multi", "latest", accept=OCI_MANIFEST).status_code == 200
    flush_pulls(client)
    assert pull_count(client, "admin/multi") == 1


def test_pulls_still_buffered_are_written_on_shutdown(settings: Settings) -> None:
    with TestClient(create_app(settings)) as first:
        push(first, "admin/app", "v1")
        assert pull(first, "admin/app", "v1").status_code == 200
    with TestClient(create_app(settings)) as second:
        assert pull_count(second, "admin/app") == 1
