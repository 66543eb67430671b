"""The Alembic revisions and the SQLAlchemy models describe the same schema, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from dockyard.db.engine import sync_url
from dockyard.db.migrate import alembic_config
from dockyard.db.models import Base


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_downgrade_to_base_and_back(database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "base")
    engine = create_engine(sync_url(database_url))
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert {"accounts", "repositories", "manifests", "tags", "blobs"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
