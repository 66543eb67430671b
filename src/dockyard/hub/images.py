"""The images API of the seed (retired by Docker Hub, kept here): summaries, pages of images with their current
and past tags and active/inactive status, and bulk deletion guarded by errors and warnings.

An image is a manifest in a repository. It is active when it was pushed or pulled since `active_from` (default:
a month ago). Deletion checks everything first and deletes nothing unless there are no errors and every warning
was explicitly ignored.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Permission, Subject
from dockyard.api.errors import ApiError, BadRequest, NotFound
from dockyard.db import utcnow
from dockyard.hub import schemas
from dockyard.hub.access import NOT_FOUND, Access
from dockyard.hub.repositories import management_error
from dockyard.hub.tags import default_active_from
from dockyard.registry.immutable import active_rules, immutable_tags
from dockyard.registry.listing import ListingStore
from dockyard.registry.management import ManagementError, RegistryManagement

if TYPE_CHECKING:
    from dockyard.app import Services


def utc(value: datetime | None) -> datetime:
    """`active_from` as given (a time without a zone is taken as UTC), or the default."""
    if value is None:
        return default_active_from()
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError as exc:
        raise BadRequest("active_from is out of range", extra={"fields": {"active_from": ["out of range"]}}) from exc


@dataclass
class _Plan:
    repository_id: int
    digests: list[str]


class ImageService:
    def __init__(self, session: AsyncSession, services: Services) -> None:
        self.session = session
        self.services = services
        self.access = Access(session)
        self.listing = ListingStore(session)
        self.management = RegistryManagement(services.registry)

    async def summary(
        self, subject: Subject, namespace: str, name: str, active_from: datetime | None
    ) -> schemas.ImagesSummary:
        access = await self.access.repository(subject, namespace, name)
        since = utc(active_from)
        total, active = await self.listing.image_statistics(access.repository.id, since)
        return schemas.ImagesSummary(
            active_from=since,
            statistics=schemas.ImageStatistics(total=total, active=active, inactive=total - active),
        )

    async def page(
        self,
        subject: Subject,
        namespace: str,
        name: str,
        *,
        status: str | None,
        ordering: str | None,
        active_from: datetime | None,
        offset: int,
        limit: int,
    ) -> tuple[int, list[schemas.ImageEntry]]:
        access = await self.access.repository(subject, namespace, name)
        since = utc(active_from)
        repository_id = access.repository.id
        count, rows = await self.listing.images(
            repository_id, active_from=since, status=status, ordering=ordering, offset=offset, limit=limit
        )
        digests = [row.digest for row in rows]
        tags = await self._tags(repository_id, digests)
        return count, [
            schemas.ImageEntry(
                namespace=access.namespace.name,
                repository=access.repository.name,
                digest=row.digest,
                tags=tags.get(row.digest, []),
                last_pushed=row.last_pushed,
                last_pulled=row.last_pulled,
                status="active" if row.is_active(since) else "inactive",
            )
            for row in rows
        ]

    async def digest_tags(self, subject: Subject, namespace: str, name: str, digest: str) -> list[schemas.ImageTag]:
        access = await self.access.repository(subject, namespace, name)
        if not await self.listing.manifest_kinds(access.repository.id, [digest]):
            raise NotFound(NOT_FOUND)
        return (await self._tags(access.repository.id, [digest])).get(digest, [])

    async def _tags(self, repository_id: int, digests: list[str]) -> dict[str, list[schemas.ImageTag]]:
        """Current and past tags of each image: past ones in the order they were first pushed, then current
        ones the history does not know (pushed before it was kept)."""
        current = await self.listing.current_tags(repository_id, digests)
        history = await self.listing.historical_tags(repository_id, digests)
        tags: dict[str, list[schemas.ImageTag]] = {}
        for digest in digests:
            now = set(current.get(digest, []))
            names = list(dict.fromkeys([*history.get(digest, []), *current.get(digest, [])]))
            tags[digest] = [schemas.ImageTag(tag=tag, is_current=tag in now) for tag in names]
        return tags

    # --- bulk deletion -------------------------------------------------------------------------------------
    async def delete(
        self, subject: Subject, namespace: str, body: schemas.DeleteImagesRequest
    ) -> schemas.DeleteImagesResult:
        started = utcnow()
        account = await self.access.namespace(namespace)
        since = utc(body.active_from)
        requested: dict[str, list[str]] = defaultdict(list)
        for item in body.manifests:
            if item.digest not in requested[item.repository]:
                requested[item.repository].append(item.digest)
        errors: list[schemas.DeleteImagesErrorItem] = []
        warnings: list[schemas.DeleteImagesWarningItem] = []
        plans: dict[str, _Plan] = {}
        tag_count = 0
        for repository_name, digests in requested.items():
            repository = await self.access.registry.repository(f"{account.name}/{repository_name}")
            permission = await self.access.permission(subject, repository) if repository else Permission.NONE
            if repository is None or permission < Permission.READ:
                errors += [
                    schemas.DeleteImagesErrorItem(repository=repository_name, digest=d, error="not_found")
                    for d in digests
                ]
                continue
            if permission < Permission.ADMIN:
                errors += [
                    schemas.DeleteImagesErrorItem(repository=repository_name, digest=d, error="unauthorized")
                    for d in digests
                ]
                continue
            found = await self.listing.manifest_kinds(repository.id, digests)
            parents = await self.listing.parents(repository.id, list(found))
            activity = await self.listing.activity(repository.id, list(found))
            current = await self.listing.current_tags(repository.id, list(found))
            rules = active_rules(repository.immutable_tags, repository.immutable_tags_rules)
            deletable = []
            for digest in digests:
                if digest not in found:
                    errors.append(
                        schemas.DeleteImagesErrorItem(repository=repository_name, digest=digest, error="not_found")
                    )
                elif any(parent not in digests for parent in parents.get(digest, [])):
                    errors.append(
                        schemas.DeleteImagesErrorItem(repository=repository_name, digest=digest, error="child_manifest")
                    )
                elif immutable_tags(current.get(digest, []), rules):
                    errors.append(
                        schemas.DeleteImagesErrorItem(repository=repository_name, digest=digest, error="immutable_tag")
                    )
                else:
                    deletable.append(digest)
                    if activity[digest].is_active(since):
                        warnings.append(
                            schemas.DeleteImagesWarningItem(
                                repository=repository_name, digest=digest, warning="is_active"
                            )
                        )
                    if current.get(digest):
                        tag_count += len(current[digest])
                        warnings.append(
                            schemas.DeleteImagesWarningItem(
                                repository=repository_name, digest=digest, warning="current_tag", tags=current[digest]
                            )
                        )
            plans[repository_name] = _Plan(repository.id, deletable)
        unignored = [warning for warning in warnings if not _ignored(warning, body.ignore_warnings)]
        if errors or unignored:
            raise _rejected(subject, started, errors, unignored)
        if body.dry_run:
            manifest_count = sum(len(plan.digests) for plan in plans.values())
            return _result(True, manifest_count, tag_count)
        manifest_deletes = tag_deletes = 0
        for plan in plans.values():
            repository = await self.listing.repository_by_id(plan.repository_id)
            if repository is None or not plan.digests:
                continue
            try:
                deleted = await self.management.delete_manifests(
                    self.session, repository, plan.digests, subject.username
                )
            except ManagementError as exc:
                raise management_error(exc) from exc
            manifest_deletes += len(deleted.manifests)
            tag_deletes += len(deleted.tags)
        return _result(False, manifest_deletes, tag_deletes)


def _ignored(warning: schemas.DeleteImagesWarningItem, ignores: list[schemas.IgnoreWarning]) -> bool:
    for ignore in ignores:
        if (ignore.repository, ignore.digest, ignore.warning) != (warning.repository, warning.digest, warning.warning):
            continue
        # An ignore that names tags covers only those: a tag added since the dry run must be confirmed again.
        if warning.warning != "current_tag" or ignore.tags is None or set(warning.tags or []) <= set(ignore.tags):
            return True
    return False


def _result(dry_run: bool, manifests: int, tags: int) -> schemas.DeleteImagesResult:
    return schemas.DeleteImagesResult(
        dry_run=dry_run,
        metrics=schemas.DeleteMetrics(manifest_deletes=manifests, manifest_errors=0, tag_deletes=tags, tag_errors=0),
    )


def _rejected(
    subject: Subject,
    started: datetime,
    errors: list[schemas.DeleteImagesErrorItem],
    warnings: list[schemas.DeleteImagesWarningItem],
) -> ApiError:
    txnid = uuid.uuid4().hex
    parts = []
    if errors:
        parts.append(f"{len(errors)} error(s)")
    if warnings:
        parts.append(f"{len(warnings)} warning(s) not ignored")
    message = "Deletion not possible: " + " and ".join(parts)
    errinfo = schemas.DeleteImagesErrinfo(
        api_call_docker_id=subject.username or "",
        api_call_name="PostNamespacesDeleteImages",
        api_call_start=started.isoformat().replace("+00:00", "Z"),
        api_call_txnid=txnid,
        type="validation",
        details=schemas.DeleteImagesDetails(errors=errors, warnings=warnings),
    )
    return ApiError(message, status=400, extra={"txnid": txnid, "errinfo": errinfo.model_dump(mode="json")})
