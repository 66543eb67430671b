"""Engines and sessions.

SQLite allows one writer at a time, and a deferred transaction that reads and then writes can fail at once with
"database is locked" instead of waiting. So writes open with BEGIN IMMEDIATE (they queue on the busy timeout) while
reads use an ordinary deferred transaction and never block behind writers in WAL mode. PostgreSQL needs neither
trick, and both context managers behave the same there.

`first()` and `write()` are for the registry's hot statements. Through aiosqlite every statement costs several
thread hops, about a millisecond of CPU on this kind of machine, while an indexed SQLite lookup or a one-row
write takes microseconds (a WAL commit with synchronous=NORMAL hands pages to the OS, no fsync). So on SQLite
they run right on the event loop, on connections that never wait for a lock: when one is held, they take the
ordinary path and wait off the loop. Those connections never checkpoint (that fsyncs); the pooled writers do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Engine, Executable, Row, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine


def async_url(url: str) -> str:
    """The async-driver form of a database URL (psycopg 3 and aiosqlite)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database: {backend} (use sqlite:// or postgresql://)")


def sync_url(url: str) -> str:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database: {backend} (use sqlite:// or postgresql://)")


def _sqlite_engine(url: str, begin: str) -> AsyncEngine:
    engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=8, max_overflow=8)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the driver so the "begin" hook below decides how to begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)

    return engine


def _inline_sqlite_engine(url: str, *, writes: bool) -> Engine:
    # Used on the event loop's thread only, one statement or short transaction at a time: one connection does.
    engine = create_engine(url, connect_args={"timeout": 0, "check_same_thread": False}, pool_size=1, max_overflow=0)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in ("foreign_keys=ON", "synchronous=NORMAL", "wal_autocheckpoint=0", f"query_only={not writes}"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    if writes:  # a read is one statement, its own transaction in autocommit mode

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Database:
    """Owns the engines; hands out sessions whose transaction the caller's boundary commits."""

    def __init__(self, url: str) -> None:
        self.url = url
        aurl = async_url(url)
        self.is_sqlite = make_url(url).get_backend_name() == "sqlite"
        self.inline_reader: Engine | None = None
        self.inline_writer: Engine | None = None
        if self.is_sqlite:
            self.read_engine = _sqlite_engine(aurl, "BEGIN")
            self.write_engine = _sqlite_engine(aurl, "BEGIN IMMEDIATE")
            self.inline_reader = _inline_sqlite_engine(sync_url(url), writes=False)
            self.inline_writer = _inline_sqlite_engine(sync_url(url), writes=True)
        else:
            self.read_engine = self.write_engine = create_async_engine(
                aurl, pool_size=10, max_overflow=20, pool_pre_ping=True
            )
        self._reader = async_sessionmaker(self.read_engine, expire_on_commit=False)
        self._writer = async_sessionmaker(self.write_engine, expire_on_commit=False)

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[AsyncSession]:
        async with self._reader() as session:
            yield session

    @asynccontextmanager
    async def writer(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: committed when the block ends normally, rolled back on any exception."""
        async with self._writer() as session, session.begin():
            yield session

    async def first(self, statement: Executable) -> Row[Any] | None:
        """The first row of a read-only statement: a quick indexed lookup, never a scan."""
        if self.inline_reader is not None:
            try:
                with self.inline_reader.connect() as connection:
                    return connection.execute(statement).first()
            except OperationalError:
                pass  # locked for a moment: wait for it off the event loop
        async with self.reader() as session:
            return (await session.execute(statement)).first()

    async def write(self, *statements: Executable) -> None:
        """Run a few one-row write statements in one transaction."""
        if self.inline_writer is not None:
            try:
                with self.inline_writer.begin() as connection:
                    for statement in statements:
                        connection.execute(statement)
                return
            except OperationalError:
                pass  # another writer holds the lock (the transaction rolled back): queue for it off the loop
        async with self.writer() as session:
            for statement in statements:
                await session.execute(statement)

    async def dispose(self) -> None:
        for inline in (self.inline_reader, self.inline_writer):
            if inline is not None:
                inline.dispose()
        await self.read_engine.dispose()
        if self.write_engine is not self.read_engine:
            await self.write_engine.dispose()
