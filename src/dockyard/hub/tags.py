"""Tags through the Hub API: pages of tag objects with one image per platform, single tags, and deleting tags.

A tag on an index shows one image per platform child (attestation manifests, whose platform is unknown/unknown,
are left out); a tag on a single image manifest shows that image with the platform its config blob names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Permission, Subject
from dockyard.api.errors import NotFound
from dockyard.db import utcnow
from dockyard.hub import schemas
from dockyard.hub.access import NOT_FOUND, Access, RepoAccess
from dockyard.hub.repositories import content_type, management_error
from dockyard.registry.errors import ManifestInvalid
from dockyard.registry.listing import ListingStore
from dockyard.registry.management import ManagementError, RegistryManagement
from dockyard.registry.manifests import Descriptor, ParsedManifest, parse_manifest
from dockyard.registry.models import Manifest, Tag

if TYPE_CHECKING:
    from dockyard.app import Services

ACTIVE_DAYS = 30


def default_active_from() -> datetime:
    """An image or tag is active when pushed or pulled in the last month (the images API's default)."""
    return utcnow() - timedelta(days=ACTIVE_DAYS)


Status = Literal["active", "inactive"]


def status(active_from: datetime, *times: datetime | None) -> Status:
    return "active" if any(t is not None and t >= active_from for t in times) else "inactive"


def parsed(manifest: Manifest) -> ParsedManifest | None:
    try:
        return parse_manifest(manifest.content, manifest.media_type)
    except ManifestInvalid:
        return None


def layers_size(manifest: ParsedManifest | None) -> int:
    return sum(layer.size for layer in manifest.layers) if manifest else 0


def platform_children(index: ParsedManifest) -> list[Descriptor]:
    children = []
    for child in index.children:
        platform = child.platform or {}
        if platform.get("os") == "unknown" and platform.get("architecture") == "unknown":
            continue
        children.append(child)
    return children


def _joined(value: Any) -> str:
    return ",".join(v for v in value if isinstance(v, str)) if isinstance(value, list) else ""


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class _Page:
    """Everything the tag objects of one page need, loaded in a few queries."""

    children: dict[str, Manifest]
    pushers: dict[str, tuple[int | None, int | None]]
    names: dict[int, str]


class TagService:
    def __init__(self, session: AsyncSession, services: Services) -> None:
        self.session = session
        self.services = services
        self.access = Access(session)
        self.listing = ListingStore(session)
        self.management = RegistryManagement(services.registry)

    async def page(
        self,
        subject: Subject,
        namespace: str,
        name: str,
        *,
        tag_name: str | None,
        ordering: str | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[schemas.TagInfo]]:
        access = await self.access.repository(subject, namespace, name)
        count, rows = await self.listing.tags(
            access.repository.id, name=tag_name, ordering=ordering, offset=offset, limit=limit
        )
        return count, await self.tag_objects(access, rows)

    async def has_tags(self, subject: Subject, namespace: str, name: str) -> bool:
        access = await self.access.repository(subject, namespace, name)
        return await self.listing.tag_count(access.repository.id) > 0

    async def get(self, subject: Subject, namespace: str, name: str, tag: str) -> schemas.TagInfo:
        access = await self.access.repository(subject, namespace, name)
        row = await self.listing.tag(access.repository.id, tag)
        if row is None:
            raise NotFound(NOT_FOUND)
        return (await self.tag_objects(access, [row], with_layers=True))[0]

    async def delete(self, subject: Subject, namespace: str, name: str, tag: str) -> None:
        access = await self.access.repository(subject, namespace, name, Permission.ADMIN)
        try:
            deleted = await self.management.delete_tag(self.session, access.repository, tag, subject.username)
        except ManagementError as exc:
            raise management_error(exc) from exc
        if not deleted:
            raise NotFound(NOT_FOUND)

    # --- building tag objects ------------------------------------------------------------------------------
    async def tag_objects(
        self, access: RepoAccess, rows: Sequence[tuple[Tag, Manifest]], *, with_layers: bool = False
    ) -> list[schemas.TagInfo]:
        repository_id = access.repository.id
        documents = {manifest.digest: parsed(manifest) for _, manifest in rows}
        child_digests = {
            child.digest
            for document in documents.values()
            if document is not None and document.is_index
            for child in platform_children(document)
        }
        pushers = await self.listing.tag_pushers(repository_id, [tag.name for tag, _ in rows])
        account_ids = {a for pair in pushers.values() for a in pair if a is not None}
        names = {}
        for account_id in account_ids:
            account = await self.access.accounts.store.by_id(account_id)
            if account is not None:
                names[account_id] = account.name
        page = _Page(await self.listing.manifests(repository_id, child_digests), pushers, names)
        active_from = default_active_from()
        return [
            await self._tag_object(access, tag, manifest, documents[manifest.digest], page, active_from, with_layers)
            for tag, manifest in rows
        ]

    async def _tag_object(
        self,
        access: RepoAccess,
        tag: Tag,
        manifest: Manifest,
        document: ParsedManifest | None,
        page: _Page,
        active_from: datetime,
        with_layers: bool,
    ) -> schemas.TagInfo:
        images: list[schemas.Image] = []
        full_size = 0
        if document is not None and document.is_index:
            for child in platform_children(document):
                image = await self._child_image(child, page.children.get(child.digest), active_from, with_layers)
                images.append(image)
            picked = next((i for i in images if i.os == "linux" and i.architecture == "amd64"), None)
            full_size = (picked or images[0]).size if images else 0
            first = next(
                (page.children[c.digest] for c in platform_children(document) if c.digest in page.children), None
            )
            kind = content_type(first.artifact_type if first is not None else None)
        else:
            image = await self._image(manifest, document, active_from, with_layers)
            images.append(image)
            full_size = image.size
            kind = content_type(manifest.artifact_type)
        creator, last_updater = page.pushers.get(tag.name, (None, None))
        return schemas.TagInfo(
            id=tag.id,
            name=tag.name,
            creator=creator,
            last_updater=last_updater,
            last_updater_username=page.names.get(last_updater) if last_updater is not None else None,
            repository=access.repository.id,
            last_updated=tag.updated_at,
            full_size=full_size,
            v2=True,
            tag_status=status(active_from, tag.updated_at, tag.last_pulled_at),
            tag_last_pulled=tag.last_pulled_at,
            tag_last_pushed=tag.updated_at,
            media_type=manifest.media_type,
            content_type=kind,
            digest=manifest.digest,
            images=images,
        )

    async def _child_image(
        self, child: Descriptor, manifest: Manifest | None, active_from: datetime, with_layers: bool
    ) -> schemas.Image:
        platform = child.platform or {}
        document = parsed(manifest) if manifest is not None else None
        pushed = (manifest.pushed_at or manifest.created_at) if manifest is not None else None
        pulled = manifest.last_pulled_at if manifest is not None else None
        layers = await self._layers(document) if with_layers and document is not None else None
        return schemas.Image(
            architecture=_text(platform.get("architecture")),
            features=_joined(platform.get("features")),
            variant=_text(platform.get("variant")) or None,
            digest=child.digest,
            os=_text(platform.get("os")),
            os_features=_joined(platform.get("os.features")),
            os_version=_text(platform.get("os.version")) or None,
            size=layers_size(document),
            status=status(active_from, pushed, pulled),
            last_pulled=pulled,
            last_pushed=pushed,
            layers=layers,
        )

    async def _image(
        self, manifest: Manifest, document: ParsedManifest | None, active_from: datetime, with_layers: bool
    ) -> schemas.Image:
        config = document.config if document is not None else None
        facts = await self.services.content.configs.facts(config.digest) if config is not None else None
        pushed = manifest.pushed_at or manifest.created_at
        return schemas.Image(
            architecture=facts.architecture if facts else "",
            features="",
            variant=facts.variant if facts else None,
            digest=manifest.digest,
            os=facts.os if facts else "",
            os_features=facts.os_features if facts else "",
            os_version=facts.os_version if facts else None,
            size=layers_size(document),
            status=status(active_from, pushed, manifest.last_pulled_at),
            last_pulled=manifest.last_pulled_at,
            last_pushed=pushed,
            layers=await self._layers(document) if with_layers and document is not None else None,
        )

    async def _layers(self, document: ParsedManifest) -> list[schemas.Layer]:
        facts = await self.services.content.configs.facts(document.config.digest) if document.config else None
        instructions = facts.instructions if facts else ()
        return [
            schemas.Layer(
                digest=layer.digest,
                size=layer.size,
                instruction=instructions[i] if i < len(instructions) else "",
            )
            for i, layer in enumerate(document.layers)
        ]
