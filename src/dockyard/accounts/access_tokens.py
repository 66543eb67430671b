"""Personal access tokens (PATs): tables, queries and rules; organisation access tokens share the tables module
and the store here, their rules live in `org_access_tokens.py`.

A token is `dckr_pat_` / `dckr_oat_` followed by 36 random URL-safe characters. Only its HMAC digest is stored
(see `HubTokens.digest`); the plaintext is returned once, by the create call.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.accounts.errors import AccountsError
from dockyard.accounts.models import Account
from dockyard.accounts.permissions import Permission, Subject
from dockyard.accounts.sessions import HubTokens
from dockyard.db.base import Base, UTCDateTime, utcnow
from dockyard.events import AuditEvent, EventBus

PAT_PREFIX = "dckr_pat_"
OAT_PREFIX = "dckr_oat_"

# Scopes in Docker Hub's order; a higher scope implies the lower ones.
PAT_SCOPES = {
    "repo:admin": Permission.ADMIN,
    "repo:write": Permission.WRITE,
    "repo:read": Permission.READ,
    "repo:public_read": Permission.READ,
}
# What a token created through the API without scopes gets: hub-tool creates tokens without any, and Docker Hub's
# tokens from before scopes existed were "Read, Write, Delete".
DEFAULT_PAT_SCOPES = ("repo:admin",)
# How stale `last_used` may get: a token used constantly is written at most once a minute.
LAST_USED_RESOLUTION_SECONDS = 60


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(27)


def new_uuid() -> str:
    return str(uuid.uuid4())


def pat_caps(scopes: Sequence[str]) -> tuple[Permission, bool]:
    """(max_permission, public_only) for a personal access token's scopes."""
    known = [scope for scope in scopes if scope in PAT_SCOPES]
    if not known:
        return Permission.READ, True
    best = max(known, key=lambda scope: (PAT_SCOPES[scope], scope != "repo:public_read"))
    return PAT_SCOPES[best], best == "repo:public_read"


def normalise_pat_scopes(scopes: Sequence[str] | None) -> list[str]:
    if not scopes:
        return list(DEFAULT_PAT_SCOPES)
    unknown = sorted({scope for scope in scopes if scope not in PAT_SCOPES})
    if unknown:
        raise AccountsError(f"unknown scopes: {', '.join(unknown)} (use {', '.join(PAT_SCOPES)})")
    return list(dict.fromkeys(scopes))


def _now() -> datetime:
    return datetime.now(UTC)


def is_usable(is_active: bool, expires_at: datetime | None, now: datetime | None = None) -> bool:
    return is_active and (expires_at is None or expires_at > (now or _now()))


def check_expiry(expires_at: datetime | None) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=UTC)
    if expires_at <= _now():
        raise AccountsError("expires_at must be in the future")
    return expires_at.astimezone(UTC)


# --- tables ------------------------------------------------------------------------------------------------
class PersonalAccessToken(Base):
    __tablename__ = "personal_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    scopes: Mapped[str] = mapped_column(String(255))  # space-separated
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    creator_ip: Mapped[str] = mapped_column(String(64), default="")
    creator_ua: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()


class OrgAccessToken(Base):
    __tablename__ = "org_access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    org_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(255), default="")
    # [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["repo-pull"]}, ...], validated on the way in.
    resources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


# --- queries -----------------------------------------------------------------------------------------------
class AccessTokensStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, token: PersonalAccessToken | OrgAccessToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def delete(self, token: PersonalAccessToken | OrgAccessToken) -> None:
        await self.session.delete(token)
        await self.session.flush()

    async def pat_by_digest(self, digest: str) -> tuple[PersonalAccessToken, Account] | None:
        result = await self.session.execute(
            select(PersonalAccessToken, Account)
            .join(Account, Account.id == PersonalAccessToken.account_id)
            .where(PersonalAccessToken.token_hash == digest)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def pat(self, account_id: int, token_uuid: str) -> PersonalAccessToken | None:
        result = await self.session.execute(
            select(PersonalAccessToken).where(
                PersonalAccessToken.account_id == account_id, PersonalAccessToken.uuid == token_uuid
            )
        )
        return result.scalar_one_or_none()

    async def pats(self, account_id: int, offset: int, limit: int) -> Sequence[PersonalAccessToken]:
        result = await self.session.execute(
            select(PersonalAccessToken)
            .where(PersonalAccessToken.account_id == account_id)
            .order_by(PersonalAccessToken.created_at.desc(), PersonalAccessToken.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return result.scalars().all()

    async def pat_counts(self, account_id: int) -> tuple[int, int]:
        """(all tokens, active tokens) of an account."""
        result = await self.session.execute(
            select(func.count(), func.count().filter(PersonalAccessToken.is_active.is_(True))).where(
                PersonalAccessToken.account_id == account_id
            )
        )
        total, active = result.one()
        return int(total), int(active)

    async def oat_by_digest(self, digest: str) -> tuple[OrgAccessToken, Account] | None:
        result = await self.session.execute(
            select(OrgAccessToken, Account)
            .join(Account, Account.id == OrgAccessToken.org_id)
            .where(OrgAccessToken.token_hash == digest)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def oat_by_uuid(self, token_uuid: str) -> tuple[OrgAccessToken, Account] | None:
        result = await self.session.execute(
            select(OrgAccessToken, Account)
            .join(Account, Account.id == OrgAccessToken.org_id)
            .where(OrgAccessToken.uuid == token_uuid)
        )
        row = result.first()
        return (row[0], row[1]) if row else None

    async def oat(self, org_id: int, token_uuid: str) -> OrgAccessToken | None:
        result = await self.session.execute(
            select(OrgAccessToken).where(OrgAccessToken.org_id == org_id, OrgAccessToken.uuid == token_uuid)
        )
        return result.scalar_one_or_none()

    async def oats(self, org_id: int, offset: int, limit: int) -> Sequence[OrgAccessToken]:
        result = await self.session.execute(
            select(OrgAccessToken)
            .where(OrgAccessToken.org_id == org_id)
            .order_by(OrgAccessToken.created_at.desc(), OrgAccessToken.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return result.scalars().all()

    async def oat_count(self, org_id: int) -> int:
        result = await self.session.execute(select(func.count()).where(OrgAccessToken.org_id == org_id))
        return int(result.scalar_one())

    async def touch(self, kind: str, token_id: int, when: datetime) -> None:
        model = PersonalAccessToken if kind == "pat" else OrgAccessToken
        await self.session.execute(update(model).where(model.id == token_id).values(last_used_at=when))


# --- rules -------------------------------------------------------------------------------------------------
class TokenNotFound(AccountsError):
    status = 404
    code = "not_found"


class PasswordSessionRequired(AccountsError):
    """Token management needs a session signed in with the password, as on Docker Hub: a leaked token must not
    be able to mint more tokens or keep itself alive."""

    status = 403
    code = "forbidden"


@dataclass(frozen=True)
class CreatedToken:
    row: PersonalAccessToken
    token: str


class PersonalAccessTokens:
    def __init__(self, session: AsyncSession, tokens: HubTokens, bus: EventBus | None = None) -> None:
        self.store = AccessTokensStore(session)
        self.tokens = tokens
        self.bus = bus

    @staticmethod
    def _owner(subject: Subject) -> int:
        if subject.account_id is None or subject.token_id is not None or subject.org_grant is not None:
            raise PasswordSessionRequired("access tokens are managed from a session signed in with a password")
        return subject.account_id

    def _publish(self, subject: Subject, action: str, row: PersonalAccessToken, **data: Any) -> None:
        if self.bus is not None and subject.username is not None:
            self.bus.publish(
                AuditEvent(
                    account=subject.username,
                    actor=subject.username,
                    action=action,
                    name=row.label,
                    data={"uuid": row.uuid, **data},
                    time=_now(),
                )
            )

    async def create(
        self,
        subject: Subject,
        label: str,
        scopes: Sequence[str] | None,
        expires_at: datetime | None,
        *,
        creator_ip: str = "",
        creator_ua: str = "",
    ) -> CreatedToken:
        account_id = self._owner(subject)
        normalised = normalise_pat_scopes(scopes)
        plaintext = new_secret(PAT_PREFIX)
        row = PersonalAccessToken(
            account_id=account_id,
            label=label,
            scopes=" ".join(normalised),
            token_hash=self.tokens.digest(plaintext),
            # Always active at birth, whatever the request said: hub-tool sends is_active=false.
            is_active=True,
            creator_ip=creator_ip[:64],
            creator_ua=creator_ua[:255],
            created_at=_now(),
            expires_at=check_expiry(expires_at),
        )
        await self.store.add(row)
        self._publish(subject, "user.access_token.create", row, scopes=normalised)
        return CreatedToken(row, plaintext)

    async def list(self, subject: Subject, offset: int, limit: int) -> tuple[int, int, Sequence[PersonalAccessToken]]:
        account_id = self._owner(subject)
        total, active = await self.store.pat_counts(account_id)
        return total, active, await self.store.pats(account_id, offset, limit)

    async def get(self, subject: Subject, token_uuid: str) -> PersonalAccessToken:
        row = await self.store.pat(self._owner(subject), token_uuid)
        if row is None:
            raise TokenNotFound("access token not found")
        return row

    async def update(
        self, subject: Subject, token_uuid: str, *, label: str | None = None, is_active: bool | None = None
    ) -> PersonalAccessToken:
        row = await self.get(subject, token_uuid)
        changes: dict[str, Any] = {}
        if label is not None and label != row.label:
            row.label = label
            changes["token_label"] = label
        if is_active is not None and is_active != row.is_active:
            row.is_active = is_active
            changes["is_active"] = is_active
        await self.store.session.flush()
        if changes:
            self._publish(subject, "user.access_token.update", row, **changes)
        return row

    async def delete(self, subject: Subject, token_uuid: str) -> None:
        row = await self.get(subject, token_uuid)
        await self.store.delete(row)
        self._publish(subject, "user.access_token.delete", row)
