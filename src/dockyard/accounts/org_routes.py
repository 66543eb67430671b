"""Hub API routes for organisations: profile, members (with the CSV export) and groups (teams) with their members.

hub-tool reads `GET /v2/orgs/{org}/groups/{team}/members/` (with the slash) as a bare JSON array while the
documented form without the slash is a DRF page, so those two paths are registered separately on `router`, a
plain router; everything else goes through `hub`, which answers both forms of every path.
"""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from dockyard.accounts import schemas_people as schemas
from dockyard.accounts.orgs import MemberKind, OrgsService
from dockyard.accounts.permissions import Subject
from dockyard.accounts.teams import TeamsService
from dockyard.api.deps import CurrentSubject, OptionalSubject, ReadSession, ServicesDep, WriteSession
from dockyard.api.pagination import Pages, paginate
from dockyard.api.routing import HubRouter
from dockyard.registry.store import RegistryStore

if TYPE_CHECKING:
    from dockyard.app import Services

hub = HubRouter(tags=["organizations"])
router = APIRouter()

OrgName = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.NO_NUL)]
GroupName = Annotated[str, Path(min_length=1, max_length=50, pattern=schemas.NO_NUL)]
Username = Annotated[str, Path(min_length=1, max_length=255, pattern=schemas.NO_NUL)]
Search = Annotated[str | None, Query(max_length=255, pattern=schemas.NO_NUL)]


def no_content() -> Response:
    return Response(status_code=204)


# --- organisations ---------------------------------------------------------------------------------------------
@hub.post("/v2/orgs/", status_code=201, response_model=schemas.Organization, summary="Create an organisation")
async def create_org(
    body: Annotated[schemas.OrgCreate, Body()], subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> schemas.Organization:
    profile = body.model_dump(exclude_unset=True, exclude={"orgname"})
    org = await OrgsService(session, services.bus).create_org(subject, body.orgname, profile)
    return schemas.organization(org)


@hub.get("/v2/orgs/{org}", response_model=schemas.Organization, summary="An organisation's profile")
async def get_org(org: OrgName, subject: OptionalSubject, session: ReadSession) -> schemas.Organization:
    access = await OrgsService(session).access(subject, org)
    return schemas.organization(access.org)


@hub.patch("/v2/orgs/{org}", response_model=schemas.Organization, summary="Update an organisation's profile")
async def update_org(
    org: OrgName,
    body: Annotated[schemas.ProfileUpdate, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.Organization:
    orgs = OrgsService(session, services.bus)
    access = await orgs.require_owner(subject, org)
    return schemas.organization(await orgs.update_profile(access.org, body.model_dump(exclude_unset=True), subject))


@hub.delete(
    "/v2/orgs/{org}",
    status_code=204,
    response_class=Response,
    summary="Delete an organisation (its repositories must be deleted first)",
)
async def delete_org(org: OrgName, subject: CurrentSubject, session: WriteSession, services: ServicesDep) -> Response:
    orgs = OrgsService(session, services.bus)
    access = await orgs.require_owner(subject, org)
    # The first repository path after "org/" starts with "org/" exactly when the organisation still has one.
    after = await RegistryStore(session).repositories_after(f"{access.org.name}/", 1)
    await orgs.delete_org(access, repositories_left=bool(after) and after[0].path.startswith(f"{access.org.name}/"))
    return no_content()


# --- members ---------------------------------------------------------------------------------------------------
@hub.get("/v2/orgs/{org}/members", response_model=schemas.Page[schemas.OrgMember], summary="An organisation's members")
async def list_members(
    request: Request,
    org: OrgName,
    pages: Pages,
    subject: CurrentSubject,
    session: ReadSession,
    services: ServicesDep,
    search: Search = None,
    role: Annotated[schemas.RoleName | None, Query()] = None,
    kind: Annotated[MemberKind, Query(alias="type")] = "all",
    invites: Annotated[bool, Query(description="Include pending invitees (owners only)")] = False,
) -> dict[str, Any]:
    orgs = OrgsService(session)
    access = await orgs.require_member(subject, org)
    count, rows = await orgs.members(
        access, search=search, role=role, kind=kind, invites=invites, offset=pages.offset, limit=pages.page_size
    )
    results = [schemas.org_member(row.account, row.role, row.groups, show_email=access.is_owner) for row in rows]
    return paginate(request, services.settings.base_url, pages, count, results)


@hub.get(
    "/v2/orgs/{org}/members/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The members as CSV"}},
    summary="Export an organisation's members as CSV (owners only)",
)
async def export_members(org: OrgName, subject: CurrentSubject, session: ReadSession) -> Response:
    orgs = OrgsService(session)
    access = await orgs.require_owner(subject, org)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Name", "Username", "Email", "Type", "Permission", "Teams", "Date Joined"])
    for row in await orgs.all_members(access):
        writer.writerow(
            [
                row.account.full_name,
                row.account.name,
                row.account.email or "",
                "User",
                schemas.ROLE_LABELS[row.role],
                ", ".join(row.groups),
                row.joined.strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC"),
            ]
        )
    filename = f"{access.org.name}-members.csv"
    return Response(
        out.getvalue(), media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@hub.put(
    "/v2/orgs/{org}/members/{username}", response_model=schemas.OrgMember, summary="Change a member's role (owners)"
)
async def set_member_role(
    org: OrgName,
    username: Username,
    body: Annotated[schemas.RoleUpdate, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.OrgMember:
    orgs = OrgsService(session, services.bus)
    access = await orgs.require_owner(subject, org)
    row = await orgs.set_role(access, username, body.role)
    return schemas.org_member(row.account, row.role, row.groups, show_email=True)


@hub.delete(
    "/v2/orgs/{org}/members/{username}",
    status_code=204,
    response_class=Response,
    summary="Remove a member (owners), or leave the organisation (yourself)",
)
async def remove_member(
    org: OrgName, username: Username, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> Response:
    orgs = OrgsService(session, services.bus)
    await orgs.remove_member(await orgs.require_member(subject, org), username)
    return no_content()


# --- groups ----------------------------------------------------------------------------------------------------
@hub.get("/v2/orgs/{org}/groups", response_model=schemas.Page[schemas.Group], summary="An organisation's groups")
async def list_groups(
    request: Request,
    org: OrgName,
    pages: Pages,
    subject: CurrentSubject,
    session: ReadSession,
    services: ServicesDep,
    search: Search = None,
    username: Annotated[
        str | None, Query(max_length=255, pattern=schemas.NO_NUL, description="Only the groups this user is in")
    ] = None,
) -> dict[str, Any]:
    teams = TeamsService(session)
    access = await teams.orgs.require_member(subject, org)
    count, rows = await teams.list_teams(
        access, search=search, username=username, offset=pages.offset, limit=pages.page_size
    )
    results = [schemas.group(team, members) for team, members in rows]
    return paginate(request, services.settings.base_url, pages, count, results)


@hub.post("/v2/orgs/{org}/groups", status_code=201, response_model=schemas.Group, summary="Create a group (owners)")
async def create_group(
    org: OrgName,
    body: Annotated[schemas.GroupCreate, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.Group:
    teams = TeamsService(session, services.bus)
    access = await teams.orgs.require_owner(subject, org)
    return schemas.group(await teams.create(access, body.name, body.description), 0)


@hub.get("/v2/orgs/{org}/groups/{group}", response_model=schemas.Group, summary="A group")
async def get_group(org: OrgName, group: GroupName, subject: CurrentSubject, session: ReadSession) -> schemas.Group:
    teams = TeamsService(session)
    team, members = await teams.get(await teams.orgs.require_member(subject, org), group)
    return schemas.group(team, members)


async def _update_group(
    org: str,
    group: str,
    name: str | None,
    description: str | None,
    subject: Subject,
    session: AsyncSession,
    services: Services,
) -> schemas.Group:
    teams = TeamsService(session, services.bus)
    access = await teams.orgs.require_owner(subject, org)
    team = await teams.update(access, group, name, description)
    return schemas.group(*(await teams.with_counts([team]))[0])


@hub.put(
    "/v2/orgs/{org}/groups/{group}", response_model=schemas.Group, summary="Replace a group's name and description"
)
async def replace_group(
    org: OrgName,
    group: GroupName,
    body: Annotated[schemas.GroupCreate, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.Group:
    return await _update_group(org, group, body.name, body.description, subject, session, services)


@hub.patch("/v2/orgs/{org}/groups/{group}", response_model=schemas.Group, summary="Update a group")
async def update_group(
    org: OrgName,
    group: GroupName,
    body: Annotated[schemas.GroupUpdate, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.Group:
    return await _update_group(org, group, body.name, body.description, subject, session, services)


@hub.delete("/v2/orgs/{org}/groups/{group}", status_code=204, response_class=Response, summary="Delete a group")
async def delete_group(
    org: OrgName, group: GroupName, subject: CurrentSubject, session: WriteSession, services: ServicesDep
) -> Response:
    teams = TeamsService(session, services.bus)
    await teams.delete(await teams.orgs.require_owner(subject, org), group)
    return no_content()


# --- group members ---------------------------------------------------------------------------------------------
@router.get(
    "/v2/orgs/{org}/groups/{group}/members",
    response_model=schemas.Page[schemas.GroupMember],
    tags=["organizations"],
    summary="A group's members, as a page",
)
async def list_group_members(
    request: Request,
    org: OrgName,
    group: GroupName,
    pages: Pages,
    subject: CurrentSubject,
    session: ReadSession,
    services: ServicesDep,
    search: Search = None,
) -> dict[str, Any]:
    teams = TeamsService(session)
    access = await teams.orgs.require_member(subject, org)
    count, members = await teams.members(access, group, search=search, offset=pages.offset, limit=pages.page_size)
    results = [schemas.group_member(account, show_email=access.is_owner) for account in members]
    return paginate(request, services.settings.base_url, pages, count, results)


@router.get(
    "/v2/orgs/{org}/groups/{group}/members/",
    response_model=list[schemas.GroupMember],
    tags=["organizations"],
    summary="All of a group's members, as a bare array (what hub-tool reads)",
)
async def list_all_group_members(
    org: OrgName, group: GroupName, subject: CurrentSubject, session: ReadSession, search: Search = None
) -> list[schemas.GroupMember]:
    teams = TeamsService(session)
    access = await teams.orgs.require_member(subject, org)
    _, members = await teams.members(access, group, search=search, offset=0, limit=None)
    return [schemas.group_member(account, show_email=access.is_owner) for account in members]


@hub.post(
    "/v2/orgs/{org}/groups/{group}/members",
    status_code=201,
    response_model=schemas.GroupMember,
    summary="Add an organisation member to a group (owners)",
)
async def add_group_member(
    org: OrgName,
    group: GroupName,
    body: Annotated[schemas.GroupMemberAdd, Body()],
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> schemas.GroupMember:
    teams = TeamsService(session, services.bus)
    access = await teams.orgs.require_owner(subject, org)
    return schemas.group_member(await teams.add_member(access, group, body.member), show_email=True)


@hub.delete(
    "/v2/orgs/{org}/groups/{group}/members/{username}",
    status_code=204,
    response_class=Response,
    summary="Remove a user from a group (owners)",
)
async def remove_group_member(
    org: OrgName,
    group: GroupName,
    username: Username,
    subject: CurrentSubject,
    session: WriteSession,
    services: ServicesDep,
) -> Response:
    teams = TeamsService(session, services.bus)
    await teams.remove_member(await teams.orgs.require_owner(subject, org), group, username)
    return no_content()


router.include_router(hub)
