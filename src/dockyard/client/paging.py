"""Iterators over list operations: they fetch a page only when the previous one is used up, and follow the
absolute `next` links of Django REST Framework-style pages (or, for lists without links, ask for the next page
number until a short page comes back). `count` holds the server's total once the first page is in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from typing import Any, Generic, TypeVar

import httpx

from dockyard.client.calls import Call, Listing, json_of

T = TypeVar("T")


def next_call(listing: Listing[Any], data: Any, rows: list[Any], number: int) -> Call | None:
    """The request for the page after page `number`, or None when that was the last."""
    first = listing.call
    if listing.page_numbers:
        if len(rows) < listing.page_size:
            return None
        query = dict(first.params or {})
        query["page"] = number + 1
        query.setdefault("page_size", listing.page_size)
        return replace(first, params=query, ok=frozenset({404}))
    link = data.get("next") if isinstance(data, dict) else None
    if not isinstance(link, str) or not link:
        return None
    return Call("GET", link, headers=first.headers, auth=first.auth, cache=first.cache)


def read_page(listing: Listing[T], response: httpx.Response, number: int) -> tuple[list[T], Call | None, int | None]:
    """(items, the next page's request, the total count if the page says)."""
    if number > 1 and response.status_code == 404:  # a page past the end
        return [], None, None
    data = json_of(response)
    if listing.key is None or isinstance(data, list):
        rows = data if isinstance(data, list) else []
        return [listing.item(row) for row in rows], None, len(rows)
    if not isinstance(data, dict):
        return [], None, None
    rows = data.get(listing.key) or []
    count = data.get("count", data.get("total"))
    return (
        [listing.item(row) for row in rows],
        next_call(listing, data, rows, number),
        count if isinstance(count, int) else None,
    )


class Paged(Generic[T]):
    """The items of a list operation, fetched page by page as you iterate (`for repo in hub.list_...(...)`)."""

    def __init__(self, fetch: Callable[[Call], httpx.Response], listing: Listing[T]) -> None:
        self._fetch = fetch
        self.listing = listing
        self.count: int | None = None

    def pages(self) -> Iterator[list[T]]:
        call: Call | None = self.listing.call
        number, seen = 1, set()
        while call is not None:
            response = self._fetch(call)
            items, call, count = read_page(self.listing, response, number)
            if count is not None and self.count is None:
                self.count = count
            yield items
            if call is not None:
                key = (call.path, repr(call.params))
                if key in seen:  # a server that links a page to itself must not loop forever
                    return
                seen.add(key)
            number += 1

    def __iter__(self) -> Iterator[T]:
        for page in self.pages():
            yield from page

    def all(self) -> list[T]:
        return list(self)

    def first(self) -> T | None:
        return next(iter(self), None)


class AsyncPaged(Generic[T]):
    """The async twin of `Paged`: `async for tag in ahub.list_tags(...)`, or `await ahub.list_tags(...).all()`."""

    def __init__(self, fetch: Callable[[Call], Awaitable[httpx.Response]], listing: Listing[T]) -> None:
        self._fetch = fetch
        self.listing = listing
        self.count: int | None = None

    async def pages(self) -> AsyncIterator[list[T]]:
        call: Call | None = self.listing.call
        number, seen = 1, set()
        while call is not None:
            response = await self._fetch(call)
            items, call, count = read_page(self.listing, response, number)
            if count is not None and self.count is None:
                self.count = count
            yield items
            if call is not None:
                key = (call.path, repr(call.params))
                if key in seen:
                    return
                seen.add(key)
            number += 1

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page:
                yield item

    async def all(self) -> list[T]:
        return [item async for item in self]

    async def first(self) -> T | None:
        async for item in self:
            return item
        return None
