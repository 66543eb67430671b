"""repository settings, tag history, pull statistics

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dockyard.db.base

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("immutable_tags", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("immutable_tags_rules", sa.Text(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("pull_count", sa.BigInteger(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_pulled_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("manifests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pushed_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_pulled_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=True))

    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_pulled_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=True))

    op.create_table(
        "tag_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=160), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("pushed_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_tag_history_account_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_tag_history_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tag_history")),
    )
    with op.batch_alter_table("tag_history", schema=None) as batch_op:
        batch_op.create_index("ix_tag_history_digest", ["repository_id", "digest"], unique=False)
        batch_op.create_index("ix_tag_history_tag", ["repository_id", "tag"], unique=False)

    op.create_table(
        "stars",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_stars_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["repository_id"], ["repositories.id"], name=op.f("fk_stars_repository_id_repositories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", "repository_id", name=op.f("pk_stars")),
    )
    with op.batch_alter_table("stars", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stars_repository_id"), ["repository_id"], unique=False)

    op.create_table(
        "registry_settings",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("private_repo_limit", sa.Integer(), nullable=True),
        sa.Column("updated_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_registry_settings_account_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_registry_settings")),
    )


def downgrade() -> None:
    op.drop_table("registry_settings")
    with op.batch_alter_table("stars", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stars_repository_id"))
    op.drop_table("stars")
    with op.batch_alter_table("tag_history", schema=None) as batch_op:
        batch_op.drop_index("ix_tag_history_tag")
        batch_op.drop_index("ix_tag_history_digest")
    op.drop_table("tag_history")
    with op.batch_alter_table("tags", schema=None) as batch_op:
        batch_op.drop_column("last_pulled_at")
    with op.batch_alter_table("manifests", schema=None) as batch_op:
        batch_op.drop_column("last_pulled_at")
        batch_op.drop_column("pushed_at")
    with op.batch_alter_table("repositories", schema=None) as batch_op:
        batch_op.drop_column("last_pulled_at")
        batch_op.drop_column("pull_count")
        batch_op.drop_column("immutable_tags_rules")
        batch_op.drop_column("immutable_tags")
