"""analytics summaries, exports and processing state

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dockyard.db.base

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("output", sa.String(length=64), nullable=False),
        sa.Column("carry", sa.Text(), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.Column("actions", sa.BigInteger(), nullable=False),
        sa.Column("classified_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_analytics_days")),
    )
    op.create_table(
        "analytics_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("timespan", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("dataview", sa.String(length=32), nullable=False),
        sa.Column("part", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.BigInteger(), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_exports")),
        sa.UniqueConstraint(
            "namespace", "timespan", "start", "dataview", "part", name=op.f("uq_analytics_exports_namespace")
        ),
    )
    with op.batch_alter_table("analytics_exports", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_exports_lookup", ["namespace", "timespan", "year", "number"], unique=False)
    op.create_table(
        "analytics_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("expires_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_analytics_leases")),
    )
    op.create_table(
        "analytics_periods",
        sa.Column("timespan", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("exported", sa.String(length=64), nullable=True),
        sa.Column("summarized_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("timespan", "start", name=op.f("pk_analytics_periods")),
    )
    op.create_table(
        "analytics_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timespan", sa.String(length=8), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("reference", sa.String(length=255), nullable=False),
        sa.Column("unique_ip_address", sa.BigInteger(), nullable=False),
        sa.Column("pull_by_tag", sa.BigInteger(), nullable=False),
        sa.Column("pull_by_digest", sa.BigInteger(), nullable=False),
        sa.Column("version_check", sa.BigInteger(), nullable=False),
        sa.Column("last_pulled", dockyard.db.base.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_summaries")),
        sa.UniqueConstraint(
            "timespan",
            "start",
            "level",
            "namespace",
            "repository",
            "reference",
            name=op.f("uq_analytics_summaries_timespan"),
        ),
    )
    with op.batch_alter_table("analytics_summaries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_analytics_summaries_lookup", ["namespace", "timespan", "level", "start"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("analytics_summaries", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_summaries_lookup")
    op.drop_table("analytics_summaries")
    op.drop_table("analytics_periods")
    op.drop_table("analytics_leases")
    with op.batch_alter_table("analytics_exports", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_exports_lookup")
    op.drop_table("analytics_exports")
    op.drop_table("analytics_days")
