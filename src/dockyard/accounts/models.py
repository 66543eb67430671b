"""Accounts tables. Users and organisations share one table because they share one namespace of names."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow

USER = "user"
ORGANIZATION = "org"


def _new_uuid() -> str:
    return uuid.uuid4().hex


class Account(Base):
    """A user or an organisation; its name is also its namespace."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    full_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The Hub API's public identifier (a 32-character hex UUID, as Docker Hub's), never the row id.
    uuid: Mapped[str] = mapped_column(String(32), unique=True, default=_new_uuid)
    location: Mapped[str] = mapped_column(String(255), default="", server_default="")
    company: Mapped[str] = mapped_column(String(255), default="", server_default="")
    profile_url: Mapped[str] = mapped_column(String(255), default="", server_default="")
    gravatar_email: Mapped[str] = mapped_column(String(320), default="", server_default="")

    @property
    def is_org(self) -> bool:
        return self.kind == ORGANIZATION


class Membership(Base):
    """A user's role in an organisation: owner, editor or member."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
