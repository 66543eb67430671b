"""Teams ("groups" in the Hub API): named sets of an organisation's members, and what each team may do on the
organisation's repositories. A team's grant raises its members' permission on that repository (see
`AccountsService.target`); only organisation members can be in a team, and leaving the organisation leaves its
teams too."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.errors import AccountNotFound, AccountsError, InvalidName
from dockyard.accounts.models import USER, Account
from dockyard.accounts.models_people import Team, TeamMember, TeamPermission
from dockyard.accounts.orgs import Conflict, OrgAccess, OrgsService, audit
from dockyard.accounts.people_store import PeopleStore
from dockyard.accounts.permissions import Permission
from dockyard.accounts.repo_access import RepoAccess
from dockyard.events import EventBus

TEAM_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,49}")


def validate_team_name(name: str) -> str:
    if not TEAM_NAME_RE.fullmatch(name):
        raise InvalidName(
            "team names are 1 to 50 characters: letters, digits, '.', '-' and '_', starting with a letter or digit"
        )
    return name


class TeamsService:
    def __init__(self, session: AsyncSession, bus: EventBus | None = None) -> None:
        self.orgs = OrgsService(session, bus)
        self.store = PeopleStore(session)
        self.bus = bus

    async def require_team(self, access: OrgAccess, name: str) -> Team:
        team = await self.store.team(access.org.id, name)
        if team is None:
            raise AccountNotFound(f"no group named '{name}' in {access.org.name}")
        return team

    async def with_counts(self, teams: Sequence[Team]) -> list[tuple[Team, int]]:
        counts = await self.store.member_counts([team.id for team in teams])
        return [(team, counts.get(team.id, 0)) for team in teams]

    # --- teams -----------------------------------------------------------------------------------------------
    async def list_teams(
        self, access: OrgAccess, *, search: str | None, username: str | None, offset: int, limit: int
    ) -> tuple[int, list[tuple[Team, int]]]:
        member_id = None
        if username:
            user = await self.orgs.accounts.store.by_name(username.lower())
            if user is None:
                return 0, []
            member_id = user.id
        count, teams = await self.store.teams_page(
            access.org.id, search=search, member_id=member_id, offset=offset, limit=limit
        )
        return count, await self.with_counts(teams)

    async def get(self, access: OrgAccess, name: str) -> tuple[Team, int]:
        team = await self.require_team(access, name)
        return (await self.with_counts([team]))[0]

    async def create(self, access: OrgAccess, name: str, description: str) -> Team:
        validate_team_name(name)
        if await self.store.team(access.org.id, name) is not None:
            raise Conflict(f"a group named '{name}' already exists in {access.org.name}")
        team = Team(org_id=access.org.id, name=name, description=description)
        await self.store.add(team)
        audit(self.bus, access.org.name, access.subject, "org.team.create", name)
        return team

    async def update(self, access: OrgAccess, name: str, new_name: str | None, description: str | None) -> Team:
        team = await self.require_team(access, name)
        if new_name is not None and new_name != team.name:
            validate_team_name(new_name)
            if await self.store.team(access.org.id, new_name) is not None:
                raise Conflict(f"a group named '{new_name}' already exists in {access.org.name}")
            team.name = new_name
        if description is not None:
            team.description = description
        await self.store.session.flush()
        audit(self.bus, access.org.name, access.subject, "org.team.change", team.name, previous_name=name)
        return team

    async def delete(self, access: OrgAccess, name: str) -> None:
        team = await self.require_team(access, name)
        await self.store.remove(team)
        audit(self.bus, access.org.name, access.subject, "org.team.delete", name)

    # --- team members ----------------------------------------------------------------------------------------
    async def members(
        self, access: OrgAccess, name: str, *, search: str | None, offset: int, limit: int | None
    ) -> tuple[int, Sequence[Account]]:
        team = await self.require_team(access, name)
        return await self.store.team_members_page(
            team.id, search=search, with_email=access.is_owner, offset=offset, limit=limit
        )

    async def add_member(self, access: OrgAccess, name: str, username: str) -> Account:
        """Add an organisation member to a team; adding someone already in it changes nothing."""
        team = await self.require_team(access, name)
        user = await self.orgs.accounts.store.by_name(username.lower())
        if user is None or user.kind != USER:
            raise AccountNotFound(f"no user named '{username}'")
        if await self.orgs.accounts.store.role(access.org.id, user.id) is None:
            raise AccountsError(f"'{user.name}' is not a member of {access.org.name}: invite them first")
        if await self.store.team_member(team.id, user.id) is None:
            await self.store.add(TeamMember(team_id=team.id, user_id=user.id))
            audit(self.bus, access.org.name, access.subject, "org.team.member.add", user.name, team=team.name)
        return user

    async def remove_member(self, access: OrgAccess, name: str, username: str) -> None:
        team = await self.require_team(access, name)
        user = await self.orgs.accounts.store.by_name(username.lower())
        member = await self.store.team_member(team.id, user.id) if user is not None else None
        if user is None or member is None:
            raise AccountNotFound(f"'{username}' is not in the group '{name}'")
        await self.store.remove(member)
        audit(self.bus, access.org.name, access.subject, "org.team.member.remove", user.name, team=team.name)

    # --- team grants on repositories -------------------------------------------------------------------------
    async def _team_of(self, repo: RepoAccess, team_id: int) -> Team:
        team = await self.store.team_by_id(team_id)
        if team is None or team.org_id != repo.namespace.id:
            raise AccountNotFound(f"no group with id {team_id} in {repo.namespace.name}")
        return team

    async def grants(self, repo: RepoAccess, offset: int, limit: int) -> tuple[int, list[tuple[TeamPermission, Team]]]:
        repo.require(Permission.ADMIN)
        return await self.store.team_permissions_page(repo.repository.id, offset, limit)

    async def grant(self, repo: RepoAccess, team_id: int, permission: str) -> tuple[TeamPermission, Team]:
        """Give a team `permission` on the repository, replacing what it had."""
        repo.require(Permission.ADMIN)
        if not repo.namespace.is_org:
            raise AccountsError("only an organisation's repositories are shared with teams; use collaborators")
        team = await self._team_of(repo, team_id)
        grant = await self.store.team_permission(team.id, repo.repository.id)
        if grant is None:
            grant = TeamPermission(team_id=team.id, repository_id=repo.repository.id, permission=permission)
            await self.store.add(grant)
        else:
            grant.permission = permission
            await self.store.session.flush()
        audit(
            self.bus, repo.namespace.name, repo.subject, "org.team.permission.change", repo.path,
            team=team.name, permission=permission,
        )  # fmt: skip
        return grant, team

    async def revoke(self, repo: RepoAccess, team_id: int) -> None:
        repo.require(Permission.ADMIN)
        team = await self._team_of(repo, team_id)
        grant = await self.store.team_permission(team.id, repo.repository.id)
        if grant is None:
            raise AccountNotFound(f"the group '{team.name}' has no permission on {repo.path}")
        await self.store.remove(grant)
        audit(
            self.bus, repo.namespace.name, repo.subject, "org.team.permission.change", repo.path,
            team=team.name, permission=None,
        )  # fmt: skip
