"""Wire shapes of users, organisations, members, groups, invites and repository grants, as Docker Hub
serialises them (hub-tool decodes `id` as a string for users and organisations, and as a number for groups)."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from dockyard.accounts.models import Account
from dockyard.accounts.models_people import Invite, Team

T = TypeVar("T")

# Loose on purpose: enough to keep junk out of an avatar lookup, without a mail-address validator dependency.
EMAIL_OR_EMPTY = r"^(|[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+)$"
# PostgreSQL text cannot hold NUL: such input is refused as malformed instead of failing in the database.
NO_NUL = r"^[^\x00]*$"
RoleName = Literal["owner", "editor", "member"]
PermissionName = Literal["read", "write", "admin"]


def gravatar_url(email: str) -> str:
    if not email:
        return ""
    digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return f"https://secure.gravatar.com/avatar/{digest}.jpg?s=80&r=g&d=mm"


class Page(BaseModel, Generic[T]):
    """A Django REST Framework page."""

    count: int
    next: str | None
    previous: str | None
    results: list[T]


class PublicUser(BaseModel):
    id: str
    username: str
    full_name: str
    location: str
    company: str
    profile_url: str
    date_joined: datetime
    gravatar_url: str
    type: Literal["User", "Organization"] = "User"


class CurrentUser(PublicUser):
    gravatar_email: str
    is_staff: bool
    is_admin: bool
    email: str | None = None


class Organization(BaseModel):
    id: str
    orgname: str
    full_name: str
    company: str
    location: str
    type: Literal["Organization"] = "Organization"
    date_joined: datetime
    gravatar_email: str
    gravatar_url: str
    profile_url: str


class GroupMember(BaseModel):
    id: str
    username: str
    full_name: str
    location: str
    company: str
    profile_url: str
    date_joined: datetime
    gravatar_email: str
    gravatar_url: str
    type: Literal["User"] = "User"
    email: str | None = Field(default=None, description="Shown to the organisation's owners only")


class OrgMember(GroupMember):
    role: Literal["Owner", "Editor", "Member", "Invitee"]
    groups: list[str]
    is_guest: bool = False
    primary_email: str | None = None
    last_logged_in_at: datetime | None = None
    last_seen_at: datetime | None = None
    last_desktop_version: str | None = None


class Group(BaseModel):
    id: int
    uuid: str
    name: str
    description: str
    member_count: int


class InviteOut(BaseModel):
    id: str
    inviter_username: str | None
    invitee: str
    org: str
    team: str | None
    role: str
    created_at: datetime


class InviteList(BaseModel):
    data: list[InviteOut]


class BulkInviteEntry(BaseModel):
    invitee: str
    status: str = Field(
        description="invited, valid (dry run), existing_org_member, already_invited, invalid_user or invalid_email"
    )
    invite: InviteOut | None = None


class BulkInviteResponse(BaseModel):
    invitees: list[BulkInviteEntry]


class TeamGrant(BaseModel):
    group_name: str
    permission: PermissionName
    group_id: int


class CollaboratorOut(BaseModel):
    user: str
    permission: PermissionName


# --- request bodies ----------------------------------------------------------------------------------------
class ProfileUpdate(BaseModel):
    full_name: str | None = Field(default=None, max_length=255, pattern=NO_NUL)
    location: str | None = Field(default=None, max_length=255, pattern=NO_NUL)
    company: str | None = Field(default=None, max_length=255, pattern=NO_NUL)
    profile_url: str | None = Field(default=None, max_length=255, pattern=NO_NUL)
    gravatar_email: str | None = Field(default=None, max_length=320, pattern=EMAIL_OR_EMPTY)


class OrgCreate(ProfileUpdate):
    orgname: str = Field(min_length=1, max_length=255, pattern=NO_NUL)


class RoleUpdate(BaseModel):
    role: RoleName


class GroupCreate(BaseModel):
    name: str = Field(min_length=1, max_length=50, pattern=NO_NUL)
    description: str = Field(default="", max_length=255, pattern=NO_NUL)


class GroupUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=50, pattern=NO_NUL)
    description: str | None = Field(default=None, max_length=255, pattern=NO_NUL)


class GroupMemberAdd(BaseModel):
    member: str = Field(min_length=1, max_length=320, pattern=NO_NUL)


class BulkInviteRequest(BaseModel):
    org: str = Field(min_length=1, max_length=255, pattern=NO_NUL)
    team: str | None = Field(default=None, max_length=50, pattern=NO_NUL)
    role: RoleName = "member"
    invitees: list[Annotated[str, Field(max_length=320, pattern=NO_NUL)]] = Field(min_length=1, max_length=1000)
    dry_run: bool = False


class TeamGrantRequest(BaseModel):
    group_id: int = Field(ge=1, le=2**31 - 1)
    permission: PermissionName


class CollaboratorAdd(BaseModel):
    user: str = Field(min_length=1, max_length=255, pattern=NO_NUL)
    permission: PermissionName = "write"


# --- converters --------------------------------------------------------------------------------------------
def _profile(account: Account) -> dict[str, object]:
    return {
        "id": account.uuid,
        "full_name": account.full_name,
        "location": account.location,
        "company": account.company,
        "profile_url": account.profile_url,
        "date_joined": account.created_at,
        "gravatar_url": gravatar_url(account.gravatar_email),
    }


def public_user(account: Account) -> PublicUser:
    kind: Literal["User", "Organization"] = "Organization" if account.is_org else "User"
    return PublicUser(username=account.name, type=kind, **_profile(account))  # type: ignore[arg-type]


def current_user(account: Account) -> CurrentUser:
    return CurrentUser(
        username=account.name,
        gravatar_email=account.gravatar_email,
        is_staff=account.is_admin,
        is_admin=account.is_admin,
        email=account.email,
        **_profile(account),  # type: ignore[arg-type]
    )


def organization(account: Account) -> Organization:
    return Organization(orgname=account.name, gravatar_email=account.gravatar_email, **_profile(account))  # type: ignore[arg-type]


def group_member(account: Account, *, show_email: bool) -> GroupMember:
    return GroupMember(
        username=account.name,
        gravatar_email=account.gravatar_email,
        email=account.email if show_email else None,
        **_profile(account),  # type: ignore[arg-type]
    )


def group(team: Team, member_count: int) -> Group:
    return Group(id=team.id, uuid=team.uuid, name=team.name, description=team.description, member_count=member_count)


def invite_out(invite: Invite, invitee: str, inviter: str | None, org: str, team: str | None) -> InviteOut:
    return InviteOut(
        id=invite.id,
        inviter_username=inviter,
        invitee=invitee,
        org=org,
        team=team,
        role=invite.role,
        created_at=invite.created_at,
    )


ROLE_LABELS: dict[str, Literal["Owner", "Editor", "Member", "Invitee"]] = {
    "owner": "Owner",
    "editor": "Editor",
    "member": "Member",
    "invitee": "Invitee",
}


def org_member(account: Account, role: str, groups: list[str], *, show_email: bool) -> OrgMember:
    email = account.email if show_email else None
    return OrgMember(
        username=account.name,
        gravatar_email=account.gravatar_email,
        email=email,
        primary_email=email,
        role=ROLE_LABELS[role],
        groups=groups,
        **_profile(account),  # type: ignore[arg-type]
    )
