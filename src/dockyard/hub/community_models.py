"""Tables of the community features: comments, webhooks and their deliveries, automated builds, the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow


class Comment(Base):
    __tablename__ = "repository_comments"
    __table_args__ = (Index("ix_repository_comments_repository", "repository_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Webhook(Base):
    """A named group of hook URLs that a repository's tag pushes are posted to."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    expect_final_callback: Mapped[bool] = mapped_column(Boolean, default=True)
    creator: Mapped[str] = mapped_column(String(255), default="")
    last_updater: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookHook(Base):
    __tablename__ = "webhook_hooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    hook_url: Mapped[str] = mapped_column(String(2048))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    creator: Mapped[str] = mapped_column(String(255), default="")
    last_updater: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """One payload for one hook URL: the durable outbox row and, once sent, its history entry."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"), index=True)
    hook_id: Mapped[int] = mapped_column(ForeignKey("webhook_hooks.id", ondelete="CASCADE"), index=True)
    hook_url: Mapped[str] = mapped_column(String(2048))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    response_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    redelivery_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    callback_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    callback_description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    callback_context: Mapped[str | None] = mapped_column(String(255), nullable=True)
    callback_target_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    callback_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AutoBuild(Base):
    """A repository's automated-build configuration: where its source lives and its build trigger."""

    __tablename__ = "autobuilds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), unique=True)
    provider: Mapped[str] = mapped_column(String(32), default="git")
    build_name: Mapped[str] = mapped_column(String(255), default="")
    source_url: Mapped[str] = mapped_column(String(2048))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    creator: Mapped[str] = mapped_column(String(255), default="")
    # The trigger token is derived from this nonce and the server secret, so the token itself is never stored.
    trigger_nonce: Mapped[str] = mapped_column(String(64))
    trigger_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BuildTag(Base):
    """A build rule: which branch or tag to build, from which Dockerfile, into which image tag."""

    __tablename__ = "build_tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    dockerfile_location: Mapped[str] = mapped_column(String(1024), default="/")
    source_type: Mapped[str] = mapped_column(String(16), default="Branch")
    source_name: Mapped[str] = mapped_column(String(255), default="master")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BuildLink(Base):
    """`from_repository` is rebuilt whenever a tag is pushed to `to_repository`."""

    __tablename__ = "build_links"
    __table_args__ = (UniqueConstraint("from_repository_id", "to_repository_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    to_repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BuildTriggerEvent(Base):
    __tablename__ = "build_trigger_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    ip_address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(512), default="")
    request_body: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str] = mapped_column(String(32))
    result_desc: Mapped[str] = mapped_column(String(255))
    build_codes: Mapped[str] = mapped_column(String(1024), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Build(Base):
    __tablename__ = "builds"
    __table_args__ = (Index("ix_builds_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    build_code: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[int] = mapped_column(Integer, default=0)
    docker_tag: Mapped[str] = mapped_column(String(128))
    source_type: Mapped[str] = mapped_column(String(16))
    source_name: Mapped[str] = mapped_column(String(255))
    source_url: Mapped[str] = mapped_column(String(2048))
    dockerfile_location: Mapped[str] = mapped_column(String(1024))
    cause: Mapped[str] = mapped_column(String(32))
    # Repository paths whose pushes led to this build, so links that form a cycle stop instead of looping.
    chain: Mapped[str] = mapped_column(Text, default="[]")
    requested_by: Mapped[str] = mapped_column(String(255), default="")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    logs: Mapped[str] = mapped_column(Text, default="")
    dockerfile_contents: Mapped[str] = mapped_column(Text, default="")
    digest: Mapped[str | None] = mapped_column(String(160), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    cloned_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AuditLog(Base):
    """One audit-log entry. `account` is a name rather than a key: the log outlives what it describes."""

    __tablename__ = "audit_logs"
    __table_args__ = (Index("ix_audit_logs_account_time", "account", "timestamp"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(512))
    actor: Mapped[str | None] = mapped_column(String(255), nullable=True)
    data: Mapped[str] = mapped_column(Text, default="{}")
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
