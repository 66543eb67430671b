"""Database.first() and Database.write(): the registry's hot statements give the same answers on every backend,
and on SQLite a held write lock sends them the ordinary way (they wait for it) instead of failing or blocking the
event loop."""

from __future__ import annotations

import sqlite3
import threading
import time

import anyio
import pytest
from sqlalchemy import make_url
from sqlalchemy.exc import IntegrityError
from starlette.testclient import TestClient

from dockyard.config import Settings
from dockyard.db import Database
from dockyard.db.base import utcnow
from dockyard.registry.store import (
    blob_lookup,
    repository_lookup,
    upload_delete,
    upload_insert,
    upload_lookup,
    upload_touch,
)
from tests.registry.helpers import auth_for, push_blob


def test_lookups_and_writes(client: TestClient, settings: Settings) -> None:
    digest = push_blob(client, "admin/app", b"layer", auth_for(client, "admin/app"))

    async def main() -> None:
        db = Database(settings.resolved_database_url)
        try:
            repository = await db.first(repository_lookup("admin/app"))
            assert repository is not None
            assert await db.first(repository_lookup("admin/none")) is None
            found = await db.first(blob_lookup("admin/app", digest))
            assert found is not None and (found.digest, found.size) == (digest, 5)
            assert await db.first(blob_lookup("admin/none", digest)) is None
            await db.write(upload_insert(repository.id, "u1", utcnow()), upload_touch("u1", utcnow()))
            assert await db.first(upload_lookup("admin/app", "u1")) is not None
            assert await db.first(upload_lookup("admin/none", "u1")) is None
            with pytest.raises(IntegrityError):  # nothing of a failed transaction stays
                now = utcnow()
                await db.write(upload_insert(repository.id, "u2", now), upload_insert(repository.id, "u1", now))
            assert await db.first(upload_lookup("admin/app", "u2")) is None
            await db.write(upload_delete("u1"))
            assert await db.first(upload_lookup("admin/app", "u1")) is None
        finally:
            await db.dispose()

    anyio.run(main)


def test_a_held_sqlite_lock_is_waited_for_off_the_loop(client: TestClient, settings: Settings) -> None:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite":
        return
    push_blob(client, "admin/locked", b"layer", auth_for(client, "admin/locked"))
    holder = sqlite3.connect(str(url.database), isolation_level=None, check_same_thread=False)
    released = threading.Event()

    def release_later() -> None:
        time.sleep(0.3)
        holder.execute("COMMIT")
        released.set()

    async def main() -> None:
        db = Database(settings.resolved_database_url)
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while not released.is_set():
                ticks += 1
                await anyio.sleep(0.01)

        try:
            repository = await db.first(repository_lookup("admin/locked"))
            assert repository is not None
            holder.execute("BEGIN IMMEDIATE")
            threading.Thread(target=release_later).start()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(tick)
                await db.write(upload_insert(repository.id, "u1", utcnow()))
            assert ticks >= 10, "the event loop was blocked while another connection held the lock"
            assert await db.first(upload_lookup("admin/locked", "u1")) is not None
        finally:
            await db.dispose()

    anyio.run(main)
    holder.close()
