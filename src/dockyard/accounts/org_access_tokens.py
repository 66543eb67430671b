"""Organisation access tokens (OATs): tokens that belong to an organisation rather than a person, each limited to
the resources it lists. Only the organisation's owners (and site administrators) manage them.

A resource is `{type, path, scopes}`. `TYPE_REPO` paths are a repository of the organisation ("acme/app"), a glob
over them ("acme/*"), or "*/*/public" for every public repository; their scopes are Docker Hub's, in both the
older (`repo-pull`, `repo-push`, `repo-delete`) and the current (`scope-image-pull`, ...) spelling. `TYPE_ORG`
resources carry organisation-wide scopes; their path is the organisation's name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.access_tokens import (
    OAT_PREFIX,
    AccessTokensStore,
    OrgAccessToken,
    TokenNotFound,
    check_expiry,
    new_secret,
)
from dockyard.accounts.errors import AccountNotFound, AccountsError
from dockyard.accounts.models import ORGANIZATION, Account
from dockyard.accounts.permissions import PUBLIC_REPOSITORIES, OrgGrant, Permission, Subject
from dockyard.accounts.sessions import HubTokens
from dockyard.accounts.store import AccountsStore
from dockyard.events import AuditEvent, EventBus

TYPE_REPO = "TYPE_REPO"
TYPE_ORG = "TYPE_ORG"

REPO_SCOPES = {
    "repo-pull": Permission.READ,
    "repo-push": Permission.WRITE,
    "repo-delete": Permission.ADMIN,
    "scope-image-pull": Permission.READ,
    "scope-image-push": Permission.WRITE,
    "scope-image-delete": Permission.ADMIN,
    "scope-repository-read": Permission.READ,
    "scope-repository-edit": Permission.WRITE,
    "scope-repository-admin": Permission.ADMIN,
    "scope-tag-read": Permission.READ,
    "scope-tag-admin": Permission.ADMIN,
    "scope-webhook-read": Permission.READ,
    "scope-webhook-edit": Permission.WRITE,
    "scope-webhook-admin": Permission.ADMIN,
    "scope-repo-group-read": Permission.READ,
    "scope-repo-group-edit": Permission.WRITE,
    "scope-repo-group-admin": Permission.ADMIN,
    "scope-repository-settings-admin": Permission.ADMIN,
}
ORG_SCOPES = frozenset(
    {
        "scope-member-read", "scope-member-edit", "scope-invite-read", "scope-invite-edit", "scope-group-read",
        "scope-group-edit", "scope-activity-read", "scope-report-read", "scope-repository-create",
        "scope-repository-list", "scope-registry-usage-read",
    }
)  # fmt: skip


def validate_resources(org: str, resources: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The resources in their stored form, or an AccountsError naming what is wrong."""
    if not resources:
        raise AccountsError("resources: at least one resource is required")
    cleaned: list[dict[str, Any]] = []
    for index, resource in enumerate(resources):
        kind, path, scopes = resource.get("type"), resource.get("path"), resource.get("scopes")
        where = f"resources[{index}]"
        if not isinstance(path, str) or not path or len(path) > 255:
            raise AccountsError(f"{where}.path: a path of 1 to 255 characters is required")
        if not isinstance(scopes, list) or not scopes or not all(isinstance(s, str) for s in scopes):
            raise AccountsError(f"{where}.scopes: at least one scope is required")
        if kind == TYPE_REPO:
            allowed: Any = REPO_SCOPES
            if path != PUBLIC_REPOSITORIES and not path.startswith(f"{org}/"):
                raise AccountsError(
                    f"{where}.path: repositories of '{org}' ('{org}/name' or '{org}/*') or '{PUBLIC_REPOSITORIES}'"
                )
        elif kind == TYPE_ORG:
            allowed = ORG_SCOPES
            if path != org:
                raise AccountsError(f"{where}.path: an organisation resource's path is the organisation, '{org}'")
        else:
            raise AccountsError(f"{where}.type: must be {TYPE_REPO} or {TYPE_ORG}")
        unknown = sorted(set(scopes) - set(allowed))
        if unknown:
            raise AccountsError(f"{where}.scopes: unknown scopes for {kind}: {', '.join(unknown)}")
        cleaned.append({"type": kind, "path": path, "scopes": list(dict.fromkeys(scopes))})
    return cleaned


def grant_for(org: Account, row: OrgAccessToken) -> OrgGrant:
    """What a token's resources add up to, in the form `decide` understands."""
    repositories: list[tuple[str, Permission]] = []
    org_scopes: set[str] = set()
    for resource in row.resources:
        if resource.get("type") == TYPE_REPO:
            levels = [REPO_SCOPES[s] for s in resource.get("scopes", []) if s in REPO_SCOPES]
            if levels:
                repositories.append((str(resource["path"]), max(levels)))
        elif resource.get("type") == TYPE_ORG:
            org_scopes.update(s for s in resource.get("scopes", []) if s in ORG_SCOPES)
    return OrgGrant(
        org_id=org.id,
        org_name=org.name,
        token_id=row.uuid,
        repositories=tuple(repositories),
        org_scopes=frozenset(org_scopes),
    )


class NotAnOwner(AccountsError):
    status = 403
    code = "forbidden"


@dataclass(frozen=True)
class CreatedOrgToken:
    row: OrgAccessToken
    token: str


class OrgAccessTokens:
    def __init__(self, session: AsyncSession, tokens: HubTokens, bus: EventBus | None = None) -> None:
        self.store = AccessTokensStore(session)
        self.accounts = AccountsStore(session)
        self.tokens = tokens
        self.bus = bus

    async def _org(self, subject: Subject, name: str) -> Account:
        org = await self.accounts.by_name(name)
        if org is None or org.kind != ORGANIZATION:
            raise AccountNotFound(f"no organisation named '{name}'")
        if subject.account_id is None or subject.max_permission < Permission.ADMIN:
            raise NotAnOwner("organisation access tokens are managed by the organisation's owners")
        if not subject.is_admin and await self.accounts.role(org.id, subject.account_id) != "owner":
            raise NotAnOwner("organisation access tokens are managed by the organisation's owners")
        return org

    def _publish(self, subject: Subject, org: Account, action: str, row: OrgAccessToken, **data: Any) -> None:
        if self.bus is not None:
            self.bus.publish(
                AuditEvent(
                    account=org.name,
                    actor=subject.username,
                    action=action,
                    name=row.label,
                    data={"id": row.uuid, **data},
                    time=datetime.now(UTC),
                )
            )

    async def create(
        self,
        subject: Subject,
        org_name: str,
        label: str,
        description: str,
        resources: Sequence[dict[str, Any]],
        expires_at: datetime | None,
    ) -> CreatedOrgToken:
        org = await self._org(subject, org_name)
        plaintext = new_secret(OAT_PREFIX)
        row = OrgAccessToken(
            org_id=org.id,
            label=label,
            description=description,
            resources=validate_resources(org.name, resources),
            token_hash=self.tokens.digest(plaintext),
            is_active=True,
            created_by=subject.username or "",
            created_at=datetime.now(UTC),
            expires_at=check_expiry(expires_at),
        )
        await self.store.add(row)
        self._publish(subject, org, "org.access_token.create", row, resources=row.resources)
        return CreatedOrgToken(row, plaintext)

    async def list(
        self, subject: Subject, org_name: str, offset: int, limit: int
    ) -> tuple[int, Sequence[OrgAccessToken]]:
        org = await self._org(subject, org_name)
        return await self.store.oat_count(org.id), await self.store.oats(org.id, offset, limit)

    async def get(self, subject: Subject, org_name: str, token_uuid: str) -> OrgAccessToken:
        org = await self._org(subject, org_name)
        return await self._get(org, token_uuid)

    async def _get(self, org: Account, token_uuid: str) -> OrgAccessToken:
        row = await self.store.oat(org.id, token_uuid)
        if row is None:
            raise TokenNotFound("access token not found")
        return row

    async def update(
        self,
        subject: Subject,
        org_name: str,
        token_uuid: str,
        *,
        label: str | None = None,
        description: str | None = None,
        resources: Sequence[dict[str, Any]] | None = None,
        is_active: bool | None = None,
    ) -> OrgAccessToken:
        org = await self._org(subject, org_name)
        row = await self._get(org, token_uuid)
        changes: dict[str, Any] = {}
        if label is not None and label != row.label:
            row.label = changes["label"] = label
        if description is not None and description != row.description:
            row.description = changes["description"] = description
        if resources is not None:
            cleaned = validate_resources(org.name, resources)
            if cleaned != row.resources:
                row.resources = changes["resources"] = cleaned
        if is_active is not None and is_active != row.is_active:
            row.is_active = changes["is_active"] = is_active
        await self.store.session.flush()
        if changes:
            self._publish(subject, org, "org.access_token.update", row, **changes)
        return row

    async def delete(self, subject: Subject, org_name: str, token_uuid: str) -> None:
        org = await self._org(subject, org_name)
        row = await self._get(org, token_uuid)
        await self.store.delete(row)
        self._publish(subject, org, "org.access_token.delete", row)
