"""Helpers for the sign-in, token and second-factor tests: everything they assert on goes through HTTP."""

from __future__ import annotations

from typing import Any

import pyotp
from starlette.testclient import TestClient

from dockyard.events import AuditEvent
from tests.conftest import ADMIN_PASSWORD, NOW
from tests.registry.helpers import PASSWORD, services


def login(client: TestClient, username: str = "admin", password: str = ADMIN_PASSWORD) -> str:
    response = client.post("/v2/users/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def hub(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_session(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    return hub(login(client, username, password))


def create_pat(client: TestClient, headers: dict[str, str], label: str = "ci", **extra: Any) -> dict[str, Any]:
    response = client.post("/v2/access-tokens", json={"token_label": label, **extra}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def audit_events(client: TestClient) -> list[AuditEvent]:
    """Every AuditEvent published from now on, in order."""
    seen: list[AuditEvent] = []
    services(client).bus.subscribe(AuditEvent, seen.append)
    return seen


def enrol_totp(client: TestClient, username: str) -> tuple[pyotp.TOTP, list[str]]:
    """Turn on TOTP for `username` (confirmed with the code of the step before NOW); the recovery codes."""
    session = user_session(client, username)
    totp = pyotp.TOTP(client.post("/v2/user/2fa/totp", headers=session).json()["secret"])
    response = client.post("/v2/user/2fa/totp/confirm", json={"code": totp.at(NOW - 30)}, headers=session)
    assert response.status_code == 200, response.text
    return totp, response.json()["recovery_codes"]
