"""Hub API routes for tags: `/v2/namespaces/{namespace}/repositories/{repository}/tags[/{tag}]` (GET and HEAD)
and the legacy `/v2/repositories/{namespace}/{repository}/tags/` family, including DELETE."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path, Query, Request, Response

from dockyard.accounts.service import LIBRARY
from dockyard.api.deps import CurrentSubject, OptionalSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.errors import NotFound
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter
from dockyard.hub import schemas
from dockyard.hub.access import NOT_FOUND
from dockyard.hub.tags import TagService

router = HubRouter(tags=["tags"])
# Matched after every other router: `/v2/repositories/{name}/tags/{tag}/` (hub-tool's form for official images)
# has as many segments as some `/v2/repositories/{namespace}/{repository}/...` routes.
official_router = HubRouter(tags=["tags"])

Namespace = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.SEGMENT_PATTERN)]
Name = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.SEGMENT_PATTERN)]
TagPath = Annotated[str, Path(min_length=1, max_length=128, pattern=schemas.TAG_PATTERN)]
Ordering = Literal["last_updated", "-last_updated", "name", "-name"]
NameFilter = Annotated[
    str | None, Query(max_length=128, pattern=schemas.NO_NUL_PATTERN, description="Part of the tag name")
]


async def _page(
    request: Request,
    namespace: str,
    repository: str,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
    ordering: str | None,
    name: str | None,
) -> dict[str, Any]:
    count, tags = await TagService(session, services).page(
        subject, namespace, repository, tag_name=name, ordering=ordering, offset=pages.offset, limit=pages.page_size
    )
    return paginate(request, services.settings.base_url, pages, count, tags)


@router.get(
    "/v2/namespaces/{namespace}/repositories/{repository}/tags",
    response_model=schemas.Page[schemas.TagInfo],
    summary="List a repository's tags",
)
async def list_tags(
    request: Request,
    namespace: Namespace,
    repository: Name,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
    ordering: Ordering | None = None,
    name: NameFilter = None,
) -> dict[str, Any]:
    return await _page(request, namespace, repository, services, session, subject, pages, ordering, name)


@router.head(
    "/v2/namespaces/{namespace}/repositories/{repository}/tags",
    status_code=200,
    response_class=Response,
    summary="Check that a repository has tags (404 when it has none)",
)
@router.head(
    "/v2/repositories/{namespace}/{repository}/tags/",
    status_code=200,
    response_class=Response,
    summary="Check that a repository has tags (legacy; 404 when it has none)",
)
async def has_tags(
    namespace: Namespace, repository: Name, services: ServicesDep, session: ReadSession, subject: OptionalSubject
) -> Response:
    if not await TagService(session, services).has_tags(subject, namespace, repository):
        raise NotFound(NOT_FOUND)
    return Response(status_code=200)


@router.get(
    "/v2/namespaces/{namespace}/repositories/{repository}/tags/{tag}",
    response_model=schemas.TagInfo,
    summary="Get a tag (HEAD: check that it exists)",
)
@router.head(
    "/v2/namespaces/{namespace}/repositories/{repository}/tags/{tag}",
    response_model=schemas.TagInfo,
    summary="Get a tag (HEAD: check that it exists)",
)
async def get_tag(
    namespace: Namespace,
    repository: Name,
    tag: TagPath,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
) -> schemas.TagInfo:
    return await TagService(session, services).get(subject, namespace, repository, tag)


@router.get(
    "/v2/repositories/{namespace}/{repository}/tags/",
    response_model=schemas.Page[schemas.TagInfo],
    summary="List a repository's tags (legacy)",
)
async def list_tags_legacy(
    request: Request,
    namespace: Namespace,
    repository: Name,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
    ordering: Ordering | None = None,
    name: NameFilter = None,
) -> dict[str, Any]:
    return await _page(request, namespace, repository, services, session, subject, pages, ordering, name)


@router.get(
    "/v2/repositories/{namespace}/{repository}/tags/{tag}/",
    response_model=schemas.TagInfo,
    summary="Get a tag (legacy)",
)
@router.head(
    "/v2/repositories/{namespace}/{repository}/tags/{tag}/",
    response_model=schemas.TagInfo,
    summary="Check that a tag exists (legacy)",
)
async def get_tag_legacy(
    namespace: Namespace,
    repository: Name,
    tag: TagPath,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
) -> schemas.TagInfo:
    return await TagService(session, services).get(subject, namespace, repository, tag)


@router.delete(
    "/v2/repositories/{namespace}/{repository}/tags/{tag}/",
    status_code=204,
    response_class=Response,
    summary="Delete a tag (the image stays)",
)
async def delete_tag(
    namespace: Namespace,
    repository: Name,
    tag: TagPath,
    services: ServicesDep,
    session: WriteSession,
    subject: CurrentSubject,
) -> Response:
    await TagService(session, services).delete(subject, namespace, repository, tag)
    return Response(status_code=204)


@official_router.delete(
    "/v2/repositories/{repository}/tags/{tag}/",
    status_code=204,
    response_class=Response,
    summary="Delete a tag of an official image (`nginx` meaning `library/nginx`, as hub-tool sends it)",
)
async def delete_official_tag(
    repository: Name, tag: TagPath, services: ServicesDep, session: WriteSession, subject: CurrentSubject
) -> Response:
    await TagService(session, services).delete(subject, LIBRARY, repository, tag)
    return Response(status_code=204)
