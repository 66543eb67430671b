"""Shared pieces of the community routes: the repository access check (the content routes' Access, so
collaborators and teams count the same everywhere), and input types that keep bad input out of the database."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Permission, Subject
from dockyard.api.errors import NotFound
from dockyard.hub.access import NOT_FOUND, Access, RepoAccess, namespace_name

# Object ids in paths, bounded so an absurd number is a 400 rather than a database error.
IdPath = Annotated[int, Path(ge=1, le=2**31 - 1)]
REPO_PART_RE = re.compile(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$")


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: refuse it as bad input rather than fail in the database.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


def is_plain(value: str, limit: int = 255) -> bool:
    """A path segment safe to look up: short and without NUL (anything else cannot name a stored object)."""
    return len(value) <= limit and "\x00" not in value


def split_path(path: str) -> tuple[str, str]:
    """`ns/name`, or a bare `name` in the library namespace."""
    namespace, _, name = path.strip("/").rpartition("/")
    return namespace_name(namespace or "_"), name


async def require_repository(
    session: AsyncSession, subject: Subject, namespace: str, name: str, need: Permission = Permission.READ
) -> RepoAccess:
    """The repository, through the content routes' one access check (404 when it cannot be read, 401/403 when
    `need` is not met); names that cannot exist are turned away before they reach the database."""
    plain = namespace_name(namespace)
    if not (REPO_PART_RE.match(plain) and REPO_PART_RE.match(name)) or len(plain) + len(name) > 255:
        raise NotFound(NOT_FOUND)
    return await Access(session).repository(subject, namespace, name, need)


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as Docker Hub writes its times."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
