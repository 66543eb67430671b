"""Hub API routes about users: the caller (`/v2/user/`), public profiles and the caller's organisations."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Body, Path, Request

from dockyard.accounts import schemas_people as schemas
from dockyard.accounts.orgs import OrgsService, require_full_access
from dockyard.api.deps import CurrentSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter

router = HubRouter(tags=["users"])

Username = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.NO_NUL)]


@router.get("/v2/user/", response_model=schemas.CurrentUser, summary="The signed-in user")
async def current_user(subject: CurrentSubject, session: ReadSession) -> schemas.CurrentUser:
    return schemas.current_user(await OrgsService(session).me(subject))


@router.patch("/v2/user/", response_model=schemas.CurrentUser, summary="Update the signed-in user's profile")
async def update_current_user(
    body: Annotated[schemas.ProfileUpdate, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.CurrentUser:
    require_full_access(subject)
    orgs = OrgsService(session, services.bus)
    account = await orgs.update_profile(await orgs.me(subject), body.model_dump(exclude_unset=True), subject)
    return schemas.current_user(account)


@router.get("/v2/users/{username}/", response_model=schemas.PublicUser, summary="A user's public profile")
async def user_profile(username: Username, session: ReadSession) -> schemas.PublicUser:
    return schemas.public_user(await OrgsService(session).profile(username))


@router.get(
    "/v2/user/orgs/", response_model=schemas.Page[schemas.Organization], summary="The signed-in user's organisations"
)
async def user_orgs(
    request: Request, pages: Pages, subject: CurrentSubject, session: ReadSession, services: ServicesDep
) -> dict[str, Any]:
    count, orgs = await OrgsService(session).user_orgs(subject, pages.offset, pages.page_size)
    return paginate(request, services.settings.base_url, pages, count, [schemas.organization(org) for org in orgs])
