"""Hub API JSON Web Tokens: what `/v2/users/login` and `/v2/auth/token` hand out and every Hub route accepts.

Tokens are real signed JWTs carrying `exp` (hub-tool parses it to decide when to log in again). The claims say
who the caller is and, when they logged in with a scoped token, the most that token allows:

- `sub` / `uid`: the username and account id (for an organisation access token, the organisation's);
- `cap` / `pub`: the permission cap and the public-only flag of a personal access token's scopes;
- `pat` / `oat`: the uuid of the personal or organisation access token the session was obtained with (checked on
  every use, so deactivating or deleting the token ends its sessions);
- `sid`: the session a refresh token started; logging out revokes the whole session.

The same object holds the other keys derived from the server secret: the HMAC key that access tokens and recovery
codes are stored under, and the key that encrypts TOTP secrets at rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from dockyard.accounts.throttle import LoginThrottle
from dockyard.db.base import Base, UTCDateTime

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
SECOND_FACTOR = "2fa"

REFRESH_TTL_SECONDS = 30 * 24 * 3600
SECOND_FACTOR_TTL_SECONDS = 300


def _derive(secret: bytes, purpose: bytes) -> bytes:
    return hmac.new(secret, b"dockyard:" + purpose, hashlib.sha256).digest()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: int


class HubTokens:
    """Signs and verifies Hub JWTs, and owns the other secret-derived keys and the login throttle."""

    def __init__(self, secret: bytes, issuer: str, throttle: LoginThrottle | None = None) -> None:
        self.key = hashlib.sha256(b"hub-token:" + secret).digest()
        self.issuer = issuer
        self._digest_key = _derive(secret, b"access-token-digest")
        self._fernet = Fernet(base64.urlsafe_b64encode(_derive(secret, b"totp-secret-encryption")))
        self.throttle = throttle or LoginThrottle()

    def issue(self, *, username: str, account_id: int, kind: str, ttl_seconds: int, **claims: Any) -> IssuedToken:
        now = int(time.time())
        jti = secrets.token_hex(16)
        payload = {
            "iss": self.issuer,
            "sub": username,
            "uid": account_id,
            "typ": kind,
            "iat": now,
            "exp": now + ttl_seconds,
            "jti": jti,
            **{key: value for key, value in claims.items() if value is not None},
        }
        return IssuedToken(jwt.encode(payload, self.key, algorithm=ALGORITHM), jti, now + ttl_seconds)

    def decode(self, token: str, kind: str) -> dict[str, Any] | None:
        """The claims of a valid, unexpired token of the given kind, or None."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self.key, algorithms=[ALGORITHM], issuer=self.issuer, options={"require": ["exp", "sub"]}
            )
        except jwt.PyJWTError:
            return None
        if claims.get("typ") != kind or not isinstance(claims.get("uid"), int):
            return None
        return claims

    # --- secrets at rest -----------------------------------------------------------------------------------
    def digest(self, value: str) -> str:
        """The stored form of a token or recovery code: HMAC-SHA256 under a key only this server holds, so a
        leaked database alone does not let anyone test guesses."""
        return hmac.new(self._digest_key, value.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, value: str) -> str | None:
        try:
            return self._fernet.decrypt(value.encode()).decode()
        except (InvalidToken, ValueError):
            return None


# --- revocation --------------------------------------------------------------------------------------------
class RevokedToken(Base):
    """A Hub JWT (or a whole refresh session) that was logged out, kept until it would have expired anyway."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class RevocationStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def any_revoked(self, jtis: Iterable[str | None]) -> bool:
        wanted = [jti for jti in jtis if jti]
        if not wanted:
            return False
        result = await self.session.execute(select(RevokedToken.jti).where(RevokedToken.jti.in_(wanted)).limit(1))
        return result.first() is not None

    async def revoke(self, jti: str, expires_at: int) -> None:
        now = datetime.now(UTC)
        # Expired entries can go: a token past its `exp` is refused by its signature check alone.
        await self.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
        values = {"jti": jti, "expires_at": datetime.fromtimestamp(expires_at, UTC)}
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        await self.session.execute(insert(RevokedToken).values(**values).on_conflict_do_nothing())
