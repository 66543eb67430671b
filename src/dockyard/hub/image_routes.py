"""Hub API routes of the images API (the seed's): summary, images with status and tags, an image's tags, and
bulk deletion with errors and warnings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Body, Path, Query, Request

from dockyard.api.deps import CurrentSubject, OptionalSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter
from dockyard.hub import schemas
from dockyard.hub.images import ImageService

router = HubRouter(tags=["images"])

Namespace = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.SEGMENT_PATTERN)]
Name = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.SEGMENT_PATTERN)]
DigestPath = Annotated[str, Path(pattern=schemas.DIGEST_PATTERN)]
ActiveFrom = Annotated[
    datetime | None,
    Query(description="Images pushed or pulled since this time are active (default: one month ago)"),
]


@router.get(
    "/v2/namespaces/{namespace}/repositories/{repository}/images-summary",
    response_model=schemas.ImagesSummary,
    summary="Count a repository's images, active and inactive",
)
async def images_summary(
    namespace: Namespace,
    repository: Name,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    active_from: ActiveFrom = None,
) -> schemas.ImagesSummary:
    return await ImageService(session, services).summary(subject, namespace, repository, active_from)


@router.get(
    "/v2/namespaces/{namespace}/repositories/{repository}/images",
    response_model=schemas.Page[schemas.ImageEntry],
    summary="List a repository's images with their tags and status",
)
async def list_images(
    request: Request,
    namespace: Namespace,
    repository: Name,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
    status: Literal["active", "inactive"] | None = None,
    ordering: Literal["last_activity", "-last_activity", "digest", "-digest"] | None = None,
    active_from: ActiveFrom = None,
) -> dict[str, Any]:
    count, images = await ImageService(session, services).page(
        subject,
        namespace,
        repository,
        status=status,
        ordering=ordering,
        active_from=active_from,
        offset=pages.offset,
        limit=pages.page_size,
    )
    return paginate(request, services.settings.base_url, pages, count, images)


@router.get(
    "/v2/namespaces/{namespace}/repositories/{repository}/images/{digest}/tags",
    response_model=schemas.Page[schemas.ImageTag],
    summary="An image's current and past tags",
)
async def image_tags(
    request: Request,
    namespace: Namespace,
    repository: Name,
    digest: DigestPath,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
) -> dict[str, Any]:
    tags = await ImageService(session, services).digest_tags(subject, namespace, repository, digest)
    window = tags[pages.offset : pages.offset + pages.page_size]
    return paginate(request, services.settings.base_url, pages, len(tags), window)


@router.post(
    "/v2/namespaces/{namespace}/delete-images",
    response_model=schemas.DeleteImagesResult,
    responses={400: {"model": schemas.DeleteImagesError, "description": "Deletion not possible"}},
    summary="Delete images, once every warning is ignored",
)
async def delete_images(
    namespace: Namespace,
    body: Annotated[schemas.DeleteImagesRequest, Body()],
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
) -> schemas.DeleteImagesResult:
    return await ImageService(session, services).delete(subject, namespace, body)
