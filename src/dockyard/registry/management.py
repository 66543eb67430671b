"""Changes the Hub API makes to registry data: creating and deleting repositories, descriptions, privacy,
immutable tag rules, deleting tags and images, and setting pull statistics.

Unlike the registry's own methods these work in the caller's session, so a Hub request changes registry data and
its own tables in one transaction. The manifest cache is cleared and events are published only once that
transaction commits: clearing earlier would let a concurrent pull cache the state being replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, event, select, update
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
class PullStatistics:
    """A repository's pull numbers for the Hub API, over all time: the number of pulls, the last one, and the last
    pull of each tag (by tag name) and of each manifest (by digest). What counts as a pull is the caller's
    business: the registry stores these as given."""

    count: int
    last: datetime | None
    tags: Mapping[str, datetime] = field(default_factory=dict)
    digests: Mapping[str, datetime] = field(default_factory=dict)


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
    @staticmethod
    async def set_pull_statistics(session: AsyncSession, statistics: Mapping[str, PullStatistics]) -> int:
        """Replace the pull numbers of these repositories (by path; paths the registry does not hold are skipped)
        with the given totals, so applying the same numbers twice changes nothing. A tag or manifest the numbers
        do not name has never been pulled. Only rows whose numbers change are written (a busy repository's tags
        would otherwise all be rewritten on every run). Returns how many of the repositories exist.

        Static: pull numbers are in no cache and trigger no event, so no registry service is needed (the
        analytics job calls this from `dockyard analytics run` too)."""
        if not statistics:
            return 0
        found = (await session.execute(select(Repository).where(Repository.path.in_(statistics)))).scalars().all()
        numbers: dict[int, PullStatistics] = {}
        for repository in found:
            numbers[repository.id] = wanted = statistics[repository.path]
            if repository.pull_count != wanted.count:
                repository.pull_count = wanted.count
            if repository.last_pulled_at != wanted.last:
                repository.last_pulled_at = wanted.last
        if not numbers:
            return 0
        tags = await session.execute(
            select(Tag.id, Tag.repository_id, Tag.name, Tag.last_pulled_at).where(Tag.repository_id.in_(numbers))
        )
        changed = [
            {"id": tag_id, "last_pulled_at": when}
            for tag_id, repository_id, name, current in tags.all()
            if (when := numbers[repository_id].tags.get(name)) != current
        ]
        if changed:
            await session.execute(update(Tag), changed)
        manifests = await session.execute(
            select(Manifest.id, Manifest.repository_id, Manifest.digest, Manifest.last_pulled_at).where(
                Manifest.repository_id.in_(numbers)
            )
        )
        changed = [
            {"id": manifest_id, "last_pulled_at": when}
            for manifest_id, repository_id, digest, current in manifests.all()
            if (when := numbers[repository_id].digests.get(digest)) != current
        ]
        if changed:
            await session.execute(update(Manifest), changed)
        await session.flush()
        return len(numbers)
