"""How the community routes find a repository and the caller's permission on it.

Repository facts come from the registry's store and the permission from AccountsService (and so `decide`), the
one path every face uses. A repository the caller cannot read does not exist as far as they can tell (404).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Permission, Subject
from dockyard.accounts.service import LIBRARY, AccountsService
from dockyard.api.errors import Forbidden, NotFound, Unauthorized
from dockyard.registry.models import Repository
from dockyard.registry.store import RegistryStore

NOT_FOUND = "Object not found"

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


def namespace_name(namespace: str | None) -> str:
    """`_` (or nothing) is the library namespace, as the npm client and Docker Hub have it."""
    return LIBRARY if namespace in (None, "", "_") else namespace


def split_path(path: str) -> tuple[str, str]:
    """`ns/name`, or a bare `name` in the library namespace."""
    namespace, _, name = path.strip("/").rpartition("/")
    return namespace_name(namespace), name


@dataclass(frozen=True)
class RepoAccess:
    repository: Repository
    permission: Permission

    @property
    def path(self) -> str:
        return self.repository.path

    @property
    def namespace(self) -> str:
        return self.repository.path.split("/", 1)[0]


async def find_repository(session: AsyncSession, subject: Subject, namespace: str, name: str) -> RepoAccess | None:
    """The repository and the caller's permission on it; None when it does not exist or the caller cannot read it."""
    namespace = namespace_name(namespace)
    if not (REPO_PART_RE.match(namespace) and REPO_PART_RE.match(name)) or len(namespace) + len(name) > 255:
        return None
    repository = await RegistryStore(session).repository(f"{namespace}/{name}")
    if repository is None:
        return None
    permission = await AccountsService(session).permission(
        subject, namespace, exists=True, is_private=repository.is_private
    )
    if permission < Permission.READ:
        return None
    return RepoAccess(repository, permission)


async def require_repository(
    session: AsyncSession, subject: Subject, namespace: str, name: str, need: Permission = Permission.READ
) -> RepoAccess:
    access = await find_repository(session, subject, namespace, name)
    if access is None:
        raise NotFound(NOT_FOUND)
    if access.permission < need:
        if subject.is_anonymous:
            raise Unauthorized("Authentication credentials were not provided.")
        raise Forbidden("You do not have permission to perform this action.")
    return access


def iso(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with a `Z`, as Docker Hub writes its times."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None
