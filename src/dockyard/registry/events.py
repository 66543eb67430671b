"""Domain events the registry publishes on the bus."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ManifestPushed:
    repository: str
    digest: str
    media_type: str
    size: int
    tag: str | None
    account: str | None
    time: datetime


@dataclass(frozen=True, slots=True)
class ManifestRequested:
    """A manifest HEAD or GET, found or not: the raw material of pull analytics."""

    repository: str
    reference: str
    digest: str | None
    method: str
    status: int
    client_ip: str
    user_agent: str
    account: str | None
    # Microseconds since the Unix epoch (UTC): an int is cheaper to stamp on every pull than a datetime, and to
    # hand in bulk to the analytics writer process.
    time_us: int


@dataclass(frozen=True, slots=True)
class BlobRequested:
    repository: str
    digest: str
    method: str
    status: int
    client_ip: str
    user_agent: str
    account: str | None
    time: datetime


@dataclass(frozen=True, slots=True)
class TagDeleted:
    repository: str
    tag: str
    digest: str
    account: str | None
    time: datetime


@dataclass(frozen=True, slots=True)
class ManifestDeleted:
    repository: str
    digest: str
    account: str | None
    time: datetime


@dataclass(frozen=True, slots=True)
class RepositoryDeleted:
    """A whole repository went (through the Hub API): its tags, manifests and blob links with it."""

    repository: str
    account: str | None
    time: datetime
