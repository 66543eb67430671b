"""What one client knows between requests: where the servers are, the credentials and tokens it holds, its
response cache and its retry policy. Flows read and update it; the runners use it to address and sign requests."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dockyard.client.cache import ResponseCache
from dockyard.client.constants import (
    DOCKER_HUB_API,
    DOCKER_HUB_AUTH,
    DOCKER_HUB_REGISTRY,
    DOCKER_HUB_SERVICE,
    DVP_PATH,
)
from dockyard.client.retry import RetryPolicy

# Renew a Hub token this many seconds before its `exp`.
EXPIRY_MARGIN = 30

OtpCallback = Callable[[], str] | Callable[[], Awaitable[str]]


def jwt_expiry(token: str) -> float | None:
    """The `exp` claim of a JWT, read without verifying it (the server does that); None if it has none."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    exp = payload.get("exp") if isinstance(payload, dict) else None
    return float(exp) if isinstance(exp, int | float) else None


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


@dataclass
class RegistryToken:
    token: str
    expires: float


@dataclass
class Context:
    base_url: str = DOCKER_HUB_API
    registry_url: str = DOCKER_HUB_REGISTRY
    auth_url: str | None = DOCKER_HUB_AUTH
    auth_service: str | None = DOCKER_HUB_SERVICE
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    otp_callback: OtpCallback | None = field(default=None, repr=False)
    cache: ResponseCache = field(default_factory=ResponseCache)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    registry_tokens: dict[tuple[str, str], RegistryToken] = field(default_factory=dict, repr=False)
    on_token: Callable[[Context], None] | None = field(default=None, repr=False)

    @classmethod
    def build(
        cls,
        base_url: str | None = None,
        registry_url: str | None = None,
        auth_url: str | None = None,
        auth_service: str | None = None,
        **kwargs: Any,
    ) -> Context:
        """Docker Hub's hosts unless told otherwise. A Hub API elsewhere (a Dockyard) serves its registry on the
        same origin by default, and its token service is found from the registry's `WWW-Authenticate` challenge."""
        api = (base_url or DOCKER_HUB_API).rstrip("/")
        on_docker_hub = origin(api) == origin(DOCKER_HUB_API)
        registry = (registry_url or (DOCKER_HUB_REGISTRY if on_docker_hub else api)).rstrip("/")
        registry_on_hub = origin(registry) == origin(DOCKER_HUB_REGISTRY)
        if auth_url is None and registry_on_hub:
            auth_url, auth_service = DOCKER_HUB_AUTH, auth_service or DOCKER_HUB_SERVICE
        return cls(base_url=api, registry_url=registry, auth_url=auth_url, auth_service=auth_service, **kwargs)

    # --- addresses -------------------------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        if "://" in path:
            return path
        return self.base_url + path

    def registry(self, path: str) -> str:
        return self.registry_url + path

    def dvp(self, path: str) -> str:
        return DVP_PATH + path

    def same_origin(self, url: str) -> bool:
        """Hub credentials go only to the Hub API's own origin (never to a `next` link or download elsewhere)."""
        return "://" not in url or origin(url) == origin(self.base_url)

    # --- credentials -----------------------------------------------------------------------------------------------
    def hub_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def identity(self) -> str:
        """Who the cache answers for: a digest of the token (or of nothing, for anonymous calls)."""
        return hashlib.sha256((self.token or "").encode()).hexdigest()[:16]

    @property
    def can_sign_in(self) -> bool:
        return bool(self.username and (self.password or self.refresh_token))

    def token_expired(self, now: float | None = None) -> bool:
        if not self.token:
            return True
        expiry = jwt_expiry(self.token)
        return expiry is not None and expiry - EXPIRY_MARGIN <= (time.time() if now is None else now)

    def needs_sign_in(self) -> bool:
        return self.can_sign_in and self.token_expired()

    def set_tokens(self, token: str | None, refresh_token: str | None = None, *, keep_refresh: bool = True) -> None:
        self.token = token
        if refresh_token is not None or not keep_refresh:
            self.refresh_token = refresh_token
        self.registry_tokens.clear()
        self.cache.clear()
        if self.on_token is not None:
            self.on_token(self)

    def basic_credentials(self) -> tuple[str, str] | None:
        """What the registry's token service accepts over HTTP Basic: a password or PAT, else a refresh token."""
        secret = self.password or self.refresh_token
        if self.username and secret:
            return self.username, secret
        return None
