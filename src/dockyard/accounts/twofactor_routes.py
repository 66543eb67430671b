"""Hub API routes for the signed-in user's second factor, under `/v2/user/2fa`:

- `GET  /v2/user/2fa`: status;
- `POST /v2/user/2fa/totp`: start enrolment, answering the secret and its `otpauth://` provisioning URI;
- `POST /v2/user/2fa/totp/confirm` `{code}`: turn it on with a first code, answering the recovery codes (shown once);
- `POST /v2/user/2fa/recovery-codes` `{code | password}`: replace the recovery codes;
- `POST /v2/user/2fa/disable` `{code | password}`: turn it off.

All need a session signed in with the password (not an access token).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import BackgroundTasks, Body, Request
from pydantic import BaseModel, Field

from dockyard.accounts.routes import ErrorBody, guard
from dockyard.accounts.token_routes import forget_sign_ins
from dockyard.accounts.twofactor import NotVerified, TwoFactor
from dockyard.api.deps import CurrentSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.routing import HubRouter
from dockyard.http import client_ip

router = HubRouter(tags=["two-factor authentication"])

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Invalid request or code"),
        (401, "Not signed in, or the code or password is wrong"),
        (403, "Needs a session signed in with the password"),
        (409, "Not possible in the current state"),
        (429, "Too many wrong codes or passwords; see Retry-After"),
    )
}


class TwoFactorStatus(BaseModel):
    enabled: bool
    pending: bool = Field(description="Enrolment started but not confirmed")
    recovery_codes_remaining: int


class TotpEnrolment(BaseModel):
    secret: str = Field(description="The base32 TOTP secret, for manual entry")
    provisioning_uri: str = Field(description="otpauth:// URI for a QR code")


class CodeRequest(BaseModel):
    code: str = Field(min_length=1, max_length=64)


class ReauthRequest(BaseModel):
    code: str | None = Field(default=None, min_length=1, max_length=64, description="A current TOTP or recovery code")
    password: str | None = Field(default=None, min_length=1, max_length=4096)


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(description="Single-use codes; they are not shown again")


@asynccontextmanager
async def _throttled(request: Request, services: ServicesDep, subject: CurrentSubject) -> AsyncIterator[None]:
    """Codes and passwords checked here count as sign-in attempts: a stolen session must not be a way to guess
    them at speed."""
    ip = client_ip(request, services.settings.trusted_proxies)
    guard(services, subject.username or "", ip)
    try:
        yield
    except NotVerified:
        services.hub_tokens.throttle.failure(subject.username, ip)
        raise


def _service(session: Any, services: ServicesDep) -> TwoFactor:
    return TwoFactor(session, services.hub_tokens, services.bus)


async def _status(session: Any, services: ServicesDep, subject: CurrentSubject) -> TwoFactorStatus:
    status = await _service(session, services).status(subject)
    return TwoFactorStatus(
        enabled=status.enabled, pending=status.pending, recovery_codes_remaining=status.recovery_codes_remaining
    )


@router.get("/v2/user/2fa", response_model=TwoFactorStatus, responses=ERRORS, summary="Second-factor status")
async def two_factor_status(subject: CurrentSubject, services: ServicesDep, session: ReadSession) -> TwoFactorStatus:
    return await _status(session, services, subject)


@router.post("/v2/user/2fa/totp", response_model=TotpEnrolment, responses=ERRORS, summary="Start TOTP enrolment")
async def begin_totp(subject: CurrentSubject, services: ServicesDep, session: WriteSession) -> TotpEnrolment:
    enrolment = await _service(session, services).begin(subject)
    return TotpEnrolment(secret=enrolment.secret, provisioning_uri=enrolment.provisioning_uri)


@router.post(
    "/v2/user/2fa/totp/confirm",
    response_model=RecoveryCodes,
    responses=ERRORS,
    summary="Confirm TOTP enrolment with a first code; answers the recovery codes",
)
async def confirm_totp(
    body: Annotated[CodeRequest, Body()],
    subject: CurrentSubject,
    services: ServicesDep,
    session: WriteSession,
    background: BackgroundTasks,
) -> RecoveryCodes:
    codes = await _service(session, services).confirm(subject, body.code)
    # Remembered registry sign-ins with the bare password must stop working now.
    forget_sign_ins(services, background)
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/v2/user/2fa/recovery-codes",
    response_model=RecoveryCodes,
    responses=ERRORS,
    summary="Replace the recovery codes (needs a current code or the password)",
)
async def regenerate_recovery_codes(
    body: Annotated[ReauthRequest, Body()],
    request: Request,
    subject: CurrentSubject,
    services: ServicesDep,
    session: WriteSession,
) -> RecoveryCodes:
    service = _service(session, services)
    async with _throttled(request, services, subject):
        codes = await service.regenerate(subject, code=body.code, password=body.password)
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/v2/user/2fa/disable",
    response_model=TwoFactorStatus,
    responses=ERRORS,
    summary="Turn the second factor off (needs a current code or the password)",
)
async def disable_two_factor(
    body: Annotated[ReauthRequest, Body()],
    request: Request,
    subject: CurrentSubject,
    services: ServicesDep,
    session: WriteSession,
) -> TwoFactorStatus:
    async with _throttled(request, services, subject):
        await _service(session, services).disable(subject, code=body.code, password=body.password)
    return await _status(session, services, subject)
