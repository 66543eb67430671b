"""All queries about who belongs where: organisation members, teams, invites, collaborators and team grants."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any, TypeAlias

from sqlalchemy import Select, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from dockyard.accounts.models import ORGANIZATION, USER, Account, Membership
from dockyard.accounts.models_people import Collaborator, Invite, Team, TeamMember, TeamPermission

AnySelect: TypeAlias = "Select[*tuple[Any, ...]]"


def _search(query: AnySelect, term: str | None, *, with_email: bool) -> AnySelect:
    if not term:
        return query
    needle = term.lower()
    columns = [func.lower(Account.name), func.lower(Account.full_name)]
    if with_email:
        columns.append(func.lower(func.coalesce(Account.email, "")))
    return query.where(or_(*(column.contains(needle, autoescape=True) for column in columns)))


async def _count(session: AsyncSession, query: AnySelect) -> int:
    return int((await session.execute(select(func.count()).select_from(query.subquery()))).scalar_one())


class PeopleStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- accounts ------------------------------------------------------------------------------------------
    async def user_by_email(self, email: str) -> Account | None:
        result = await self.session.execute(
            select(Account)
            .where(func.lower(Account.email) == email.lower(), Account.kind == USER, Account.is_active.is_(True))
            .order_by(Account.id)
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def delete_account(self, account: Account) -> None:
        await self.session.delete(account)
        await self.session.flush()

    # --- organisations and members -------------------------------------------------------------------------
    def _orgs_of(self, user_id: int) -> AnySelect:
        return (
            select(Account)
            .join(Membership, Membership.org_id == Account.id)
            .where(Membership.user_id == user_id, Account.kind == ORGANIZATION)
        )

    async def orgs_of_user(self, user_id: int, offset: int, limit: int) -> tuple[int, Sequence[Account]]:
        query = self._orgs_of(user_id)
        count = await _count(self.session, query)
        rows = await self.session.execute(query.order_by(Account.name).offset(offset).limit(limit))
        return count, rows.scalars().all()

    def _members(self, org_id: int, search: str | None, role: str | None, with_email: bool) -> AnySelect:
        query = (
            select(Account, Membership)
            .join(Membership, Membership.user_id == Account.id)
            .where(Membership.org_id == org_id)
        )
        if role is not None:
            query = query.where(Membership.role == role)
        return _search(query, search, with_email=with_email)

    async def members_page(
        self, org_id: int, *, search: str | None, role: str | None, with_email: bool, offset: int, limit: int
    ) -> tuple[int, list[tuple[Account, Membership]]]:
        query = self._members(org_id, search, role, with_email)
        count = await _count(self.session, query)
        if limit <= 0:
            return count, []
        rows = await self.session.execute(query.order_by(Account.name).offset(offset).limit(limit))
        return count, [(account, membership) for account, membership in rows.all()]

    async def all_members(self, org_id: int) -> list[tuple[Account, Membership]]:
        rows = await self.session.execute(self._members(org_id, None, None, False).order_by(Account.name))
        return [(account, membership) for account, membership in rows.all()]

    async def team_names_of(self, org_id: int, user_ids: Sequence[int]) -> dict[int, list[str]]:
        """The names of the organisation's teams each of the users is in."""
        if not user_ids:
            return {}
        rows = await self.session.execute(
            select(TeamMember.user_id, Team.name)
            .join(Team, Team.id == TeamMember.team_id)
            .where(Team.org_id == org_id, TeamMember.user_id.in_(user_ids))
            .order_by(Team.name)
        )
        names: dict[int, list[str]] = defaultdict(list)
        for user_id, name in rows.all():
            names[user_id].append(name)
        return names

    async def leave_org(self, membership: Membership) -> None:
        """Drop a membership and, with it, the user's places in the organisation's teams."""
        team_ids = select(Team.id).where(Team.org_id == membership.org_id)
        await self.session.execute(
            delete(TeamMember).where(TeamMember.user_id == membership.user_id, TeamMember.team_id.in_(team_ids))
        )
        await self.session.delete(membership)
        await self.session.flush()

    # --- teams ---------------------------------------------------------------------------------------------
    async def team(self, org_id: int, name: str) -> Team | None:
        result = await self.session.execute(select(Team).where(Team.org_id == org_id, Team.name == name))
        return result.scalar_one_or_none()

    async def team_by_id(self, team_id: int) -> Team | None:
        return await self.session.get(Team, team_id)

    async def teams_page(
        self, org_id: int, *, search: str | None, member_id: int | None, offset: int, limit: int
    ) -> tuple[int, Sequence[Team]]:
        query = select(Team).where(Team.org_id == org_id)
        if search:
            query = query.where(func.lower(Team.name).contains(search.lower(), autoescape=True))
        if member_id is not None:
            query = query.where(Team.id.in_(select(TeamMember.team_id).where(TeamMember.user_id == member_id)))
        count = await _count(self.session, query)
        rows = await self.session.execute(query.order_by(Team.name).offset(offset).limit(limit))
        return count, rows.scalars().all()

    async def member_counts(self, team_ids: Sequence[int]) -> dict[int, int]:
        if not team_ids:
            return {}
        rows = await self.session.execute(
            select(TeamMember.team_id, func.count())
            .where(TeamMember.team_id.in_(team_ids))
            .group_by(TeamMember.team_id)
        )
        return {team_id: int(count) for team_id, count in rows.all()}

    async def add(self, row: object) -> None:
        self.session.add(row)
        await self.session.flush()

    async def remove(self, row: object) -> None:
        await self.session.delete(row)
        await self.session.flush()

    async def team_member(self, team_id: int, user_id: int) -> TeamMember | None:
        return await self.session.get(TeamMember, (team_id, user_id))

    async def team_members_page(
        self, team_id: int, *, search: str | None, with_email: bool, offset: int, limit: int | None
    ) -> tuple[int, Sequence[Account]]:
        query = _search(
            select(Account).join(TeamMember, TeamMember.user_id == Account.id).where(TeamMember.team_id == team_id),
            search,
            with_email=with_email,
        )
        count = await _count(self.session, query)
        rows = await self.session.execute(query.order_by(Account.name).offset(offset).limit(limit))
        return count, rows.scalars().all()

    # --- team grants on repositories -----------------------------------------------------------------------
    async def team_permission(self, team_id: int, repository_id: int) -> TeamPermission | None:
        return await self.session.get(TeamPermission, (team_id, repository_id))

    async def team_permissions_page(
        self, repository_id: int, offset: int, limit: int
    ) -> tuple[int, list[tuple[TeamPermission, Team]]]:
        query = (
            select(TeamPermission, Team)
            .join(Team, Team.id == TeamPermission.team_id)
            .where(TeamPermission.repository_id == repository_id)
        )
        count = await _count(self.session, query)
        rows = await self.session.execute(query.order_by(Team.name).offset(offset).limit(limit))
        return count, [(grant, team) for grant, team in rows.all()]

    # --- collaborators -------------------------------------------------------------------------------------
    async def collaborator(self, repository_id: int, user_id: int) -> Collaborator | None:
        return await self.session.get(Collaborator, (repository_id, user_id))

    async def collaborators_page(
        self, repository_id: int, offset: int, limit: int
    ) -> tuple[int, list[tuple[Collaborator, Account]]]:
        query = (
            select(Collaborator, Account)
            .join(Account, Account.id == Collaborator.user_id)
            .where(Collaborator.repository_id == repository_id)
        )
        count = await _count(self.session, query)
        rows = await self.session.execute(query.order_by(Account.name).offset(offset).limit(limit))
        return count, [(collaborator, account) for collaborator, account in rows.all()]

    async def count_collaborators(self, repository_id: int) -> int:
        result = await self.session.execute(
            select(func.count()).select_from(Collaborator).where(Collaborator.repository_id == repository_id)
        )
        return int(result.scalar_one())

    # --- invites -------------------------------------------------------------------------------------------
    def _invites(self) -> AnySelect:
        invitee, inviter, org = aliased(Account), aliased(Account), aliased(Account)
        return (
            select(Invite, invitee.name, inviter.name, org.name, Team.name)
            .join(invitee, invitee.id == Invite.invitee_id)
            .join(org, org.id == Invite.org_id)
            .outerjoin(inviter, inviter.id == Invite.inviter_id)
            .outerjoin(Team, Team.id == Invite.team_id)
        )

    async def invite(self, invite_id: str) -> Invite | None:
        return await self.session.get(Invite, invite_id)

    async def pending_invite(self, org_id: int, user_id: int) -> Invite | None:
        result = await self.session.execute(select(Invite).where(Invite.org_id == org_id, Invite.invitee_id == user_id))
        return result.scalar_one_or_none()

    async def invite_rows(
        self,
        *,
        org_id: int | None = None,
        invitee_id: int | None = None,
        invite_id: str | None = None,
        offset: int = 0,
        limit: int | None = None,
    ) -> list[tuple[Invite, str, str | None, str, str | None]]:
        """Invites with the names they are shown with: (invite, invitee, inviter, org, team)."""
        query = self._invites()
        if org_id is not None:
            query = query.where(Invite.org_id == org_id)
        if invitee_id is not None:
            query = query.where(Invite.invitee_id == invitee_id)
        if invite_id is not None:
            query = query.where(Invite.id == invite_id)
        rows = await self.session.execute(query.order_by(Invite.created_at, Invite.id).offset(offset).limit(limit))
        return [tuple(row) for row in rows.all()]

    async def count_invites(self, org_id: int) -> int:
        result = await self.session.execute(select(func.count()).select_from(Invite).where(Invite.org_id == org_id))
        return int(result.scalar_one())
