"""Hub API JSON Web Tokens: what `/v2/users/login` and `/v2/auth/token` hand out and every Hub route accepts.

Tokens are real signed JWTs carrying `exp` (hub-tool parses it to decide when to log in again). The claims say
who the caller is and, when they logged in with a scoped token, the most that token allows.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import jwt

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"
SECOND_FACTOR = "2fa"


@dataclass(frozen=True)
class IssuedToken:
    token: str
    jti: str
    expires_at: int


class HubTokens:
    def __init__(self, secret: bytes, issuer: str) -> None:
        self.key = hashlib.sha256(b"hub-token:" + secret).digest()
        self.issuer = issuer

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
