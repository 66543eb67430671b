"""the Hub's pull numbers come from the analytics pipeline

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

The live counts are cleared rather than kept: they counted manifest GETs (one per platform of a multi-platform
pull), the pipeline counts pull actions. Every month is left to be applied (`hub_synced` is null), so the next
analytics job sets every repository's numbers from the whole history.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dockyard.db.base

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_digest_pulls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("namespace", sa.String(length=255), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=160), nullable=False),
        sa.Column("last_pulled", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_analytics_digest_pulls")),
        sa.UniqueConstraint("start", "namespace", "repository", "digest", name=op.f("uq_analytics_digest_pulls_start")),
    )
    with op.batch_alter_table("analytics_digest_pulls", schema=None) as batch_op:
        batch_op.create_index("ix_analytics_digest_pulls_repository", ["namespace", "repository"], unique=False)
    with op.batch_alter_table("analytics_periods", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hub_synced", sa.String(length=64), nullable=True))
    op.execute("UPDATE repositories SET pull_count = 0, last_pulled_at = NULL")
    op.execute("UPDATE manifests SET last_pulled_at = NULL")
    op.execute("UPDATE tags SET last_pulled_at = NULL")


def downgrade() -> None:
    with op.batch_alter_table("analytics_periods", schema=None) as batch_op:
        batch_op.drop_column("hub_synced")
    with op.batch_alter_table("analytics_digest_pulls", schema=None) as batch_op:
        batch_op.drop_index("ix_analytics_digest_pulls_repository")
    op.drop_table("analytics_digest_pulls")
