"""Accounts fixtures: an async session on the per-test database from tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db import Database
from tests.registry.helpers import cheap_password_hashing


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def fast_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its lowest cost (see tests/registry/conftest.py)."""
    cheap_password_hashing(monkeypatch)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    """One write transaction for the whole test, committed at the end (each test has its own database)."""
    async with db.writer() as session:
        yield session
