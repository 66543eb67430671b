"""Helpers for the community tests (comments, webhooks, builds, audit log, v1): accounts, Hub logins, pushes,
and a webhook receiver we start ourselves on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from starlette.testclient import TestClient

from dockyard.hub.community import Community
from tests.conftest import ADMIN_PASSWORD
from tests.registry.helpers import (
    PASSWORD,
    auth_for,
    cheap_password_hashing,
    create_org,
    create_user,
    in_app,
    push_image,
    set_member,
    set_private,
)

T = TypeVar("T")

__all__ = [
    "PASSWORD",
    "Receiver",
    "community",
    "create_org",
    "create_user",
    "fast_passwords",
    "hub_login",
    "push",
    "receiver",
    "run",
    "set_member",
    "set_private",
]


@pytest.fixture(autouse=True)
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap_password_hashing(monkeypatch)


def hub_login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Authorization headers with a Hub JWT, in the npm client's `JWT` form."""
    response = client.post("/v2/users/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"JWT {response.json()['token']}"}


def push(client: TestClient, repo: str, tag: str, username: str = "admin", seed: str = "") -> str:
    """Push a small image to `repo:tag` as `username`; returns the manifest digest."""
    password = ADMIN_PASSWORD if username == "admin" else PASSWORD
    headers = auth_for(client, repo, "pull,push,delete", username, password)
    _, digest = push_image(client, repo, tag, headers, seed=seed or f"{repo}:{tag}")
    return digest


def community(client: TestClient) -> Community:
    found: Community = client.app.state.community  # type: ignore[attr-defined]
    return found


def run(client: TestClient, work: Callable[[], Any]) -> Any:
    """Run a coroutine function on the app's event loop."""
    return in_app(client, work)


class Receiver:
    """A webhook receiver: records each POST; answers with the next status from `statuses` (then 200)."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with outer.lock:
                    outer.requests.append(
                        {"path": self.path, "headers": dict(self.headers), "body": json.loads(body or b"null")}
                    )
                    status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hook"

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as found:
        yield found
