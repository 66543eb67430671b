"""Invitations of existing users (named, or found by their e-mail address) to an organisation and, optionally,
one of its teams. Owners invite, list, resend and cancel; the invitee accepts or declines. There is no mail
delivery: invitees see their pending invites through the API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.errors import AccountNotFound
from dockyard.accounts.models import USER, Account, Membership
from dockyard.accounts.models_people import Invite, TeamMember
from dockyard.accounts.orgs import OrgAccess, OrgsService, audit, require_full_access
from dockyard.accounts.people_store import PeopleStore
from dockyard.accounts.permissions import Subject
from dockyard.db.base import utcnow
from dockyard.events import EventBus

INVITED = "invited"
VALID = "valid"  # a dry run's answer for someone who would be invited
EXISTING_MEMBER = "existing_org_member"
ALREADY_INVITED = "already_invited"
INVALID_USER = "invalid_user"
INVALID_EMAIL = "invalid_email"


@dataclass(frozen=True)
class InviteView:
    """An invite with the names it is shown with."""

    invite: Invite
    invitee: str
    inviter: str | None
    org: str
    team: str | None


@dataclass(frozen=True)
class BulkResult:
    invitee: str
    status: str
    invite: InviteView | None = None


class InvitesService:
    def __init__(self, session: AsyncSession, bus: EventBus | None = None) -> None:
        self.orgs = OrgsService(session, bus)
        self.store = PeopleStore(session)
        self.bus = bus

    async def view(self, invite_id: str) -> InviteView:
        rows = await self.store.invite_rows(invite_id=invite_id)
        if not rows:
            raise AccountNotFound(f"no invite {invite_id}")
        return InviteView(*rows[0])

    async def _invitee(self, value: str) -> Account | None:
        if "@" in value:
            return await self.store.user_by_email(value)
        account = await self.orgs.accounts.store.by_name(value.lower())
        if account is None or account.kind != USER or not account.is_active:
            return None
        return account

    async def bulk(
        self, subject: Subject, org: str, team: str | None, role: str, invitees: list[str], dry_run: bool
    ) -> list[BulkResult]:
        access = await self.orgs.require_owner(subject, org)
        team_id = None
        if team:
            found = await self.store.team(access.org.id, team)
            if found is None:
                raise AccountNotFound(f"no group named '{team}' in {access.org.name}")
            team_id = found.id
        results: list[BulkResult] = []
        seen: set[str] = set()
        for raw in invitees:
            value = raw.strip()
            if value.lower() in seen:
                continue
            seen.add(value.lower())
            results.append(await self._invite_one(access, value, team_id, role, dry_run))
        return results

    async def _invite_one(
        self, access: OrgAccess, value: str, team_id: int | None, role: str, dry_run: bool
    ) -> BulkResult:
        user = await self._invitee(value) if value else None
        if user is None:
            return BulkResult(value, INVALID_EMAIL if "@" in value else INVALID_USER)
        if await self.orgs.accounts.store.role(access.org.id, user.id) is not None:
            return BulkResult(value, EXISTING_MEMBER)
        pending = await self.store.pending_invite(access.org.id, user.id)
        if pending is not None:
            return BulkResult(value, ALREADY_INVITED, await self.view(pending.id))
        if dry_run:
            return BulkResult(value, VALID)
        invite = Invite(
            org_id=access.org.id, invitee_id=user.id, inviter_id=access.subject.account_id, team_id=team_id, role=role
        )
        await self.store.add(invite)
        audit(self.bus, access.org.name, access.subject, "org.invite.create", user.name, role=role, invite=invite.id)
        return BulkResult(value, INVITED, await self.view(invite.id))

    async def org_invites(self, subject: Subject, org: str) -> list[InviteView]:
        access = await self.orgs.require_owner(subject, org)
        return [InviteView(*row) for row in await self.store.invite_rows(org_id=access.org.id)]

    async def mine(self, subject: Subject) -> list[InviteView]:
        account = await self.orgs.me(subject)
        return [InviteView(*row) for row in await self.store.invite_rows(invitee_id=account.id)]

    async def _as_owner(self, subject: Subject, invite_id: str) -> tuple[OrgAccess, InviteView]:
        """The invite, for an owner of its organisation; a 404 for anyone else."""
        view = await self.view(invite_id)
        try:
            access = await self.orgs.require_member(subject, view.org)
        except AccountNotFound:
            raise AccountNotFound(f"no invite {invite_id}") from None
        if not access.is_owner:
            raise AccountNotFound(f"no invite {invite_id}")
        require_full_access(subject)
        return access, view

    async def _as_invitee(self, subject: Subject, invite_id: str) -> InviteView:
        view = await self.view(invite_id)
        if subject.account_id is None or view.invite.invitee_id != subject.account_id:
            raise AccountNotFound(f"no invite {invite_id}")
        require_full_access(subject)
        return view

    async def cancel(self, subject: Subject, invite_id: str) -> None:
        """Owners cancel an invite; the invitee deleting it declines it."""
        view = await self.view(invite_id)
        if subject.account_id is not None and view.invite.invitee_id == subject.account_id:
            await self.decline(subject, invite_id)
            return
        access, view = await self._as_owner(subject, invite_id)
        await self.store.remove(view.invite)
        audit(self.bus, access.org.name, subject, "org.invite.delete", view.invitee)

    async def resend(self, subject: Subject, invite_id: str) -> InviteView:
        access, view = await self._as_owner(subject, invite_id)
        view.invite.sent_at = utcnow()
        await self.store.session.flush()
        audit(self.bus, access.org.name, subject, "org.invite.resend", view.invitee)
        return view

    async def accept(self, subject: Subject, invite_id: str) -> Account:
        """Join the organisation (and the invite's team) with the invite's role; returns the organisation."""
        view = await self._as_invitee(subject, invite_id)
        invite = view.invite
        org = await self.orgs.accounts.store.by_id(invite.org_id)
        assert org is not None  # the invite cascades away with its organisation
        if await self.orgs.accounts.store.membership(org.id, invite.invitee_id) is None:
            await self.store.add(Membership(org_id=org.id, user_id=invite.invitee_id, role=invite.role))
            audit(self.bus, org.name, subject, "org.member.add", view.invitee, role=invite.role, invite=invite.id)
        if invite.team_id is not None and await self.store.team_member(invite.team_id, invite.invitee_id) is None:
            await self.store.add(TeamMember(team_id=invite.team_id, user_id=invite.invitee_id))
            audit(self.bus, org.name, subject, "org.team.member.add", view.invitee, team=view.team)
        await self.store.remove(invite)
        audit(self.bus, org.name, subject, "org.invite.accept", view.invitee)
        return org

    async def decline(self, subject: Subject, invite_id: str) -> None:
        view = await self._as_invitee(subject, invite_id)
        await self.store.remove(view.invite)
        audit(self.bus, view.org, subject, "org.invite.decline", view.invitee)
