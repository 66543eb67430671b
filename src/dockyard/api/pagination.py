"""Django REST Framework-style pages: `?page=` (from 1) and `?page_size=` (at most 100), answered with
`{count, next, previous, results}` whose links are absolute URLs built from the public URL."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Query, Request

from dockyard.api.errors import NotFound

MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class PageParams:
    page: int
    page_size: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


def page_params(
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1)] = 10,
) -> PageParams:
    # Docker Hub caps the page size rather than rejecting a larger one.
    return PageParams(page=page, page_size=min(page_size, MAX_PAGE_SIZE))


Pages = Annotated[PageParams, Depends(page_params)]


def page_url(request: Request, base_url: str, page: int) -> str:
    query = [(key, value) for key, value in request.query_params.multi_items() if key != "page"]
    query.append(("page", str(page)))
    return f"{base_url}{request.url.path}?{urlencode(query)}"


def page_links(request: Request, base_url: str, params: PageParams, count: int) -> tuple[str | None, str | None]:
    """(next, previous) for a page of `count` items in all; a page past the end is a 404, as on Docker Hub."""
    last_page = max(1, -(-count // params.page_size))
    if params.page > last_page:
        raise NotFound("Invalid page.")
    next_url = page_url(request, base_url, params.page + 1) if params.page < last_page else None
    previous_url = page_url(request, base_url, params.page - 1) if params.page > 1 else None
    return next_url, previous_url


def paginate(
    request: Request, base_url: str, params: PageParams, count: int, results: Sequence[Any], **extra: Any
) -> dict[str, Any]:
    next_url, previous_url = page_links(request, base_url, params, count)
    return {"count": count, "next": next_url, "previous": previous_url, **extra, "results": list(results)}
