"""Hub API routes for personal access tokens (`/v2/access-tokens`, and `/v2/api_tokens`, the older name hub-tool
uses) and organisation access tokens (`/v2/orgs/{name}/access-tokens`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import BackgroundTasks, Body, Request, Response
from pydantic import BaseModel, Field

from dockyard.accounts.access_tokens import PersonalAccessToken, PersonalAccessTokens
from dockyard.accounts.org_access_tokens import OrgAccessTokens
from dockyard.accounts.routes import ErrorBody
from dockyard.api.deps import CurrentSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.pagination import Pages, page_links
from dockyard.api.routing import HubRouter
from dockyard.http import client_ip

router = HubRouter()

PAT_PATHS = ("/v2/access-tokens", "/v2/api_tokens")
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Invalid request"),
        (401, "Not signed in"),
        (403, "Not allowed"),
        (404, "Not found"),
    )
}


# --- personal access tokens --------------------------------------------------------------------------------
class AccessTokenCreate(BaseModel):
    token_label: str = Field(min_length=1, max_length=100)
    scopes: list[str] | None = Field(
        default=None,
        max_length=10,
        description="repo:admin > repo:write > repo:read > repo:public_read (a higher scope implies the lower "
        "ones); repo:admin when none are given",
    )
    expires_at: datetime | None = None
    is_active: bool | None = Field(default=None, description="Ignored: a new token is always active")


class AccessTokenUpdate(BaseModel):
    token_label: str | None = Field(default=None, min_length=1, max_length=100)
    is_active: bool | None = None


class AccessToken(BaseModel):
    uuid: str
    client_id: str = "HUB"
    creator_ip: str
    creator_ua: str
    created_at: datetime
    last_used: datetime | None
    generated_by: str = "manual"
    is_active: bool
    token: str = Field(description="The secret, only in the answer to the create call; empty otherwise")
    token_label: str
    scopes: list[str]
    expires_at: datetime | None


class AccessTokenPage(BaseModel):
    count: int
    next: str | None
    previous: str | None
    active_count: int
    results: list[AccessToken]


def _pat(row: PersonalAccessToken, token: str = "") -> AccessToken:
    return AccessToken(
        uuid=row.uuid,
        creator_ip=row.creator_ip,
        creator_ua=row.creator_ua,
        created_at=row.created_at,
        last_used=row.last_used_at,
        is_active=row.is_active,
        token=token,
        token_label=row.label,
        scopes=row.scope_list,
        expires_at=row.expires_at,
    )


def forget_sign_ins(services: ServicesDep, background: BackgroundTasks) -> None:
    """Make the registry forget remembered sign-ins now and again once the change is committed, so no sign-in
    checked in between keeps a deactivated or deleted token working from its cache."""
    services.registry.auth.forget_credentials()
    background.add_task(services.registry.auth.forget_credentials)


def _pats(session: Any, services: ServicesDep) -> PersonalAccessTokens:
    return PersonalAccessTokens(session, services.hub_tokens, services.bus)


async def create_access_token(
    body: Annotated[AccessTokenCreate, Body()],
    request: Request,
    subject: CurrentSubject,
    services: ServicesDep,
    session: WriteSession,
) -> AccessToken:
    created = await _pats(session, services).create(
        subject,
        body.token_label,
        body.scopes,
        body.expires_at,
        creator_ip=client_ip(request, services.settings.trusted_proxies),
        creator_ua=request.headers.get("user-agent", ""),
    )
    return _pat(created.row, created.token)


async def list_access_tokens(
    request: Request, subject: CurrentSubject, services: ServicesDep, session: ReadSession, pages: Pages
) -> AccessTokenPage:
    total, active, rows = await _pats(session, services).list(subject, pages.offset, pages.page_size)
    next_url, previous_url = page_links(request, services.settings.base_url, pages, total)
    return AccessTokenPage(
        count=total, next=next_url, previous=previous_url, active_count=active, results=[_pat(r) for r in rows]
    )


async def get_access_token(
    uuid: str, subject: CurrentSubject, services: ServicesDep, session: ReadSession
) -> AccessToken:
    return _pat(await _pats(session, services).get(subject, uuid))


async def update_access_token(
    uuid: str,
    body: Annotated[AccessTokenUpdate, Body()],
    subject: CurrentSubject,
    services: ServicesDep,
    session: WriteSession,
    background: BackgroundTasks,
) -> AccessToken:
    row = await _pats(session, services).update(subject, uuid, label=body.token_label, is_active=body.is_active)
    forget_sign_ins(services, background)
    return _pat(row)


async def delete_access_token(
    uuid: str, subject: CurrentSubject, services: ServicesDep, session: WriteSession, background: BackgroundTasks
) -> Response:
    await _pats(session, services).delete(subject, uuid)
    forget_sign_ins(services, background)
    return Response(status_code=204)


for _prefix in PAT_PATHS:
    _legacy = _prefix != PAT_PATHS[0]
    _tags = ["access-tokens"]
    router.add_api_route(
        _prefix,
        create_access_token,
        methods=["POST"],
        status_code=201,
        response_model=AccessToken,
        responses=ERRORS,
        tags=_tags,
        deprecated=_legacy,
        summary="Create a personal access token (the secret is returned once)",
        operation_id=f"create_access_token{'_legacy' if _legacy else ''}",
    )
    router.add_api_route(
        _prefix,
        list_access_tokens,
        methods=["GET"],
        response_model=AccessTokenPage,
        responses=ERRORS,
        tags=_tags,
        deprecated=_legacy,
        summary="List your personal access tokens",
        operation_id=f"list_access_tokens{'_legacy' if _legacy else ''}",
    )
    router.add_api_route(
        _prefix + "/{uuid}",
        get_access_token,
        methods=["GET"],
        response_model=AccessToken,
        responses=ERRORS,
        tags=_tags,
        deprecated=_legacy,
        summary="Get a personal access token",
        operation_id=f"get_access_token{'_legacy' if _legacy else ''}",
    )
    router.add_api_route(
        _prefix + "/{uuid}",
        update_access_token,
        methods=["PATCH"],
        response_model=AccessToken,
        responses=ERRORS,
        tags=_tags,
        deprecated=_legacy,
        summary="Rename, activate or deactivate a personal access token",
        operation_id=f"update_access_token{'_legacy' if _legacy else ''}",
    )
    router.add_api_route(
        _prefix + "/{uuid}",
        delete_access_token,
        methods=["DELETE"],
        status_code=204,
        response_class=Response,
        responses=ERRORS,
        tags=_tags,
        deprecated=_legacy,
        summary="Delete a personal access token",
        operation_id=f"delete_access_token{'_legacy' if _legacy else ''}",
    )


# --- organisation access tokens ----------------------------------------------------------------------------
class OrgTokenResource(BaseModel):
    type: Literal["TYPE_REPO", "TYPE_ORG"]
    path: str = Field(
        min_length=1,
        max_length=255,
        description='"org/repo", "org/*" or "*/*/public" for TYPE_REPO; the organisation\'s name for TYPE_ORG',
    )
    scopes: list[str] = Field(min_length=1, max_length=30, examples=[["repo-pull"], ["scope-image-push"]])


class OrgTokenCreate(BaseModel):
    label: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=255)
    resources: list[OrgTokenResource] = Field(min_length=1, max_length=100)
    expires_at: datetime | None = None


class OrgTokenUpdate(BaseModel):
    label: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=255)
    resources: list[OrgTokenResource] | None = Field(default=None, min_length=1, max_length=100)
    is_active: bool | None = None


class OrgToken(BaseModel):
    id: str
    label: str
    created_by: str
    is_active: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None


class OrgTokenDetail(OrgToken):
    description: str
    resources: list[OrgTokenResource]


class OrgTokenCreated(OrgTokenDetail):
    token: str = Field(description="The secret (dckr_oat_...), returned only here")


class OrgTokenPage(BaseModel):
    total: int
    next: str | None
    previous: str | None
    results: list[OrgToken]


def _oat_fields(row: Any) -> dict[str, Any]:
    return {
        "id": row.uuid,
        "label": row.label,
        "created_by": row.created_by,
        "is_active": row.is_active,
        "created_at": row.created_at,
        "expires_at": row.expires_at,
        "last_used_at": row.last_used_at,
    }


def _oat_detail(row: Any) -> dict[str, Any]:
    return {**_oat_fields(row), "description": row.description, "resources": row.resources}


def _oats(session: Any, services: ServicesDep) -> OrgAccessTokens:
    return OrgAccessTokens(session, services.hub_tokens, services.bus)


OAT_TAGS: list[str | Any] = ["organization-access-tokens"]


@router.post(
    "/v2/orgs/{name}/access-tokens",
    status_code=201,
    response_model=OrgTokenCreated,
    responses=ERRORS,
    tags=OAT_TAGS,
    summary="Create an organisation access token (owners only; the secret is returned once)",
)
async def create_org_token(
    name: str,
    body: Annotated[OrgTokenCreate, Body()],
    subject: CurrentSubject,
    services: ServicesDep,
    session: WriteSession,
) -> OrgTokenCreated:
    created = await _oats(session, services).create(
        subject,
        name,
        body.label,
        body.description,
        [resource.model_dump() for resource in body.resources],
        body.expires_at,
    )
    return OrgTokenCreated(**_oat_detail(created.row), token=created.token)


@router.get(
    "/v2/orgs/{name}/access-tokens",
    response_model=OrgTokenPage,
    responses=ERRORS,
    tags=OAT_TAGS,
    summary="List an organisation's access tokens (owners only)",
)
async def list_org_tokens(
    name: str, request: Request, subject: CurrentSubject, services: ServicesDep, session: ReadSession, pages: Pages
) -> OrgTokenPage:
    total, rows = await _oats(session, services).list(subject, name, pages.offset, pages.page_size)
    next_url, previous_url = page_links(request, services.settings.base_url, pages, total)
    return OrgTokenPage(
        total=total, next=next_url, previous=previous_url, results=[OrgToken(**_oat_fields(r)) for r in rows]
    )


@router.get(
    "/v2/orgs/{name}/access-tokens/{token_id}",
    response_model=OrgTokenDetail,
    responses=ERRORS,
    tags=OAT_TAGS,
    summary="Get an organisation access token with its resources (owners only)",
)
async def get_org_token(
    name: str, token_id: str, subject: CurrentSubject, services: ServicesDep, session: ReadSession
) -> OrgTokenDetail:
    return OrgTokenDetail(**_oat_detail(await _oats(session, services).get(subject, name, token_id)))


@router.patch(
    "/v2/orgs/{name}/access-tokens/{token_id}",
    response_model=OrgTokenDetail,
    responses=ERRORS,
    tags=OAT_TAGS,
    summary="Update an organisation access token (owners only)",
)
async def update_org_token(
    name: str,
    token_id: str,
    body: Annotated[OrgTokenUpdate, Body()],
    subject: CurrentSubject,
    services: ServicesDep,
    session: WriteSession,
    background: BackgroundTasks,
) -> OrgTokenDetail:
    row = await _oats(session, services).update(
        subject,
        name,
        token_id,
        label=body.label,
        description=body.description,
        resources=[r.model_dump() for r in body.resources] if body.resources is not None else None,
        is_active=body.is_active,
    )
    forget_sign_ins(services, background)
    return OrgTokenDetail(**_oat_detail(row))


@router.delete(
    "/v2/orgs/{name}/access-tokens/{token_id}",
    status_code=204,
    response_class=Response,
    responses=ERRORS,
    tags=OAT_TAGS,
    summary="Delete an organisation access token (owners only)",
)
async def delete_org_token(
    name: str,
    token_id: str,
    subject: CurrentSubject,
    services: ServicesDep,
    session: WriteSession,
    background: BackgroundTasks,
) -> Response:
    await _oats(session, services).delete(subject, name, token_id)
    forget_sign_ins(services, background)
    return Response(status_code=204)
