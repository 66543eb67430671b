"""teams, collaborators and invites

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import dockyard.db.base

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing accounts get their public UUID before the column becomes required and unique.
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("uuid", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("location", sa.String(length=255), server_default="", nullable=False))
        batch_op.add_column(sa.Column("company", sa.String(length=255), server_default="", nullable=False))
        batch_op.add_column(sa.Column("profile_url", sa.String(length=255), server_default="", nullable=False))
        batch_op.add_column(sa.Column("gravatar_email", sa.String(length=320), server_default="", nullable=False))
    accounts = sa.table("accounts", sa.column("id", sa.Integer()), sa.column("uuid", sa.String()))
    connection = op.get_bind()
    for (account_id,) in connection.execute(sa.select(accounts.c.id)).all():
        connection.execute(accounts.update().where(accounts.c.id == account_id).values(uuid=uuid.uuid4().hex))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.alter_column("uuid", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_accounts_uuid"), ["uuid"])

    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["accounts.id"], name=op.f("fk_teams_org_id_accounts"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_teams_org_id")),
        sa.UniqueConstraint("uuid", name=op.f("uq_teams_uuid")),
    )
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_teams_org_id"), ["org_id"], unique=False)

    op.create_table(
        "collaborators",
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("permission", sa.String(length=8), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_collaborators_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts.id"], name=op.f("fk_collaborators_user_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("repository_id", "user_id", name=op.f("pk_collaborators")),
    )
    with op.batch_alter_table("collaborators", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_collaborators_user_id"), ["user_id"], unique=False)

    op.create_table(
        "invites",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("invitee_id", sa.Integer(), nullable=False),
        sa.Column("inviter_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitee_id"], ["accounts.id"], name=op.f("fk_invites_invitee_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inviter_id"], ["accounts.id"], name=op.f("fk_invites_inviter_id_accounts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["accounts.id"], name=op.f("fk_invites_org_id_accounts"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_invites_team_id_teams"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("org_id", "invitee_id", name=op.f("uq_invites_org_id")),
    )
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.create_index("ix_invites_invitee", ["invitee_id"], unique=False)

    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_members_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["accounts.id"], name=op.f("fk_team_members_user_id_accounts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_members_user_id"), ["user_id"], unique=False)

    op.create_table(
        "team_permissions",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("permission", sa.String(length=8), nullable=False),
        sa.Column("created_at", dockyard.db.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repository_id"],
            ["repositories.id"],
            name=op.f("fk_team_permissions_repository_id_repositories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_team_permissions_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "repository_id", name=op.f("pk_team_permissions")),
    )
    with op.batch_alter_table("team_permissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_team_permissions_repository_id"), ["repository_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("team_permissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_permissions_repository_id"))
    op.drop_table("team_permissions")
    with op.batch_alter_table("team_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_team_members_user_id"))
    op.drop_table("team_members")
    with op.batch_alter_table("invites", schema=None) as batch_op:
        batch_op.drop_index("ix_invites_invitee")
    op.drop_table("invites")
    with op.batch_alter_table("collaborators", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_collaborators_user_id"))
    op.drop_table("collaborators")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_teams_org_id"))
    op.drop_table("teams")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_accounts_uuid"), type_="unique")
        batch_op.drop_column("gravatar_email")
        batch_op.drop_column("profile_url")
        batch_op.drop_column("company")
        batch_op.drop_column("location")
        batch_op.drop_column("uuid")
