"""Tables for sharing: organisation teams and their members, per-repository grants (to teams and to
collaborators on personal repositories) and pending invitations to join an organisation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow

# Repository permissions as the Hub API spells them, lowest first.
READ = "read"
WRITE = "write"
ADMIN = "admin"
REPOSITORY_PERMISSIONS = (READ, WRITE, ADMIN)


def _uuid() -> str:
    return str(uuid.uuid4())


class Team(Base):
    """A group of an organisation's members ("group" in the Hub API)."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    description: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TeamMember(Base):
    __tablename__ = "team_members"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TeamPermission(Base):
    """What a team may do on one of its organisation's repositories."""

    __tablename__ = "team_permissions"

    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    permission: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Collaborator(Base):
    """A user granted access to someone else's personal repository."""

    __tablename__ = "collaborators"

    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True)
    permission: Mapped[str] = mapped_column(String(8), default=WRITE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invite(Base):
    """A pending invitation of an existing user to an organisation (and optionally one of its teams).
    Accepting, declining or cancelling deletes it; there is one per user and organisation."""

    __tablename__ = "invites"
    __table_args__ = (UniqueConstraint("org_id", "invitee_id"), Index("ix_invites_invitee", "invitee_id"))

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    invitee_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    inviter_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
