"""Repository search: the Hub's `/v2/search/repositories/` and the v1 index's `/v1/search` (what `docker search`
and `podman search` call). Private repositories appear only to callers who may read them."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Subject
from dockyard.accounts.service import LIBRARY
from dockyard.hub import schemas
from dockyard.hub.access import Access
from dockyard.hub.store import HubStore
from dockyard.registry.listing import ListingStore
from dockyard.registry.models import Repository

MAX_QUERY = 255


def official(repository: Repository) -> bool:
    return repository.path.startswith(LIBRARY + "/")


def short_name(repository: Repository) -> str:
    """Official images go by their bare name (`nginx`), everything else by `namespace/name`."""
    return repository.name if official(repository) else repository.path


class SearchService:
    def __init__(self, session: AsyncSession) -> None:
        self.access = Access(session)
        self.listing = ListingStore(session)
        self.store = HubStore(session)

    async def _search(
        self, subject: Subject, query: str, offset: int, limit: int
    ) -> tuple[int, Sequence[Repository], dict[int, int]]:
        text = query.strip()[:MAX_QUERY]
        visibility = await self.access.visibility(subject, search=text)
        count, repositories = await self.listing.search(text, visibility, offset, limit)
        stars = await self.store.star_counts([r.id for r in repositories])
        return count, repositories, stars

    async def repositories(
        self, subject: Subject, query: str, offset: int, limit: int
    ) -> tuple[int, list[schemas.SearchResult]]:
        count, repositories, stars = await self._search(subject, query, offset, limit)
        return count, [
            schemas.SearchResult(
                repo_name=short_name(r),
                short_description=r.description,
                star_count=stars.get(r.id, 0),
                pull_count=r.pull_count,
                repo_owner=None,
                is_official=official(r),
                is_automated=False,
            )
            for r in repositories
        ]

    async def v1(self, subject: Subject, query: str, page: int, page_size: int) -> schemas.V1SearchResults:
        count, repositories, stars = await self._search(subject, query, (page - 1) * page_size, page_size)
        return schemas.V1SearchResults(
            query=query,
            num_results=count,
            num_pages=max(1, -(-count // page_size)),
            page=page,
            page_size=page_size,
            results=[
                schemas.V1SearchResult(
                    name=short_name(r),
                    description=r.description,
                    star_count=stars.get(r.id, 0),
                    is_official=official(r),
                    is_automated=False,
                    is_trusted=False,
                )
                for r in repositories
            ],
        )
