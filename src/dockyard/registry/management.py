"""Changes the Hub API makes to registry data: creating and deleting repositories, descriptions, privacy,
immutable tag rules, deleting tags and images, and pull statistics.

Unlike the registry's own methods these work in the caller's session, so a Hub request changes registry data and
its own tables in one transaction. The manifest cache is cleared and events are published only once that
transaction commits: clearing earlier would let a concurrent pull cache the state being replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, event, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from dockyard.db import utcnow
from dockyard.registry import mediatypes as mt
from dockyard.registry.events import ManifestDeleted, RepositoryDeleted, TagDeleted
from dockyard.registry.immutable import active_rules, dump_rules, immutable_tags
from dockyard.registry.listing import ListingStore
from dockyard.registry.models import Manifest, Repository, Tag
from dockyard.registry.store import RegistryStore

if TYPE_CHECKING:
    from dockyard.registry.service import RegistryService


class ManagementError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RepositoryExists(ManagementError):
    status = 409


class PrivateLimitReached(ManagementError):
    status = 403


class TagImmutable(ManagementError):
    status = 403


@dataclass(frozen=True)
class PullTally:
    """Manifest GETs of one digest in one repository since the last flush."""

    gets: int
    last: datetime


@dataclass(frozen=True)
class Deleted:
    manifests: list[str]
    tags: list[str]


def after_commit(session: AsyncSession, action: Callable[[], None]) -> None:
    def run(_session: Session) -> None:
        action()

    event.listen(session.sync_session, "after_commit", run, once=True)


class RegistryManagement:
    def __init__(self, registry: RegistryService) -> None:
        self.registry = registry

    def _changed(self, session: AsyncSession, path: str, events: Collection[object] = ()) -> None:
        def publish() -> None:
            self.registry.cache.invalidate(path)
            for item in events:
                self.registry.bus.publish(item)

        after_commit(session, publish)

    # --- repositories --------------------------------------------------------------------------------------
    async def create_repository(
        self,
        session: AsyncSession,
        *,
        namespace_id: int,
        namespace: str,
        name: str,
        is_private: bool,
        description: str,
        full_description: str,
        private_limit: int | None,
    ) -> Repository:
        store = RegistryStore(session)
        path = f"{namespace}/{name}"
        if await store.repository(path) is not None:
            raise RepositoryExists(f"repository {path} already exists")
        if is_private:
            await self._check_private_limit(session, namespace_id, private_limit)
        now = utcnow()
        repository = Repository(
            namespace_id=namespace_id,
            path=path,
            name=name,
            is_private=is_private,
            description=description,
            full_description=full_description,
            created_at=now,
            updated_at=now,
        )
        try:
            async with session.begin_nested():
                await store.add_repository(repository)
        except IntegrityError as exc:
            # Created concurrently (or by a push) between the check and the insert.
            raise RepositoryExists(f"repository {path} already exists") from exc
        self._changed(session, path)
        return repository

    async def _check_private_limit(self, session: AsyncSession, namespace_id: int, limit: int | None) -> None:
        if limit is None:
            return
        used = await ListingStore(session).private_count(namespace_id)
        if used >= limit:
            raise PrivateLimitReached(
                f"the namespace has used its {limit} private repositor{'y' if limit == 1 else 'ies'}: "
                "make another one public or ask an administrator to raise the limit"
            )

    async def delete_repository(self, session: AsyncSession, repository: Repository, account: str | None) -> None:
        """The repository with its tags, manifests, blob links and uploads; blobs are left to garbage collection."""
        await session.execute(delete(Repository).where(Repository.id == repository.id))
        self._changed(session, repository.path, [RepositoryDeleted(repository.path, account, utcnow())])

    async def update_repository(
        self, session: AsyncSession, repository: Repository, *, description: str | None, full_description: str | None
    ) -> None:
        if description is not None:
            repository.description = description
        if full_description is not None:
            repository.full_description = full_description
        repository.updated_at = utcnow()
        await session.flush()

    async def set_privacy(
        self, session: AsyncSession, repository: Repository, is_private: bool, private_limit: int | None
    ) -> None:
        if is_private and not repository.is_private:
            await self._check_private_limit(session, repository.namespace_id, private_limit)
        repository.is_private = is_private
        repository.updated_at = utcnow()
        await session.flush()
        self._changed(session, repository.path)

    async def set_immutable_tags(
        self, session: AsyncSession, repository: Repository, enabled: bool, rules: Collection[str]
    ) -> None:
        repository.immutable_tags = enabled
        repository.immutable_tags_rules = dump_rules(rules)
        repository.updated_at = utcnow()
        await session.flush()

    # --- tags and manifests --------------------------------------------------------------------------------
    async def delete_tag(self, session: AsyncSession, repository: Repository, tag: str, account: str | None) -> bool:
        store = RegistryStore(session)
        row = await store.tag(repository.id, tag)
        if row is None:
            return False
        self._refuse_immutable(repository, [tag])
        manifest = await session.get(Manifest, row.manifest_id)
        await store.delete_tag(row.id)
        digest = manifest.digest if manifest else ""
        self._changed(session, repository.path, [TagDeleted(repository.path, tag, digest, account, utcnow())])
        return True

    async def delete_manifests(
        self, session: AsyncSession, repository: Repository, digests: Collection[str], account: str | None
    ) -> Deleted:
        """Delete manifests with every tag on them. An index takes along its children that no remaining index
        lists and no tag names (they are part of the image); anything else stays for garbage collection."""
        listing = ListingStore(session)
        targets = await listing.manifests(repository.id, digests)
        current = await listing.current_tags(repository.id, targets)
        self._refuse_immutable(repository, [tag for tags in current.values() for tag in tags])
        children = await listing.children([m.id for m in targets.values() if m.media_type in mt.INDEXES])
        orphan_candidates = {d for ds in children.values() for d in ds} - set(targets)
        deleted = Deleted(manifests=[], tags=[])
        events: list[object] = []
        now = utcnow()
        await self._delete(session, repository, list(targets.values()), deleted, events, account, now)
        if orphan_candidates:
            still_listed = await listing.parents(repository.id, orphan_candidates)
            tagged = await listing.current_tags(repository.id, orphan_candidates)
            orphans = [d for d in orphan_candidates if d not in still_listed and d not in tagged]
            found = await listing.manifests(repository.id, orphans)
            await self._delete(session, repository, list(found.values()), deleted, events, account, now)
        self._changed(session, repository.path, events)
        return deleted

    @staticmethod
    def _refuse_immutable(repository: Repository, tags: Collection[str]) -> None:
        locked = immutable_tags(tags, active_rules(repository.immutable_tags, repository.immutable_tags_rules))
        if locked:
            raise TagImmutable(f"tag {', '.join(locked)} is immutable in {repository.path} and cannot be deleted")

    async def _delete(
        self,
        session: AsyncSession,
        repository: Repository,
        manifests: list[Manifest],
        deleted: Deleted,
        events: list[object],
        account: str | None,
        now: datetime,
    ) -> None:
        store = RegistryStore(session)
        for manifest in manifests:
            for tag in await store.tags_for_manifest(manifest.id):
                deleted.tags.append(tag)
                events.append(TagDeleted(repository.path, tag, manifest.digest, account, now))
            await store.delete_manifest(manifest.id)
            deleted.manifests.append(manifest.digest)
            events.append(ManifestDeleted(repository.path, manifest.digest, account, now))

    # --- pull statistics -----------------------------------------------------------------------------------
    async def record_pulls(self, session: AsyncSession, pulls: Mapping[str, Mapping[str, PullTally]]) -> None:
        """Add pulls counted from manifest GETs: a GET of an image manifest is one pull (an index alone is not,
        so a multi-arch pull counts once per platform it fetches). Pulled manifests, the indexes listing them
        and the tags on either get their last-pulled time."""
        store = RegistryStore(session)
        listing = ListingStore(session)
        for path, tallies in pulls.items():
            repository = await store.repository(path)
            if repository is None:
                continue
            found = await listing.manifest_kinds(repository.id, tallies)
            count = sum(t.gets for d, t in tallies.items() if d in found and found[d][1] not in mt.INDEXES)
            latest = max(t.last for d, t in tallies.items() if d in found) if found else None
            if latest is None:
                continue
            await session.execute(
                update(Repository)
                .where(Repository.id == repository.id)
                .values(pull_count=Repository.pull_count + count)
            )
            await session.execute(
                update(Repository)
                .where(
                    Repository.id == repository.id,
                    or_(Repository.last_pulled_at.is_(None), Repository.last_pulled_at < latest),
                )
                .values(last_pulled_at=latest)
            )
            touched: dict[int, datetime] = {found[d][0]: t.last for d, t in tallies.items() if d in found}
            parents = await listing.parents(repository.id, [d for d in tallies if d in found])
            parent_kinds = await listing.manifest_kinds(repository.id, {p for ps in parents.values() for p in ps})
            for child, indexes in parents.items():
                for parent in indexes:
                    parent_id = parent_kinds[parent][0]
                    touched[parent_id] = max(touched.get(parent_id, tallies[child].last), tallies[child].last)
            for manifest_id, when in touched.items():
                await session.execute(
                    update(Manifest)
                    .where(
                        Manifest.id == manifest_id,
                        or_(Manifest.last_pulled_at.is_(None), Manifest.last_pulled_at < when),
                    )
                    .values(last_pulled_at=when)
                )
                await session.execute(
                    update(Tag)
                    .where(Tag.manifest_id == manifest_id, or_(Tag.last_pulled_at.is_(None), Tag.last_pulled_at < when))
                    .values(last_pulled_at=when)
                )
