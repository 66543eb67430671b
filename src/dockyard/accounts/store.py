"""All accounts queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.models import Account, Membership
from dockyard.accounts.models_people import Collaborator, TeamMember, TeamPermission


class AccountsStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_name(self, name: str) -> Account | None:
        result = await self.session.execute(select(Account).where(Account.name == name))
        return result.scalar_one_or_none()

    async def by_id(self, account_id: int) -> Account | None:
        return await self.session.get(Account, account_id)

    async def list(self, kind: str | None = None) -> Sequence[Account]:
        query = select(Account).order_by(Account.name)
        if kind is not None:
            query = query.where(Account.kind == kind)
        return (await self.session.execute(query)).scalars().all()

    async def count(self) -> int:
        return int((await self.session.execute(select(func.count()).select_from(Account))).scalar_one())

    async def add(self, account: Account) -> Account:
        self.session.add(account)
        await self.session.flush()
        return account

    async def role(self, org_id: int, user_id: int) -> str | None:
        result = await self.session.execute(
            select(Membership.role).where(Membership.org_id == org_id, Membership.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def membership(self, org_id: int, user_id: int) -> Membership | None:
        result = await self.session.execute(
            select(Membership).where(Membership.org_id == org_id, Membership.user_id == user_id)
        )
        return result.scalar_one_or_none()

    async def members(self, org_id: int) -> Sequence[tuple[Account, str]]:
        result = await self.session.execute(
            select(Account, Membership.role)
            .join(Membership, Membership.user_id == Account.id)
            .where(Membership.org_id == org_id)
            .order_by(Account.name)
        )
        return [(account, role) for account, role in result.all()]

    async def owner_count(self, org_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).where(Membership.org_id == org_id, Membership.role == "owner")
        )
        return int(result.scalar_one())

    async def repository_grants(self, repository_id: int, user_id: int) -> Sequence[str]:
        """The permissions ("read", "write", "admin") granted to a user on one repository, as a collaborator
        and through each of their teams."""
        as_collaborator = select(Collaborator.permission).where(
            Collaborator.repository_id == repository_id, Collaborator.user_id == user_id
        )
        through_teams = (
            select(TeamPermission.permission)
            .join(TeamMember, TeamMember.team_id == TeamPermission.team_id)
            .where(TeamPermission.repository_id == repository_id, TeamMember.user_id == user_id)
        )
        result = await self.session.execute(union_all(as_collaborator, through_teams))
        return [permission for (permission,) in result.all()]
