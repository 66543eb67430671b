"""Organisations and their members, and users' own profiles.

Who may see what: an organisation's profile is public; its members, teams and invites are visible to its members
only (everyone else gets a 404, as if there were nothing there); only owners (and site administrators) change
anything. An organisation always keeps at least one owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.errors import AccountNotFound, AccountsError, LastOwner
from dockyard.accounts.models import ORGANIZATION, USER, Account, Membership
from dockyard.accounts.names import validate_account_name
from dockyard.accounts.people_store import PeopleStore
from dockyard.accounts.permissions import Permission, Subject
from dockyard.accounts.service import LIBRARY, AccountsService
from dockyard.db.base import utcnow
from dockyard.events import AuditEvent, EventBus

PROFILE_FIELDS = ("full_name", "location", "company", "profile_url", "gravatar_email")
MemberKind = Literal["all", "member", "invitee"]


class Forbidden(AccountsError):
    status = 403
    code = "forbidden"


class Conflict(AccountsError):
    status = 409
    code = "conflict"


class Unauthenticated(AccountsError):
    status = 401
    code = "unauthorized"


def audit(bus: EventBus | None, account: str, actor: Subject, action: str, name: str, **data: Any) -> None:
    if bus is not None:
        bus.publish(
            AuditEvent(account=account, actor=actor.username, action=action, name=name, data=data, time=utcnow())
        )


def require_full_access(subject: Subject) -> None:
    """Account management needs the caller's full rights: a token scoped below repo:admin may not do it."""
    if subject.is_anonymous:
        raise Unauthenticated("Authentication credentials were not provided.")
    if subject.public_only or subject.max_permission < Permission.ADMIN:
        raise Forbidden("this token's scope does not allow managing accounts")


@dataclass(frozen=True)
class OrgAccess:
    """An organisation as the caller sees it."""

    org: Account
    subject: Subject
    role: str | None

    @property
    def is_member(self) -> bool:
        return self.role is not None or self.subject.is_admin

    @property
    def is_owner(self) -> bool:
        return self.role == "owner" or self.subject.is_admin


@dataclass
class MemberRow:
    account: Account
    role: str  # owner, editor, member, or invitee for a pending invite
    joined: datetime
    groups: list[str] = field(default_factory=list)


class OrgsService:
    def __init__(self, session: AsyncSession, bus: EventBus | None = None) -> None:
        self.accounts = AccountsService(session)
        self.store = PeopleStore(session)
        self.session = session
        self.bus = bus

    # --- who the caller is to an organisation -----------------------------------------------------------------
    async def access(self, subject: Subject, name: str) -> OrgAccess:
        org = await self.accounts.store.by_name(name)
        if org is None or org.kind != ORGANIZATION:
            raise AccountNotFound(f"no organisation named '{name}'")
        role = None
        if subject.account_id is not None:
            role = await self.accounts.store.role(org.id, subject.account_id)
        return OrgAccess(org, subject, role)

    async def require_member(self, subject: Subject, name: str) -> OrgAccess:
        access = await self.access(subject, name)
        if not access.is_member or subject.public_only:
            raise AccountNotFound(f"no organisation named '{name}'")
        return access

    async def require_owner(self, subject: Subject, name: str) -> OrgAccess:
        access = await self.require_member(subject, name)
        if not access.is_owner:
            raise Forbidden("only the organisation's owners may do this")
        require_full_access(subject)
        return access

    # --- users -----------------------------------------------------------------------------------------------
    async def me(self, subject: Subject) -> Account:
        if subject.account_id is None:
            raise Unauthenticated("Authentication credentials were not provided.")
        account = await self.accounts.store.by_id(subject.account_id)
        if account is None:
            raise Unauthenticated("Authentication credentials were not provided or are invalid.")
        return account

    async def profile(self, name: str) -> Account:
        """A user's (or an organisation's) public profile."""
        account = await self.accounts.store.by_name(name.lower())
        if account is None or not account.is_active:
            raise AccountNotFound(f"no user named '{name}'")
        return account

    async def update_profile(self, account: Account, changes: dict[str, Any], actor: Subject) -> Account:
        await self._apply_profile(account, changes)
        if account.is_org and changes:
            audit(self.bus, account.name, actor, "org.settings.change", account.name, fields=sorted(changes))
        return account

    async def _apply_profile(self, account: Account, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key in PROFILE_FIELDS and value is not None:
                setattr(account, key, value.strip())
        await self.session.flush()

    async def user_orgs(self, subject: Subject, offset: int, limit: int) -> tuple[int, Sequence[Account]]:
        account = await self.me(subject)
        return await self.store.orgs_of_user(account.id, offset, limit)

    # --- organisations ---------------------------------------------------------------------------------------
    async def create_org(self, subject: Subject, name: str, profile: dict[str, Any]) -> Account:
        require_full_access(subject)
        owner = await self.me(subject)
        if owner.kind != USER:
            raise Forbidden("only users create organisations")
        validate_account_name(name)
        org = await self.accounts.create_org(name, owner.name)
        await self._apply_profile(org, profile)
        audit(self.bus, org.name, subject, "org.create", org.name)
        audit(self.bus, org.name, subject, "org.member.add", owner.name, role="owner")
        return org

    async def delete_org(self, access: OrgAccess, repositories_left: bool) -> None:
        """Delete an organisation with its members, teams and invites. Its repositories must go first: deleting
        those (blobs, tags, stars, webhooks) belongs to the repositories' own API."""
        if access.org.name == LIBRARY:
            raise Forbidden("the library organisation holds the official images and cannot be deleted")
        if repositories_left:
            raise Conflict("delete the organisation's repositories first")
        name = access.org.name
        await self.store.delete_account(access.org)
        audit(self.bus, name, access.subject, "org.delete", name)

    # --- members ---------------------------------------------------------------------------------------------
    async def members(
        self,
        access: OrgAccess,
        *,
        search: str | None,
        role: str | None,
        kind: MemberKind,
        invites: bool,
        offset: int,
        limit: int,
    ) -> tuple[int, list[MemberRow]]:
        """A page of members and, for owners who ask, pending invitees after them."""
        with_members = kind in ("all", "member")
        with_invitees = (
            access.is_owner and role is None and not search and (kind == "invitee" or (kind == "all" and invites))
        )
        rows: list[MemberRow] = []
        member_count = 0
        if with_members:
            member_count, members = await self.store.members_page(
                access.org.id, search=search, role=role, with_email=access.is_owner, offset=offset, limit=limit
            )
            groups = await self.store.team_names_of(access.org.id, [account.id for account, _ in members])
            rows = [
                MemberRow(account, membership.role, membership.created_at, groups.get(account.id, []))
                for account, membership in members
            ]
        invitee_count = 0
        if with_invitees:
            invitee_count = await self.store.count_invites(access.org.id)
            room = limit - len(rows)
            if room > 0:
                for invite, _, _, _, team in await self.store.invite_rows(
                    org_id=access.org.id, offset=max(0, offset - member_count), limit=room
                ):
                    invitee = await self.accounts.store.by_id(invite.invitee_id)
                    if invitee is not None:
                        rows.append(MemberRow(invitee, "invitee", invite.created_at, [team] if team else []))
        return member_count + invitee_count, rows

    async def all_members(self, access: OrgAccess) -> list[MemberRow]:
        members = await self.store.all_members(access.org.id)
        groups = await self.store.team_names_of(access.org.id, [account.id for account, _ in members])
        return [
            MemberRow(account, membership.role, membership.created_at, groups.get(account.id, []))
            for account, membership in members
        ]

    async def _membership(self, access: OrgAccess, username: str) -> tuple[Account, Membership]:
        user = await self.accounts.store.by_name(username.lower())
        membership = None
        if user is not None and user.kind == USER:
            membership = await self.accounts.store.membership(access.org.id, user.id)
        if user is None or membership is None:
            raise AccountNotFound(f"'{username}' is not a member of {access.org.name}")
        return user, membership

    async def set_role(self, access: OrgAccess, username: str, role: str) -> MemberRow:
        user, membership = await self._membership(access, username)
        previous = membership.role
        if previous != role:
            await self.accounts.set_member(access.org.name, user.name, role)
            audit(
                self.bus,
                access.org.name,
                access.subject,
                "org.member.role.change",
                user.name,
                role=role,
                previous=previous,
            )
        groups = await self.store.team_names_of(access.org.id, [user.id])
        return MemberRow(user, membership.role, membership.created_at, groups.get(user.id, []))

    async def remove_member(self, access: OrgAccess, username: str) -> None:
        """Owners remove anyone; any member may leave. The last owner can do neither."""
        user, membership = await self._membership(access, username)
        leaving = user.id == access.subject.account_id
        if not leaving and not access.is_owner:
            raise Forbidden("only the organisation's owners may remove other members")
        require_full_access(access.subject)
        if membership.role == "owner" and await self.accounts.store.owner_count(access.org.id) <= 1:
            raise LastOwner("an organisation keeps at least one owner")
        await self.store.leave_org(membership)
        audit(self.bus, access.org.name, access.subject, "org.member.remove", user.name, left=leaving)
