"""Search routes: the Hub's `/v2/search/repositories/` and the v1 index's `/v1/search` (docker and podman
search)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query, Request

from dockyard.api.deps import OptionalSubject, ReadSession, ServicesDep
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter
from dockyard.hub import schemas
from dockyard.hub.search import SearchService

router = HubRouter(tags=["search"])


@router.get(
    "/v2/search/repositories/",
    response_model=schemas.Page[schemas.SearchResult],
    summary="Search repositories by name and description",
)
async def search_repositories(
    request: Request,
    services: ServicesDep,
    session: ReadSession,
    subject: OptionalSubject,
    pages: Pages,
    query: Annotated[str, Query(max_length=255, pattern=schemas.NO_NUL_PATTERN)] = "",
) -> dict[str, Any]:
    count, results = await SearchService(session).repositories(subject, query, pages.offset, pages.page_size)
    return paginate(request, services.settings.base_url, pages, count, results)


@router.get("/v1/search", response_model=schemas.V1SearchResults, summary="Search repositories (v1 index API)")
async def search_v1(
    session: ReadSession,
    subject: OptionalSubject,
    q: Annotated[str, Query(max_length=255, pattern=schemas.NO_NUL_PATTERN)] = "",
    n: Annotated[int, Query(ge=1, le=100)] = 25,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> schemas.V1SearchResults:
    return await SearchService(session).v1(subject, q, page, n)
