"""Registry authentication: the Docker token service and how each request proves what it may do.

A request carries either a bearer token from our `/token` service (whose `access` claims are the grant, decided
once when the token was issued) or HTTP Basic credentials (decided per request). Anything else gets the 401
challenge that sends Docker clients to `/token`.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt

from dockyard.accounts.permissions import ACTION_PERMISSION, ANONYMOUS, OrgGrant, Permission, Subject, decide
from dockyard.accounts.service import AccountsService
from dockyard.accounts.sessions import REFRESH, HubTokens
from dockyard.accounts.signin import SignIn, SignInResult, claims_for, subject_uid
from dockyard.accounts.throttle import Throttled
from dockyard.config import Settings
from dockyard.db import Database
from dockyard.registry.errors import TooManyRequests, Unauthorized
from dockyard.registry.references import canonical_name
from dockyard.registry.store import RegistryStore

ALGORITHM = "HS256"
REGISTRY_AUDIENCE_PREFIX = "registry:"
# Sign-ins changed by this process (token deleted, password set through the API) are forgotten at once; a
# change made elsewhere (`dockyard admin set-password`, another replica) takes effect within this many seconds.
CREDENTIAL_CACHE_SECONDS = 10
CACHE_LIMIT = 10_000


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]

    def render(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


def parse_scopes(values: Iterable[str]) -> list[Scope]:
    """Parse `repository:name:pull,push` scopes; unparseable entries are ignored, as distribution does."""
    scopes = []
    for value in values:
        for item in value.split(" "):
            kind, _, rest = item.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind and name and actions:
                scopes.append(Scope(kind, name, tuple(a for a in actions.split(",") if a)))
    return scopes


@dataclass
class Caller:
    """Who is calling the registry, and (for a bearer token) what the token grants, by canonical repository."""

    subject: Subject
    token_access: dict[str, frozenset[str]] | None = None
    catalog: bool = False
    client_ip: str = ""
    user_agent: str = ""
    _decided: dict[str, Permission] = field(default_factory=dict)

    @property
    def account_name(self) -> str | None:
        return self.subject.username


class RegistryAuth:
    def __init__(self, settings: Settings, db: Database, secret: bytes) -> None:
        self.settings = settings
        self.db = db
        self.key = hashlib.sha256(b"registry-token:" + secret).digest()
        self.audience = settings.token_service
        # The Hub's keys too: access tokens are stored under its digest key, and a Hub refresh token also does
        # as a password here. The app shares this object (and its login throttle) with the Hub API.
        self.hub_tokens = HubTokens(secret, settings.base_url)
        self.throttle = self.hub_tokens.throttle
        self._tokens: dict[str, tuple[float, Caller]] = {}
        self._credentials: dict[bytes, tuple[float, SignInResult]] = {}

    # --- the challenge -------------------------------------------------------------------------------------
    def challenge(self, scope: str | None, error: str | None = None) -> str:
        value = f'Bearer realm="{self.settings.base_url}/token",service="{self.audience}"'
        if scope:
            value += f',scope="{scope}"'
        if error:
            value += f',error="{error}"'
        return value

    def unauthorized(self, name: str | None, actions: Iterable[str], message: str | None = None) -> Unauthorized:
        scope = f"repository:{name}:{','.join(actions)}" if name else None
        detail = [{"Type": "repository", "Name": name, "Action": a} for a in actions] if name else None
        return Unauthorized(message, detail=detail, headers={"WWW-Authenticate": self.challenge(scope)})

    # --- resolving a request's credentials -----------------------------------------------------------------
    async def caller(self, authorization: str | None, client_ip: str, user_agent: str) -> Caller | None:
        """The caller for an Authorization header; None when it carries no usable credentials."""
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        scheme = scheme.lower()
        if scheme == "bearer":
            caller = self._verify_token(value.strip())
        elif scheme == "basic":
            try:
                subject = await self._basic(value.strip(), client_ip)
            except Throttled as throttled:
                raise TooManyRequests(str(throttled), headers={"Retry-After": str(throttled.retry_after)}) from None
            caller = Caller(subject) if subject is not None else None
        else:
            return None
        if caller is None:
            return None
        return Caller(caller.subject, caller.token_access, caller.catalog, client_ip, user_agent)

    def _verify_token(self, token: str) -> Caller | None:
        now = time.time()
        cached = self._tokens.get(token)
        if cached is not None:
            if cached[0] > now:
                return cached[1]
            del self._tokens[token]
        try:
            claims = jwt.decode(token, self.key, algorithms=[ALGORITHM], audience=self.audience)
        except jwt.PyJWTError:
            return None
        access: dict[str, frozenset[str]] = {}
        catalog = False
        for entry in claims.get("access", []):
            if entry.get("type") == "repository":
                access[canonical_name(entry["name"])] = frozenset(entry.get("actions", []))
            elif entry.get("type") == "registry" and entry.get("name") == "catalog":
                catalog = True
        caller = Caller(_token_subject(claims), access, catalog)
        if len(self._tokens) >= CACHE_LIMIT:
            self._tokens.clear()
        self._tokens[token] = (float(claims["exp"]), caller)
        return caller

    async def _basic(self, value: str, client_ip: str = "") -> Subject | None:
        try:
            username, _, password = base64.b64decode(value, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return None
        return await self.authenticate(username, password, client_ip)

    async def authenticate(self, username: str, password: str, client_ip: str = "") -> Subject | None:
        """The subject for a username and a password, personal access token, organisation access token (with the
        organisation as the username) or Hub refresh token; None when they do not verify. Raises Throttled."""
        result = await self.sign_in(username, password, client_ip)
        return result.subject if result.ok else None

    async def sign_in(self, username: str, password: str, client_ip: str = "") -> SignInResult:
        """Check credentials, remembering the answer briefly: argon2 is slow by design. Only a fresh check is
        throttled and counted, so a client repeating cached credentials costs nothing."""
        key = hashlib.sha256(self.key + username.encode() + b"\0" + password.encode()).digest()
        now = time.monotonic()
        cached = self._credentials.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        self.throttle.check(username, client_ip)
        async with self.db.reader() as session:
            result = await SignIn(session, self.hub_tokens).check(username, password, refresh_tokens=True)
        if result.touch is not None:
            async with self.db.writer() as session:
                await SignIn(session, self.hub_tokens).record_use(result)
        if result.ok:
            self.throttle.success(username)
        elif not result.second_factor_required:
            self.throttle.failure(username, client_ip)
        ttl = float(CREDENTIAL_CACHE_SECONDS)
        if result.expires_at is not None:
            ttl = min(ttl, (result.expires_at - datetime.now(UTC)).total_seconds())
        if len(self._credentials) >= CACHE_LIMIT:
            self._credentials.clear()
        self._credentials[key] = (now + ttl, result)
        return result

    def forget_credentials(self) -> None:
        """Drop remembered sign-ins, so a token just deactivated or deleted stops working at once here."""
        self._credentials.clear()

    # --- deciding ------------------------------------------------------------------------------------------
    async def allowed(self, caller: Caller, path: str, action: str) -> bool:
        if caller.token_access is not None:
            return action in caller.token_access.get(path, ()) or "*" in caller.token_access.get(path, ())
        permission = caller._decided.get(path)
        if permission is None:
            permission = await self.permission(caller.subject, path)
            caller._decided[path] = permission
        return permission >= ACTION_PERMISSION[action]

    async def permission(self, subject: Subject, path: str) -> Permission:
        namespace = path.split("/", 1)[0]
        async with self.db.reader() as session:
            repository = await RegistryStore(session).repository(path)
            target = await AccountsService(session).target(
                subject,
                namespace,
                exists=repository is not None,
                is_private=bool(repository and repository.is_private),
                repository_id=repository.id if repository is not None else None,
                path=path,
            )
        return decide(subject, target)

    async def require(self, caller: Caller | None, name: str, path: str, actions: tuple[str, ...]) -> Caller:
        """The caller, if it may do every one of `actions` on the repository; a 401 challenge otherwise."""
        if caller is not None:
            for action in actions:
                if not await self.allowed(caller, path, action):
                    raise self.unauthorized(name, actions, "insufficient scope or repository not found")
            return caller
        raise self.unauthorized(name, actions)

    # --- issuing tokens ------------------------------------------------------------------------------------
    async def grant(self, subject: Subject, scopes: list[Scope]) -> list[dict[str, Any]]:
        """What to put in a token: for each requested scope, the requested actions that are allowed."""
        access: list[dict[str, Any]] = []
        for scope in scopes:
            if scope.type == "registry" and scope.name == "catalog":
                access.append({"type": "registry", "name": "catalog", "actions": ["*"]})
                continue
            if scope.type != "repository":
                continue
            try:
                path = canonical_name(scope.name)
            except Exception:
                continue
            permission = await self.permission(subject, path)
            wanted = {"pull", "push", "delete"} if "*" in scope.actions else set(scope.actions)
            granted = sorted(a for a in wanted if a in ACTION_PERMISSION and permission >= ACTION_PERMISSION[a])
            access.append({"type": "repository", "name": scope.name, "actions": granted})
        return access

    def issue(self, subject: Subject, access: list[dict[str, Any]]) -> tuple[str, int, str]:
        now = int(time.time())
        ttl = max(60, self.settings.token_ttl_seconds)
        claims = {
            "iss": self.settings.base_url,
            "sub": subject.username or "",
            "aud": self.audience,
            "iat": now,
            "nbf": now - 5,
            "exp": now + ttl,
            "jti": secrets.token_hex(12),
            "access": access,
        }
        if subject.account_id is not None:
            claims["uid"] = subject.account_id
        if subject.is_admin:
            claims["adm"] = True
        if subject.org_grant is not None:
            claims["org"] = subject.org_grant.org_id
        claims.update(claims_for(subject))
        token = jwt.encode(claims, self.key, algorithm=ALGORITHM)
        issued_at = datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z")
        return token, ttl, issued_at


REFRESH_TTL_SECONDS = 90 * 24 * 3600


class RefreshTokens:
    """Long-lived tokens `docker login` keeps as its identity token, traded at POST /token for access tokens."""

    def __init__(self, auth: RegistryAuth) -> None:
        self.auth = auth
        self.audience = auth.audience + ":refresh"

    def issue(self, subject: Subject) -> str:
        now = int(time.time())
        claims = {
            "sub": subject.username,
            "uid": subject_uid(subject),
            "aud": self.audience,
            "iat": now,
            "exp": now + REFRESH_TTL_SECONDS,
            "jti": secrets.token_hex(12),
            # The token it was obtained with, so a PAT's scopes still cap it and revoking the PAT ends it.
            **claims_for(subject),
        }
        return jwt.encode(claims, self.auth.key, algorithm=ALGORITHM)

    async def subject(self, token: str) -> Subject | None:
        """The subject of one of our refresh tokens, or of a Hub refresh token (from `?refresh_token=true`)."""
        try:
            claims: dict[str, Any] | None = jwt.decode(
                token, self.auth.key, algorithms=[ALGORITHM], audience=self.audience
            )
        except jwt.PyJWTError:
            claims = self.auth.hub_tokens.decode(token, REFRESH)
        if claims is None:
            return None
        async with self.auth.db.reader() as session:
            return await SignIn(session, self.auth.hub_tokens).subject_for_claims(claims)


def _token_subject(claims: dict[str, Any]) -> Subject:
    """Who a registry bearer token was issued to, with the caps of the access token they signed in with (what
    the token may do is in its `access` claim; this is for checks made outside it, such as the catalog)."""
    username = claims.get("sub") or None
    if claims.get("oat"):
        grant = OrgGrant(org_id=int(claims.get("org", 0)), org_name=username or "", token_id=str(claims["oat"]))
        return Subject(username=username, token_id=grant.token_id, org_grant=grant)
    return Subject(
        account_id=claims.get("uid"),
        username=username,
        is_admin=bool(claims.get("adm")),
        max_permission=Permission(claims.get("cap", Permission.ADMIN)),
        public_only=bool(claims.get("pub", False)),
        token_id=claims.get("pat"),
    )


__all__ = ["ANONYMOUS", "Caller", "RegistryAuth", "Scope", "parse_scopes"]
