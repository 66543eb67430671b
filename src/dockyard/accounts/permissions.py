"""Who may do what. One decision, used by the registry, the Hub API and the web pages alike.

A subject is resolved once per request (or once per token) into the typed value below; `decide` is pure so the
whole permission matrix can be tested without a server.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


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


@dataclass(frozen=True, slots=True)
class Subject:
    """The caller: anonymous, or a user acting with at most `max_permission` (a scoped token lowers it)."""

    account_id: int | None = None
    username: str | None = None
    is_admin: bool = False
    max_permission: Permission = Permission.ADMIN
    public_only: bool = False

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None


ANONYMOUS = Subject()


@dataclass(frozen=True, slots=True)
class Target:
    """The facts about a repository (or a repository still to be created) that the decision depends on."""

    namespace_id: int
    namespace_is_org: bool
    exists: bool
    is_private: bool
    role: str | None = None  # the subject's role in the owning organisation, if any


def decide(subject: Subject, target: Target | None) -> Permission:
    """The highest permission `subject` holds on `target` (None: the namespace does not exist)."""
    if target is None:
        return Permission.NONE
    public = target.exists and not target.is_private
    if subject.public_only:
        return min(Permission.READ if public else Permission.NONE, subject.max_permission)
    granted = Permission.READ if public else Permission.NONE
    if subject.account_id is not None:
        if subject.is_admin or subject.account_id == target.namespace_id:
            granted = Permission.ADMIN
        elif target.namespace_is_org and target.role is not None:
            granted = max(granted, ROLE_PERMISSION.get(target.role, Permission.NONE))
    return min(granted, subject.max_permission)


def allows(subject: Subject, target: Target | None, action: str) -> bool:
    return decide(subject, target) >= ACTION_PERMISSION[action]
