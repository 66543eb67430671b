"""Registry tables: repositories and the content-addressed things they hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.db.base import Base, UTCDateTime, utcnow


class Repository(Base):
    __tablename__ = "repositories"
    __table_args__ = (UniqueConstraint("namespace_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    # The full path ("ns/name") is what the registry routes on; it is kept denormalised for one-index lookups.
    path: Mapped[str] = mapped_column(String(512), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str] = mapped_column(String(100), default="")
    full_description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Immutable tags: a push may not move an existing tag that fully matches one of these regular expressions.
    immutable_tags: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    immutable_tags_rules: Mapped[str] = mapped_column(Text, default="[]", server_default="[]")  # JSON list
    # Pull statistics: totals set by whoever counts pulls (the analytics job), never on the pull path.
    pull_count: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    last_pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Blob(Base):
    """A verified, stored blob. Its bytes live in blob storage under the digest."""

    __tablename__ = "blobs"

    digest: Mapped[str] = mapped_column(String(160), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Touched whenever a manifest starts to reference the blob, so garbage collection leaves it alone.
    referenced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RepositoryBlob(Base):
    """A blob is readable through a repository only once it was uploaded to or mounted into it."""

    __tablename__ = "repository_blobs"

    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(ForeignKey("blobs.digest", ondelete="CASCADE"), primary_key=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Manifest(Base):
    __tablename__ = "manifests"
    __table_args__ = (
        UniqueConstraint("repository_id", "digest"),
        Index("ix_manifests_subject", "repository_id", "subject_digest"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(160))
    media_type: Mapped[str] = mapped_column(String(255))
    artifact_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    subject_digest: Mapped[str | None] = mapped_column(String(160), nullable=True)
    annotations: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The last push of these exact bytes (null: only the first one, at created_at) and the last pull.
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ManifestReference(Base):
    """What a manifest points to: its config and layers (blobs) or, for an index, its child manifests."""

    __tablename__ = "manifest_references"

    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifests.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(160), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)  # "blob" or "manifest"
    platform: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON, for an index's children

    __table_args__ = (Index("ix_manifest_references_digest", "digest"),)


class Tag(Base):
    __tablename__ = "tags"
    __table_args__ = (UniqueConstraint("repository_id", "name"), Index("ix_tags_manifest", "manifest_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128))
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifests.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_pulled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TagHistory(Base):
    """Each time a tag came to point at a manifest (pushed new or moved), written in the push's transaction. It
    outlives the tag and the manifest: the Hub API shows an image's current and past tags, and who pushed."""

    __tablename__ = "tag_history"
    __table_args__ = (
        Index("ix_tag_history_digest", "repository_id", "digest"),
        Index("ix_tag_history_tag", "repository_id", "tag"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(160))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"), nullable=True)
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Upload(Base):
    """An upload session. Its bytes so far live in the storage's upload area under the same id."""

    __tablename__ = "uploads"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
