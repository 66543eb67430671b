"""Hub API routes for signing in: `/v2/users/login` and `/v2/auth/token`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body
from pydantic import BaseModel, Field

from dockyard.accounts.permissions import Subject
from dockyard.accounts.service import AccountsService
from dockyard.accounts.sessions import ACCESS
from dockyard.api.deps import ReadSession, ServicesDep
from dockyard.api.errors import Unauthorized
from dockyard.api.routing import HubRouter

router = HubRouter(tags=["authentication"])

AUTH_TOKEN_TTL_SECONDS = 600
BAD_CREDENTIALS = "Incorrect authentication credentials"


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=4096)


class LoginResponse(BaseModel):
    token: str


class AuthTokenRequest(BaseModel):
    identifier: str = Field(min_length=1, max_length=255)
    secret: str = Field(min_length=1, max_length=4096)


class AuthTokenResponse(BaseModel):
    access_token: str


async def _authenticate(session: ReadSession, username: str, password: str) -> Subject:
    subject = await AccountsService(session).authenticate(username.lower(), password)
    if subject is None:
        raise Unauthorized(BAD_CREDENTIALS)
    return subject


def _issue(services: ServicesDep, subject: Subject, ttl: int) -> str:
    assert subject.username is not None and subject.account_id is not None
    claims: dict[str, Any] = {}
    if subject.max_permission < 3:
        claims["cap"] = int(subject.max_permission)
    if subject.public_only:
        claims["pub"] = True
    return services.hub_tokens.issue(
        username=subject.username, account_id=subject.account_id, kind=ACCESS, ttl_seconds=ttl, **claims
    ).token


@router.post("/v2/users/login", response_model=LoginResponse, summary="Log in with a username and password")
async def login(body: Annotated[LoginRequest, Body()], services: ServicesDep, session: ReadSession) -> LoginResponse:
    subject = await _authenticate(session, body.username, body.password)
    return LoginResponse(token=_issue(services, subject, services.settings.hub_token_ttl_seconds))


@router.post("/v2/auth/token", response_model=AuthTokenResponse, summary="Exchange credentials for an access token")
async def auth_token(
    body: Annotated[AuthTokenRequest, Body()], services: ServicesDep, session: ReadSession
) -> AuthTokenResponse:
    subject = await _authenticate(session, body.identifier, body.secret)
    return AuthTokenResponse(access_token=_issue(services, subject, AUTH_TOKEN_TTL_SECONDS))
