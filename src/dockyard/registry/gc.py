"""Garbage collection that runs while pushes continue (no read-only window).

Everything younger than the grace period is left alone: a push uploads blobs and child manifests before the
manifest or index that references them, and those must survive until it arrives. Blob rows go first, in a
transaction; a manifest push that references a blob touches its row in its own transaction, so the delete's
condition fails for it. Files are then moved aside and only unlinked if no new row has appeared meanwhile (a
concurrent re-upload of the same digest); otherwise they are put back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.db import Database, utcnow
from dockyard.registry.cache import ManifestCache
from dockyard.registry.models import Blob, Manifest, ManifestReference, RepositoryBlob, Tag, Upload
from dockyard.storage import FilesystemStorage

log = logging.getLogger(__name__)


@dataclass
class GCReport:
    manifests: list[tuple[int, str]] = field(default_factory=list)
    links: int = 0
    blobs: list[str] = field(default_factory=list)
    uploads: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.manifests)} untagged manifest(s), {self.links} blob link(s), "
            f"{len(self.blobs)} blob(s), {len(self.uploads)} stale upload(s)"
        )


class GCStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def orphan_manifests(self, cutoff: datetime) -> list[tuple[int, str]]:
        """Untagged manifests that no index in the same repository lists and that refer to no live subject."""
        child = ManifestReference.__table__.alias("child")
        parent = Manifest.__table__.alias("parent")
        subject = Manifest.__table__.alias("subject")
        query = select(Manifest.id, Manifest.digest).where(
            Manifest.created_at < cutoff,
            ~exists().where(Tag.manifest_id == Manifest.id),
            ~exists().where(
                and_(
                    child.c.kind == "manifest",
                    child.c.digest == Manifest.digest,
                    parent.c.id == child.c.manifest_id,
                    parent.c.repository_id == Manifest.repository_id,
                )
            ),
            ~exists().where(
                and_(subject.c.repository_id == Manifest.repository_id, subject.c.digest == Manifest.subject_digest)
            ),
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    async def unreferenced_links(self, cutoff: datetime) -> list[tuple[int, str]]:
        query = select(RepositoryBlob.repository_id, RepositoryBlob.digest).where(
            RepositoryBlob.linked_at < cutoff,
            ~exists().where(
                and_(
                    ManifestReference.digest == RepositoryBlob.digest,
                    ManifestReference.kind == "blob",
                    Manifest.id == ManifestReference.manifest_id,
                    Manifest.repository_id == RepositoryBlob.repository_id,
                )
            ),
        )
        return [(row[0], row[1]) for row in (await self.session.execute(query)).all()]

    def _orphan_blob_condition(self, cutoff: datetime):  # type: ignore[no-untyped-def]
        return and_(
            Blob.referenced_at < cutoff,
            Blob.created_at < cutoff,
            ~exists().where(RepositoryBlob.digest == Blob.digest),
            ~exists().where(and_(ManifestReference.digest == Blob.digest, ManifestReference.kind == "blob")),
        )

    async def orphan_blobs(self, cutoff: datetime) -> list[str]:
        query = select(Blob.digest).where(self._orphan_blob_condition(cutoff))
        return list((await self.session.execute(query)).scalars().all())

    async def delete_orphan_blob(self, digest: str, cutoff: datetime) -> bool:
        result = await self.session.execute(
            delete(Blob).where(Blob.digest == digest, self._orphan_blob_condition(cutoff))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def blob_exists(self, digest: str) -> bool:
        return (await self.session.get(Blob, digest)) is not None

    async def stale_uploads(self, before: datetime) -> list[str]:
        return list((await self.session.execute(select(Upload.id).where(Upload.updated_at < before))).scalars())

    async def upload_ids(self) -> set[str]:
        return set((await self.session.execute(select(Upload.id))).scalars())


class _DryRun(Exception):
    """Raised to roll back a dry run's transaction."""


async def _remove_rows(session: AsyncSession, cutoff: datetime, report: GCReport) -> None:
    """Untagged manifests (repeatedly: deleting an index can orphan its children) and blob links no manifest of
    their repository references any more."""
    store = GCStore(session)
    for _ in range(10):
        found = [m for m in await store.orphan_manifests(cutoff) if m not in report.manifests]
        if not found:
            break
        report.manifests += found
        await session.execute(delete(Manifest).where(Manifest.id.in_([m[0] for m in found])))
    links = await store.unreferenced_links(cutoff)
    report.links = len(links)
    for repository_id, digest in links:
        await session.execute(
            delete(RepositoryBlob).where(
                RepositoryBlob.repository_id == repository_id,
                RepositoryBlob.digest == digest,
                RepositoryBlob.linked_at < cutoff,
            )
        )


async def _remove_blobs(db: Database, storage: FilesystemStorage, cutoff: datetime, report: GCReport) -> None:
    async with db.reader() as session:
        candidates = await GCStore(session).orphan_blobs(cutoff)
    for digest in candidates:
        async with db.writer() as session:
            if not await GCStore(session).delete_orphan_blob(digest, cutoff):
                continue
        trashed = storage.move_to_trash(digest)
        async with db.reader() as session:
            reborn = await GCStore(session).blob_exists(digest)
        if trashed is not None:
            if reborn:
                storage.restore_from_trash(digest, trashed)
            else:
                trashed.unlink(missing_ok=True)
        report.blobs.append(digest)


async def collect(
    db: Database,
    storage: FilesystemStorage,
    *,
    grace_seconds: int,
    upload_expiry_seconds: int,
    dry_run: bool,
    cache: ManifestCache | None = None,
) -> GCReport:
    """Collect garbage. Run inside the server, pass the registry's cache: it must forget the manifests and blob
    links deleted here, or it would keep serving them until its entries expire."""
    now = utcnow()
    cutoff = now - timedelta(seconds=grace_seconds)
    report = GCReport()

    if dry_run:
        # A dry run does the row deletions for real inside one transaction, reads what they would leave
        # behind, and rolls everything back: what it reports is exactly what a real run would remove.
        try:
            async with db.writer() as session:
                await _remove_rows(session, cutoff, report)
                report.blobs = await GCStore(session).orphan_blobs(cutoff)
                raise _DryRun
        except _DryRun:
            pass
    else:
        async with db.writer() as session:
            await _remove_rows(session, cutoff, report)
        if cache is not None and (report.manifests or report.links):
            cache.clear()
        await _remove_blobs(db, storage, cutoff, report)

    expiry = now - timedelta(seconds=upload_expiry_seconds)
    async with db.writer() as session:
        store = GCStore(session)
        stale = await store.stale_uploads(expiry)
        known = await store.upload_ids()
        if not dry_run and stale:
            await session.execute(delete(Upload).where(Upload.id.in_(stale)))
    # Upload files without a row (a crash between the two) are swept once they are old enough.
    orphans = [u for u in storage.upload_ids() if u not in known and storage.upload_age(u) > upload_expiry_seconds]
    report.uploads = stale + orphans
    if not dry_run:
        for upload_id in report.uploads:
            await storage.delete_upload(upload_id)
    log.info("garbage collection%s: %s", " (dry run)" if dry_run else "", report.summary())
    return report
