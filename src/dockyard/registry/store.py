"""All registry queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Delete, Insert, Select, Update, and_, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db.base import UTCDateTime, utcnow
from dockyard.registry.models import (
    Blob,
    Manifest,
    ManifestReference,
    Repository,
    RepositoryBlob,
    Tag,
    TagHistory,
    Upload,
)


# --- the hot point reads, as statements (Database.first runs them without a session) ------------------------
def repository_lookup(path: str) -> Select[int]:
    return select(Repository.id).where(Repository.path == path)


def manifest_lookup(path: str, reference: str, by_digest: bool, with_content: bool) -> Select[*tuple[Any, ...]]:
    """From a repository path and a tag or digest to the manifest, in one indexed query."""
    columns: list[Any] = [Repository.id, Manifest.id, Manifest.digest, Manifest.media_type, Manifest.size]
    if with_content:
        columns.append(Manifest.content)
    query = select(*columns).join(Repository, Repository.id == Manifest.repository_id)
    if by_digest:
        return query.where(Repository.path == path, Manifest.digest == reference)
    return query.join(Tag, Tag.manifest_id == Manifest.id).where(Repository.path == path, Tag.name == reference)


def blob_lookup(path: str, digest: str) -> Select[int, str | None, int | None]:
    """The repository at `path`, with the blob when it is linked there (digest and size NULL when it is not): one
    statement tells a missing repository from a missing blob, as a push's HEADs of new layers ask it."""
    linked = and_(RepositoryBlob.repository_id == Repository.id, RepositoryBlob.digest == digest)
    return (
        select(Repository.id, Blob.digest, Blob.size)
        .outerjoin(RepositoryBlob, linked)
        .outerjoin(Blob, Blob.digest == RepositoryBlob.digest)
        .where(Repository.path == path)
    )


def upload_lookup(path: str, upload_id: str) -> Select[str]:
    """An upload that belongs to the repository at `path`."""
    return (
        select(Upload.id)
        .join(Repository, Repository.id == Upload.repository_id)
        .where(Repository.path == path, Upload.id == upload_id)
    )


def upload_insert(repository_id: int, upload_id: str, now: datetime) -> Insert:
    return insert(Upload).values(id=upload_id, repository_id=repository_id, created_at=now, updated_at=now)


def upload_touch(upload_id: str, now: datetime) -> Update:
    return update(Upload).where(Upload.id == upload_id).values(updated_at=now)


def blob_stored(sqlite: bool, digest: str, size: int, now: datetime) -> Insert:
    """The blob's row, or a fresh reference time for an existing one (garbage collection reads it)."""
    stmt = (sqlite_insert if sqlite else pg_insert)(Blob).values(
        digest=digest, size=size, created_at=now, referenced_at=now
    )
    return stmt.on_conflict_do_update(index_elements=["digest"], set_={"referenced_at": now})


def blob_link(sqlite: bool, path: str, digest: str, now: datetime) -> Insert:
    """Link a stored blob into the repository at `path` (no row when the repository is gone)."""
    rows = select(Repository.id, literal(digest), literal(now, UTCDateTime())).where(Repository.path == path)
    stmt = (sqlite_insert if sqlite else pg_insert)(RepositoryBlob)
    return stmt.from_select(["repository_id", "digest", "linked_at"], rows).on_conflict_do_nothing()


def upload_delete(upload_id: str) -> Delete:
    return delete(Upload).where(Upload.id == upload_id)


class RegistryStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _insert(self, table: type) -> object:
        dialect = self.session.get_bind().dialect.name
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(table)

    # --- repositories --------------------------------------------------------------------------------------
    async def repository(self, path: str) -> Repository | None:
        result = await self.session.execute(select(Repository).where(Repository.path == path))
        return result.scalar_one_or_none()

    async def add_repository(self, repository: Repository) -> Repository:
        self.session.add(repository)
        await self.session.flush()
        return repository

    async def add_repository_once(self, repository: Repository) -> Repository:
        """Insert the repository, or return the one a concurrent transaction just created under the same path
        (a client's first push uploads its layers in parallel, and each upload creates the repository)."""
        try:
            async with self.session.begin_nested():
                self.session.add(repository)
        except IntegrityError:
            existing = await self.repository(repository.path)
            if existing is None:
                raise
            return existing
        return repository

    async def repositories_after(self, last: str, limit: int) -> Sequence[Repository]:
        result = await self.session.execute(
            select(Repository).where(Repository.path > last).order_by(Repository.path).limit(limit)
        )
        return result.scalars().all()

    async def touch_repository(self, repository_id: int, when: datetime) -> None:
        await self.session.execute(
            update(Repository).where(Repository.id == repository_id).values(updated_at=when, last_pushed_at=when)
        )

    # --- blobs ---------------------------------------------------------------------------------------------
    async def blob_in_repository(self, repository_id: int, digest: str) -> Blob | None:
        result = await self.session.execute(
            select(Blob)
            .join(RepositoryBlob, RepositoryBlob.digest == Blob.digest)
            .where(RepositoryBlob.repository_id == repository_id, Blob.digest == digest)
        )
        return result.scalar_one_or_none()

    async def blob(self, digest: str) -> Blob | None:
        return await self.session.get(Blob, digest)

    async def link_blob(self, repository_id: int, digest: str) -> None:
        stmt = self._insert(RepositoryBlob).values(  # type: ignore[attr-defined]
            repository_id=repository_id, digest=digest, linked_at=utcnow()
        )
        await self.session.execute(stmt.on_conflict_do_nothing())

    async def unlink_blob(self, repository_id: int, digest: str) -> bool:
        result = await self.session.execute(
            delete(RepositoryBlob).where(RepositoryBlob.repository_id == repository_id, RepositoryBlob.digest == digest)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def linked_digests(self, repository_id: int, digests: Sequence[str]) -> set[str]:
        if not digests:
            return set()
        result = await self.session.execute(
            select(RepositoryBlob.digest).where(
                RepositoryBlob.repository_id == repository_id, RepositoryBlob.digest.in_(set(digests))
            )
        )
        return set(result.scalars().all())

    async def mark_referenced(self, digests: Sequence[str]) -> None:
        """Tell garbage collection these blobs just gained a reference (this also locks their rows)."""
        if digests:
            await self.session.execute(update(Blob).where(Blob.digest.in_(set(digests))).values(referenced_at=utcnow()))

    async def repositories_linking(self, digest: str, limit: int = 50) -> Sequence[Repository]:
        result = await self.session.execute(
            select(Repository)
            .join(RepositoryBlob, RepositoryBlob.repository_id == Repository.id)
            .where(RepositoryBlob.digest == digest)
            .limit(limit)
        )
        return result.scalars().all()

    # --- manifests -----------------------------------------------------------------------------------------
    async def manifest_row(
        self, path: str, reference: str, *, by_digest: bool, with_content: bool
    ) -> Row[*tuple[Any, ...]] | None:
        return (await self.session.execute(manifest_lookup(path, reference, by_digest, with_content))).first()

    async def manifest(self, repository_id: int, digest: str) -> Manifest | None:
        result = await self.session.execute(
            select(Manifest).where(Manifest.repository_id == repository_id, Manifest.digest == digest)
        )
        return result.scalar_one_or_none()

    async def existing_manifest_digests(self, repository_id: int, digests: Sequence[str]) -> set[str]:
        if not digests:
            return set()
        result = await self.session.execute(
            select(Manifest.digest).where(Manifest.repository_id == repository_id, Manifest.digest.in_(set(digests)))
        )
        return set(result.scalars().all())

    async def add_manifest(self, manifest: Manifest, references: Sequence[ManifestReference]) -> Manifest:
        """Insert the manifest and its references, or return the same manifest a concurrent push stored first."""
        try:
            async with self.session.begin_nested():
                self.session.add(manifest)
                await self.session.flush()
                for reference in references:
                    reference.manifest_id = manifest.id
                    self.session.add(reference)
        except IntegrityError:
            existing = await self.manifest(manifest.repository_id, manifest.digest)
            if existing is None:
                raise
            return existing
        return manifest

    async def delete_manifest(self, manifest_id: int) -> None:
        await self.session.execute(delete(Manifest).where(Manifest.id == manifest_id))

    async def referrers(self, repository_id: int, subject: str) -> Sequence[Manifest]:
        result = await self.session.execute(
            select(Manifest)
            .where(Manifest.repository_id == repository_id, Manifest.subject_digest == subject)
            .order_by(Manifest.created_at, Manifest.digest)
        )
        return result.scalars().all()

    # --- tags ----------------------------------------------------------------------------------------------
    async def tag(self, repository_id: int, name: str) -> Tag | None:
        result = await self.session.execute(select(Tag).where(Tag.repository_id == repository_id, Tag.name == name))
        return result.scalar_one_or_none()

    async def set_tag(self, repository_id: int, name: str, manifest_id: int) -> None:
        now = utcnow()
        stmt = self._insert(Tag).values(  # type: ignore[attr-defined]
            repository_id=repository_id, name=name, manifest_id=manifest_id, created_at=now, updated_at=now
        )
        await self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["repository_id", "name"], set_={"manifest_id": manifest_id, "updated_at": now}
            )
        )

    async def add_tag_history(
        self, repository_id: int, tag: str, digest: str, account_id: int | None, when: datetime
    ) -> None:
        self.session.add(
            TagHistory(repository_id=repository_id, tag=tag, digest=digest, account_id=account_id, pushed_at=when)
        )
        await self.session.flush()

    async def tags_for_manifest(self, manifest_id: int) -> list[str]:
        result = await self.session.execute(select(Tag.name).where(Tag.manifest_id == manifest_id).order_by(Tag.name))
        return list(result.scalars().all())

    async def tag_names(self, repository_id: int, last: str | None, limit: int | None) -> list[str]:
        query = select(Tag.name).where(Tag.repository_id == repository_id).order_by(Tag.name)
        if last:
            query = query.where(Tag.name > last)
        if limit is not None:
            query = query.limit(limit)
        return list((await self.session.execute(query)).scalars().all())

    async def delete_tag(self, tag_id: int) -> None:
        await self.session.execute(delete(Tag).where(Tag.id == tag_id))

    # --- uploads -------------------------------------------------------------------------------------------
    async def upload(self, upload_id: str) -> Upload | None:
        return await self.session.get(Upload, upload_id)

    async def add_upload(self, upload: Upload) -> None:
        self.session.add(upload)
        await self.session.flush()

    async def stale_uploads(self, before: datetime) -> list[str]:
        result = await self.session.execute(select(Upload.id).where(Upload.updated_at < before))
        return list(result.scalars().all())

    async def upload_ids(self) -> set[str]:
        return set((await self.session.execute(select(Upload.id))).scalars().all())

    async def count_manifests(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(Manifest))).scalar_one())
