"""A repository as the caller sees it, for the Hub routes that share repositories (collaborators, team grants).

Repository facts come from the registry's store (read only); the caller's permission from the one `decide` path,
so a private repository is a 404 for anyone who may not read it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.errors import AccountNotFound
from dockyard.accounts.models import Account
from dockyard.accounts.orgs import Forbidden
from dockyard.accounts.permissions import Permission, Subject, decide
from dockyard.accounts.service import AccountsService
from dockyard.registry.models import Repository
from dockyard.registry.store import RegistryStore


@dataclass(frozen=True)
class RepoAccess:
    repository: Repository
    namespace: Account
    subject: Subject
    permission: Permission

    @property
    def path(self) -> str:
        return self.repository.path

    def require(self, needed: Permission) -> None:
        if self.permission < needed:
            raise Forbidden("you do not have permission to do this on this repository")


async def repository_access(session: AsyncSession, subject: Subject, namespace: str, name: str) -> RepoAccess:
    """The repository and the caller's permission on it; a 404 when it does not exist or the caller may not
    even read it."""
    not_found = AccountNotFound(f"repository {namespace}/{name} not found")
    repository = await RegistryStore(session).repository(f"{namespace}/{name}")
    if repository is None:
        raise not_found
    accounts = AccountsService(session)
    target = await accounts.target(
        subject,
        namespace,
        exists=True,
        is_private=repository.is_private,
        repository_id=repository.id,
        path=repository.path,
    )
    permission = decide(subject, target)
    owner = await accounts.store.by_id(repository.namespace_id)
    if permission < Permission.READ or owner is None:
        raise not_found
    return RepoAccess(repository, owner, subject, permission)
