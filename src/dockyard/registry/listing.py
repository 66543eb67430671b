"""Read queries over registry data for the Hub API: repository pages and search, tag pages with their manifests,
image (manifest) pages with activity, tag history, sizes and media types.

Callers pass their own session and decide visibility beforehand (which private repositories the caller may see);
these queries only filter, order and page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.registry import mediatypes as mt
from dockyard.registry.models import Blob, Manifest, ManifestReference, Repository, Tag, TagHistory

REPOSITORY_ORDERINGS = ("name", "last_updated", "pull_count")
TAG_ORDERINGS = ("name", "last_updated")
IMAGE_ORDERINGS = ("last_activity", "digest")


@dataclass(frozen=True)
class Visibility:
    """Which repositories a listing may show: public ones, plus every private one (`all_private`) or the private
    ones whose ids are listed."""

    all_private: bool = False
    private_ids: frozenset[int] = frozenset()

    def condition(self) -> ColumnElement[bool]:
        if self.all_private:
            return true()
        if not self.private_ids:
            return Repository.is_private == false()
        return or_(Repository.is_private == false(), Repository.id.in_(self.private_ids))


@dataclass(frozen=True)
class ManifestActivity:
    digest: str
    media_type: str
    last_pushed: datetime
    last_pulled: datetime | None

    def is_active(self, active_from: datetime) -> bool:
        return self.last_pushed >= active_from or (self.last_pulled is not None and self.last_pulled >= active_from)


_ACTIVITY_COLUMNS = (
    Manifest.digest,
    Manifest.media_type,
    Manifest.created_at,
    Manifest.pushed_at,
    Manifest.last_pulled_at,
)


def last_pushed_column() -> ColumnElement[Any]:
    return func.coalesce(Manifest.pushed_at, Manifest.created_at)


def activity_column() -> ColumnElement[Any]:
    """The later of a manifest's last push and last pull (a portable GREATEST that treats NULL as missing)."""
    pushed = last_pushed_column()
    return case((Manifest.last_pulled_at > pushed, Manifest.last_pulled_at), else_=pushed)


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _ordered(column: Any, descending: bool) -> Any:
    return column.desc() if descending else column.asc()


class ListingStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- repositories --------------------------------------------------------------------------------------
    async def repository_by_id(self, repository_id: int) -> Repository | None:
        return await self.session.get(Repository, repository_id)

    async def repositories(
        self,
        *,
        namespace_id: int | None,
        visibility: Visibility,
        ids: Collection[int] | None = None,
        name: str | None = None,
        ordering: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, Sequence[Repository]]:
        """A page of repositories (in one namespace, among `ids`, or all of them) with the total count."""
        conditions: list[ColumnElement[bool]] = [visibility.condition()]
        if namespace_id is not None:
            conditions.append(Repository.namespace_id == namespace_id)
        if ids is not None:
            conditions.append(Repository.id.in_(set(ids)))
        if name:
            conditions.append(Repository.name.like(_like(name.lower()), escape="\\"))
        count = await self._count(select(func.count()).select_from(Repository).where(*conditions))
        field, descending = (ordering or "name").removeprefix("-"), (ordering or "").startswith("-")
        column: Any = {
            "name": Repository.name,
            "last_updated": func.coalesce(Repository.last_pushed_at, Repository.created_at),
            "pull_count": Repository.pull_count,
        }[field]
        query = (
            select(Repository)
            .where(*conditions)
            .order_by(_ordered(column, descending), Repository.path)
            .offset(offset)
            .limit(limit)
        )
        return count, (await self.session.execute(query)).scalars().all()

    async def private_repositories(
        self, *, namespace_id: int | None = None, search: str | None = None, limit: int = 1000
    ) -> Sequence[Repository]:
        """Private repositories (in a namespace, or matching a search) whose permission a caller needs checked."""
        query = select(Repository).where(Repository.is_private == true())
        if namespace_id is not None:
            query = query.where(Repository.namespace_id == namespace_id)
        if search is not None:
            query = query.where(self._search_condition(search))
        return (await self.session.execute(query.order_by(Repository.path).limit(limit))).scalars().all()

    @staticmethod
    def _search_condition(text: str) -> ColumnElement[bool]:
        pattern = _like(text.lower())
        return or_(
            Repository.path.like(pattern, escape="\\"),
            func.lower(Repository.description).like(pattern, escape="\\"),
        )

    async def search(
        self, text: str, visibility: Visibility, offset: int, limit: int
    ) -> tuple[int, Sequence[Repository]]:
        """Repositories whose path or short description contains `text`; exact names first, then by pulls."""
        condition = and_(visibility.condition(), self._search_condition(text))
        count = await self._count(select(func.count()).select_from(Repository).where(condition))
        exact = case((or_(Repository.name == text.lower(), Repository.path == text.lower()), 0), else_=1)
        query = (
            select(Repository)
            .where(condition)
            .order_by(exact, Repository.pull_count.desc(), Repository.path)
            .offset(offset)
            .limit(limit)
        )
        return count, (await self.session.execute(query)).scalars().all()

    async def private_count(self, namespace_id: int) -> int:
        return await self._count(
            select(func.count())
            .select_from(Repository)
            .where(Repository.namespace_id == namespace_id, Repository.is_private == true())
        )

    async def repositories_by_ids(self, ids: Collection[int], *, private_only: bool = False) -> Sequence[Repository]:
        if not ids:
            return []
        query = select(Repository).where(Repository.id.in_(set(ids)))
        if private_only:
            query = query.where(Repository.is_private == true())
        return (await self.session.execute(query.order_by(Repository.path))).scalars().all()

    async def storage_sizes(self, repository_ids: Collection[int]) -> dict[int, int]:
        """Bytes of the distinct blobs each repository's manifests reference (shared layers count once)."""
        if not repository_ids:
            return {}
        referenced = (
            select(Manifest.repository_id.label("repository_id"), ManifestReference.digest.label("digest"))
            .join(Manifest, Manifest.id == ManifestReference.manifest_id)
            .where(Manifest.repository_id.in_(set(repository_ids)), ManifestReference.kind == "blob")
            .distinct()
            .subquery()
        )
        result = await self.session.execute(
            select(referenced.c.repository_id, func.sum(Blob.size))
            .join(Blob, Blob.digest == referenced.c.digest)
            .group_by(referenced.c.repository_id)
        )
        return {repository_id: int(size or 0) for repository_id, size in result.all()}

    async def config_media_types(self, repository_ids: Collection[int]) -> dict[int, list[str]]:
        """The config (artifact) media types of each repository's image manifests."""
        if not repository_ids:
            return {}
        result = await self.session.execute(
            select(Manifest.repository_id, Manifest.artifact_type)
            .where(
                Manifest.repository_id.in_(set(repository_ids)),
                Manifest.artifact_type.is_not(None),
                Manifest.media_type.in_(mt.IMAGE_MANIFESTS),
            )
            .distinct()
            .order_by(Manifest.repository_id, Manifest.artifact_type)
        )
        types: dict[int, list[str]] = defaultdict(list)
        for repository_id, media_type in result.all():
            if media_type:
                types[repository_id].append(media_type)
        return dict(types)

    async def tag_count(self, repository_id: int) -> int:
        return await self._count(select(func.count()).select_from(Tag).where(Tag.repository_id == repository_id))

    # --- tags ----------------------------------------------------------------------------------------------
    async def tags(
        self,
        repository_id: int,
        *,
        name: str | None = None,
        ordering: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> tuple[int, list[tuple[Tag, Manifest]]]:
        conditions: list[ColumnElement[bool]] = [Tag.repository_id == repository_id]
        if name:
            conditions.append(Tag.name.like(_like(name), escape="\\"))
        count = await self._count(select(func.count()).select_from(Tag).where(*conditions))
        field, descending = (ordering or "-last_updated").removeprefix("-"), (ordering or "-").startswith("-")
        column: Any = Tag.name if field == "name" else Tag.updated_at
        query = (
            select(Tag, Manifest)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(*conditions)
            .order_by(_ordered(column, descending), Tag.name)
            .offset(offset)
            .limit(limit)
        )
        rows = (await self.session.execute(query)).all()
        return count, [(tag, manifest) for tag, manifest in rows]

    async def tag(self, repository_id: int, name: str) -> tuple[Tag, Manifest] | None:
        query = (
            select(Tag, Manifest)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .where(Tag.repository_id == repository_id, Tag.name == name)
        )
        row = (await self.session.execute(query)).first()
        return (row[0], row[1]) if row else None

    async def tag_names(self, repository_id: int) -> list[str]:
        result = await self.session.execute(
            select(Tag.name).where(Tag.repository_id == repository_id).order_by(Tag.name)
        )
        return list(result.scalars().all())

    async def tag_pushers(self, repository_id: int, tags: Collection[str]) -> dict[str, tuple[int | None, int | None]]:
        """tag -> (account that first pushed it, account that last moved it), from the tag history."""
        if not tags:
            return {}
        result = await self.session.execute(
            select(TagHistory.tag, TagHistory.account_id)
            .where(TagHistory.repository_id == repository_id, TagHistory.tag.in_(set(tags)))
            .order_by(TagHistory.tag, TagHistory.pushed_at, TagHistory.id)
        )
        pushers: dict[str, tuple[int | None, int | None]] = {}
        for tag, account_id in result.all():
            first = pushers[tag][0] if tag in pushers else account_id
            pushers[tag] = (first, account_id)
        return pushers

    # --- manifests (the Hub API's "images") ----------------------------------------------------------------
    async def manifests(self, repository_id: int, digests: Collection[str]) -> dict[str, Manifest]:
        if not digests:
            return {}
        result = await self.session.execute(
            select(Manifest).where(Manifest.repository_id == repository_id, Manifest.digest.in_(set(digests)))
        )
        return {manifest.digest: manifest for manifest in result.scalars().all()}

    async def manifest_kinds(self, repository_id: int, digests: Collection[str]) -> dict[str, tuple[int, str]]:
        """digest -> (manifest id, media type), without loading the manifests' content."""
        if not digests:
            return {}
        result = await self.session.execute(
            select(Manifest.digest, Manifest.id, Manifest.media_type).where(
                Manifest.repository_id == repository_id, Manifest.digest.in_(set(digests))
            )
        )
        return {digest: (manifest_id, media_type) for digest, manifest_id, media_type in result.all()}

    async def images(
        self,
        repository_id: int,
        *,
        active_from: datetime,
        status: str | None,
        ordering: str | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[ManifestActivity]]:
        activity = activity_column()
        conditions: list[ColumnElement[bool]] = [Manifest.repository_id == repository_id]
        if status == "active":
            conditions.append(activity >= active_from)
        elif status == "inactive":
            conditions.append(activity < active_from)
        count = await self._count(select(func.count()).select_from(Manifest).where(*conditions))
        field, descending = (ordering or "-last_activity").removeprefix("-"), (ordering or "-").startswith("-")
        column = Manifest.digest if field == "digest" else activity
        query = (
            select(*_ACTIVITY_COLUMNS)
            .where(*conditions)
            .order_by(_ordered(column, descending), Manifest.digest)
            .offset(offset)
            .limit(limit)
        )
        rows = (await self.session.execute(query)).all()
        return count, [
            ManifestActivity(digest, media_type, pushed or created, pulled)
            for digest, media_type, created, pushed, pulled in rows
        ]

    async def image_statistics(self, repository_id: int, active_from: datetime) -> tuple[int, int]:
        """(all manifests, active manifests) in the repository."""
        active = case((activity_column() >= active_from, 1), else_=0)
        result = await self.session.execute(
            select(func.count(), func.coalesce(func.sum(active), 0)).where(Manifest.repository_id == repository_id)
        )
        total, active_count = result.one()
        return int(total), int(active_count)

    async def activity(self, repository_id: int, digests: Collection[str]) -> dict[str, ManifestActivity]:
        if not digests:
            return {}
        result = await self.session.execute(
            select(*_ACTIVITY_COLUMNS).where(Manifest.repository_id == repository_id, Manifest.digest.in_(set(digests)))
        )
        return {
            digest: ManifestActivity(digest, media_type, pushed or created, pulled)
            for digest, media_type, created, pushed, pulled in result.all()
        }

    async def current_tags(self, repository_id: int, digests: Collection[str]) -> dict[str, list[str]]:
        """digest -> names of the tags pointing at it now."""
        if not digests:
            return {}
        result = await self.session.execute(
            select(Manifest.digest, Tag.name)
            .join(Tag, Tag.manifest_id == Manifest.id)
            .where(Manifest.repository_id == repository_id, Manifest.digest.in_(set(digests)))
            .order_by(Tag.name)
        )
        tags: dict[str, list[str]] = defaultdict(list)
        for digest, name in result.all():
            tags[digest].append(name)
        return dict(tags)

    async def historical_tags(self, repository_id: int, digests: Collection[str]) -> dict[str, list[str]]:
        """digest -> every tag that ever pointed at it here, oldest first."""
        if not digests:
            return {}
        result = await self.session.execute(
            select(TagHistory.digest, TagHistory.tag, func.min(TagHistory.pushed_at).label("first"))
            .where(TagHistory.repository_id == repository_id, TagHistory.digest.in_(set(digests)))
            .group_by(TagHistory.digest, TagHistory.tag)
            .order_by(TagHistory.digest, "first", TagHistory.tag)
        )
        tags: dict[str, list[str]] = defaultdict(list)
        for digest, name, _first in result.all():
            tags[digest].append(name)
        return dict(tags)

    async def parents(self, repository_id: int, digests: Collection[str]) -> dict[str, list[str]]:
        """child digest -> digests of the indexes in the repository that list it."""
        if not digests:
            return {}
        result = await self.session.execute(
            select(ManifestReference.digest, Manifest.digest)
            .join(Manifest, Manifest.id == ManifestReference.manifest_id)
            .where(
                Manifest.repository_id == repository_id,
                ManifestReference.kind == "manifest",
                ManifestReference.digest.in_(set(digests)),
            )
        )
        parents: dict[str, list[str]] = defaultdict(list)
        for child, parent in result.all():
            parents[child].append(parent)
        return dict(parents)

    async def children(self, manifest_ids: Collection[int]) -> dict[int, list[str]]:
        """manifest id -> digests of the child manifests it lists (indexes only)."""
        if not manifest_ids:
            return {}
        result = await self.session.execute(
            select(ManifestReference.manifest_id, ManifestReference.digest).where(
                ManifestReference.manifest_id.in_(set(manifest_ids)), ManifestReference.kind == "manifest"
            )
        )
        children: dict[int, list[str]] = defaultdict(list)
        for manifest_id, digest in result.all():
            children[manifest_id].append(digest)
        return dict(children)

    async def _count(self, query: Any) -> int:
        return int((await self.session.execute(query)).scalar_one())
