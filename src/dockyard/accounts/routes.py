"""Hub API routes for signing in and out: `/v2/users/login`, `/v2/users/2fa-login`, `/v2/auth/token` and
`/v2/logout/`.

Refresh tokens: `?refresh_token=true` on the login calls adds a `refresh_token`, a JWT valid for 30 days. It is
redeemed for a fresh access token at `POST /v2/auth/token` with `{"identifier": <username>, "secret": <refresh
token>}`, at the registry's `POST /token` as an OAuth2 `refresh_token` grant, or as the password of HTTP Basic.
Logging out with an access token from that session revokes the refresh token and every token issued from it.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Body, Query, Request
from pydantic import BaseModel, Field

from dockyard.accounts.permissions import Subject
from dockyard.accounts.sessions import (
    ACCESS,
    REFRESH,
    REFRESH_TTL_SECONDS,
    SECOND_FACTOR,
    SECOND_FACTOR_TTL_SECONDS,
    RevocationStore,
)
from dockyard.accounts.signin import SignIn, SignInResult, claims_for, subject_uid
from dockyard.accounts.throttle import Throttled
from dockyard.accounts.twofactor import TwoFactor
from dockyard.api.deps import ReadSession, ServicesDep, WriteSession, bearer_token
from dockyard.api.errors import TooManyRequests, Unauthorized
from dockyard.api.routing import HubRouter
from dockyard.http import client_ip

router = HubRouter(tags=["authentication"])

AUTH_TOKEN_TTL_SECONDS = 600
BAD_CREDENTIALS = "Incorrect authentication credentials"
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
    try:
        services.hub_tokens.throttle.check(username, ip)
    except Throttled as throttled:
        raise TooManyRequests(str(throttled), headers={"Retry-After": str(throttled.retry_after)}) from None


def _failed(services: ServicesDep, username: str, ip: str) -> Unauthorized:
    services.hub_tokens.throttle.failure(username, ip)
    return Unauthorized(BAD_CREDENTIALS)


async def _record_use(services: ServicesDep, result: SignInResult) -> None:
    if result.touch is not None:
        async with services.db.writer() as session:
            await SignIn(session, services.hub_tokens).record_use(result)


def _access_token(services: ServicesDep, subject: Subject, ttl: int, session_id: str | None = None) -> str:
    assert subject.username is not None
    return services.hub_tokens.issue(
        username=subject.username,
        account_id=subject_uid(subject),
        kind=ACCESS,
        ttl_seconds=ttl,
        **claims_for(subject, session_id),
    ).token


def _login_response(services: ServicesDep, subject: Subject, refresh: bool) -> LoginResponse:
    if not refresh:
        return LoginResponse(token=_access_token(services, subject, services.settings.hub_token_ttl_seconds))
    assert subject.username is not None
    issued = services.hub_tokens.issue(
        username=subject.username,
        account_id=subject_uid(subject),
        kind=REFRESH,
        ttl_seconds=REFRESH_TTL_SECONDS,
        **claims_for(subject),
    )
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
    username, ip = body.username.lower(), _ip(request, services)
    guard(services, username, ip)
    result = await SignIn(session, services.hub_tokens).check(username, body.password, org_tokens=False)
    if result.subject is None:
        raise _failed(services, username, ip)
    if result.second_factor_required:
        challenge = services.hub_tokens.issue(
            username=username,
            account_id=subject_uid(result.subject),
            kind=SECOND_FACTOR,
            ttl_seconds=SECOND_FACTOR_TTL_SECONDS,
        )
        raise Unauthorized(SECOND_FACTOR_REQUIRED, extra={"login_2fa_token": challenge.token})
    services.hub_tokens.throttle.success(username)
    await _record_use(services, result)
    return _login_response(services, result.subject, refresh_token)


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
    claims = services.hub_tokens.decode(body.login_2fa_token, SECOND_FACTOR)
    if claims is None:
        raise Unauthorized(BAD_CREDENTIALS)
    username, ip = str(claims["sub"]), _ip(request, services)
    guard(services, username, ip)
    subject = await SignIn(session, services.hub_tokens).subject_for_claims(claims)
    if subject is None or subject.account_id is None:
        raise Unauthorized(BAD_CREDENTIALS)
    if not await TwoFactor(session, services.hub_tokens).verify(subject.account_id, body.code):
        raise _failed(services, username, ip)
    # The challenge is spent: one code, one session.
    await RevocationStore(session).revoke(str(claims["jti"]), int(claims["exp"]))
    services.hub_tokens.throttle.success(username)
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
        raise _failed(services, identifier, ip)
    if result.second_factor_required:
        raise Unauthorized(PASSWORD_NOT_ENOUGH)
    services.hub_tokens.throttle.success(identifier)
    await _record_use(services, result)
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
    revocations = RevocationStore(session)
    await revocations.revoke(str(claims["jti"]), int(claims["exp"]))
    if claims.get("sid"):
        await revocations.revoke(str(claims["sid"]), int(time.time()) + REFRESH_TTL_SECONDS)
    if body is not None and body.refresh_token:
        refresh = services.hub_tokens.decode(body.refresh_token, REFRESH)
        if refresh is not None and refresh["uid"] == claims["uid"] and refresh["sub"] == claims["sub"]:
            await revocations.revoke(str(refresh["jti"]), int(refresh["exp"]))
    return LogoutResponse()
