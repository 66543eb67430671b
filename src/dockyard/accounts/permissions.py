"""Who may do what. One decision, used by the registry, the Hub API and the web pages alike.

A subject is resolved once per request (or once per token) into the typed value below; `decide` is pure so the
whole permission matrix can be tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from fnmatch import fnmatchcase


class Permission(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2
    ADMIN = 3


# The registry's token actions mapped onto repository permissions. Deleting content needs admin, as a
# Docker Hub "Read, Write, Delete" token does.
ACTION_PERMISSION = {"pull": Permission.READ, "push": Permission.WRITE, "delete": Permission.ADMIN}
ROLE_PERMISSION = {"owner": Permission.ADMIN, "editor": Permission.ADMIN, "member": Permission.NONE}
ROLES = tuple(ROLE_PERMISSION)
# Per-repository grants to collaborators and teams, as the Hub API names them.
GRANT_PERMISSION = {"read": Permission.READ, "write": Permission.WRITE, "admin": Permission.ADMIN}


# An organisation access token's repository pattern for "every public repository", wherever it lives.
PUBLIC_REPOSITORIES = "*/*/public"


@dataclass(frozen=True, slots=True)
class OrgGrant:
    """What an organisation access token may do: `repositories` pairs a path pattern ("acme/app", "acme/*" or
    PUBLIC_REPOSITORIES) with the permission its scopes add up to; `org_scopes` are its organisation-wide scopes
    (for example "scope-repository-create"), for the routes that check them."""

    org_id: int
    org_name: str
    token_id: str
    repositories: tuple[tuple[str, Permission], ...] = ()
    org_scopes: frozenset[str] = frozenset()

    def permission(self, target: Target) -> Permission:
        public = target.exists and not target.is_private
        granted = Permission.NONE
        for pattern, permission in self.repositories:
            if pattern == PUBLIC_REPOSITORIES:
                if public:
                    granted = max(granted, min(permission, Permission.READ))
            elif target.namespace_id == self.org_id and target.path is not None and fnmatchcase(target.path, pattern):
                granted = max(granted, permission)
        return granted


@dataclass(frozen=True, slots=True)
class Subject:
    """The caller: anonymous, or a user acting with at most `max_permission` (a scoped token lowers it), or an
    organisation access token (`org_grant`; `account_id` is then None so nothing mistakes it for a user).
    `token_id` is the uuid of the personal or organisation access token the caller signed in with (None after a
    password sign-in): some routes, such as token management, want a password session."""

    account_id: int | None = None
    username: str | None = None
    is_admin: bool = False
    max_permission: Permission = Permission.ADMIN
    public_only: bool = False
    token_id: str | None = None
    org_grant: OrgGrant | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None and self.org_grant is None

    @property
    def is_user(self) -> bool:
        return self.account_id is not None


ANONYMOUS = Subject()


@dataclass(frozen=True, slots=True)
class Target:
    """The facts about a repository (or a repository still to be created) that the decision depends on."""

    namespace_id: int
    namespace_is_org: bool
    exists: bool
    is_private: bool
    role: str | None = None  # the subject's role in the owning organisation, if any
    # The subject's explicit grant on this very repository: as a collaborator or through its teams.
    grant: Permission = Permission.NONE
    # The repository's full path ("namespace/name"); organisation access tokens are granted by path.
    path: str | None = None


def decide(subject: Subject, target: Target | None) -> Permission:
    """The highest permission `subject` holds on `target` (None: the namespace does not exist)."""
    if target is None:
        return Permission.NONE
    public = target.exists and not target.is_private
    if subject.org_grant is not None:
        return min(subject.org_grant.permission(target), subject.max_permission)
    if subject.public_only:
        return min(Permission.READ if public else Permission.NONE, subject.max_permission)
    granted = Permission.READ if public else Permission.NONE
    if subject.account_id is not None:
        if subject.is_admin or subject.account_id == target.namespace_id:
            granted = Permission.ADMIN
        elif target.namespace_is_org and target.role is not None:
            granted = max(granted, ROLE_PERMISSION.get(target.role, Permission.NONE))
        granted = max(granted, target.grant)
    return min(granted, subject.max_permission)


def allows(subject: Subject, target: Target | None, action: str) -> bool:
    return decide(subject, target) >= ACTION_PERMISSION[action]
