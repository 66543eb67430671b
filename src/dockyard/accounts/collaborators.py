"""Collaborators: users a personal repository's owner lets in (with write access unless told otherwise).
Organisations share repositories through teams instead. A collaborator's grant raises their permission on that
one repository (see `AccountsService.target`)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.errors import AccountNotFound, AccountsError
from dockyard.accounts.models import USER, Account
from dockyard.accounts.models_people import Collaborator
from dockyard.accounts.orgs import audit, require_full_access
from dockyard.accounts.people_store import PeopleStore
from dockyard.accounts.permissions import Permission
from dockyard.accounts.repo_access import RepoAccess
from dockyard.accounts.service import AccountsService
from dockyard.events import EventBus


async def count(session: AsyncSession, repository_id: int) -> int:
    """How many collaborators a repository has (the `collaborator_count` of `repository_info`)."""
    return await PeopleStore(session).count_collaborators(repository_id)


class CollaboratorsService:
    def __init__(self, session: AsyncSession, bus: EventBus | None = None) -> None:
        self.store = PeopleStore(session)
        self.accounts = AccountsService(session)
        self.bus = bus

    async def list_collaborators(
        self, repo: RepoAccess, offset: int, limit: int
    ) -> tuple[int, list[tuple[Collaborator, Account]]]:
        # Collaborators may see who else works on the repository; readers may not.
        repo.require(Permission.WRITE)
        return await self.store.collaborators_page(repo.repository.id, offset, limit)

    async def add(self, repo: RepoAccess, username: str, permission: str) -> tuple[Collaborator, Account]:
        repo.require(Permission.ADMIN)
        require_full_access(repo.subject)
        if repo.namespace.is_org:
            raise AccountsError("an organisation's repositories are shared through its teams, not collaborators")
        user = await self.accounts.store.by_name(username.lower())
        if user is None or user.kind != USER or not user.is_active:
            raise AccountNotFound(f"no user named '{username}'")
        if user.id == repo.namespace.id:
            raise AccountsError(f"'{user.name}' owns {repo.path} already")
        collaborator = await self.store.collaborator(repo.repository.id, user.id)
        if collaborator is None:
            collaborator = Collaborator(repository_id=repo.repository.id, user_id=user.id, permission=permission)
            await self.store.add(collaborator)
        else:
            collaborator.permission = permission
            await self.store.session.flush()
        audit(
            self.bus, repo.namespace.name, repo.subject, "repo.collaborator.add", repo.path,
            user=user.name, permission=permission,
        )  # fmt: skip
        return collaborator, user

    async def remove(self, repo: RepoAccess, username: str) -> None:
        """Admins remove anyone; a collaborator may remove themselves."""
        user = await self.accounts.store.by_name(username.lower())
        if user is None or user.id != repo.subject.account_id:
            repo.require(Permission.ADMIN)
        require_full_access(repo.subject)
        collaborator = await self.store.collaborator(repo.repository.id, user.id) if user is not None else None
        if user is None or collaborator is None:
            raise AccountNotFound(f"'{username}' is not a collaborator on {repo.path}")
        await self.store.remove(collaborator)
        audit(self.bus, repo.namespace.name, repo.subject, "repo.collaborator.remove", repo.path, user=user.name)
