"""Fixtures for end-to-end tests: the real `dockyard serve` on 127.0.0.1, isolated real clients, HTTP helpers.

A module shares one server (`server`) when its tests use distinct repositories; tests that kill, restart or
reconfigure a server take their own from `server_factory`. Either way the database is a fresh clone of the
migrated template that tests/conftest.py prepares (SQLite, or PostgreSQL when DOCKYARD_TEST_DATABASE_URL is set).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import ADMIN_PASSWORD, POSTGRES_URL, _pg_admin
from tests.support.clients import ContainerTools, RegistryHTTP
from tests.support.server import DockyardServer

ADMIN = "admin"
ADMIN_CREDS = f"{ADMIN}:{ADMIN_PASSWORD}"
# The shared server does not crash, so its blobs need no fsync.
FAST = {"DOCKYARD_FSYNC": "false"}


@pytest.fixture(scope="module")
def module_database_url(database_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Like `database_url`, but one database for a whole module (for a server the module's tests share)."""
    if POSTGRES_URL:
        name = f"dockyard_e2e_{uuid.uuid4().hex[:12]}"
        with _pg_admin(POSTGRES_URL) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_template}"')
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
        with _pg_admin(POSTGRES_URL) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    path = tmp_path_factory.mktemp("db") / "dockyard.db"
    shutil.copyfile(database_template, path)
    yield f"sqlite:///{path}"


@pytest.fixture(scope="module")
def server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DockyardServer]:
    """A running server shared by the tests of one module (admin password: tests.conftest.ADMIN_PASSWORD)."""
    root = tmp_path_factory.mktemp("server")
    running = DockyardServer(root / "data", module_database_url, admin_password=ADMIN_PASSWORD, settings=FAST)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def server_factory(database_url: str, tmp_path: Path) -> Iterator[Callable[..., DockyardServer]]:
    """Make servers of the test's own (started unless start=False; stopped at the end). The first one uses the
    test's `database_url`; pass `database_url=` to share it between servers, or `data_dir=` to reuse a data dir."""
    made: list[DockyardServer] = []

    def make(
        *,
        start: bool = True,
        data_dir: Path | None = None,
        database_url: str = database_url,
        admin_password: str | None = ADMIN_PASSWORD,
        settings: dict[str, str | None] | None = None,
        **kwargs: Any,
    ) -> DockyardServer:
        directory = data_dir or tmp_path / f"server{len(made)}" / "data"
        created = DockyardServer(directory, database_url, admin_password=admin_password, settings=settings, **kwargs)
        made.append(created)
        if start:
            created.start()
        return created

    yield make
    for created in made:
        created.stop()


@pytest.fixture(scope="module")
def tools(tmp_path_factory: pytest.TempPathFactory) -> ContainerTools:
    """skopeo, buildah and podman with all their configuration and storage in a temporary directory."""
    return ContainerTools(tmp_path_factory.mktemp("tools"))


@pytest.fixture
def admin_http(server: DockyardServer) -> Iterator[RegistryHTTP]:
    http = RegistryHTTP(server.base_url, ADMIN, ADMIN_PASSWORD)
    yield http
    http.close()


@pytest.fixture
def unique() -> str:
    """A short suffix for repository names, so tests on a shared server never collide."""
    return uuid.uuid4().hex[:8]
