"""Shared fixtures: a fresh, migrated database per test (SQLite by default, PostgreSQL when
DOCKYARD_TEST_DATABASE_URL names a server), settings pointing at it, and an in-process client.

PostgreSQL databases are cloned from a template migrated once per worker, which is far faster than migrating
every test's database; SQLite files are copied from a migrated template the same way.
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from dockyard.accounts import twofactor
from dockyard.app import create_app
from dockyard.config import Settings
from dockyard.db.migrate import upgrade

ADMIN_PASSWORD = "adminpass123"
POSTGRES_URL = os.environ.get("DOCKYARD_TEST_DATABASE_URL", "")


def _pg_admin(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    parsed = make_url(url).set(drivername="postgresql")
    return psycopg.connect(parsed.render_as_string(hide_password=False), autocommit=True)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> str:
    """A migrated database to clone: a SQLite file path, or a PostgreSQL database name."""
    if POSTGRES_URL:
        name = f"dockyard_template_{worker_id}"
        with _pg_admin(POSTGRES_URL) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        upgrade(make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False))
        return name
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture
def database_url(database_template: str, tmp_path: Path) -> Iterator[str]:
    if POSTGRES_URL:
        name = f"dockyard_test_{uuid.uuid4().hex[:12]}"
        with _pg_admin(POSTGRES_URL) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_template}"')
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        with _pg_admin(POSTGRES_URL) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    path = tmp_path / "dockyard.db"
    shutil.copyfile(database_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=database_url,
        admin_password=ADMIN_PASSWORD,
        public_url="http://testserver",
        gc_interval_seconds=0,
        fsync=False,
    )


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def bearer(
    client: TestClient, scope: str | None, username: str | None = "admin", password: str = ADMIN_PASSWORD
) -> dict[str, str]:
    """A registry bearer token from /token for `scope` (anonymous when username is None)."""
    params = {"service": "dockyard"}
    if scope:
        params["scope"] = scope
    headers = basic(username, password) if username else {}
    response = client.get("/token", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


NOW = 1_800_000_000.0  # a TOTP step boundary: 1_800_000_000 / 30 is whole


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """Pin the server's TOTP clock at NOW; returns a function that moves it."""
    state = {"now": NOW}
    monkeypatch.setattr(twofactor, "current_time", lambda: state["now"])

    def move(to: float) -> None:
        state["now"] = to

    return move
