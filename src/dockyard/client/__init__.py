"""The Dockyard Python SDK: a client of the Docker Hub API, the DVP Data API and the registry, for Dockyard and
for Docker Hub itself (whose hosts are the defaults).

    from dockyard.client import Hub

    hub = Hub("https://hub.example.com", username="alice", password="dckr_pat_...")
    for tag in hub.list_tags("alice", "app"):
        print(tag.name, tag.digest)

`Hub` blocks; `AsyncHub` has the same operations as coroutines and async iterators. Results are pydantic models
(`dockyard.client.models`) that keep unknown fields; refusals raise `HubError` subclasses carrying the status
and the server's message (`dockyard.client.errors`).

The names below are imported on first use, so that importing a light submodule (the CLI's credentials store,
the constants) does not load httpx and pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dockyard.client.aio import AsyncHub
    from dockyard.client.cache import ResponseCache
    from dockyard.client.context import Context
    from dockyard.client.errors import (
        AuthenticationError,
        BadRequest,
        Conflict,
        ConnectionFailed,
        HubError,
        NotFound,
        PermissionDenied,
        RateLimited,
        ServerError,
        TwoFactorRequired,
    )
    from dockyard.client.hub import Hub
    from dockyard.client.paging import AsyncPaged, Paged
    from dockyard.client.retry import RetryPolicy

_WHERE = {
    "AsyncHub": "aio",
    "AsyncPaged": "paging",
    "AuthenticationError": "errors",
    "BadRequest": "errors",
    "Conflict": "errors",
    "ConnectionFailed": "errors",
    "Context": "context",
    "Hub": "hub",
    "HubError": "errors",
    "NotFound": "errors",
    "Paged": "paging",
    "PermissionDenied": "errors",
    "RateLimited": "errors",
    "ResponseCache": "cache",
    "RetryPolicy": "retry",
    "ServerError": "errors",
    "TwoFactorRequired": "errors",
}

__all__ = [
    "AsyncHub",
    "AsyncPaged",
    "AuthenticationError",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "Context",
    "Hub",
    "HubError",
    "NotFound",
    "Paged",
    "PermissionDenied",
    "RateLimited",
    "ResponseCache",
    "RetryPolicy",
    "ServerError",
    "TwoFactorRequired",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dockyard.client' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dockyard.client.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
