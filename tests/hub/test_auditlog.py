"""The audit log: tag pushes and deletes from the registry and AuditEvents from other domains are buffered,
written in batches and read back through `/v2/auditlogs/{account}`, only by those allowed to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from starlette.testclient import TestClient

from dockyard.events import AuditEvent
from tests.conftest import basic
from tests.hub.community import (
    PASSWORD,
    community,
    create_org,
    create_user,
    fast_passwords,
    hub_login,
    push,
    run,
    set_member,
)
from tests.registry.helpers import auth_for, services

__all__ = ["fast_passwords"]


def flush(client: TestClient) -> None:
    run(client, community(client).audit.flush)


def test_push_tag_delete_and_repository_delete_are_logged(client: TestClient) -> None:
    create_user(client, "alice")
    digest = push(client, "alice/app", "v1", "alice")
    headers = auth_for(client, "alice/app", "pull,push,delete", "alice", PASSWORD)
    assert client.delete("/v2/alice/app/manifests/v1", headers=headers).status_code == 202
    assert client.delete("/v1/repositories/alice/app/", headers=basic("alice", PASSWORD)).status_code == 202
    flush(client)

    alice = hub_login(client, "alice")
    response = client.get("/v2/auditlogs/alice", headers=alice)
    assert response.status_code == 200, response.text
    logs = response.json()["logs"]
    assert [entry["action"] for entry in logs] == ["repo.delete", "repo.tag.delete", "repo.tag.push"]
    pushed = logs[-1]
    assert set(pushed) == {"account", "action", "name", "actor", "data", "timestamp", "action_description"}
    assert pushed["account"] == "alice" and pushed["name"] == "alice/app" and pushed["actor"] == "alice"
    assert pushed["data"] == {"tag": "v1", "digest": digest, "media_type": "application/vnd.oci.image.manifest.v1+json"}
    assert "v1" in pushed["action_description"] and pushed["timestamp"].endswith("Z")

    # Filters: action, actor, name, and a time window.
    only = client.get("/v2/auditlogs/alice/?action=repo.tag.push", headers=alice).json()["logs"]
    assert [entry["action"] for entry in only] == ["repo.tag.push"]
    assert client.get("/v2/auditlogs/alice?actor=nobody", headers=alice).json()["logs"] == []
    assert len(client.get("/v2/auditlogs/alice?name=alice/app", headers=alice).json()["logs"]) == 3
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert client.get("/v2/auditlogs/alice", params={"from": later}, headers=alice).json()["logs"] == []
    paged = client.get("/v2/auditlogs/alice?page_size=1&page=2", headers=alice).json()["logs"]
    assert [entry["action"] for entry in paged] == ["repo.tag.delete"]
    assert client.get("/v2/auditlogs/alice?from=yesterday", headers=alice).status_code == 400


def test_audit_events_from_other_domains_and_who_may_read(client: TestClient) -> None:
    for name in ("alice", "bob", "carol"):
        create_user(client, name)
    create_org(client, "acme", "alice")
    set_member(client, "acme", "bob", "member")
    event = AuditEvent("acme", "alice", "org.member.add", "bob", {"role": "member"}, datetime.now(UTC))
    services(client).bus.publish(event)
    flush(client)

    entries = client.get("/v2/auditlogs/acme", headers=hub_login(client, "alice")).json()["logs"]
    assert entries[0]["action"] == "org.member.add" and entries[0]["data"] == {"role": "member"}
    admin = client.post("/v2/users/login", json={"username": "admin", "password": "adminpass123"}).json()["token"]
    assert client.get("/v2/auditlogs/acme", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
    # A member who is not an owner, a stranger and an unknown account all get 404; signed-out callers 401.
    assert client.get("/v2/auditlogs/acme", headers=hub_login(client, "bob")).status_code == 404
    assert client.get("/v2/auditlogs/alice", headers=hub_login(client, "carol")).status_code == 404
    assert client.get("/v2/auditlogs/nobody", headers=hub_login(client, "carol")).status_code == 404
    assert client.get("/v2/auditlogs/acme").status_code == 401


def test_actions_catalogue(client: TestClient) -> None:
    create_user(client, "alice")
    response = client.get("/v2/auditlogs/alice/actions", headers=hub_login(client, "alice"))
    assert response.status_code == 200
    groups = response.json()["actions"]
    assert {"org", "repo"} <= set(groups)
    names = {action["name"] for action in groups["repo"]["actions"]}
    assert {"repo.create", "repo.delete", "repo.change_privacy", "repo.tag.push", "repo.tag.delete"} <= names
    assert all(set(action) == {"name", "description", "label"} for action in groups["org"]["actions"])
    assert "org.member.add" in {action["name"] for action in groups["org"]["actions"]}


def test_buffer_is_written_at_shutdown(settings: object) -> None:
    from dockyard.app import create_app

    with TestClient(create_app(settings)) as first:  # type: ignore[arg-type]
        create_user(first, "alice")
        push(first, "alice/app", "v1", "alice")
    with TestClient(create_app(settings)) as second:  # type: ignore[arg-type]
        logs = second.get("/v2/auditlogs/alice", headers=hub_login(second, "alice")).json()["logs"]
        assert [entry["action"] for entry in logs] == ["repo.tag.push"]
