"""The description layer shared by `Hub` and `AsyncHub`: what to send and how to read the answer, with no I/O.

Every SDK operation is a *flow*: a generator that yields effects (`Call` for an HTTP request, `Download` to stream
a response into a file, `AskCode` for a 2FA code) and receives their results (an `httpx.Response`, a byte count, a
code), then returns the typed result. `Hub` drives flows with blocking I/O and `AsyncHub` with `await`, so both
surfaces run the very same code for every route, and cannot drift apart. List operations are described by a
`Listing` (the first request, the item model, and where the items are), which the two runners turn into an
iterator or an async iterator that follows `next` links.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel

from dockyard.client.errors import error_for

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

Params = Mapping[str, Any] | Sequence[tuple[str, Any]]
ProgressCallback = Callable[[str, int, int | None], None]
"""Called as `progress(name, bytes_so_far, total_or_None)` while a file downloads."""


@dataclass(frozen=True)
class Call:
    """One HTTP request. `path` is relative to the Hub base URL, or an absolute URL (registry, `next` links).

    `ok`: statuses handed back to the flow as responses instead of raised as errors.
    `auth`: send the Hub bearer token (signing in first when the client holds credentials but no token yet).
    `cache`: a GET that may be answered from the response cache.
    `invalidates`: more paths whose cached answers a write makes stale (its own path always is).
    `retry`: whether the client's retry policy applies (429 and 5xx answers are otherwise returned or raised).
    """

    method: str
    path: str
    params: Params | None = None
    json: Any = None
    headers: Mapping[str, str] | None = None
    ok: frozenset[int] = frozenset()
    auth: bool = True
    cache: bool = True
    invalidates: tuple[str, ...] = ()
    retry: bool = True

    @property
    def is_write(self) -> bool:
        return self.method.upper() not in ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class Download:
    """Stream `url` into a file, written under a temporary name and renamed when complete; the result is the
    file's `Path`. The file is `path`, or, with `directory`, the name the server gives in `Content-Disposition`
    (else `name`) inside it, never one of the names in `taken`."""

    url: str
    path: Path | None = None
    directory: Path | None = None
    name: str = "download"
    taken: frozenset[str] = frozenset()
    progress: ProgressCallback | None = None
    auth: bool = False


@dataclass(frozen=True)
class AskCode:
    """Ask the client's `otp_callback` for a second-factor code; the result is the code."""

    username: str


Effect = Call | Download | AskCode
Flow = Generator[Effect, Any, T]


@dataclass(frozen=True)
class Listing(Generic[T]):
    """A list operation: the first request, how to read items, and how to find the next page.

    `key`: the field holding the items (None: the body is a bare array, returned whole).
    `page_numbers`: the list has no `next` links (audit logs), so pages are asked for by number until one comes
    back shorter than `page_size`.
    """

    call: Call
    item: Callable[[Any], T]
    key: str | None = "results"
    page_numbers: bool = False
    page_size: int = 100
    extra: dict[str, Any] = field(default_factory=dict)


# --- building requests ---------------------------------------------------------------------------------------------
def seg(value: str | int) -> str:
    """One path segment, percent-encoded (a `/` inside a name cannot change the route)."""
    return quote(str(value), safe="")


def repo_path(value: str) -> str:
    """A repository name with slashes kept (`ns/repo`), each segment encoded."""
    return "/".join(seg(part) for part in value.split("/"))


def params(**values: Any) -> dict[str, Any]:
    """Query parameters without the ones left out (None); booleans as `true`/`false`."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out


def body(**values: Any) -> dict[str, Any]:
    """A JSON body without the fields left out (None)."""
    return {key: value for key, value in values.items() if value is not None}


def get(path: str, query: Params | None = None, **kwargs: Any) -> Call:
    return Call("GET", path, params=query, **kwargs)


def post(path: str, json: Any = None, **kwargs: Any) -> Call:
    return Call("POST", path, json=json, **kwargs)


def put(path: str, json: Any = None, **kwargs: Any) -> Call:
    return Call("PUT", path, json=json, **kwargs)


def patch(path: str, json: Any = None, **kwargs: Any) -> Call:
    return Call("PATCH", path, json=json, **kwargs)


def delete(path: str, **kwargs: Any) -> Call:
    return Call("DELETE", path, **kwargs)


# --- reading answers -----------------------------------------------------------------------------------------------
def check(response: httpx.Response) -> httpx.Response:
    """The response itself, or its error raised (for statuses a `Call` let through with `ok`)."""
    if response.status_code >= 400:
        raise error_for(response)
    return response


def json_of(response: httpx.Response) -> Any:
    if not response.content:
        return None
    return response.json()


def model(cls: type[M], response: httpx.Response) -> M:
    return cls.model_validate(json_of(response))


def models(cls: type[M], response: httpx.Response) -> list[M]:
    data = json_of(response)
    return [cls.model_validate(item) for item in (data or [])]


def item_parser(cls: type[M]) -> Callable[[Any], M]:
    return cls.model_validate


# --- small flows -------------------------------------------------------------------------------------------------
def fetch(cls: type[M], call: Call) -> Flow[M]:
    """One request whose JSON answer is a `cls`."""
    response = yield call
    return model(cls, response)


def fetch_list(cls: type[M], call: Call) -> Flow[list[M]]:
    response = yield call
    return models(cls, response)


def send(call: Call) -> Flow[None]:
    """One request whose answer carries nothing to return."""
    yield call
    return None


def exists(call: Call) -> Flow[bool]:
    """A HEAD (or GET): True on 2xx, False on 404."""
    response = yield Call(call.method, call.path, call.params, headers=call.headers, ok=frozenset({404}), cache=False)
    return bool(response.status_code < 300)
