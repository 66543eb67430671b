"""The Dockyard Python SDK: a client of the Docker Hub API, the DVP Data API and the registry, for Dockyard and
for Docker Hub itself (whose hosts are the defaults).

    from dockyard.client import Hub

    hub = Hub("https://hub.example.com", username="alice", password="dckr_pat_...")
    for tag in hub.list_tags("alice", "app"):
        print(tag.name, tag.digest)

`Hub` blocks; `AsyncHub` has the same operations as coroutines and async iterators. Results are pydantic models
(`dockyard.client.models`) that keep unknown fields; refusals raise `HubError` subclasses carrying the status
and the server's message (`dockyard.client.errors`).
"""

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
