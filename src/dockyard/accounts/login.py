"""Signing a person in and out: the rules that the Hub API's `/v2/users/login`, `/v2/users/2fa-login` and
`/v2/logout/` and the web pages' sign-in form share, so a browser gets exactly the same throttling, second-factor
challenge and tokens as an API client.

A sign-in with a password (or a personal access token) either succeeds or, when the account has a second factor,
answers a short-lived challenge token (`login_2fa_token`); the challenge and a TOTP or recovery code complete it,
once. Every failure counts against the username and the client address (see accounts.throttle), and a throttled
attempt is refused before the credentials are even checked.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import Subject
from dockyard.accounts.sessions import (
    ACCESS,
    REFRESH,
    REFRESH_TTL_SECONDS,
    SECOND_FACTOR,
    SECOND_FACTOR_TTL_SECONDS,
    HubTokens,
    IssuedToken,
    RevocationStore,
)
from dockyard.accounts.signin import SignIn, SignInResult, claims_for, subject_uid
from dockyard.accounts.throttle import Throttled
from dockyard.accounts.twofactor import TwoFactor
from dockyard.api.errors import TooManyRequests, Unauthorized
from dockyard.db import Database

BAD_CREDENTIALS = "Incorrect authentication credentials"


@dataclass(frozen=True)
class PasswordChecked:
    """A password (or personal access token) that verified: `challenge` is set when a second factor must follow,
    and the caller must not treat `subject` as signed in until it has."""

    subject: Subject
    challenge: str | None = None


def guard(tokens: HubTokens, username: str, ip: str) -> None:
    """Refuse an attempt from a throttled username or address (429 with Retry-After)."""
    try:
        tokens.throttle.check(username, ip)
    except Throttled as throttled:
        raise TooManyRequests(str(throttled), headers={"Retry-After": str(throttled.retry_after)}) from None


def failed(tokens: HubTokens, username: str, ip: str) -> Unauthorized:
    """Count a failed attempt; returns the error to raise."""
    tokens.throttle.failure(username, ip)
    return Unauthorized(BAD_CREDENTIALS)


def access_token(tokens: HubTokens, subject: Subject, ttl_seconds: int, session_id: str | None = None) -> IssuedToken:
    return _issue(tokens, subject, ACCESS, ttl_seconds, session_id)


def refresh_token(tokens: HubTokens, subject: Subject) -> IssuedToken:
    return _issue(tokens, subject, REFRESH, REFRESH_TTL_SECONDS)


def _issue(
    tokens: HubTokens, subject: Subject, kind: str, ttl_seconds: int, session_id: str | None = None
) -> IssuedToken:
    assert subject.username is not None
    return tokens.issue(
        username=subject.username,
        account_id=subject_uid(subject),
        kind=kind,
        ttl_seconds=ttl_seconds,
        **claims_for(subject, session_id),
    )


class Login:
    """One client's sign-in attempt (`ip` is the address the throttle counts)."""

    def __init__(self, db: Database, tokens: HubTokens, ip: str) -> None:
        self.db = db
        self.tokens = tokens
        self.ip = ip

    async def with_password(self, session: AsyncSession, username: str, password: str) -> PasswordChecked:
        username = username.lower()
        guard(self.tokens, username, self.ip)
        result = await SignIn(session, self.tokens).check(username, password, org_tokens=False)
        if result.subject is None:
            raise failed(self.tokens, username, self.ip)
        if result.second_factor_required:
            challenge = self.tokens.issue(
                username=username,
                account_id=subject_uid(result.subject),
                kind=SECOND_FACTOR,
                ttl_seconds=SECOND_FACTOR_TTL_SECONDS,
            )
            return PasswordChecked(result.subject, challenge.token)
        self.tokens.throttle.success(username)
        await self.record_use(result)
        return PasswordChecked(result.subject)

    async def with_second_factor(self, session: AsyncSession, challenge: str, code: str) -> Subject:
        """Complete a sign-in with the challenge from `with_password` and a TOTP or recovery code (`session`
        must be a writer: the challenge is spent)."""
        claims = self.tokens.decode(challenge, SECOND_FACTOR)
        if claims is None:
            raise Unauthorized(BAD_CREDENTIALS)
        username = str(claims["sub"])
        guard(self.tokens, username, self.ip)
        subject = await SignIn(session, self.tokens).subject_for_claims(claims)
        if subject is None or subject.account_id is None:
            raise Unauthorized(BAD_CREDENTIALS)
        if not await TwoFactor(session, self.tokens).verify(subject.account_id, code):
            raise failed(self.tokens, username, self.ip)
        # The challenge is spent: one code, one session.
        await RevocationStore(session).revoke(str(claims["jti"]), int(claims["exp"]))
        self.tokens.throttle.success(username)
        return subject

    async def record_use(self, result: SignInResult) -> None:
        """Write `last_used` of the access token that signed in, in a transaction of its own."""
        if result.touch is not None:
            async with self.db.writer() as session:
                await SignIn(session, self.tokens).record_use(result)


async def sign_out(
    session: AsyncSession, tokens: HubTokens, claims: dict[str, Any], refresh: str | None = None
) -> None:
    """Revoke an access token's claims, the refresh session it came from, and `refresh` when it is that user's
    refresh token (`session` must be a writer)."""
    revocations = RevocationStore(session)
    await revocations.revoke(str(claims["jti"]), int(claims["exp"]))
    if claims.get("sid"):
        await revocations.revoke(str(claims["sid"]), int(time.time()) + REFRESH_TTL_SECONDS)
    if refresh:
        found = tokens.decode(refresh, REFRESH)
        if found is not None and found["uid"] == claims["uid"] and found["sub"] == claims["sub"]:
            await revocations.revoke(str(found["jti"]), int(found["exp"]))
