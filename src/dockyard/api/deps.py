"""FastAPI dependencies every Hub-style route uses: the services, a database session, and the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts.permissions import ANONYMOUS, Subject
from dockyard.accounts.sessions import ACCESS
from dockyard.accounts.signin import SignIn
from dockyard.api.errors import Forbidden, Unauthorized

if TYPE_CHECKING:
    from dockyard.app import Services


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated["Services", Depends(get_services)]


async def read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_services(request).db.reader() as session:
        yield session


async def write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A transaction committed when the route function returns (before the response is sent), so a failed
    commit is reported to the client instead of a success that did not happen."""
    async with get_services(request).db.writer() as session:
        yield session


ReadSession = Annotated[AsyncSession, Depends(read_session, scope="function")]
WriteSession = Annotated[AsyncSession, Depends(write_session, scope="function")]


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer …` or the legacy `Authorization: JWT …` (the npm client's form)."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "jwt") and value.strip():
        return value.strip()
    return None


async def optional_subject(request: Request) -> Subject:
    """The caller, or ANONYMOUS without credentials. Credentials that do not verify are a 401, not anonymity."""
    token = bearer_token(request)
    if token is None:
        return ANONYMOUS
    subject = await subject_for_token(get_services(request), token)
    if subject is None:
        raise Unauthorized("Authentication credentials were not provided or are invalid.")
    return subject


async def subject_for_token(services: Services, token: str) -> Subject | None:
    """The subject a Hub access token stands for, or None when it does not verify (for the web pages' session
    cookie as much as for `Authorization`)."""
    claims = services.hub_tokens.decode(token, ACCESS)
    if claims is None:
        return None
    # Checked against the database on every request: a logged-out session, a deactivated access token or a
    # disabled account stops working at once.
    async with services.db.reader() as session:
        return await SignIn(session, services.hub_tokens).subject_for_claims(claims)


async def required_subject(subject: Annotated[Subject, Depends(optional_subject)]) -> Subject:
    if subject.is_anonymous:
        raise Unauthorized("Authentication credentials were not provided.")
    return subject


# Docker Hub's words when an organisation access token calls a route meant for users.
ORG_TOKEN_REFUSED = "token issued from organization access token is not allowed"


async def user_subject(subject: Annotated[Subject, Depends(required_subject)]) -> Subject:
    """A signed-in user; an organisation access token is refused here, as on Docker Hub's user routes."""
    if subject.account_id is None:
        raise Forbidden(ORG_TOKEN_REFUSED)
    return subject


OptionalSubject = Annotated[Subject, Depends(optional_subject)]
CurrentSubject = Annotated[Subject, Depends(required_subject)]
# A user (never an organisation access token); `subject.account_id` is set.
UserSubject = Annotated[Subject, Depends(user_subject)]
