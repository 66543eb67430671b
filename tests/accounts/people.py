"""Helpers for the people tests: Hub sign-in, a small cast of users and an organisation, and the audit events the
app publishes. Accounts are created through the accounts service (the admin CLI's path); everything asserted on
goes through HTTP."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from dockyard.events import AuditEvent
from tests.conftest import ADMIN_PASSWORD
from tests.registry.helpers import PASSWORD, create_org, create_user, services, set_member

__all__ = ["PASSWORD", "audit_log", "hub", "org_with_members", "page"]


def hub(
    client: TestClient, username: str = "admin", password: str | None = None, scheme: str = "Bearer"
) -> dict[str, str]:
    """Hub API headers for a signed-in user."""
    secret = password or (ADMIN_PASSWORD if username == "admin" else PASSWORD)
    response = client.post("/v2/users/login", json={"username": username, "password": secret})
    assert response.status_code == 200, response.text
    return {"Authorization": f"{scheme} {response.json()['token']}"}


def audit_log(client: TestClient) -> list[AuditEvent]:
    """Every audit event the app publishes from now on."""
    events: list[AuditEvent] = []
    services(client).bus.subscribe(AuditEvent, events.append)
    return events


def org_with_members(client: TestClient, org: str = "acme") -> dict[str, dict[str, str]]:
    """`org` owned by "owner", with "editor" and "member" in their roles and "outsider" outside; their headers."""
    for name in ("owner", "editor", "member", "outsider"):
        create_user(client, name)
    create_org(client, org, "owner")
    set_member(client, org, "editor", "editor")
    set_member(client, org, "member", "member")
    return {name: hub(client, name) for name in ("owner", "editor", "member", "outsider")}


def page(response: Any) -> dict[str, Any]:
    """A successful DRF page."""
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"count", "next", "previous", "results"}, body
    return body
