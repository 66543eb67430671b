"""Webhooks through the Hub API and real deliveries to a receiver on 127.0.0.1: Docker Hub's payload, retries
with backoff after a failing attempt, the delivery history, redelivery and the one-time callback URL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from dockyard.app import create_app
from dockyard.config import Settings
from tests.hub.community import (
    Receiver,
    community,
    create_user,
    fast_passwords,
    hub_login,
    push,
    receiver,
    run,
    set_private,
)

__all__ = ["fast_passwords", "receiver"]


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """Retries come quickly here, so a test sees a failed attempt followed by a successful one."""
    fast = dataclasses.replace(settings, extra={"webhook_retry_seconds": 0.05, "webhook_max_attempts": 3})
    with TestClient(create_app(fast)) as test_client:
        yield test_client


def deliveries(client: TestClient, repo: str, webhook_id: int, headers: dict[str, str]) -> list[dict[str, object]]:
    response = client.get(f"/v2/repositories/{repo}/webhooks/{webhook_id}/deliveries/", headers=headers)
    assert response.status_code == 200, response.text
    results: list[dict[str, object]] = response.json()["results"]
    return results


def test_webhook_crud_and_the_npm_clients_path(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    push(client, "alice/app", "v1", "alice")
    alice, bob = hub_login(client, "alice"), hub_login(client, "bob")

    created = client.post("/v2/repositories/alice/app/webhooks/", json={"name": "ci"}, headers=alice)
    assert created.status_code == 201, created.text
    webhook = created.json()
    assert webhook["name"] == "ci" and webhook["hooks"] == [] and webhook["creator"] == "alice"
    assert webhook["active"] is True and webhook["expect_final_callback"] is True
    hook = client.post(
        f"/v2/repositories/alice/app/webhooks/{webhook['id']}/hooks/",
        json={"hook_url": "https://example.com/h"},
        headers=alice,
    )
    assert hook.status_code == 201
    assert set(hook.json()) == {"id", "creator", "last_updater", "hook_url", "date_added", "last_updated", "active"}
    bad = client.post(
        f"/v2/repositories/alice/app/webhooks/{webhook['id']}/hooks/", json={"hook_url": "ftp://x/y"}, headers=alice
    )
    assert bad.status_code == 400 and "detail" in bad.json()
    for url in ("http://[::1/x", "http:///nohost", "javascript:alert(1)"):
        refused = client.post(
            f"/v2/repositories/alice/app/webhooks/{webhook['id']}/hooks/", json={"hook_url": url}, headers=alice
        )
        assert refused.status_code == 400, url
    both = client.post(
        "/v2/repositories/alice/app/webhooks",
        json={"name": "two", "webhooks": [{"hook_url": "http://127.0.0.1:9/a"}]},
        headers=alice,
    )
    assert both.status_code == 201 and len(both.json()["hooks"]) == 1

    # The npm client's doubled path answers the same page.
    for path in ("/v2/repositories/alice/app/webhooks/", "/v2/repositories/alice/app/repositories/webhooks"):
        listing = client.get(path + "?page_size=100&page=1", headers=alice)
        assert listing.status_code == 200, listing.text
        assert [w["name"] for w in listing.json()["results"]] == ["ci", "two"]
        assert listing.json()["results"][0]["hooks"][0]["hook_url"] == "https://example.com/h"

    # Only repository admins see or change webhooks; signed-out callers are asked to sign in.
    assert client.get("/v2/repositories/alice/app/webhooks/", headers=bob).status_code == 403
    assert client.post("/v2/repositories/alice/app/webhooks/", json={"name": "x"}, headers=bob).status_code == 403
    assert client.get("/v2/repositories/alice/app/webhooks/").status_code == 401

    hook_id = hook.json()["id"]
    assert (
        client.delete(
            f"/v2/repositories/alice/app/webhooks/{webhook['id']}/hooks/{hook_id}/", headers=alice
        ).status_code
        == 204
    )
    assert client.delete(f"/v2/repositories/alice/app/webhooks/{webhook['id']}/", headers=alice).status_code == 204
    assert client.delete(f"/v2/repositories/alice/app/webhooks/{webhook['id']}/", headers=alice).status_code == 404
    assert client.get("/v2/repositories/alice/app/webhooks/", headers=alice).json()["count"] == 1


def test_private_repository_webhooks_are_invisible(client: TestClient) -> None:
    create_user(client, "alice")
    create_user(client, "bob")
    push(client, "alice/secret", "v1", "alice")
    set_private(client, "alice/secret")
    bob = hub_login(client, "bob")
    assert client.get("/v2/repositories/alice/secret/webhooks/", headers=bob).status_code == 404
    assert client.post("/v2/repositories/alice/secret/webhooks/", json={"name": "x"}, headers=bob).status_code == 404


def test_push_is_delivered_after_a_failed_attempt(client: TestClient) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "v1", "alice")
    alice = hub_login(client, "alice")
    client.post("/v2/repositories/alice/app/comments/", json={"comment": "nice"}, headers=alice)
    assert client.post("/v2/repositories/alice/app/stars/", json={}, headers=alice).status_code in (200, 201, 204)
    with Receiver(statuses=[500]) as hooked:
        created = client.post(
            "/v2/repositories/alice/app/webhooks/",
            json={"name": "ci", "webhooks": [{"hook_url": hooked.url}]},
            headers=alice,
        ).json()
        digest = push(client, "alice/app", "v2", "alice")
        run(client, community(client).webhooks.drain)

        assert len(hooked.requests) == 2  # the first answered 500, the retry 200
        payload = hooked.requests[-1]["body"]
        assert hooked.requests[0]["body"] == payload
        assert hooked.requests[-1]["headers"]["Content-Type"] == "application/json"
    assert set(payload) == {"callback_url", "push_data", "repository"}
    assert payload["push_data"]["tag"] == "v2" and payload["push_data"]["pusher"] == "alice"
    assert isinstance(payload["push_data"]["pushed_at"], int)
    repository = payload["repository"]
    assert repository["repo_name"] == "alice/app" and repository["namespace"] == "alice"
    assert repository["name"] == "app" and repository["owner"] == "alice" and repository["status"] == "Active"
    assert repository["comment_count"] == 1 and repository["star_count"] == 1 and repository["is_private"] is False
    assert repository["is_official"] is False and isinstance(repository["date_created"], int)
    assert {"description", "dockerfile", "full_description", "is_trusted", "repo_url", "star_count"} <= set(repository)
    assert digest

    history = deliveries(client, "alice/app", created["id"], alice)
    assert len(history) == 1
    delivery = history[0]
    assert delivery["status"] == "success" and delivery["attempts"] == 2 and delivery["response_status"] == 200
    assert delivery["delivered_at"] and delivery["callback"] is None

    # The receiver reports its verdict once, at the callback URL it was sent.
    callback = str(payload["callback_url"])
    assert callback.startswith("http://testserver/v2/webhooks/callback/")
    path = callback.removeprefix("http://testserver")
    answer = client.post(
        path,
        json={"state": "success", "description": "tests passed", "context": "ci", "target_url": "https://ci.example/1"},
    )
    assert answer.status_code == 200, answer.text
    assert client.post(path, json={"state": "failure"}).status_code == 409
    assert client.post(path[:-5] + "0000/", json={"state": "success"}).status_code == 404
    assert client.post(path, json={"state": "maybe"}).status_code == 400
    assert client.post(path[:-3] + "é/", json={"state": "success"}).status_code == 404
    recorded = deliveries(client, "alice/app", created["id"], alice)[0]["callback"]
    assert recorded["state"] == "success" and recorded["context"] == "ci"  # type: ignore[index]


def test_failed_delivery_gives_up_and_can_be_redelivered(client: TestClient) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "v1", "alice")
    alice = hub_login(client, "alice")
    with Receiver(statuses=[503, 503, 503]) as hooked:
        created = client.post(
            "/v2/repositories/alice/app/webhooks/",
            json={"name": "ci", "webhooks": [{"hook_url": hooked.url}]},
            headers=alice,
        ).json()
        push(client, "alice/app", "latest", "alice")
        run(client, community(client).webhooks.drain)
        assert len(hooked.requests) == 3  # max_attempts
        failed = deliveries(client, "alice/app", created["id"], alice)[0]
        assert failed["status"] == "failed" and failed["attempts"] == 3 and failed["response_status"] == 503

        again = client.post(
            f"/v2/repositories/alice/app/webhooks/{created['id']}/deliveries/{failed['id']}/redeliver/", headers=alice
        )
        assert again.status_code == 202 and again.json()["redelivery_of"] == failed["id"]
        run(client, community(client).webhooks.drain)
        assert len(hooked.requests) == 4
        assert hooked.requests[-1]["body"]["push_data"] == hooked.requests[0]["body"]["push_data"]
    history = deliveries(client, "alice/app", created["id"], alice)
    assert [d["status"] for d in history] == ["success", "failed"]


def test_pushes_without_a_tag_and_to_other_repositories_send_nothing(client: TestClient, receiver: Receiver) -> None:
    create_user(client, "alice")
    push(client, "alice/app", "v1", "alice")
    push(client, "alice/other", "v1", "alice")
    alice = hub_login(client, "alice")
    client.post(
        "/v2/repositories/alice/app/webhooks/",
        json={"name": "ci", "webhooks": [{"hook_url": receiver.url}]},
        headers=alice,
    )
    push(client, "alice/other", "v2", "alice")
    run(client, community(client).webhooks.drain)
    assert receiver.requests == []
