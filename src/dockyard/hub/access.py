"""How the Hub's content routes find a namespace or repository and what the caller may do with it.

Every decision goes through AccountsService (and so `decide`), the path every face uses. A repository the
caller may not read does not exist as far as they can tell: 404 with the same body as a missing one, in detail
routes and listings alike.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.models import Account
from dockyard.accounts.permissions import Permission, Subject
from dockyard.accounts.service import LIBRARY, AccountsService
from dockyard.api.errors import Forbidden, NotFound, Unauthorized
from dockyard.registry.listing import ListingStore, Visibility
from dockyard.registry.models import Repository
from dockyard.registry.store import RegistryStore

NOT_FOUND = "Object not found"


def namespace_name(namespace: str) -> str:
    """`_` is the library namespace (official images), as the npm client and Docker Hub spell it."""
    return LIBRARY if namespace == "_" else namespace


@dataclass(frozen=True)
class RepoAccess:
    repository: Repository
    namespace: Account
    permission: Permission

    @property
    def path(self) -> str:
        return self.repository.path


def denied(subject: Subject) -> Unauthorized | Forbidden:
    if subject.is_anonymous:
        return Unauthorized("Authentication credentials were not provided.")
    return Forbidden("You do not have permission to perform this action.")


class Access:
    def __init__(self, session: AsyncSession) -> None:
        self.accounts = AccountsService(session)
        self.registry = RegistryStore(session)
        self.listing = ListingStore(session)

    async def namespace(self, name: str) -> Account:
        account = await self.accounts.store.by_name(namespace_name(name))
        if account is None:
            raise NotFound(NOT_FOUND)
        return account

    async def permission(self, subject: Subject, repository: Repository) -> Permission:
        return await self.accounts.permission(
            subject,
            repository.path.split("/", 1)[0],
            exists=True,
            is_private=repository.is_private,
            repository_id=repository.id,
            # Organisation access tokens are granted by path; without it they could not reach any repository.
            path=repository.path,
        )

    async def repository(
        self, subject: Subject, namespace: str, name: str, need: Permission = Permission.READ
    ) -> RepoAccess:
        """The repository, if the caller may at least read it (404 otherwise) and holds `need` (401/403)."""
        owner = await self.accounts.store.by_name(namespace_name(namespace))
        repository = await self.registry.repository(f"{owner.name}/{name}") if owner is not None else None
        if owner is None or repository is None:
            raise NotFound(NOT_FOUND)
        permission = await self.permission(subject, repository)
        if permission < Permission.READ:
            raise NotFound(NOT_FOUND)
        if permission < need:
            raise denied(subject)
        return RepoAccess(repository, owner, permission)

    async def may_create_in(self, subject: Subject, namespace: Account) -> bool:
        """Whoever may push a new repository into the namespace may create one there."""
        permission = await self.accounts.permission(subject, namespace.name, exists=False, is_private=False)
        return permission >= Permission.WRITE

    async def visibility(
        self, subject: Subject, namespace: Account | None = None, search: str | None = None
    ) -> Visibility:
        """Which private repositories (in `namespace`, or matching `search` anywhere) the caller may see."""
        if subject.is_admin:
            return Visibility(all_private=True)
        if subject.is_anonymous:
            return Visibility()
        if namespace is not None:
            whole = await self.accounts.permission(subject, namespace.name, exists=True, is_private=True)
            if whole >= Permission.READ:
                return Visibility(all_private=True)
        candidates = await self.listing.private_repositories(
            namespace_id=namespace.id if namespace is not None else None, search=search
        )
        by_namespace: dict[str, list[Repository]] = defaultdict(list)
        for repository in candidates:
            by_namespace[repository.path.split("/", 1)[0]].append(repository)
        readable: list[int] = []
        for name, repositories in by_namespace.items():
            # Asked once per namespace: owners and members see all of its private repositories; anyone else
            # only those they were granted one by one (as a collaborator or through a team).
            whole = await self.accounts.permission(subject, name, exists=True, is_private=True)
            for repository in repositories:
                if whole >= Permission.READ or await self.permission(subject, repository) >= Permission.READ:
                    readable.append(repository.id)
        return Visibility(private_ids=frozenset(readable))
