"""Checking credentials, for every face: a password, a personal access token (`dckr_pat_…`), an organisation
access token (`dckr_oat_…`, with the organisation's name as the username) or a Hub refresh token.

The answer is a `SignInResult`; the caller decides what a result means on its path (the Hub login turns
`second_factor_required` into the 2FA challenge, the registry refuses it). `subject_for_claims` turns the claims of
a Hub JWT back into a subject, checked against the database now, so logging out, deactivating a token or
disabling an account takes effect at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.access_tokens import (
    LAST_USED_RESOLUTION_SECONDS,
    OAT_PREFIX,
    PAT_PREFIX,
    AccessTokensStore,
    OrgAccessToken,
    PersonalAccessToken,
    is_usable,
    pat_caps,
)
from dockyard.accounts.models import ORGANIZATION, USER, Account
from dockyard.accounts.org_access_tokens import grant_for
from dockyard.accounts.passwords import hash_password_async, verify_password_async
from dockyard.accounts.permissions import Permission, Subject
from dockyard.accounts.sessions import REFRESH, HubTokens, RevocationStore
from dockyard.accounts.store import AccountsStore
from dockyard.accounts.twofactor import TwoFactorStore

PASSWORD = "password"
PAT = "pat"
OAT = "oat"
REFRESH_TOKEN = "refresh"


@dataclass(frozen=True)
class SignInResult:
    subject: Subject | None = None
    method: str | None = None
    second_factor_required: bool = False
    # The refresh session a refresh token belongs to (its jti), so tokens issued from it can be revoked with it.
    session_id: str | None = None
    # When the credential itself stops working (an access token's expiry), for caches.
    expires_at: datetime | None = None
    # The access token whose `last_used` is stale: (kind, row id), for `record_use`.
    touch: tuple[str, int] | None = None

    @property
    def ok(self) -> bool:
        return self.subject is not None and not self.second_factor_required


FAILED = SignInResult()


def user_subject(account: Account) -> Subject:
    return Subject(account_id=account.id, username=account.name, is_admin=account.is_admin)


def pat_subject(account: Account, row: PersonalAccessToken) -> Subject:
    cap, public_only = pat_caps(row.scope_list)
    return Subject(
        account_id=account.id,
        username=account.name,
        # A scoped-down token must not carry site-administrator powers past `decide` either.
        is_admin=account.is_admin and cap == Permission.ADMIN and not public_only,
        max_permission=cap,
        public_only=public_only,
        token_id=row.uuid,
    )


def oat_subject(org: Account, row: OrgAccessToken) -> Subject:
    return Subject(account_id=None, username=org.name, token_id=row.uuid, org_grant=grant_for(org, row))


def claims_for(subject: Subject, session_id: str | None = None) -> dict[str, Any]:
    """The claims that let `subject_for_claims` rebuild `subject` (besides `sub` and `uid`)."""
    claims: dict[str, Any] = {}
    if subject.org_grant is not None:
        claims["oat"] = subject.org_grant.token_id
    elif subject.token_id is not None:
        claims["pat"] = subject.token_id
        if subject.max_permission < Permission.ADMIN:
            claims["cap"] = int(subject.max_permission)
        if subject.public_only:
            claims["pub"] = True
    if session_id is not None:
        claims["sid"] = session_id
    return claims


def subject_uid(subject: Subject) -> int:
    """The `uid` claim: the user's id, or the organisation's for an organisation access token."""
    if subject.org_grant is not None:
        return subject.org_grant.org_id
    assert subject.account_id is not None
    return subject.account_id


def _stale(last_used: datetime | None, now: datetime) -> bool:
    return last_used is None or now - last_used >= timedelta(seconds=LAST_USED_RESOLUTION_SECONDS)


class SignIn:
    def __init__(self, session: AsyncSession, tokens: HubTokens) -> None:
        self.session = session
        self.tokens = tokens
        self.accounts = AccountsStore(session)
        self.access_tokens = AccessTokensStore(session)

    async def check(
        self, identifier: str, secret: str, *, org_tokens: bool = True, refresh_tokens: bool = False
    ) -> SignInResult:
        identifier = identifier.lower()
        if secret.startswith(PAT_PREFIX):
            found = await self._pat(identifier, secret)
            if found is not None:
                return found
        elif secret.startswith(OAT_PREFIX):
            if not org_tokens:
                return FAILED
            found = await self._oat(identifier, secret)
            if found is not None:
                return found
        elif refresh_tokens and secret.count(".") == 2:
            # Anything that is not one of our refresh tokens may still be a password with two dots in it.
            claims = self.tokens.decode(secret, REFRESH)
            if claims is not None:
                subject = await self.subject_for_claims(claims) if str(claims["sub"]) == identifier else None
                if subject is None:
                    return FAILED
                return SignInResult(subject=subject, method=REFRESH_TOKEN, session_id=str(claims.get("jti")))
        return await self._password(identifier, secret)

    async def _password(self, username: str, password: str) -> SignInResult:
        account = await self.accounts.by_name(username)
        if account is None or account.kind != USER or not account.is_active or not account.password_hash:
            # Unknown users cost as much time as wrong passwords, so timing does not tell which names exist.
            await hash_password_async(password)
            return FAILED
        if not await verify_password_async(account.password_hash, password):
            return FAILED
        second = await TwoFactorStore(self.session).is_enabled(account.id)
        return SignInResult(subject=user_subject(account), method=PASSWORD, second_factor_required=second)

    async def _pat(self, username: str, secret: str) -> SignInResult | None:
        found = await self.access_tokens.pat_by_digest(self.tokens.digest(secret))
        if found is None:
            return None
        row, account = found
        now = datetime.now(UTC)
        if account.name != username or not account.is_active or not is_usable(row.is_active, row.expires_at, now):
            return FAILED
        touch = ("pat", row.id) if _stale(row.last_used_at, now) else None
        return SignInResult(subject=pat_subject(account, row), method=PAT, expires_at=row.expires_at, touch=touch)

    async def _oat(self, org_name: str, secret: str) -> SignInResult | None:
        found = await self.access_tokens.oat_by_digest(self.tokens.digest(secret))
        if found is None:
            return None
        row, org = found
        now = datetime.now(UTC)
        if org.name != org_name or org.kind != ORGANIZATION or not is_usable(row.is_active, row.expires_at, now):
            return FAILED
        touch = ("oat", row.id) if _stale(row.last_used_at, now) else None
        return SignInResult(subject=oat_subject(org, row), method=OAT, expires_at=row.expires_at, touch=touch)

    async def record_use(self, result: SignInResult) -> None:
        """Write `last_used` for the token that signed in (the session must be a writer)."""
        if result.touch is not None:
            kind, token_id = result.touch
            await self.access_tokens.touch(kind, token_id, datetime.now(UTC))

    async def subject_for_claims(self, claims: dict[str, Any]) -> Subject | None:
        """The subject a Hub JWT (access or refresh) or a registry refresh token stands for, or None when the
        account, the token it came from or the session was disabled, deleted or revoked since."""
        if await RevocationStore(self.session).any_revoked((claims.get("jti"), claims.get("sid"))):
            return None
        uid, name = claims.get("uid"), claims.get("sub")
        now = datetime.now(UTC)
        if claims.get("oat"):
            found = await self.access_tokens.oat_by_uuid(str(claims["oat"]))
            if found is None:
                return None
            row, org = found
            if org.id != uid or org.name != name or not is_usable(row.is_active, row.expires_at, now):
                return None
            return oat_subject(org, row)
        if not isinstance(uid, int):
            return None
        account = await self.accounts.by_id(uid)
        if account is None or account.kind != USER or not account.is_active or account.name != name:
            return None
        if claims.get("pat"):
            pat = await self.access_tokens.pat(account.id, str(claims["pat"]))
            if pat is None or not is_usable(pat.is_active, pat.expires_at, now):
                return None
            return pat_subject(account, pat)
        return user_subject(account)
