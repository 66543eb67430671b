"""Hub API routes for signing in and out: `/v2/users/login`, `/v2/users/2fa-login`, `/v2/auth/token` and
`/v2/logout/`.

Refresh tokens: `?refresh_token=true` on the login calls adds a `refresh_token`, a JWT valid for 30 days. It is
redeemed for a fresh access token at `POST /v2/auth/token` with `{"identifier": <username>, "secret": <refresh
token>}`, at the registry's `POST /token` as an OAuth2 `refresh_token` grant, or as the password of HTTP Basic.
Logging out with an access token from that session revokes the refresh token and every token issued from it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Query, Request
from pydantic import BaseModel, Field

from dockyard.accounts import login as signing
from dockyard.accounts.login import Login
from dockyard.accounts.permissions import Subject
from dockyard.accounts.sessions import ACCESS
from dockyard.accounts.signin import SignIn
from dockyard.api.deps import ReadSession, ServicesDep, WriteSession, bearer_token
from dockyard.api.errors import Unauthorized
from dockyard.api.routing import HubRouter
from dockyard.http import client_ip

router = HubRouter(tags=["authentication"])

AUTH_TOKEN_TTL_SECONDS = 600
SECOND_FACTOR_REQUIRED = "Require secondary authentication on MFA enabled account"
PASSWORD_NOT_ENOUGH = (
    "Two-factor authentication is enabled for this account: use a personal access token, "
    "or sign in at /v2/users/login and /v2/users/2fa-login"
)


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=4096, description="The password or a personal access token")


class LoginResponse(BaseModel):
    token: str = Field(description="A JWT for `Authorization: Bearer` (or `JWT`)")
    refresh_token: str | None = Field(default=None, description="Only with `?refresh_token=true`")


class TwoFactorLoginRequest(BaseModel):
    login_2fa_token: str = Field(min_length=1, max_length=4096)
    code: str = Field(min_length=1, max_length=64, description="A TOTP code, or one of the recovery codes")


class ErrorBody(BaseModel):
    detail: str
    message: str


class SecondFactorChallenge(ErrorBody):
    login_2fa_token: str | None = Field(default=None, description="Present when a second factor is needed")


class AuthTokenRequest(BaseModel):
    identifier: str = Field(min_length=1, max_length=255, description="A username, or an organisation's name")
    secret: str = Field(
        min_length=1,
        max_length=4096,
        description="A password, a personal access token, a refresh token or (with an organisation's name) an "
        "organisation access token",
    )


class AuthTokenResponse(BaseModel):
    access_token: str


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=4096, description="Also revoke this refresh token")


class LogoutResponse(BaseModel):
    pass


RefreshFlag = Annotated[bool, Query(description="Also return a refresh token")]
SIGN_IN_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Invalid request"},
    401: {"model": SecondFactorChallenge, "description": "Wrong credentials, or a second factor is required"},
    429: {"model": ErrorBody, "description": "Too many failed sign-ins; see Retry-After"},
}


def _ip(request: Request, services: ServicesDep) -> str:
    return client_ip(request, services.settings.trusted_proxies)


def guard(services: ServicesDep, username: str, ip: str) -> None:
    signing.guard(services.hub_tokens, username, ip)


def _login(request: Request, services: ServicesDep) -> Login:
    return Login(services.db, services.hub_tokens, _ip(request, services))


def _access_token(services: ServicesDep, subject: Subject, ttl: int, session_id: str | None = None) -> str:
    return signing.access_token(services.hub_tokens, subject, ttl, session_id).token


def _login_response(services: ServicesDep, subject: Subject, refresh: bool) -> LoginResponse:
    if not refresh:
        return LoginResponse(token=_access_token(services, subject, services.settings.hub_token_ttl_seconds))
    issued = signing.refresh_token(services.hub_tokens, subject)
    token = _access_token(services, subject, services.settings.hub_token_ttl_seconds, session_id=issued.jti)
    return LoginResponse(token=token, refresh_token=issued.token)


@router.post(
    "/v2/users/login",
    response_model=LoginResponse,
    response_model_exclude_none=True,
    responses=SIGN_IN_ERRORS,
    summary="Log in with a username and a password or personal access token",
)
async def login(
    body: Annotated[LoginRequest, Body()],
    request: Request,
    services: ServicesDep,
    session: ReadSession,
    refresh_token: RefreshFlag = False,
) -> LoginResponse:
    checked = await _login(request, services).with_password(session, body.username, body.password)
    if checked.challenge is not None:
        raise Unauthorized(SECOND_FACTOR_REQUIRED, extra={"login_2fa_token": checked.challenge})
    return _login_response(services, checked.subject, refresh_token)


@router.post(
    "/v2/users/2fa-login",
    response_model=LoginResponse,
    response_model_exclude_none=True,
    responses=SIGN_IN_ERRORS,
    summary="Complete a login with a TOTP code or a recovery code",
)
async def two_factor_login(
    body: Annotated[TwoFactorLoginRequest, Body()],
    request: Request,
    services: ServicesDep,
    session: WriteSession,
    refresh_token: RefreshFlag = False,
) -> LoginResponse:
    subject = await _login(request, services).with_second_factor(session, body.login_2fa_token, body.code)
    return _login_response(services, subject, refresh_token)


@router.post(
    "/v2/auth/token",
    response_model=AuthTokenResponse,
    responses=SIGN_IN_ERRORS,
    summary="Exchange credentials (password, access token or refresh token) for a 10-minute access token",
)
async def auth_token(
    body: Annotated[AuthTokenRequest, Body()], request: Request, services: ServicesDep, session: ReadSession
) -> AuthTokenResponse:
    identifier, ip = body.identifier.lower(), _ip(request, services)
    guard(services, identifier, ip)
    result = await SignIn(session, services.hub_tokens).check(identifier, body.secret, refresh_tokens=True)
    if result.subject is None:
        raise signing.failed(services.hub_tokens, identifier, ip)
    if result.second_factor_required:
        raise Unauthorized(PASSWORD_NOT_ENOUGH)
    services.hub_tokens.throttle.success(identifier)
    await _login(request, services).record_use(result)
    return AuthTokenResponse(
        access_token=_access_token(services, result.subject, AUTH_TOKEN_TTL_SECONDS, result.session_id)
    )


@router.post(
    "/v2/logout/",
    response_model=LogoutResponse,
    responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody}},
    summary="Revoke the presented token (and the refresh session it belongs to)",
)
async def logout(
    request: Request,
    services: ServicesDep,
    session: WriteSession,
    body: Annotated[LogoutRequest | None, Body()] = None,
) -> LogoutResponse:
    token = bearer_token(request)
    claims = services.hub_tokens.decode(token, ACCESS) if token else None
    if claims is None:
        raise Unauthorized("Authentication credentials were not provided or are invalid.")
    await signing.sign_out(session, services.hub_tokens, claims, body.refresh_token if body is not None else None)
    return LogoutResponse()
